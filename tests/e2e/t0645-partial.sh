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
done_testing
