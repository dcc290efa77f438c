#!/bin/sh
# The operator's own pool between two stages, end to end in Debian's
# chromium (tests/browser/pool_wait.js): "intofocus serve" knowing the
# experiment (--experiment), the daemon running its two stages there, one
# participant through an operator's link and one through the pool's
# participant parameter.  The first waits after stage 1 on a page that
# looks again (the stage needs the second's answer), goes on to stage 2
# from that page once it is posted, and is told they are done after it;
# the daemon finishes with both participants' answers in both stages.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/browser_lib.sh"

SRV_PID=""
RUN_PID=""
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null;
	[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT

browser_setup axe-core
browser_credentials AKIDSERVEPOOLWAIT001 serve-pool-wait-test-secret

cp "$TOP/tests/fixtures/daemon/group.jpg" .
# experiment ENDPOINT: the experiment file, for a task server there.
experiment() {
	cat <<YAML
name: bpool
mturk:
  environment: simulator
  endpoint: $1
  poll_interval: 1s
hit:
  reward: "0.15"
  workers: 2
  lifetime: 1h
  exclusive_stages: false
stages: [9, 5]
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
}
# The server reads the experiment before its endpoint is known.
experiment http://127.0.0.1:9 >serve.yaml
"$INTOFOCUS" serve --listen 127.0.0.1:0 --state-dir srv \
	--participant-param --experiment serve.yaml >srv.log 2>&1 &
SRV_PID=$!
wait_port PORT "$SRV_PID" srv.log
check "the task server starts" test -n "$PORT"
check "... knowing the experiment" grep -q "experiments known: 1$" srv.log
BASE="http://127.0.0.1:$PORT"
LINK_X=$("$INTOFOCUS" serve link --state-dir srv --public-url "$BASE" \
	--participant pool-x)
experiment "$BASE" >bpool.yaml
"$INTOFOCUS" run bpool.yaml --state-dir st >run.log 2>&1 &
RUN_PID=$!

BASE="$BASE" LINK_X="$LINK_X" ID_Y=pool-y \
	NODE_PATH="$BROWSER_DIR/node_modules" \
	timeout 280 node "$BROWSER_DIR/pool_wait.js" >browser.out 2>&1
echo "# node exit $?"
browser_tap browser.out

wait_run
check "the daemon finished both stages with exit 0" test "$RUN_RC" -eq 0
[ "$RUN_RC" -eq 0 ] || sed 's/^/# run: /' run.log | tail -20
check "... with both participants' answers in both stages" \
	"$PYTHON" - out/group.json <<'PY'
import json, sys
stages = json.load(open(sys.argv[1]))["stages"]
got = [sorted(a["worker_id"] for a in st["assignments"]) for st in stages]
assert got == [["pool-x", "pool-y"], ["pool-x", "pool-y"]], got
PY
done_testing
