# Batched polling (issue 6): with a slow crowd, HITs stay open over many
# poll intervals, and the daemon asks MTurk once per HIT type per poll
# (ListReviewableHITs) instead of once per HIT (ListAssignmentsForHIT).
# Each HIT's assignments are read once, when it is Reviewable; results are
# the same as with an instant crowd; every finished HIT ends Reviewing.
# The counts come from the daemon's summary of the requests it sent per
# operation, and none of the assertions depends on how fast the machine
# is: a HIT is only ever read when MTurk says all its answers are in, and
# its lifetime (1 h) is far beyond the run.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/daemon"
cp "$FIX"/group.jpg "$FIX"/street.jpg .
cat >sim.yaml <<'YAML'
name: slow
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 3
  lifetime: 1h
  # Which workers the simulator offers a HIT depends, with exclusive
  # stages, on the qualifications granted by the time it is created, and
  # so on how the two images' stages interleave; without them, each HIT's
  # workers and answers depend only on the seed and the HIT.
  exclusive_stages: false
stages: [41, 13]
YAML
two_photos_yaml >>sim.yaml
. "$TOP/tests/e2e/sim_lib.sh"
HITS=4

# calls LOG OPERATION: the requests of that operation in a run's summary.
calls() {
	sed -n "s/.*MTurk requests: //p" "$1" | tr ',' '\n' |
		sed -n "s/^ *$2 \([0-9]*\).*/\1/p" | head -1 | grep . || echo 0
}

start_sim instant --seed 11
check "an instant-crowd simulator started" test -n "$PORT"
exp_for instant "$PORT"
INSTANT_PORT=$PORT
expect_exit 0 "a run with an instant crowd finishes" \
	"$INTOFOCUS" run instant/exp.yaml --state-dir instant/st
cp "$SCRATCH/.stderr" instant.log

# Each simulated worker takes 1 s, one after the other: a HIT of three
# workers is open about 3 s, a poll interval (1 s) after another.
start_sim slow --seed 11 --delay 1
check "a slow-crowd simulator started" test -n "$PORT"
exp_for slow "$PORT"
expect_exit 0 "a run with a slow crowd finishes" \
	"$INTOFOCUS" run slow/exp.yaml --state-dir slow/st -v
cp "$SCRATCH/.stderr" slow.log

for run in instant slow; do
	echo "# $run: $(sed -n 's/.*MTurk requests: //p' $run.log)"
done
check "same final images with a slow crowd as with an instant one" sh -c \
	'cmp instant/out/group.jpg slow/out/group.jpg && cmp instant/out/street.jpg slow/out/street.jpg'
# The union lists boxes in the order the answers came in, which the
# crowd's speed changes: compare each stage's boxes as a set.
BOXES_SQL="SELECT image_id, stage, (SELECT group_concat(value, ' ') FROM
  (SELECT value FROM json_each(boxes) ORDER BY value)) FROM stage_results
  ORDER BY 1, 2"
export BOXES_SQL
check "same boxes per stage" sh -c \
	"[ \"\$(sqlite3 instant/st/state.db \"\$BOXES_SQL\")\" = \
	   \"\$(sqlite3 slow/st/state.db \"\$BOXES_SQL\")\" ]"
la=$(calls slow.log ListAssignmentsForHIT)
lr=$(calls slow.log ListReviewableHITs)
check "slow crowd: one ListAssignmentsForHIT per HIT ($la for $HITS HITs)" test "$la" -eq "$HITS"
check "instant crowd: the same ($(calls instant.log ListAssignmentsForHIT))" \
	test "$(calls instant.log ListAssignmentsForHIT)" -eq "$HITS"
# The first round after a HIT is posted finds nothing Reviewable yet (its
# first worker needs a second): polls that cost no per-HIT call.
check "polls found HITs not Reviewable yet and read none of them" \
	grep -q "poll: HIT type [A-Z0-9]*: 0 Reviewable" slow.log
check "more listings than stages ($lr)" test "$lr" -gt 2
check "one UpdateHITReviewStatus per HIT" test "$(calls slow.log UpdateHITReviewStatus)" -eq "$HITS"
check "no duplicate HIT and every assignment approved" sim_audit "$PORT" "$HITS"
check "every finished HIT is Reviewing, none left Reviewable" sim_reviewing "$PORT" "$HITS"
check "... with the instant crowd too" sim_reviewing "$INSTANT_PORT" "$HITS"

# approve: manual - the daemon approves nothing; its HITs still leave the
# Reviewable list (Reviewing is where the operator finds them) and their
# assignments wait for the operator, Submitted.
sed 's/^  lifetime: 1h/  lifetime: 1h\n  approve: manual/' sim.yaml >manual.yaml
mv manual.yaml sim.yaml
start_sim manual --seed 11
check "a third simulator started" test -n "$PORT"
exp_for manual "$PORT"
expect_exit 0 "a run with manual approval finishes" \
	"$INTOFOCUS" run manual/exp.yaml --state-dir manual/st
cp "$SCRATCH/.stderr" manual.log
check "manual: no ApproveAssignment" test "$(calls manual.log ApproveAssignment)" -eq 0
check "manual: every HIT is Reviewing" sim_reviewing "$PORT" "$HITS"
check "manual: the assignments wait for the operator, Submitted" sh -c \
	"\"$INTOFOCUS\" mturk ListReviewableHITs '{\"Status\":\"Reviewing\"}' --endpoint http://127.0.0.1:$PORT |
	 sed -n 's/.*\"HITId\": \"\\([A-Z0-9]*\\)\".*/\\1/p' | head -1 | {
		read -r hit &&
		\"$INTOFOCUS\" mturk ListAssignmentsForHIT \"{\\\"HITId\\\":\\\"\$hit\\\"}\" --endpoint http://127.0.0.1:$PORT |
		grep -c '\"AssignmentStatus\": \"Submitted\"' | grep -qx 3; }"
check "manual: same final images" sh -c \
	'cmp instant/out/group.jpg manual/out/group.jpg && cmp instant/out/street.jpg manual/out/street.jpg'
done_testing
