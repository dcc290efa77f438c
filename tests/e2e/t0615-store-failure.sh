# A failing store (disk full, I/O error) in the middle of a step (issue
# 14): the step's writes are rolled back together, the daemon stops with
# the error, and the next run does the step again - nothing committed
# half-done, no answer, approval or HIT lost or doubled.
#
# The hook INTOFOCUS_TEST_STORE_FAIL_AT=N makes the N-th write statement
# whose SQL contains INTOFOCUS_TEST_STORE_FAIL_MATCH fail as a full disk
# would (state_fail_write_at in daemon/state.c).  For each kind of write of
# a stage step - the HIT intent (post), the HIT row (post, extension,
# review status, closing), the answers (wait), the approvals, the grants,
# the stage result, the image row (every transition, final included), the
# meta row and every COMMIT - an experiment of its own runs round after
# round: round R fails at the R-th write of that kind, so the failures
# move further into the work, until a run finishes.  The simulator runs in
# its own process and is the judge: exactly one HIT per stage and image,
# every assignment recorded once and approved once.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/daemon"
cp "$FIX"/group.jpg "$FIX"/street.jpg .
cat >sim.yaml <<'YAML'
name: full
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 2
stages: [41, 13]
YAML
two_photos_yaml >>sim.yaml

. "$TOP/tests/e2e/sim_lib.sh"

start_sim calm --seed 5
check "the undisturbed simulator started" test -n "$PORT"
exp_for calm "$PORT"
expect_exit 0 "an undisturbed run finishes" "$INTOFOCUS" run calm/exp.yaml --state-dir calm/st
CALM_PORT=$PORT

k=0
for kind in "INSERT INTO hits" "UPDATE hits" "INSERT INTO assignments" \
	"UPDATE assignments SET approval" "INTO grants" \
	"UPDATE assignments SET granted" "stage_results" "UPDATE images" \
	"INSERT INTO meta" "COMMIT"; do
	k=$((k + 1))
	start_sim "k$k" --seed 5
	exp_for "k$k" "$PORT"
	runs=0
	fails=0
	rc=1
	while [ $rc -ne 0 ] && [ $runs -lt 60 ]; do
		runs=$((runs + 1))
		INTOFOCUS_TEST_STORE_FAIL_AT=$runs \
			INTOFOCUS_TEST_STORE_FAIL_MATCH="$kind" \
			"$INTOFOCUS" run "k$k/exp.yaml" --state-dir "k$k/st" \
			>"k$k/run$runs.log" 2>&1
		rc=$?
		[ $rc -eq 0 ] && break
		if [ $rc -ne 1 ] ||
			! grep -q "database or disk is full (test: write $runs," "k$k/run$runs.log"; then
			echo "# $kind: run $runs exited $rc:"
			tail -5 "k$k/run$runs.log" | sed 's/^/#   /'
			break
		fi
		fails=$((fails + 1))
	done
	echo "# $kind: $fails failed writes in $runs runs"
	check "$kind: the daemon recovered from each failed write" test "$rc" -eq 0
	check "$kind: a write of that kind failed at least twice" test "$fails" -ge 2
	check "$kind: one HIT per stage and image, every assignment approved" \
		sim_audit "$PORT" 4
	check "$kind: every finished HIT left the Reviewable list" \
		sim_reviewing "$PORT" 4
	check "$kind: each assignment recorded once, all approved and granted" sh -c \
		"[ \$(sqlite3 k$k/st/state.db 'SELECT COUNT(*) FROM assignments') = 8 ] && \
		 [ \$(sqlite3 k$k/st/state.db \"SELECT COUNT(*) FROM assignments WHERE approval != 'approved' OR granted != 1\") = 0 ]"
	check "$kind: each HIT recorded once, all moved to Reviewing" sh -c \
		"[ \$(sqlite3 k$k/st/state.db 'SELECT COUNT(*) FROM hits') = 4 ] && \
		 [ \$(sqlite3 k$k/st/state.db 'SELECT COUNT(*) FROM hits WHERE closed = 2') = 4 ]"
	check "$kind: both images done, as in the undisturbed run" sh -c \
		"[ \$(sqlite3 k$k/st/state.db \"SELECT COUNT(*) FROM images WHERE state = 'done'\") = 2 ] && \
		 cmp calm/out/group.jpg k$k/out/group.jpg && cmp calm/out/street.jpg k$k/out/street.jpg"
done
check "the undisturbed run looks the same to the service" sim_audit "$CALM_PORT" 4
done_testing
