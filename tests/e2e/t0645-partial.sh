# HIT lifetime, the other path (issue 6): a HIT that expires with some but
# not all of its answers, after its extensions, goes on with the answers
# it has.  One participant answers through the simulator's lab mode (no
# simulated crowd); the daemon is stopped and restarted an hour later (the
# INTOFOCUS_TEST_TIME_OFFSET hook), when the HIT has expired.
. "$TOP/tests/e2e/lib.sh"

cp "$TOP"/tests/fixtures/daemon/group.jpg .
cat >sim.yaml <<'YAML'
name: partial
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 2
  lifetime: 30s
  max_extensions: 0
stages: [41]
images_host:
  kind: simulator
output_dir: out
images:
  - id: group
    file: group.jpg
YAML
. "$TOP/tests/e2e/sim_lib.sh"

start_sim lab --no-crowd --seed 2
check "a simulator without a crowd started" test -n "$PORT"
exp_for run "$PORT"
"$INTOFOCUS" run run/exp.yaml --state-dir run/st >first.log 2>&1 &
pid=$!
hit=""
i=0
while [ -z "$hit" ] && [ $i -lt 400 ]; do
	hit=$(sed -n 's/.*post -> wait: HIT \([A-Z0-9]*\).*/\1/p' first.log | head -1)
	[ -n "$hit" ] || sleep 0.05
	i=$((i + 1))
done
check "the HIT was posted" test -n "$hit"
# A participant accepts it in lab mode and submits one box.
loc=$(curl -s -o /dev/null -w '%{redirect_url}' \
	"http://127.0.0.1:$PORT/lab/accept/$hit?workerId=AP01")
aid=$(echo "$loc" | sed -n 's/.*assignmentId=\([A-Z0-9]*\).*/\1/p')
check "lab mode handed out an assignment" test -n "$aid"
check "the participant's answer was accepted" sh -c \
	"curl -s -f -o /dev/null -X POST 'http://127.0.0.1:$PORT/mturk/externalSubmit' \
	 --data-urlencode 'assignmentId=$aid' --data-urlencode 'boxes=[[40,50,48,60]]' \
	 --data-urlencode 'face_found=yes' --data-urlencode 'feedback=one face'"
kill -TERM $pid
wait $pid
expect_exit 0 "an hour later the run finishes with the answers it has" \
	env INTOFOCUS_TEST_TIME_OFFSET=3600 "$INTOFOCUS" run run/exp.yaml --state-dir run/st
expect_stderr "it says the HIT expired with 1 of 2 answers" "HIT expired with 1 of 2 answers"
check "the stage kept the participant's box" "${PYTHON:-/usr/bin/python3}" -c '
import json
r = json.load(open("run/out/group.json"))
assert r["state"] == "done", r["state"]
assert r["stages"][0]["boxes"] == [[40, 50, 48, 60]], r["stages"][0]
a = r["stages"][0]["assignments"]
assert len(a) == 1 and a[0]["worker_id"] == "AP01" and a[0]["feedback"] == "one face", a
'

# ---- the same, with extensions left but UpdateExpirationForHIT refused ----
# (a HIT MTurk will not extend, e.g. HITTooOldForExtension): the stage goes
# on with the answers it has, as at expiry, instead of failing the image.
start_sim refuse --no-crowd --seed 2 \
	--refuse UpdateExpirationForHIT=ParameterValidationError
check "a simulator refusing extensions started" test -n "$PORT"
exp_for ext "$PORT"
sed -i 's/max_extensions: 0/max_extensions: 2/' ext/exp.yaml
"$INTOFOCUS" run ext/exp.yaml --state-dir ext/st >ext.log 2>&1 &
pid=$!
hit=""
i=0
while [ -z "$hit" ] && [ $i -lt 400 ]; do
	hit=$(sed -n 's/.*post -> wait: HIT \([A-Z0-9]*\).*/\1/p' ext.log | head -1)
	[ -n "$hit" ] || sleep 0.05
	i=$((i + 1))
done
check "the HIT was posted" test -n "$hit"
loc=$(curl -s -o /dev/null -w '%{redirect_url}' \
	"http://127.0.0.1:$PORT/lab/accept/$hit?workerId=AP02")
aid=$(echo "$loc" | sed -n 's/.*assignmentId=\([A-Z0-9]*\).*/\1/p')
check "lab mode handed out an assignment" test -n "$aid"
check "the participant's answer was accepted" sh -c \
	"curl -s -f -o /dev/null -X POST 'http://127.0.0.1:$PORT/mturk/externalSubmit' \
	 --data-urlencode 'assignmentId=$aid' --data-urlencode 'boxes=[[150,60,40,50]]' \
	 --data-urlencode 'face_found=yes' --data-urlencode 'feedback=one'"
kill -TERM $pid
wait $pid
expect_exit 0 "with the extension refused the run finishes with the answers it has" \
	env INTOFOCUS_TEST_TIME_OFFSET=3600 timeout 120 "$INTOFOCUS" run ext/exp.yaml --state-dir ext/st
expect_stderr "it says the HIT cannot be extended" "cannot be extended, so it ends with 1 of 2 answers"
expect_stderr "... naming the refusal" "ParameterValidationError"
expect_stderr "the stage notes it" "HIT not extended (UpdateExpirationForHIT: "
check "the image is done with the participant's box" "${PYTHON:-/usr/bin/python3}" -c '
import json
r = json.load(open("ext/out/group.json"))
assert r["state"] == "done", r["state"]
assert r["stages"][0]["boxes"] == [[150, 60, 40, 50]], r["stages"][0]
'
check "one UpdateExpirationForHIT only" sh -c \
	"grep -q 'MTurk requests: .*UpdateExpirationForHIT 1[,) ]' '$SCRATCH/.stderr'"
done_testing
