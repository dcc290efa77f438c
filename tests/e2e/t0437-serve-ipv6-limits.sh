#!/bin/sh
# intofocus serve's limits per address count an IPv6 client by its /64
# (issue 15): an IPv6 host picks addresses in its /64 at will.  Through a
# trusted proxy (X-Real-IP, X-Forwarded-For) on 127.0.0.1, and with peers
# of their own: ::1 is the only IPv6 loopback address, so that part runs
# in a network namespace of its own (unshare -rn: its own lo, where two
# /64s of 2001:db8::/32 are made local and the server listens on [::1]);
# where namespaces are not allowed it is skipped, saying so.
# tests/e2e/serve_ipv6.py holds the cases.
. "$TOP/tests/e2e/lib.sh"

SRV_PID=""
cleanup() {
	[ -z "$SRV_PID" ] || kill "$SRV_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=AKIDSERVEIPV60000001
export AWS_SECRET_ACCESS_KEY=serve-ipv6-test-secret-0000000000000
unset AWS_SESSION_TOKEN AWS_PROFILE CREDENTIALS_DIRECTORY
export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-such-credentials"
export HOME="$SCRATCH"
export TMPDIR="$SCRATCH"

# ---- through the trusted proxy --------------------------------------------
"$INTOFOCUS" serve --state-dir prx --listen 127.0.0.1:0 --per-ip 4 \
	--threads 1 --timeout 300 --trusted-proxy 127.0.0.2 >prx.log 2>&1 &
SRV_PID=$!
wait_port SPORT "$SRV_PID" prx.log
check "the task server starts with a trusted proxy" test -n "$SPORT"
check "clients the proxy names: one /64 is one client, the next /64 another, IPv4 (also IPv4-mapped) by its address" \
	"$PYTHON" "$TOP/tests/e2e/serve_ipv6.py" proxy \
	"http://127.0.0.1:$SPORT"
sed 's/^/# /' "$SCRATCH/.out" | head -20
kill -TERM "$SRV_PID"
wait "$SRV_PID"
rc=$?
SRV_PID=""
check "... and it stops on SIGTERM with status 0" test "$rc" -eq 0

# ---- peers of their own, in a network namespace ---------------------------
if unshare -rn ip link set lo up >ns.log 2>&1; then
	check "peers of one /64 share --per-ip; the next /64 and ::1 do not" \
		unshare -rn "$PYTHON" "$TOP/tests/e2e/serve_ipv6.py" direct \
		"$SCRATCH"
	sed 's/^/# /' "$SCRATCH/.out" | head -20
else
	TEST_NUM=$((TEST_NUM + 1))
	echo "ok $TEST_NUM # SKIP no network namespace here" \
		"(unshare -rn: $(head -1 ns.log))"
fi
done_testing
