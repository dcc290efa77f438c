# Shared by the kill -9 suites (t0610, t0611, t0613, t0614), after lib.sh:
#
#   crash_study FILE NAME STAGES WORKERS
#                     FILE = a study of the two fixture photos (copied
#                     here) on the simulator, polled every second, with
#                     STAGES ("41, 13") and WORKERS a HIT
#   crash_sims SEED   (after sim_lib.sh) an undisturbed run of sim.yaml
#                     on a simulator of its own (calm/, CALM_PORT), then
#                     the simulator the crash runs use (crash/, PORT)
#   crash_rounds MAX_RUNS LOG COMMAND...
#                     COMMAND killed at every kind of crash point, round
#                     after round, until a run finishes (see below)
#   crash_points_met LOG
#                     prints (as TAP comments) how often a run died at
#                     each kind of point, from LOG
#
# CRASH_POINTS: the kinds of crash point crash_rounds goes through, "|"
# between them (run_crash_point's labels in daemon/*.c); a suite may drop
# some before it calls crash_rounds.
CRASH_POINTS="render|post|wait|final|done|after PutObject"
CRASH_POINTS="$CRASH_POINTS|HIT intent recorded|after CreateHIT"
CRASH_POINTS="$CRASH_POINTS|after ListAssignmentsForHIT|assignments recorded"
CRASH_POINTS="$CRASH_POINTS|after ApproveAssignment"
CRASH_POINTS="$CRASH_POINTS|after AssociateQualification"
CRASH_POINTS="$CRASH_POINTS|after UpdateHITReviewStatus"

crash_study() {
	cp "$TOP/tests/fixtures/daemon/group.jpg" \
		"$TOP/tests/fixtures/daemon/street.jpg" .
	cat >"$1" <<YAML
name: $2
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: $4
stages: [$3]
YAML
	two_photos_yaml >>"$1"
}

crash_sims() {
	start_sim calm --seed "$1"
	check "the undisturbed simulator started" test -n "$PORT"
	exp_for calm "$PORT"
	expect_exit 0 "an undisturbed run finishes" \
		"$INTOFOCUS" run calm/exp.yaml --state-dir calm/st
	CALM_PORT=$PORT
	start_sim crash --seed "$1"
	check "the crash simulator started" test -n "$PORT"
	exp_for crash "$PORT"
}

# crash_rounds MAX_RUNS LOG COMMAND...: in round R each run of COMMAND
# (its output appended to LOG) dies by SIGKILL at the R-th crash point of
# one kind (INTOFOCUS_TEST_CRASH_AT, INTOFOCUS_TEST_CRASH_LABEL), so the
# kills move further into the work round after round, until a run
# finishes or MAX_RUNS have run.  Before each run it calls the function
# named by CRASH_BEFORE_RUN, if set, with the run's number, and after each
# kill the one named by CRASH_AFTER_KILL with the kind and the round.  Sets
# CRASH_RC (the last run's exit status), CRASH_RUNS and CRASH_KILLS; a run
# that exits other than 0 or 137 ends it.
crash_rounds() {
	cr_max=$1
	cr_log=$2
	shift 2
	CRASH_RUNS=0
	CRASH_KILLS=0
	CRASH_RC=1
	cr_round=0
	cr_ifs=$IFS
	while [ $CRASH_RC -ne 0 ] && [ $CRASH_RUNS -lt "$cr_max" ]; do
		cr_round=$((cr_round + 1))
		IFS='|'
		for cr_point in $CRASH_POINTS; do
			IFS=$cr_ifs
			CRASH_RUNS=$((CRASH_RUNS + 1))
			if [ -n "${CRASH_BEFORE_RUN:-}" ]; then
				"$CRASH_BEFORE_RUN" "$CRASH_RUNS"
			fi
			INTOFOCUS_TEST_CRASH_AT=$cr_round \
				INTOFOCUS_TEST_CRASH_LABEL="$cr_point" \
				"$@" >>"$cr_log" 2>&1
			CRASH_RC=$?
			[ $CRASH_RC -eq 0 ] && break
			if [ $CRASH_RC -ne 137 ]; then
				echo "# run $CRASH_RUNS exited $CRASH_RC"
				break 2
			fi
			CRASH_KILLS=$((CRASH_KILLS + 1))
			if [ -n "${CRASH_AFTER_KILL:-}" ]; then
				"$CRASH_AFTER_KILL" "$cr_point" "$cr_round"
			fi
		done
		IFS=$cr_ifs
	done
	IFS=$cr_ifs
	echo "# $CRASH_KILLS kills in $CRASH_RUNS runs"
}

crash_points_met() {
	echo "# killed at:"
	grep -o "crash point [0-9]* ([^)]*)" "$1" | sed 's/.*(//; s/)//' |
		sort | uniq -c | sed 's/^/#   /'
}
