#!/bin/sh
# The participant's flow through "intofocus serve" in Debian's chromium
# (tests/browser/serve.js): the daemon runs an experiment against the task
# server as against MTurk, two participants arrive (one from Prolific, one
# through an operator's link), do the tasks, are told they are done (the
# Prolific one sent to the completion URL with the code), and a
# participant who leaves mid-task and comes back lands on the same task.
. "$TOP/tests/e2e/lib.sh"

BROWSER_DIR="$TOP/tests/browser"
SRV_PID=""
RUN_PID=""
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null;
	[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT

check "Debian's chromium is installed (scripts/deps.sh test)" \
	test -x /usr/bin/chromium
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
	(cd "$BROWSER_DIR" && npm ci --no-audit --no-fund) \
		>"$SCRATCH/npm.log" 2>&1 ||
		sed 's/^/# npm: /' "$SCRATCH/npm.log" | tail -20
fi
check "playwright-core is installed in tests/browser/node_modules" \
	test -d "$BROWSER_DIR/node_modules/playwright-core"

export AWS_ACCESS_KEY_ID=AKIDSERVEBROWSER0001
export AWS_SECRET_ACCESS_KEY=serve-browser-test-secret
unset AWS_SESSION_TOKEN AWS_PROFILE CREDENTIALS_DIRECTORY
export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-such-credentials"
export HOME="$SCRATCH"
export TMPDIR="$SCRATCH"

"$INTOFOCUS" serve --listen 127.0.0.1:0 --state-dir srv --share 1 \
	--prolific-study 60a1b2c3d4e5f60718293a4b --prolific-code C0DE42 \
	>srv.log 2>&1 &
SRV_PID=$!
PORT=""
i=0
while [ -z "$PORT" ] && [ $i -lt 400 ]; do
	PORT=$(sed -n 's|.*endpoint: http://127.0.0.1:\([0-9]*\).*|\1|p' srv.log |
		head -1)
	[ -n "$PORT" ] || sleep 0.05
	i=$((i + 1))
done
check "the task server starts" test -n "$PORT"
BASE="http://127.0.0.1:$PORT"
LINK=$("$INTOFOCUS" serve link --state-dir srv --public-url "$BASE" \
	--participant pool-07)

cp "$TOP/tests/fixtures/daemon/group.jpg" .
cat >bserve.yaml <<YAML
name: bserve
mturk:
  environment: simulator
  endpoint: $BASE
  poll_interval: 1s
hit:
  reward: "0.15"
  workers: 2
  lifetime: 1h
  exclusive_stages: false
stages: [9]
images_host:
  kind: simulator
output_dir: out
task:
  face_question: "Did you find a face? (yes or no)"
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60]]
YAML
"$INTOFOCUS" run bserve.yaml --state-dir st >run.log 2>&1 &
RUN_PID=$!

BASE="$BASE" LINK="$LINK" CODE=C0DE42 \
	PROLIFIC="/enter?PROLIFIC_PID=5f0c0a1b2c3d4e5f6a7b8c9d&STUDY_ID=60a1b2c3d4e5f60718293a4b&SESSION_ID=6b1c2d3e4f5a6b7c8d9e0f1a" \
	NODE_PATH="$BROWSER_DIR/node_modules" \
	timeout 280 node "$BROWSER_DIR/serve.js" >browser.out 2>&1
echo "# node exit $?"
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "# $line" ;;
	esac
done <browser.out
check "the browser script reported its checks" grep -q "^ok - " browser.out

# Both answers reach the daemon, which finishes the one-stage experiment.
i=0
while kill -0 "$RUN_PID" 2>/dev/null && [ $i -lt 900 ]; do
	sleep 0.1
	i=$((i + 1))
done
wait "$RUN_PID"
rc=$?
RUN_PID=""
check "the daemon finished the experiment with exit 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/# run: /' run.log | tail -20
check "... with both participants' answers, ids as given" sh -c \
	"grep -rq '5f0c0a1b2c3d4e5f6a7b8c9d' out && grep -rq 'pool-07' out"
done_testing
