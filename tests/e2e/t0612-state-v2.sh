# A state of schema 2, as the code before schema 3 left it, with the
# simulator it talked to (tests/fixtures/state-v2, see its README): status
# refuses it until run migrates it; the migration moves each refused
# extension from the prefix of the image's error to its HIT's own column,
# and run goes on from there: no HIT is asked to be extended again (the
# simulator would accept now), and as they expired without an answer (no
# simulated crowd) each image fails with its refusal as the reason.  Then
# status and report work on the state.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/state-v2"
cp "$TOP"/tests/fixtures/daemon/group.jpg "$TOP"/tests/fixtures/daemon/street.jpg .
cp "$FIX/exp.yaml" sim.yaml
mkdir -m 700 st simst
sqlite3 st/state.db <"$FIX/state.sql"
sqlite3 simst/sim.db <"$FIX/sim.sql"
chmod 600 st/state.db simst/sim.db
db() { sqlite3 st/state.db "$1"; }
. "$TOP/tests/e2e/sim_lib.sh"

check "the fixture is schema 2" test "$(db 'PRAGMA user_version')" = 2
check "... with the refusals as a prefix of the images' errors" test \
	"$(db "SELECT COUNT(*) FROM images WHERE error LIKE 'UpdateExpirationForHIT refused: UpdateExpirationForHIT: %'")" = 2
start_sim old --seed 5 --no-crowd --state-dir simst
check "its simulator started on its state" test -n "$PORT"
exp_for run "$PORT"
expect_exit 1 "status refuses a state of an older schema" \
	"$INTOFOCUS" status run/exp.yaml --state-dir st
expect_stderr "... and says run migrates it" "schema version 2 from an older intofocus"

expect_exit 0 "run migrates the state and finishes the experiment" \
	timeout 120 "$INTOFOCUS" run run/exp.yaml --state-dir st
expect_stderr "it says so" "state schema 2 -> 3"
expect_stderr "... and each later step" "state schema 3 -> 4"
expect_stderr "... up to the current one" "state schema 4 -> 5"
check "the state is schema 5 (the current one)" test \
	"$(db 'PRAGMA user_version')" = 5
check "its counts of progress equal a count over the rows" test \
	"$(db "SELECT images = (SELECT COUNT(*) FROM images) AND failed = (SELECT COUNT(*) FROM images WHERE state = 'failed') AND hits_posted = (SELECT COUNT(*) FROM hits WHERE hit_id != '') AND cents_hits = (SELECT SUM(cost_cents) FROM hits) FROM progress_counts")" = 1
check "each refused extension is its HIT's column now" test \
	"$(db "SELECT COUNT(*) FROM hits WHERE stage = 2 AND extension_refused LIKE 'UpdateExpirationForHIT: AWS.MechanicalTurk.ParameterValidationError: %'")" = 2
check "no other HIT has a refusal" test \
	"$(db "SELECT COUNT(*) FROM hits WHERE extension_refused != ''")" = 2
check "no HIT was asked to be extended again" sh -c \
	"grep -q 'MTurk requests: ' '$SCRATCH/.stderr' && ! grep -q 'MTurk requests: .*UpdateExpirationForHIT' '$SCRATCH/.stderr'"
expect_stderr "the images failed with the refusal as the reason" \
	"expired without a usable answer and could not be extended (UpdateExpirationForHIT: AWS.MechanicalTurk.ParameterValidationError"
check "both images failed" test \
	"$(db "SELECT COUNT(*) FROM images WHERE state = 'failed' AND reason LIKE '%could not be extended%'")" = 2
check "the answers and approvals of stage 1 are kept" test \
	"$(db "SELECT COUNT(*) FROM assignments WHERE stage = 1 AND approval = 'approved' AND granted = 1")" = 2
expect_exit 0 "status works on the migrated state" \
	"$INTOFOCUS" status run/exp.yaml --state-dir st
check "status shows both images failed" sh -c \
	"grep -q '^group .*failed' '$SCRATCH/.stdout' && grep -q '^street .*failed' '$SCRATCH/.stdout'"
expect_exit 0 "status --json works on it" \
	"$INTOFOCUS" status run/exp.yaml --state-dir st --json
check "... and is JSON" "${PYTHON:-/usr/bin/python3}" -c \
	"import json, sys; json.load(open(sys.argv[1]))" "$SCRATCH/.stdout"
expect_exit 0 "report works on it" \
	"$INTOFOCUS" report run/exp.yaml --state-dir st -o site
check "the report has its page" test -s site/index.html
done_testing
