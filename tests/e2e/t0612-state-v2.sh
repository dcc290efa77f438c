# A state of schema 2, as the code before schema 3 left it, with its
# embedded simulator's (tests/fixtures/state-v2, see its README): status
# refuses it until run migrates it; the migration moves the refused
# extension from the prefix of the image's error to its HIT's own column,
# and run goes on from there: the HIT is not asked to be extended again
# (this simulator would accept now), and when it expires without an
# answer the image fails with the refusal as the reason.  Then status and
# report work on the state.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/state-v2"
cp "$TOP"/tests/fixtures/daemon/group.jpg "$TOP"/tests/fixtures/daemon/street.jpg .
cp "$FIX/exp.yaml" exp.yaml
mkdir -m 700 st st/simulator
sqlite3 st/state.db <"$FIX/state.sql"
sqlite3 st/simulator/sim.db <"$FIX/sim.sql"
chmod 600 st/state.db st/simulator/sim.db
db() { sqlite3 st/state.db "$1"; }

check "the fixture is schema 2" test "$(db 'PRAGMA user_version')" = 2
check "... with the refusal as a prefix of street's error" sh -c \
	"sqlite3 st/state.db \"SELECT error FROM images WHERE id = 'street'\" | grep -q '^UpdateExpirationForHIT refused: UpdateExpirationForHIT: '"
expect_exit 1 "status refuses a state of an older schema" \
	"$INTOFOCUS" status exp.yaml --state-dir st
expect_stderr "... and says run migrates it" "schema version 2 from an older intofocus"

export AWS_ACCESS_KEY_ID=AKIDE2ETEST000000000
export AWS_SECRET_ACCESS_KEY=e2e-test-secret
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-such-credentials"
# The daemon's clock runs 60 times faster (INTOFOCUS_TEST_TIME_WARP), so
# that street's HIT expires at once for it.
expect_exit 0 "run migrates the state and finishes the experiment" \
	env INTOFOCUS_TEST_TIME_WARP=60 timeout 120 \
	"$INTOFOCUS" run exp.yaml --state-dir st
expect_stderr "it says so" "state schema 2 -> 3"
check "the state is schema 3" test "$(db 'PRAGMA user_version')" = 3
check "the refused extension is its HIT's column now" sh -c \
	"sqlite3 st/state.db \"SELECT extension_refused FROM hits WHERE image_id = 'street' AND stage = 2 AND attempt = 1\" | grep -q '^UpdateExpirationForHIT: AWS.MechanicalTurk.ParameterValidationError: '"
check "no other HIT has a refusal" test \
	"$(db "SELECT COUNT(*) FROM hits WHERE extension_refused != ''")" = 1
expect_stderr "the refused HIT was not asked again" \
	"MTurk requests: "
check "... no UpdateExpirationForHIT at all" sh -c \
	"! grep -q 'MTurk requests: .*UpdateExpirationForHIT' '$SCRATCH/.stderr'"
expect_stderr "street failed with the refusal as the reason" \
	"expired without a usable answer and could not be extended (UpdateExpirationForHIT: AWS.MechanicalTurk.ParameterValidationError"
check "group stays done, street failed" test \
	"$(db "SELECT id, state FROM images ORDER BY id" | tr '\n' ' ')" = \
	"group|done street|failed "
check "group's answers and approvals are kept" test \
	"$(db "SELECT COUNT(*) FROM assignments WHERE image_id = 'group' AND approval = 'approved'")" = 2
expect_exit 0 "status works on the migrated state" \
	"$INTOFOCUS" status exp.yaml --state-dir st
check "status shows group done and street failed" sh -c \
	"grep -q '^group .*done' '$SCRATCH/.stdout' && grep -q '^street .*failed' '$SCRATCH/.stdout'"
expect_exit 0 "status --json works on it" \
	"$INTOFOCUS" status exp.yaml --state-dir st --json
check "... and is JSON" "${PYTHON:-/usr/bin/python3}" -c \
	"import json, sys; json.load(open(sys.argv[1]))" "$SCRATCH/.stdout"
expect_exit 0 "report works on it" \
	"$INTOFOCUS" report exp.yaml --state-dir st -o site
check "the report has its page" test -s site/index.html
done_testing
