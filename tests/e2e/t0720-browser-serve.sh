#!/bin/sh
# The participant's flow through "intofocus serve" in Debian's chromium
# (tests/browser/serve.js): the daemon runs an experiment against the task
# server as against MTurk, two participants arrive (one from Prolific, one
# through an operator's link), do the tasks, are told they are done (the
# Prolific one sent to the completion URL with the code), and a
# participant who leaves mid-task and comes back lands on the same task.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/browser_lib.sh"

SRV_PID=""
RUN_PID=""
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null;
	[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT

browser_setup
browser_credentials AKIDSERVEBROWSER0001 serve-browser-test-secret

"$INTOFOCUS" serve --listen 127.0.0.1:0 --state-dir srv --share 1 \
	--prolific-study 60a1b2c3d4e5f60718293a4b --prolific-code C0DE42 \
	>srv.log 2>&1 &
SRV_PID=$!
wait_port PORT "$SRV_PID" srv.log
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
browser_tap browser.out

# Both answers reach the daemon, which finishes the one-stage experiment.
wait_run
check "the daemon finished the experiment with exit 0" test "$RUN_RC" -eq 0
[ "$RUN_RC" -eq 0 ] || sed 's/^/# run: /' run.log | tail -20
check "... with both participants' answers, ids as given" sh -c \
	"grep -rq '5f0c0a1b2c3d4e5f6a7b8c9d' out && grep -rq 'pool-07' out"
done_testing
