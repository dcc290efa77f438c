# kill -9 at every kind of instant (spec section 9): each run of the daemon
# kills itself with SIGKILL at the first crash point of one kind (crash
# points follow each committed transition and each remote action, before
# its result is recorded; see crash_point in daemon/stage.c), and is started
# again on the same state, round after round, until a run finishes.
# The simulator runs in its own process, so it remembers everything across
# the daemon's deaths.  Then: no duplicate HIT, every assignment approved
# exactly once, and final images byte-identical to an undisturbed run.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/crash_lib.sh"

crash_study sim.yaml crash "41, 21, 13" 3
. "$TOP/tests/e2e/sim_lib.sh"
crash_sims 7
# Rounds over every kind of crash point: in round R each run dies at the
# R-th point of one kind (INTOFOCUS_TEST_CRASH_LABEL), so the kills move
# further into the work round after round, until a run finishes.
crash_rounds 300 crash.log "$INTOFOCUS" run crash/exp.yaml --state-dir crash/st
rc=$CRASH_RC
kills=$CRASH_KILLS
crash_points_met crash.log
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
