# The daemon against a simulator that fails a fifth of the requests
# (`intofocus sim --faults 0.2`): throttling, 5xx, dropped connections and
# CreateHIT replies lost after the HIT was made.  The run still finishes
# exactly once: no duplicate HIT, every assignment approved, and the same
# final images as a run without faults.
. "$TOP/tests/e2e/lib.sh"

cp "$TOP"/tests/fixtures/daemon/group.jpg "$TOP"/tests/fixtures/daemon/street.jpg .
# exclusive_stages off: with it, which simulated worker may take a HIT
# depends on the order of grants across images, which faults reorder.
cat >sim.yaml <<'YAML'
name: faults
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 3
  exclusive_stages: false
stages: [41, 21, 13]
YAML
two_photos_yaml >>sim.yaml
. "$TOP/tests/e2e/sim_lib.sh"

start_sim calm --seed 11
check "the fault-free simulator started" test -n "$PORT"
exp_for calm "$PORT"
expect_exit 0 "a run without faults finishes" "$INTOFOCUS" run calm/exp.yaml --state-dir calm/st
CALM=$PORT

start_sim faulty --seed 11 --faults 0.2 --slow-ms 0
check "the faulty simulator started" test -n "$PORT"
exp_for faulty "$PORT"
expect_exit 0 "a run with 20% faults finishes" "$INTOFOCUS" run faulty/exp.yaml --state-dir faulty/st
check "the faults happened and were retried" grep -q "retry" "$SCRATCH/.stderr"
check "no duplicate HIT, every assignment approved (faulty)" sim_audit "$PORT" 6
check "the fault-free service looks the same" sim_audit "$CALM" 6
check "final images identical to the fault-free run" sh -c \
	'cmp calm/out/group.jpg faulty/out/group.jpg && cmp calm/out/street.jpg faulty/out/street.jpg'
check "each assignment recorded once" sh -c \
	"[ \$(sqlite3 faulty/st/state.db 'SELECT COUNT(*) FROM assignments') = 18 ]"
done_testing
