#!/bin/sh
# intofocus serve behind Debian's nginx (issue 15): a CA and a certificate
# for 127.0.0.1 made here with openssl; nginx, started by the test as an
# unprivileged process with its own prefix, runs the two configuration
# blocks of docs/running-a-study.md (ports, paths and the daemon's address
# put in) in front of "intofocus serve --public-url https://127.0.0.1:PORT
# --trusted-proxy 127.0.0.2".  The daemon reaches the API and the image
# store through nginx over https, verifying its certificate against
# mturk.ca_file (and refuses, saying why, with another CA); participants
# enter through links, do every task, get a Secure cookie, and a POST whose
# Origin is not the public URL is refused.  Before nginx, the limits per
# address against the server itself (tests/e2e/serve_proxy.py limits): the
# trusted proxy's connections are not held to --per-ip, the clients it
# names are, and nobody else's headers count.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/proxy_lib.sh"

SRV_PID=""
RUN_PID=""
NGINX_PID=""
cleanup() {
	for p in $RUN_PID $NGINX_PID $SRV_PID; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=AKIDSERVENGINX000001
export AWS_SECRET_ACCESS_KEY=serve-nginx-test-secret-000000000000
unset AWS_SESSION_TOKEN AWS_PROFILE CREDENTIALS_DIRECTORY
export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-such-credentials"
export HOME="$SCRATCH"
export TMPDIR="$SCRATCH"

expect_exit 2 "--trusted-proxy must be a loopback address" \
	"$INTOFOCUS" serve --state-dir lim --listen 127.0.0.1:0 \
	--trusted-proxy 192.0.2.1
expect_stderr "... saying so" "not a loopback address"

# ---- the limits per address, against the server itself -----------------
# One thread, so that each accept is counted before the next is looked at.
serve_start lim.log --state-dir lim --per-ip 4 --max-connections 64 \
	--threads 1 --trusted-proxy 127.0.0.2
check "the task server starts with a trusted proxy" test -n "$SPORT"
check "... and says which" grep -q "trusted proxy 127.0.0.2" lim.log
check "limits per address: the proxy's connections are not held to --per-ip, the clients it names are, others' headers do not count" \
	"$PYTHON" "$TOP/tests/e2e/serve_proxy.py" limits \
	"http://127.0.0.1:$SPORT" "$SCRATCH"
sed 's/^/# /' "$SCRATCH/.out" | head -20
serve_stop
check "... and stops on SIGTERM with status 0" \
	test "$SRV_RC" -eq 0

# ---- links from root for the unit's dynamic user's state ------------------
# Under systemd the state directory belongs to the unit's dynamic user and
# the guide issues links as root: root reads that key, changing nothing.
if [ "$(id -u)" -eq 0 ]; then
	link_want=$("$INTOFOCUS" serve link --state-dir lim \
		--public-url https://tasks.example.org --participant P9)
	chown -R 65534:65534 lim
	expect_exit 0 "root issues links from a state directory the service's user owns" \
		"$INTOFOCUS" serve link --state-dir lim \
		--public-url https://tasks.example.org --participant P9
	check "... the same link as the service's own key gives" \
		test "$(cat "$SCRATCH/.stdout")" = "$link_want"
	check "... and nothing in the directory changed hands" sh -c \
		"test \$(stat -c %u:%a lim/serve.key) = 65534:600 &&
		 test \$(stat -c %u:%a lim) = 65534:700"
	chmod 0750 lim
	expect_exit 2 "... but not from one others may read" \
		"$INTOFOCUS" serve link --state-dir lim \
		--public-url https://tasks.example.org --participant P9
	mkdir -m 0700 fresh
	chown 65534:65534 fresh
	expect_exit 2 "... nor before the service made its key" \
		"$INTOFOCUS" serve link --state-dir fresh \
		--public-url https://tasks.example.org --count 1
	expect_stderr "... saying to start it first" "start it, then issue links"
	check "... without making one" test ! -e fresh/serve.key
else
	TEST_NUM=$((TEST_NUM + 1))
	echo "ok $TEST_NUM # SKIP links from root: the test is not root"
fi

# ---- behind nginx -----------------------------------------------------------
NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || [ ! -x /usr/sbin/nginx ] || NGINX=/usr/sbin/nginx
if [ -z "$NGINX" ]; then
	TEST_NUM=$((TEST_NUM + 1))
	echo "ok $TEST_NUM # SKIP nginx is absent (Debian package nginx;" \
		"scripts/deps.sh test installs it)"
	done_testing
	exit
fi

proxy_tls
PUBLIC_PORT=$("$PYTHON" "$TOP/tests/e2e/serve_proxy.py" free_port x x)
API_PORT=$("$PYTHON" "$TOP/tests/e2e/serve_proxy.py" free_port x x)
PUBLIC="https://127.0.0.1:$PUBLIC_PORT"

serve_start srv.log --state-dir srv --public-url "$PUBLIC" \
	--trusted-proxy 127.0.0.2 --per-ip 8
check "the task server starts behind its public URL" test -n "$SPORT"

# The guide's two blocks, as an operator fills them in.
"$PYTHON" "$TOP/tests/e2e/serve_proxy.py" nginx_conf \
	"$TOP/docs/running-a-study.md" "$SCRATCH" "$PUBLIC_PORT" \
	"$API_PORT" "$SPORT" >nginx-site.conf 2>nginx-conf.err
check "the guide's nginx blocks are found and filled in" \
	grep -q "listen 127.0.0.1:$API_PORT ssl" nginx-site.conf
mkdir -p ngx/logs ngx/tmp
cat >ngx/nginx.conf <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $SCRATCH/ngx/nginx.pid;
error_log $SCRATCH/ngx/logs/error.log info;
events { worker_connections 512; }
http {
    access_log $SCRATCH/ngx/logs/access.log;
    client_body_temp_path $SCRATCH/ngx/tmp/body;
    proxy_temp_path $SCRATCH/ngx/tmp/proxy;
    fastcgi_temp_path $SCRATCH/ngx/tmp/fastcgi;
    uwsgi_temp_path $SCRATCH/ngx/tmp/uwsgi;
    scgi_temp_path $SCRATCH/ngx/tmp/scgi;
    include $SCRATCH/nginx-site.conf;
}
CONF
expect_exit 0 "nginx accepts the configuration (nginx -t)" \
	"$NGINX" -p "$SCRATCH/ngx" -c "$SCRATCH/ngx/nginx.conf" -e stderr -t
"$NGINX" -p "$SCRATCH/ngx" -c "$SCRATCH/ngx/nginx.conf" -e stderr \
	>ngx/out.log 2>&1 &
NGINX_PID=$!
check "nginx listens on the public and the API ports" \
	"$PYTHON" "$TOP/tests/e2e/serve_proxy.py" wait_ports \
	"$PUBLIC_PORT,$API_PORT" "$SCRATCH"
[ -s ngx/out.log ] && sed 's/^/# nginx: /' ngx/out.log | head -10

proxy_run nginx "$API_PORT" "$PUBLIC" 403
kill -TERM "$NGINX_PID" 2>/dev/null
wait "$NGINX_PID"
NGINX_PID=""
serve_stop
check "the task server behind nginx stops on SIGTERM with status 0" \
	test "$SRV_RC" -eq 0
done_testing
