# intofocus mturk: one API call for operators, against a loopback fake of the
# service (tests/support/fake_mturk.py) that checks each signature itself.
. "$TOP/tests/e2e/lib.sh"

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
unset AWS_SESSION_TOKEN AWS_PROFILE CREDENTIALS_DIRECTORY
export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-such-file"
export HOME="$SCRATCH/home"
mkdir -p "$HOME"

"$PYTHON" "$TOP/tests/support/fake_mturk.py" "$SCRATCH/port" "$SCRATCH/log" \
	"$AWS_SECRET_ACCESS_KEY" &
FAKE_PID=$!
trap 'kill $FAKE_PID 2>/dev/null; rm -rf "$SCRATCH"' EXIT
# Readiness, not timing: wait for the port file (renamed into place).
wait_port PORT "$FAKE_PID" "$SCRATCH/port" 's|^\([0-9][0-9]*\)$|\1|p'
EP="http://127.0.0.1:$PORT"

expect_exit 0 "--help exits 0" "$INTOFOCUS" mturk --help
expect_stdout "--help lists the operations" "CreateHITWithHITType"
expect_stdout "--help names the exit statuses" "75 the service"

expect_exit 0 "GetAccountBalance against the fake" \
	"$INTOFOCUS" mturk GetAccountBalance --endpoint "$EP"
expect_stdout "the balance is printed as indented JSON" \
	'  "AvailableBalance": "10000.00"'
check "the fake saw the right target and body" \
	grep -qxF 'MTurkRequesterServiceV20170117.GetAccountBalance {}' \
	"$SCRATCH/log"

expect_exit 0 "options may come first, and a JSON argument is passed on" \
	"$INTOFOCUS" mturk --endpoint "$EP" ListHITs '{"MaxResults": 10}'
expect_stdout "the request body arrived" '"MaxResults": 10'
check "the body was sent compact" \
	grep -qxF 'MTurkRequesterServiceV20170117.ListHITs {"MaxResults":10}' \
	"$SCRATCH/log"

echo '{"HITId":"3ABC"}' >"$SCRATCH/req.json"
expect_exit 0 "JSON from stdin with -" \
	sh -c "\"$INTOFOCUS\" mturk GetHIT - --endpoint $EP <\"$SCRATCH/req.json\""
expect_stdout "stdin's body arrived" '"HITId": "3ABC"'

expect_exit 1 "a RequestError exits 1" \
	"$INTOFOCUS" mturk GetHIT '{"HITId":"MISSING"}' --endpoint "$EP"
expect_stderr "it is shown as TurkErrorCode: message" \
	"AWS.MechanicalTurk.HITDoesNotExist: Hit MISSING does not exist."

expect_exit 75 "a ServiceFault that persists exits 75" \
	"$INTOFOCUS" mturk DeleteHIT '{"HITId":"X"}' --endpoint "$EP" \
	--attempts 2
expect_stderr "and says it gave up" "gave up after 2 attempts"
check "the ServiceFault was tried exactly twice" \
	test "$(grep -c DeleteHIT "$SCRATCH/log")" -eq 2

AWS_SECRET_ACCESS_KEY=wrong expect_exit 1 "a wrong secret is refused (exit 1)" \
	"$INTOFOCUS" mturk GetAccountBalance --endpoint "$EP"
expect_stderr "with the service's reason" "InvalidSignatureException"

# The experiment file's mturk section picks the endpoint.
write_exp() {
	cat >"$SCRATCH/exp.yaml" <<EOF
name: cli-test
mturk:
  environment: simulator
$1
hit:
  reward: "0.15"
stages: [41, 13]
images_host:
  kind: simulator
images:
  - id: cat
    file: $TOP/examples/images/cat.jpg
EOF
}
write_exp "  endpoint: $EP"
expect_exit 0 "--experiment takes the endpoint from the file" \
	"$INTOFOCUS" mturk GetAccountBalance --experiment "$SCRATCH/exp.yaml"
expect_stdout "and the call is answered" '"AvailableBalance": "10000.00"'
write_exp ""
expect_exit 2 "a simulator experiment without an endpoint exits 2" \
	"$INTOFOCUS" mturk GetAccountBalance --experiment "$SCRATCH/exp.yaml"
expect_stderr "and says what to do" "start intofocus sim and pass --endpoint"
expect_exit 0 "--endpoint overrides the experiment file" \
	"$INTOFOCUS" mturk GetAccountBalance --experiment "$SCRATCH/exp.yaml" \
	--endpoint "$EP"

expect_exit 0 "--verbose traces the exchange" \
	"$INTOFOCUS" mturk GetAccountBalance --endpoint "$EP" --verbose
expect_stderr "the trace shows the target" \
	"X-Amz-Target: MTurkRequesterServiceV20170117.GetAccountBalance"
expect_stderr "the trace hides the Authorization header" \
	"Authorization: [redacted]"
check "a trace was written, with no signature or secret in it" \
	sh -c "grep -qF '[redacted]' \"$SCRATCH/.stderr\" &&
	    ! grep -qE 'Signature=|$AWS_SECRET_ACCESS_KEY' \"$SCRATCH/.stderr\""

# A port nobody listens on: the fake's, once it is stopped.
kill $FAKE_PID
wait $FAKE_PID 2>/dev/null
expect_exit 75 "network down exits 75" \
	"$INTOFOCUS" mturk GetAccountBalance --endpoint "$EP" --attempts 1
expect_stderr "naming the endpoint" "127.0.0.1:$PORT"

expect_exit 2 "bad JSON exits 2" \
	"$INTOFOCUS" mturk ListHITs '{"MaxResults":' --endpoint "$EP"
expect_stderr "bad JSON is located" "not JSON: 1:"
expect_exit 2 "a JSON array exits 2" "$INTOFOCUS" mturk ListHITs '[1]'
expect_exit 2 "duplicate keys exit 2" "$INTOFOCUS" mturk ListHITs \
	'{"MaxResults":1,"MaxResults":2}'
expect_exit 2 "an unknown operation exits 2" "$INTOFOCUS" mturk GetHit
expect_stderr "and is named" '"GetHit" is not an MTurk operation'
expect_exit 2 "no operation exits 2" "$INTOFOCUS" mturk
expect_exit 2 "an unknown option exits 2" "$INTOFOCUS" mturk --frob GetHIT
expect_exit 2 "--sandbox with --production exits 2" \
	"$INTOFOCUS" mturk GetAccountBalance --sandbox --production
expect_exit 2 "plain http to a non-loopback host exits 2" \
	"$INTOFOCUS" mturk GetAccountBalance --endpoint http://example.com
expect_stderr "and says why" "loopback"
expect_exit 2 "no credentials anywhere exits 2" \
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	"$INTOFOCUS" mturk GetAccountBalance --endpoint "$EP"

done_testing
