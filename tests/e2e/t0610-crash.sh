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
cat >sim.yaml <<'YAML'
name: crash
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 3
stages: [41, 21, 13]
YAML
two_photos_yaml >>sim.yaml

. "$TOP/tests/e2e/sim_lib.sh"

start_sim calm --seed 7
check "the undisturbed simulator started" test -n "$PORT"
exp_for calm "$PORT"
expect_exit 0 "an undisturbed run finishes" "$INTOFOCUS" run calm/exp.yaml --state-dir calm/st
CALM_PORT=$PORT

start_sim crash --seed 7
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
		"after ApproveAssignment" "after AssociateQualification" \
		"after UpdateHITReviewStatus"; do
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
check "it was killed at least once per kind of point" test "$kills" -ge 13
for point in "HIT intent recorded" "after CreateHIT" "after ApproveAssignment" \
	"after AssociateQualification" "after PutObject" "assignments recorded" \
	"after UpdateHITReviewStatus" \
	"render -> post" "post -> wait" "wait -> render" "wait -> final" "final -> done"; do
	check "killed at least once at: $point" grep -q "crash point 1 (${point##*-> })" crash.log
done
check "final images identical to the undisturbed run" sh -c \
	'cmp calm/out/group.jpg crash/out/group.jpg && cmp calm/out/street.jpg crash/out/street.jpg'

check "no duplicate HIT and every assignment approved (crash run)" sim_audit "$PORT" 6
check "the undisturbed run looks the same to the service" sim_audit "$CALM_PORT" 6
# A HIT whose UpdateHITReviewStatus was cut short is moved again by the
# next run, which finds it Reviewing and counts that as done.
check "every finished HIT left the Reviewable list (crash run)" sim_reviewing "$PORT" 6
check "... and in the undisturbed run" sim_reviewing "$CALM_PORT" 6
check "the state recorded every HIT as moved" sh -c \
	"[ \$(sqlite3 crash/st/state.db 'SELECT COUNT(*) FROM hits WHERE closed = 2') = 6 ]"
check "the state recorded each assignment once" sh -c \
	"[ \$(sqlite3 crash/st/state.db 'SELECT COUNT(*) FROM assignments') = 18 ] && \
	 [ \$(sqlite3 crash/st/state.db \"SELECT COUNT(*) FROM assignments WHERE approval != 'approved'\") = 0 ]"
# The embedded simulator keeps its HITs beside the daemon's state, so a
# daemon killed mid-run finds its HITs again instead of reposting them.
mkdir -p embedded
cp group.jpg street.jpg embedded/
grep -v "^  endpoint:" sim.yaml >embedded/exp.yaml
for point in "post" "after CreateHIT" "assignments recorded" "wait"; do
	INTOFOCUS_TEST_CRASH_AT=2 INTOFOCUS_TEST_CRASH_LABEL="$point" \
		"$INTOFOCUS" run embedded/exp.yaml --state-dir embedded/st --sim-seed 7 >>embedded.log 2>&1
done
expect_exit 0 "an embedded-simulator run killed four times finishes" \
	"$INTOFOCUS" run embedded/exp.yaml --state-dir embedded/st --sim-seed 7
check "it was killed four times" test "$(grep -c 'SIGKILL at crash point' embedded.log)" -eq 4
check "no HIT was lost with the embedded simulator" sh -c '! grep -q "is gone" embedded.log "$SCRATCH/.stderr"'
check "same final images as the undisturbed run" sh -c \
	'cmp calm/out/group.jpg embedded/out/group.jpg && cmp calm/out/street.jpg embedded/out/street.jpg'
done_testing
