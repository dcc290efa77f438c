# kill -9 at every kind of instant (spec section 9): each run of the daemon
# kills itself with SIGKILL at the first crash point of one kind (crash
# points follow each committed transition and each remote action, before
# its result is recorded; see crash_point in daemon/stage.c), and is started
# again on the same state, round after round, until a run finishes.
# The simulator runs in its own process, so it remembers everything across
# the daemon's deaths.  Then: no duplicate HIT, every assignment approved
# exactly once, and final images byte-identical to an undisturbed run.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/daemon"
PY=${PYTHON:-/usr/bin/python3}
cp "$FIX"/group.jpg "$FIX"/street.jpg .
export AWS_ACCESS_KEY_ID=AKIDCRASHTEST0000000
export AWS_SECRET_ACCESS_KEY=crash-test-secret
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/none"

cat >sim.yaml <<'YAML'
name: crash
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 3
stages: [41, 21, 13]
aggregate: union
images_host:
  kind: simulator
output_dir: out
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]
  - id: street
    file: street.jpg
    ground_truth: [[30, 30, 60, 72], [180, 100, 12, 14]]
YAML

SIMPIDS=""
trap 'for p in $SIMPIDS; do kill $p 2>/dev/null; done; rm -rf "$SCRATCH"' EXIT

# start_sim NAME: a simulator on a free port; sets PORT.
start_sim() {
	"$INTOFOCUS" sim --listen 127.0.0.1:0 --seed 7 --experiment sim.yaml \
		>"sim-$1.log" 2>&1 &
	SIMPIDS="$SIMPIDS $!"
	PORT=""
	i=0
	while [ -z "$PORT" ] && [ $i -lt 200 ]; do
		PORT=$(sed -n 's|.*endpoint: http://127.0.0.1:\([0-9]*\).*|\1|p' "sim-$1.log" | head -1)
		[ -n "$PORT" ] || sleep 0.05
		i=$((i + 1))
	done
}

# exp_for DIR PORT: the experiment file in DIR, talking to that simulator.
exp_for() {
	mkdir -p "$1"
	cp group.jpg street.jpg "$1/"
	sed "s|^  environment: simulator|  environment: simulator\n  endpoint: http://127.0.0.1:$2|" \
		sim.yaml >"$1/exp.yaml"
}

start_sim calm
check "the undisturbed simulator started" test -n "$PORT"
exp_for calm "$PORT"
expect_exit 0 "an undisturbed run finishes" "$INTOFOCUS" run calm/exp.yaml --state-dir calm/st
CALM_PORT=$PORT

start_sim crash
check "the crash simulator started" test -n "$PORT"
exp_for crash "$PORT"
# Rounds over every kind of crash point: in round R each run dies at the
# R-th point of one kind (INTOFOCUS_TEST_CRASH_LABEL), so the kills move
# further into the work round after round, until a run finishes.
runs=0
kills=0
round=0
rc=1
while [ $rc -ne 0 ] && [ $runs -lt 300 ]; do
	round=$((round + 1))
	for point in render post wait final done "after PutObject" \
		"HIT intent recorded" "after CreateHIT" \
		"after ListAssignmentsForHIT" "assignments recorded" \
		"after ApproveAssignment" "after AssociateQualification"; do
		runs=$((runs + 1))
		INTOFOCUS_TEST_CRASH_AT=$round INTOFOCUS_TEST_CRASH_LABEL="$point" \
			"$INTOFOCUS" run crash/exp.yaml --state-dir crash/st >>crash.log 2>&1
		rc=$?
		[ $rc -eq 0 ] && break
		if [ $rc -ne 137 ]; then
			echo "# run $runs exited $rc"
			break 2
		fi
		kills=$((kills + 1))
	done
done
echo "# $kills kills in $runs runs, at:"
grep -o "crash point [0-9]* ([^)]*)" crash.log | sed 's/.*(//; s/)//' | sort | uniq -c | sed 's/^/#   /'
check "the daemon survived being killed at every crash point" test "$rc" -eq 0
check "it was killed at least once per kind of point" test "$kills" -ge 12
for point in "HIT intent recorded" "after CreateHIT" "after ApproveAssignment" \
	"after AssociateQualification" "after PutObject" "assignments recorded" \
	"render -> post" "post -> wait" "wait -> render" "wait -> final" "final -> done"; do
	check "killed at least once at: $point" grep -q "crash point 1 (${point##*-> })" crash.log
done
check "final images identical to the undisturbed run" sh -c \
	'cmp calm/out/group.jpg crash/out/group.jpg && cmp calm/out/street.jpg crash/out/street.jpg'

# audit PORT: what the simulator holds, through boto3 (an independent client).
audit() {
	"$PY" - "$1" <<'PYEOF'
import sys, collections, boto3
c = boto3.client("mturk", endpoint_url="http://127.0.0.1:%s" % sys.argv[1],
                 region_name="us-east-1",
                 aws_access_key_id="AKIDCRASHTEST0000000",
                 aws_secret_access_key="crash-test-secret")
hits, tok = [], None
while True:
    kw = {"MaxResults": 100}
    if tok: kw["NextToken"] = tok
    r = c.list_hits(**kw)
    hits += r["HITs"]
    tok = r.get("NextToken")
    if not tok: break
per = collections.Counter(h["RequesterAnnotation"] for h in hits)
dups = {k: v for k, v in per.items() if v != 1}
assert not dups, "duplicate HITs: %s" % dups
assert len(per) == 6, per
n = 0
for h in hits:
    a = c.list_assignments_for_hit(HITId=h["HITId"], MaxResults=100)["Assignments"]
    assert len(a) == 3, (h["HITId"], len(a))
    assert all(x["AssignmentStatus"] == "Approved" for x in a), a
    n += len(a)
print("ok", len(hits), "HITs", n, "assignments")
PYEOF
}
check "no duplicate HIT and every assignment approved (crash run)" audit "$PORT"
check "the undisturbed run looks the same to the service" audit "$CALM_PORT"
check "the state recorded each assignment once" sh -c \
	"[ \$(sqlite3 crash/st/state.db 'SELECT COUNT(*) FROM assignments') = 18 ] && \
	 [ \$(sqlite3 crash/st/state.db \"SELECT COUNT(*) FROM assignments WHERE approval != 'approved'\") = 0 ]"
done_testing
