# Recovery after MTurk has forgotten a UniqueRequestToken (24 h, spec
# section 5): the daemon dies right after CreateHIT, before recording the
# HIT, and comes back "a day later" (the INTOFOCUS_TEST_TIME_OFFSET hook
# moves its clock 25 hours ahead).  It must not trust the old token: it
# finds the HIT by its RequesterAnnotation with ListHITs, and the service
# ends up with exactly one HIT per image and stage.
. "$TOP/tests/e2e/lib.sh"

cp "$TOP"/tests/fixtures/daemon/group.jpg .
cat >sim.yaml <<'YAML'
name: late
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 3
stages: [41, 13]
images_host:
  kind: simulator
output_dir: out
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50]]
YAML
. "$TOP/tests/e2e/sim_lib.sh"

start_sim late --seed 5
check "the simulator started" test -n "$PORT"
exp_for run "$PORT"
INTOFOCUS_TEST_CRASH_AT=1 INTOFOCUS_TEST_CRASH_LABEL="after CreateHIT" \
	"$INTOFOCUS" run run/exp.yaml --state-dir run/st >first.log 2>&1
check "the first run died right after CreateHIT" grep -q "SIGKILL at crash point 1 (after CreateHIT)" first.log
expect_exit 0 "a run a day later finishes" \
	env INTOFOCUS_TEST_TIME_OFFSET=90000 "$INTOFOCUS" run run/exp.yaml --state-dir run/st
expect_stderr "it looked the HIT up by its annotation" "late/group/1: found HIT"
check "one HIT per image and stage, all answers approved" sim_audit "$PORT" 2
check "the final image exists" test -s run/out/group.jpg
done_testing
