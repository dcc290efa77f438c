# Browser tests (spec section 7): the worker task page in the simulator's
# lab mode (with the confidence slider and keyboard-operated boxes), the
# results site from file:// (overview, tabs, ground-truth editor, stage 0
# with the detector's faces apart) and the comparison of two experiments, in Debian's chromium driven by
# playwright-core (tests/browser/browser.js), each page checked by
# axe-core for serious or critical accessibility violations.  A missing
# chromium, node, playwright-core or axe-core is a failure, not a skip:
# these pages are only tested here.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/browser_lib.sh"

SIM_PID=""
RUN_PID=""
trap '[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null;
	[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT

browser_setup axe-core
browser_credentials AKIDBROWSERTEST00000 browser-test-secret

"$INTOFOCUS" sim --listen 127.0.0.1:0 --no-crowd >sim.log 2>&1 &
SIM_PID=$!
wait_port PORT "$SIM_PID" sim.log
check "the simulator starts in lab mode" test -n "$PORT"

cp "$TOP/tests/fixtures/daemon/group.jpg" .
cat >lab.yaml <<YAML
name: lab
mturk:
  environment: simulator
  endpoint: http://127.0.0.1:$PORT
  poll_interval: 1s
hit:
  reward: "0.15"
  workers: 1
  lifetime: 1h
  exclusive_stages: false
stages: [9]
images_host:
  kind: simulator
output_dir: out
task:
  face_question: "Did you find a face? (yes or no)"
  confidence: true
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]
YAML
# A second experiment for the comparison page: the embedded simulator's
# crowd, three stages, the first answer only.
cat >cmp.yaml <<YAML
name: cmp
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 2
  lifetime: 1d
stages: [21, 15, 9]
aggregate: first
images_host:
  kind: simulator
output_dir: cmp-out
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]
YAML
check "the comparison's experiment runs on the embedded simulator" \
	"$INTOFOCUS" run cmp.yaml --state-dir st-cmp
# A third, with stage 0: the detector's boxes and one of the image's own.
sed -e 's/^name: cmp/name: s0/' -e 's/^output_dir: cmp-out/output_dir: out-s0/' \
	-e 's/^aggregate: first/aggregate: union\ndetector:\n  enabled: true/' \
	cmp.yaml >s0.yaml
echo "    boxes: [[238, 118, 24, 28]]" >>s0.yaml
check "the stage-0 experiment runs on the embedded simulator" \
	"$INTOFOCUS" run s0.yaml --state-dir st-s0
"$INTOFOCUS" run lab.yaml --state-dir st >run.log 2>&1 &
RUN_PID=$!

LAB_URL="http://127.0.0.1:$PORT/" INTOFOCUS="$INTOFOCUS" EXP=lab.yaml \
	STATE_DIR=st OUT_DIR=out IMAGE_ID=group SITE_DIR=site \
	CMP_EXP=cmp.yaml CMP_STATE_DIR=st-cmp CMP_DIR=compare \
	S0_EXP=s0.yaml S0_STATE_DIR=st-s0 S0_DIR=site-s0 \
	SHOT_DIR="$TOP/${BUILD:-build}/browser" \
	NODE_PATH="$BROWSER_DIR/node_modules" \
	timeout 280 node "$BROWSER_DIR/browser.js" >browser.out 2>&1
echo "# node exit $?"
browser_tap browser.out
if ! grep -q "^ok - .*remaining box" browser.out; then
	sed 's/^/# run: /' run.log | tail -20
	sed 's/^/# sim: /' sim.log | tail -20
fi

# The daemon ends by itself once the one image is final.
wait_run
check "the daemon finished the experiment with exit 0" test "$RUN_RC" -eq 0

done_testing
