# Errors that do not pass by themselves (spec sections 2, 5, 9, 10).
#
# A simulator with other keys, or one that refuses chosen requests
# (`intofocus sim --refuse OP[:TEXT]=ERROR`), stands for revoked
# credentials, an account without funds, an invalid HIT and an experiment
# whose HIT type the service refuses.  The daemon must:
#   - stop at once with exit 1 and a message naming the operation, the
#     error and what to do when no request can succeed (credentials,
#     funds) or when what every image needs is refused (the HIT type),
#     lose nothing, and go on from there once the cause is gone;
#   - fail only the image whose own request is refused, with the reason,
#     and finish the others;
#   - show all of it in `intofocus status` (and --json).
# No test waits on the clock: a refusal is answered on the first request,
# and `timeout` only bounds a daemon that would loop (the defect).
. "$TOP/tests/e2e/lib.sh"

cp "$TOP"/tests/fixtures/daemon/group.jpg "$TOP"/tests/fixtures/daemon/street.jpg .
cat >sim.yaml <<'YAML'
name: refusals
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

# A daemon that retried forever would hang the suite: bound it.
run_bounded() {
	timeout 120 "$INTOFOCUS" run "$@"
}

# ---- a refusal rule that makes no sense is refused at start -------------
expect_exit 2 "sim refuses a rule naming no known operation" \
	"$INTOFOCUS" sim --listen 127.0.0.1:0 --refuse NoSuchOp=InsufficientFunds
expect_stderr "... and says which" '"NoSuchOp" is not an MTurk operation'
expect_exit 2 "sim refuses an unknown error" \
	"$INTOFOCUS" sim --listen 127.0.0.1:0 --refuse CreateHITType=Nope
expect_stderr "... and lists the known ones" "InsufficientFunds"

# ---- wrong credentials: exit 1, clear message, nothing lost ---------------
start_sim keys --seed 3
check "the simulator started" test -n "$PORT"
exp_for keys "$PORT"
expect_exit 1 "a wrong secret key stops the daemon with exit 1" \
	env AWS_SECRET_ACCESS_KEY=not-the-secret \
	timeout 120 "$INTOFOCUS" run keys/exp.yaml --state-dir keys/st
expect_stderr "the message names the operation" "PutObject"
expect_stderr "the message names the error" "SignatureDoesNotMatch"
expect_stderr "the message says what to do" "refuses the credentials"
expect_stderr "the message says nothing is lost" "the state keeps every HIT"
check "no image failed for it" sh -c \
	"[ \$(sqlite3 keys/st/state.db \"SELECT COUNT(*) FROM images WHERE state='failed'\") = 0 ]"
expect_exit 0 "status reads the stopped state" \
	"$INTOFOCUS" status keys/exp.yaml --state-dir keys/st
expect_stdout "status says the daemon stopped, and why" "STOPPED at"
expect_stdout "status shows the image's last error" "last error since"
"$INTOFOCUS" status keys/exp.yaml --state-dir keys/st --json >keys/status.json
check "status --json has the stop and the image's error" "$PYTHON" -c '
import json, sys
s = json.load(open("keys/status.json"))
assert s["stopped"] and "SignatureDoesNotMatch" in s["stopped"]["reason"], s["stopped"]
g = [i for i in s["images"] if i["id"] == "group"][0]
assert "SignatureDoesNotMatch" in g["error"], g
assert g["error_since"] > 0 and g["failed_attempts"] >= 1, g
'
# A run started after the stop is not the stopped daemon, even before any
# image has moved on: here one with the right keys, killed (the kill -9
# hook) just after its first request, before its first transition.
expect_exit 137 "a run started after the stop, killed before any transition" \
	env INTOFOCUS_TEST_CRASH_AT=1 INTOFOCUS_TEST_CRASH_LABEL="after PutObject" \
	timeout 120 "$INTOFOCUS" run keys/exp.yaml --state-dir keys/st
expect_exit 0 "status reads it" \
	"$INTOFOCUS" status keys/exp.yaml --state-dir keys/st
check "status no longer says STOPPED" sh -c "! grep -q STOPPED '$SCRATCH/.stdout'"
expect_stdout "status says the run started again after the stop" \
	"started again at"
