#!/bin/sh
# make bench, the task server under load (issue 15): "intofocus serve" with
# the daemon running N images (default 50) x 5 stages x 3 workers against
# it, while P simulated participants (default 200; HTTP clients, no
# browser: tests/bench/serve_load.py) each from an address of its own
# (127.0.1.x) enter through issued links and do tasks until the daemon is
# done.  Checks that no answer was lost or doubled (the participants'
# accepted submits, the server's assignments read through its API, and the
# daemon's results are the same set) and prints the p50/p99 latency of the
# task page and of the submit.  Then one address holds 1,100 slow
# connections while others enter and the daemon's API is called: prints
# how many of those succeeded and their latency.  Exit 1 only when an
# answer was lost or doubled, or the others' requests failed; never on
# speed.
#
#   BUILD=build tests/bench/serve_load.sh [N] [P]
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
PY=${PYTHON:-/usr/bin/python3}
. "$TOP/tests/e2e/port_lib.sh"
N=${1:-50}
P=${2:-200}
DIR="$BUILD/bench-serve"
FIX="$TOP/tests/fixtures/daemon"
rm -rf "$DIR"
mkdir -p "$DIR"
export AWS_ACCESS_KEY_ID=AKIDSERVELOADBENCH01
export AWS_SECRET_ACCESS_KEY=serve-load-bench-secret-0000000000
unset AWS_SESSION_TOKEN AWS_PROFILE CREDENTIALS_DIRECTORY
export AWS_SHARED_CREDENTIALS_FILE="$DIR/no-such-credentials"

SRV=""
RUN=""
trap '[ -n "$RUN" ] && kill "$RUN" 2>/dev/null;
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null; wait 2>/dev/null' EXIT

"$BUILD/intofocus" serve --listen 127.0.0.1:0 --state-dir "$DIR/srv" \
	>"$DIR/srv.log" 2>&1 &
SRV=$!
wait_port PORT "$SRV" "$DIR/srv.log" || {
	echo "serve did not start" >&2
	tail -20 "$DIR/srv.log" >&2
	exit 1
}
URL="http://127.0.0.1:$PORT"
"$BUILD/intofocus" serve link --state-dir "$DIR/srv" --public-url "$URL" \
	--count "$P" >"$DIR/links"
"$BUILD/intofocus" serve link --state-dir "$DIR/srv" --public-url "$URL" \
	--count 50 >"$DIR/links-others"

{
	printf 'name: load\nmturk:\n  environment: simulator\n'
	printf '  endpoint: %s\n  poll_interval: 1s\n' "$URL"
	printf 'hit:\n  reward: "0.05"\n  workers: 3\n'
	printf '  exclusive_stages: false\nstages: [41, 27, 21, 17, 13]\n'
	printf 'images_host:\n  kind: simulator\noutput_dir: out\nimages:\n'
	i=0
	while [ "$i" -lt "$N" ]; do
		if [ $((i % 2)) -eq 0 ]; then
			printf '  - id: group%d\n    file: %s/group.jpg\n' \
				"$i" "$FIX"
		else
			printf '  - id: street%d\n    file: %s/street.jpg\n' \
				"$i" "$FIX"
		fi
		i=$((i + 1))
	done
} >"$DIR/exp.yaml"

echo "task server under load: $N images x 5 stages x 3 workers, $P participants"
"$BUILD/intofocus" run "$DIR/exp.yaml" --state-dir "$DIR/state" \
	>"$DIR/run.log" 2>&1 &
RUN=$!
"$PY" "$TOP/tests/bench/serve_load.py" study "$URL" "$DIR" "$RUN" "$N"
rc=0
wait "$RUN" || rc=$?
RUN=""
if [ "$rc" -ne 0 ]; then
	echo "the daemon exited $rc" >&2
	tail -20 "$DIR/run.log" >&2
	exit 1
fi
"$PY" "$TOP/tests/bench/serve_load.py" check "$URL" "$DIR" 0 "$N"
"$PY" "$TOP/tests/bench/serve_load.py" slow "$URL" "$DIR" 0 "$N"
kill -TERM "$SRV"
wait "$SRV" || true
SRV=""
