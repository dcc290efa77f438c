#!/bin/sh
# intofocus serve behind Debian's Caddy (issue 15), as t0435 behind nginx:
# a CA and a certificate for 127.0.0.1 made here with openssl; Caddy,
# started by the test in its scratch directory, runs the two ```caddy
# blocks of docs/running-a-study.md with ports, paths and the daemon's
# address put in, the test's certificate instead of ACME, no admin
# endpoint and no http port, in front of "intofocus serve --public-url
# https://127.0.0.1:PORT --trusted-proxy 127.0.0.1" (Caddy 2.6 connects
# from 127.0.0.1).  The daemon reaches the API and the image store through
# Caddy over https, verifying its certificate against mturk.ca_file (and
# refuses, saying why, with another CA); participants enter through links,
# do every task, get a Secure cookie, and a POST whose Origin is not the
# public URL is refused.  Then a client naming addresses of its own in
# X-Real-IP and X-Forwarded-For through Caddy is still one client.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/proxy_lib.sh"

SRV_PID=""
RUN_PID=""
CADDY_PID=""
cleanup() {
	for p in $RUN_PID $CADDY_PID $SRV_PID; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=AKIDSERVECADDY000001
export AWS_SECRET_ACCESS_KEY=serve-caddy-test-secret-000000000000
unset AWS_SESSION_TOKEN AWS_PROFILE CREDENTIALS_DIRECTORY
export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-such-credentials"
export HOME="$SCRATCH"
export TMPDIR="$SCRATCH"
# Caddy's own files (autosave, locks) in the scratch directory.
export XDG_CONFIG_HOME="$SCRATCH/xdg-config"
export XDG_DATA_HOME="$SCRATCH/xdg-data"

CADDY=$(command -v caddy || true)
[ -n "$CADDY" ] || [ ! -x /usr/bin/caddy ] || CADDY=/usr/bin/caddy
if [ -z "$CADDY" ]; then
	TEST_NUM=$((TEST_NUM + 1))
	echo "ok $TEST_NUM # SKIP caddy is absent (Debian package caddy;" \
		"scripts/deps.sh test installs it)"
	done_testing
	exit
fi

proxy_tls
PUBLIC_PORT=$("$PYTHON" "$TOP/tests/e2e/serve_proxy.py" free_port x x)
API_PORT=$("$PYTHON" "$TOP/tests/e2e/serve_proxy.py" free_port x x)
PUBLIC="https://127.0.0.1:$PUBLIC_PORT"
PER_IP=8

serve_start srv.log --state-dir srv --public-url "$PUBLIC" \
	--trusted-proxy 127.0.0.1 --per-ip "$PER_IP"
check "the task server starts behind its public URL" test -n "$SPORT"
check "... trusting 127.0.0.1, where Caddy connects from" \
	grep -q "trusted proxy 127.0.0.1" srv.log

# The guide's two blocks, as an operator fills them in.
"$PYTHON" "$TOP/tests/e2e/serve_proxy.py" caddy_conf \
	"$TOP/docs/running-a-study.md" "$SCRATCH" "$PUBLIC_PORT" \
	"$API_PORT" "$SPORT" >Caddyfile 2>caddy-conf.err
check "the guide's Caddy blocks are found and filled in" \
	grep -q "https://127.0.0.1:$API_PORT {" Caddyfile
[ -s caddy-conf.err ] && sed 's/^/# /' caddy-conf.err
expect_exit 0 "caddy accepts the configuration (caddy validate)" \
	"$CADDY" validate --config Caddyfile --adapter caddyfile
grep -v '"level":"info"' "$SCRATCH/.stderr" | sed 's/^/# caddy: /' |
	head -10
"$CADDY" run --config Caddyfile --adapter caddyfile >caddy.log 2>&1 &
CADDY_PID=$!
check "caddy listens on the public and the API ports" \
	"$PYTHON" "$TOP/tests/e2e/serve_proxy.py" wait_ports \
	"$PUBLIC_PORT,$API_PORT" "$SCRATCH"
check "... on loopback only, and on no other TCP port" sh -c \
	"ss -Hltnp | grep 'pid=$CADDY_PID,' | awk '{print \$4}' | sort >ports
	 printf '127.0.0.1:%s\n127.0.0.1:%s\n' $PUBLIC_PORT $API_PORT |
		sort | cmp - ports"
sed 's/^/# listening: /' ports 2>/dev/null

proxy_run caddy "$API_PORT" "$PUBLIC" 404
check "a client naming addresses of its own through Caddy is one client: --per-ip requests under way, the rest 429" \
	"$PYTHON" "$TOP/tests/e2e/serve_proxy.py" spoof "$PUBLIC" \
	"$SCRATCH" "$PER_IP"
sed 's/^/# /' "$SCRATCH/.out" | head -10
kill -TERM "$CADDY_PID" 2>/dev/null
wait "$CADDY_PID"
CADDY_PID=""
serve_stop
check "the task server behind Caddy stops on SIGTERM with status 0" \
	test "$SRV_RC" -eq 0
done_testing