expect_stdout "... and still names that stop's error" "SignatureDoesNotMatch"
"$INTOFOCUS" status keys/exp.yaml --state-dir keys/st --json >keys/status2.json
check "status --json: not stopped, the earlier stop and the restart" "$PYTHON" -c '
import json
s = json.load(open("keys/status2.json"))
assert s["stopped"] is None, s["stopped"]
b = s["stopped_before"]
assert "SignatureDoesNotMatch" in b["reason"] and b["restarted_at"] >= b["at"], b
'
# An unknown access key on the MTurk API itself (images hosted locally,
# so CreateHITType is the first call).
mkdir -p keys2/pub
sed -e "s|^  environment: simulator|  environment: simulator\n  endpoint: http://127.0.0.1:$PORT|" \
    -e "s|^  kind: simulator|  kind: local\n  dir: pub\n  base_url: http://127.0.0.1:1/pub|" \
	sim.yaml >keys2/exp.yaml
cp ./*.jpg keys2/
expect_exit 1 "an unknown access key stops the daemon with exit 1" \
	env AWS_ACCESS_KEY_ID=AKIDNOTKNOWN00000000 \
	sh -c 'cd keys2 && timeout 120 "$INTOFOCUS" run exp.yaml --state-dir st'
expect_stderr "... naming CreateHITType and the error" \
	"CreateHITType: UnrecognizedClientException"
# The right keys again: the run resumes and finishes exactly once.
expect_exit 0 "with the right keys the same state finishes" \
	run_bounded keys/exp.yaml --state-dir keys/st
check "no duplicate HIT, every assignment approved" sim_audit "$PORT" 6
expect_exit 0 "status after the fix" \
	"$INTOFOCUS" status keys/exp.yaml --state-dir keys/st
check "status no longer says stopped" sh -c "! grep -q STOPPED '$SCRATCH/.stdout'"

# ---- no funds on ApproveAssignment: exit 1, spec 9 kept ------------------
start_sim funds --seed 3 --state-dir funds-sim \
	--refuse ApproveAssignment=InsufficientFunds
check "the refusing simulator started" test -n "$PORT"
FUNDS=$PORT
exp_for funds "$PORT"
expect_exit 1 "no funds to approve stops the daemon with exit 1" \
	run_bounded funds/exp.yaml --state-dir funds/st
expect_stderr "... naming ApproveAssignment" "ApproveAssignment"
expect_stderr "... and saying to add funds" "add funds"
check "the answers are recorded, none counted as approved" sh -c \
	"[ \$(sqlite3 funds/st/state.db \"SELECT COUNT(*) FROM assignments WHERE approval='pending'\") -gt 0 ] &&
	 [ \$(sqlite3 funds/st/state.db \"SELECT COUNT(*) FROM assignments WHERE approval='approved'\") = 0 ]"
# Funds added: the same simulator state without the refusal.
last=$(echo $SIMPIDS | awk '{print $NF}')
kill "$last" 2>/dev/null
wait "$last" 2>/dev/null
start_sim funds2 --seed 3 --state-dir funds-sim
check "the simulator restarted on its state" test -n "$PORT"
sed -i "s|127.0.0.1:$FUNDS|127.0.0.1:$PORT|" funds/exp.yaml
expect_exit 0 "with funds the same state finishes" \
	run_bounded funds/exp.yaml --state-dir funds/st
check "no duplicate HIT, every assignment approved once" sim_audit "$PORT" 6
check "each assignment recorded once" sh -c \
	"[ \$(sqlite3 funds/st/state.db 'SELECT COUNT(*) FROM assignments') = 18 ]"

# ---- rejected by hand while the daemon was stopped ------------------------
# The stop above tells the operator to settle the assignment by hand; one
# who rejects it must not leave the next run approving it forever (the
# approve answers InvalidAssignmentState, the read-back says Rejected).
start_sim byhand --seed 3 --state-dir byhand-sim \
	--refuse ApproveAssignment=InsufficientFunds
check "the refusing simulator started" test -n "$PORT"
BYHAND=$PORT
exp_for byhand "$PORT"
expect_exit 1 "no funds stops the daemon" \
	run_bounded byhand/exp.yaml --state-dir byhand/st
A=$(sqlite3 byhand/st/state.db \
	"SELECT assignment_id FROM assignments WHERE approval='pending' ORDER BY assignment_id LIMIT 1")
check "an assignment waits for its approval" test -n "$A"
last=$(echo $SIMPIDS | awk '{print $NF}')
kill "$last" 2>/dev/null
wait "$last" 2>/dev/null
start_sim byhand2 --seed 3 --state-dir byhand-sim
check "the simulator restarted on its state" test -n "$PORT"
sed -i "s|127.0.0.1:$BYHAND|127.0.0.1:$PORT|" byhand/exp.yaml
expect_exit 0 "the operator rejects it by hand" \
	"$INTOFOCUS" mturk RejectAssignment \
	"{\"AssignmentId\":\"$A\",\"RequesterFeedback\":\"boxes on the wall\"}" \
	--endpoint "http://127.0.0.1:$PORT"
expect_exit 0 "the next run finishes instead of retrying the approval" \
	run_bounded byhand/exp.yaml --state-dir byhand/st
expect_stderr "... saying it was rejected outside the daemon" \
	"was rejected outside the daemon"
expect_stderr "... with the operator's feedback" "boxes on the wall"
check "the state records it as rejected, once" sh -c \
	"[ \"\$(sqlite3 byhand/st/state.db \"SELECT approval FROM assignments WHERE assignment_id='$A'\")\" = rejected ]"
check "every other assignment approved" sh -c \
	"[ \$(sqlite3 byhand/st/state.db \"SELECT COUNT(*) FROM assignments WHERE approval='approved'\") = 17 ]"
check "the simulator agrees: one rejected, 17 approved, none twice" \
	"$PYTHON" - "$PORT" "$A" <<'PYEOF'
import collections, os, sys
import boto3
c = boto3.client("mturk", endpoint_url="http://127.0.0.1:%s" % sys.argv[1],
                 region_name="us-east-1",
                 aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
hits = c.list_hits(MaxResults=100)["HITs"]
assert len(hits) == 6, len(hits)
st = collections.Counter()
for h in hits:
    for a in c.list_assignments_for_hit(HITId=h["HITId"], MaxResults=100)["Assignments"]:
        st[a["AssignmentStatus"]] += 1
        if a["AssignmentId"] == sys.argv[2]:
            assert a["AssignmentStatus"] == "Rejected", a
assert st == {"Approved": 17, "Rejected": 1}, st
PYEOF

# ---- one image's HIT is invalid: that image fails, the other is done ------
start_sim invalid --seed 3 \
	--refuse CreateHITWithHITType:refusals/street/=ParameterValidationError
check "the simulator refusing street's HIT started" test -n "$PORT"
exp_for invalid "$PORT"
expect_exit 0 "the run finishes" run_bounded invalid/exp.yaml --state-dir invalid/st
check "group is done" test -f invalid/out/group.jpg
check "street failed with the reason" sh -c \
	"sqlite3 invalid/st/state.db \"SELECT state, reason FROM images WHERE id='street'\" |
	 grep -q '^failed|CreateHIT: .*ParameterValidationError'"
check "only group's three HITs exist, all approved" sim_audit "$PORT" 3
expect_exit 0 "status shows it" \
	"$INTOFOCUS" status invalid/exp.yaml --state-dir invalid/st
expect_stdout "status: street failed with the reason" "ParameterValidationError"
expect_stdout "status: 1 done, 1 failed" "(1 done, 1 failed)"

# ---- the HIT type is refused: every image needs it, so stop ---------------
start_sim hittype --seed 3 --refuse CreateHITType=QualificationTypeDoesNotExist
check "the simulator refusing the HIT type started" test -n "$PORT"
exp_for hittype "$PORT"
expect_exit 1 "a refused HIT type stops the daemon" \
	run_bounded hittype/exp.yaml --state-dir hittype/st
expect_stderr "... naming CreateHITType and the error" \
	"CreateHITType: AWS.MechanicalTurk.QualificationTypeDoesNotExist"
expect_stderr "... and the experiment file to fix" "fix hittype/exp.yaml"
check "no image failed for it" sh -c \
	"[ \$(sqlite3 hittype/st/state.db \"SELECT COUNT(*) FROM images WHERE state='failed'\") = 0 ]"
# The same refusal only at CreateHIT: still the experiment's qualifications.
start_sim hitqual --seed 3 \
	--refuse CreateHITWithHITType=QualificationTypeDoesNotExist
check "the simulator refusing HITs for a qualification started" test -n "$PORT"
exp_for hitqual "$PORT"
expect_exit 1 "a HIT refused for a qualification stops the daemon" \
	run_bounded hitqual/exp.yaml --state-dir hitqual/st
expect_stderr "... naming CreateHIT" "CreateHIT: CreateHITWithHITType"
check "no image failed for it" sh -c \
	"[ \$(sqlite3 hitqual/st/state.db \"SELECT COUNT(*) FROM images WHERE state='failed'\") = 0 ]"
done_testing
