# intofocus sim --state-dir: the simulator's state (DIR/sim.db) survives a
# restart and a kill -9 in the middle of a run (the daemon then finishes
# with one HIT per image and stage), and a directory an older simulator
# wrote (sim.json + objects/) still loads.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/daemon"
PY=${PYTHON:-/usr/bin/python3}
cp "$FIX"/group.jpg "$FIX"/street.jpg .
cat >sim.yaml <<'YAML'
name: simstate
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 3
  exclusive_stages: true
stages: [41, 21, 13]
YAML
two_photos_yaml >>sim.yaml

. "$TOP/tests/e2e/sim_lib.sh"

# stop_sim: SIGTERM to the last simulator started, and wait for it.
stop_sim() {
	last=${SIMPIDS##* }
	kill "$last" 2>/dev/null
	wait "$last" 2>/dev/null
}

# 1. A finished run, the simulator restarted on its directory.
start_sim one --seed 3 --state-dir simdir
check "the simulator started on a state directory" test -n "$PORT"
exp_for one "$PORT"
expect_exit 0 "the daemon finishes against it" \
	"$INTOFOCUS" run one/exp.yaml --state-dir one/state
check "the state is one SQLite file, private" \
	sh -c 'test -f simdir/sim.db && test ! -e simdir/sim.json &&
	       test "$(stat -c %a simdir/sim.db)" = 600 &&
	       test "$(stat -c %a simdir)" = 700'
stop_sim
start_sim one-again --seed 3 --state-dir simdir
check "restarted on the same directory" test -n "$PORT"
check "it still holds every HIT, assignment and approval" sim_audit "$PORT" 6
# A second simulator on a directory in use is refused.
expect_exit 1 "a second simulator on the same directory is refused" \
	"$INTOFOCUS" sim --listen 127.0.0.1:0 --state-dir simdir
expect_stderr "it says why" "another simulator"
stop_sim

# 2. kill -9 of the simulator in the middle of a run.  Workers take 1 s,
# so the run is under way when the simulator dies; wherever the kill
# lands, the restarted simulator must answer what it answered before.
start_sim two --seed 5 --delay 1 --state-dir simdir2
check "the second simulator started" test -n "$PORT"
PORT2=$PORT
exp_for two "$PORT2"
timeout 300 "$INTOFOCUS" run two/exp.yaml --state-dir two/state >two.log 2>&1 &
DAEMON=$!
i=0
while ! grep -q 'post -> wait: HIT' two.log 2>/dev/null && [ $i -lt 400 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -9 "${SIMPIDS##* }"
wait "${SIMPIDS##* }" 2>/dev/null
# The same port, so that the daemon's endpoint reaches the new one.
"$INTOFOCUS" sim --listen "127.0.0.1:$PORT2" --seed 5 --delay 1 \
	--experiment sim.yaml --state-dir simdir2 >sim-two-again.log 2>&1 &
SIMPIDS="$SIMPIDS $!"
wait_port PORT_AGAIN "$!" sim-two-again.log
check "the simulator restarted on the same port and directory" \
	grep -q "endpoint: http://127.0.0.1:$PORT2" sim-two-again.log
wait "$DAEMON"
rc=$?
echo "# the daemon retried $(grep -c 'retry' two.log) times while the simulator was down"
check "the daemon finishes after the simulator's kill -9 (exit $rc)" test "$rc" -eq 0
check "no duplicate HIT, every assignment approved" sim_audit "$PORT2" 6
stop_sim

# 3. A directory of the old layout, written by the simulator of 7a2d7ad.
mkdir old
cp -r "$TOP/tests/fixtures/sim-v1/." old/
chmod -R go-rwx old
start_sim old --seed 7 --state-dir old
check "an old-format state directory loads" test -n "$PORT"
check "its HITs are there" "$PY" - "$PORT" <<'PYEOF'
import os, sys
import boto3
c = boto3.client("mturk", endpoint_url="http://127.0.0.1:%s" % sys.argv[1],
                 region_name="us-east-1",
                 aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
hits = c.list_hits(MaxResults=100)["HITs"]
anns = sorted(h["RequesterAnnotation"] for h in hits)
assert anns == ["oldfmt/street/1", "oldfmt/street/2"], anns
for h in hits:
    a = c.list_assignments_for_hit(HITId=h["HITId"])["Assignments"]
    assert len(a) == 3 and all(x["AssignmentStatus"] == "Approved" for x in a), a
PYEOF
check "and moved into sim.db" sh -c 'test -f old/sim.db && test -f old/sim.json.migrated && test ! -e old/sim.json'
stop_sim

done_testing
