#!/bin/sh
# "intofocus prolific": the operator's commands from the command line
# against the fake Prolific in a process of its own
# (build/fakes/fake_prolific_server): the token from the credential chain
# only, the study's submissions before and after the daemon has a state,
# an approval and a rejection by hand (Prolific's required fields checked
# before anything is sent), the exit statuses, and the token never shown.
. "$TOP/tests/e2e/lib.sh"

FAKE="$TOP/$BUILD/fakes/fake_prolific_server"
FAKE_PID=""
trap '[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; rm -rf "$SCRATCH"' \
	EXIT

TOKEN=t0730-prolific-token-0123456789
STUDY=60a1b2c3d4e5f60718293a4b
SUB_A=6b0000000000000000000a0a
SUB_B=6b0000000000000000000b0b
SUB_C=6b0000000000000000000c0c
unset PROLIFIC_TOKEN CREDENTIALS_DIRECTORY STATE_DIRECTORY

check "the fake Prolific is built (make tests-build)" test -x "$FAKE"
"$FAKE" "$TOKEN" "$STUDY" >fake.out 2>&1 &
FAKE_PID=$!
wait_port URL "$FAKE_PID" fake.out 's|^url: ||p'
check "the fake Prolific listens" test -n "$URL"

# fake METHOD PATH: the fake's control surface (JSON answer on stdout).
fake() {
	"$PYTHON" - "$URL" "$TOKEN" "$1" "$2" <<'PY'
import sys, urllib.request
url, token, method, path = sys.argv[1:5]
rq = urllib.request.Request(url + path, method=method,
                            headers={"Authorization": "Token " + token})
print(urllib.request.urlopen(rq).read().decode())
PY
}
# field SUBMISSION KEY: one counter or the status of a submission.
field() {
	fake GET /_fake/state | "$PYTHON" -c '
import json, sys
s = [x for x in json.load(sys.stdin)["submissions"] if x["id"] == sys.argv[1]]
print(s[0][sys.argv[2]])' "$1" "$2"
}

fake POST "/_fake/submission?id=$SUB_A&participant=5f0000000000000000000a0a&status=AWAITING%20REVIEW" >/dev/null
fake POST "/_fake/submission?id=$SUB_B&participant=5f0000000000000000000b0b&status=AWAITING%20REVIEW" >/dev/null
fake POST "/_fake/submission?id=$SUB_C&participant=5f0000000000000000000c0c&status=RETURNED" >/dev/null

cat >ops.yaml <<YAML
name: ops
mturk:
  environment: simulator
hit:
  reward: "0.15"
images: []
budget_usd: "50"
recruitment:
  platform: prolific
  study_id: $STUDY
  completion_code: C1A2B3C4
  reward_usd: "2.00"
  places: 10
  api_url: $URL
YAML
sed '/^recruitment:/,$d' ops.yaml >mturk.yaml

expect_exit 0 "prolific --help" "$INTOFOCUS" prolific --help
expect_stdout "... names the three actions" "submissions [--json]"
expect_exit 0 "intofocus help lists prolific" "$INTOFOCUS" help
expect_stdout "... with its summary" "prolific  a Prolific study"
expect_exit 2 "no action: usage error" "$INTOFOCUS" prolific ops.yaml
expect_exit 2 "an unknown action: usage error" \
	"$INTOFOCUS" prolific ops.yaml pay "$SUB_A"
expect_stderr "... naming it" "\"pay\": expected submissions, approve or"
expect_exit 2 "approve without an id: usage error" \
	"$INTOFOCUS" prolific ops.yaml approve
expect_exit 2 "reject without a category: usage error" \
	"$INTOFOCUS" prolific ops.yaml reject "$SUB_B" --message x
expect_exit 2 "an mturk experiment is refused" \
	"$INTOFOCUS" prolific mturk.yaml --state-dir st submissions
expect_stderr "... naming the key" "recruitment.platform is not prolific"
expect_exit 2 "no token anywhere: refused before any request" \
	"$INTOFOCUS" prolific ops.yaml --state-dir st submissions
check "... and nothing reached the fake" \
	test "$(fake GET /_fake/state | "$PYTHON" -c \
	'import json,sys; print(json.load(sys.stdin)["unauthorized"])')" = 0

mkdir creds
printf '%s\n' "$TOKEN" >creds/prolific-token
chmod 0644 creds/prolific-token
expect_exit 2 "a token file others may read is refused" \
	env CREDENTIALS_DIRECTORY="$SCRATCH/creds" \
	"$INTOFOCUS" prolific ops.yaml --state-dir st submissions
chmod 0600 creds/prolific-token
export CREDENTIALS_DIRECTORY="$SCRATCH/creds"

expect_exit 0 "submissions before the daemon has a state" \
	"$INTOFOCUS" prolific ops.yaml --state-dir st submissions
expect_stdout "... Prolific's side, the daemon's empty" \
	"3 submissions: 2 awaiting review, 0 approved"
expect_stdout "... says there is no state yet" "(no daemon state yet)"
check "... and created none" test ! -e st

expect_exit 0 "approve one by hand" \
	"$INTOFOCUS" prolific ops.yaml --state-dir st approve "$SUB_A"
expect_stdout "... says so" "submission $SUB_A (participant 5f0000000000000000000a0a): approved"
check "... Prolific shows it approved, once" \
	test "$(field "$SUB_A" status) $(field "$SUB_A" approvals)" = \
	"APPROVED 1"
expect_exit 0 "approving it again" \
	"$INTOFOCUS" prolific ops.yaml --state-dir st approve "$SUB_A"
check "... sends nothing more" test "$(field "$SUB_A" approve_calls)" = 1

expect_exit 1 "a returned submission cannot be approved (exit 1)" \
	"$INTOFOCUS" prolific ops.yaml --state-dir st approve "$SUB_C"
expect_stderr "... naming its status" "is RETURNED on Prolific"

echo "too short" >short.txt
expect_exit 2 "a rejection message under 100 characters is refused" \
	"$INTOFOCUS" prolific ops.yaml --state-dir st reject "$SUB_B" \
	--category NO_DATA --message-file short.txt
check "... before any request" test "$(field "$SUB_B" reject_calls)" = 0
cat >why.txt <<'TXT'
Thank you for taking part. Every task you submitted in this study was left
without any box drawn on the picture, so we cannot accept the submission.
TXT
expect_exit 0 "reject one by hand with a message file" \
	"$INTOFOCUS" prolific ops.yaml --state-dir st reject "$SUB_B" \
	--category NO_DATA --message-file why.txt
check "... Prolific shows it rejected" \
	test "$(field "$SUB_B" status)" = REJECTED
expect_exit 1 "approving a submission you rejected is refused" \
	"$INTOFOCUS" prolific ops.yaml --state-dir st approve "$SUB_B"
check "... without a call" test "$(field "$SUB_B" approve_calls)" = 0

expect_exit 0 "submissions with the daemon's state" \
	"$INTOFOCUS" prolific ops.yaml --state-dir st submissions
expect_stdout "... totals" \
	"3 submissions: 0 awaiting review, 1 approved on Prolific; daemon: 1 approvals done, 0 bonuses paid, 0 with an answer not valid; 2 decided by hand"
check "... A approved by hand, B rejected" sh -c "
	grep '^$SUB_A ' '$SCRATCH/.stdout' | grep -q ' done .* approve' &&
	grep '^$SUB_B ' '$SCRATCH/.stdout' | grep -q ' reject '"
expect_exit 0 "submissions --json" \
	"$INTOFOCUS" prolific ops.yaml --state-dir st submissions --json
check "... is JSON with the decisions" "$PYTHON" -c '
import json, sys
j = json.load(open(sys.argv[1]))
d = {s["submission_id"]: s["daemon"] for s in j["submissions"]}
assert d[sys.argv[2]]["approval"] == "done", d
assert d[sys.argv[3]]["decision"]["action"] == "reject", d
assert d[sys.argv[3]]["decision"]["category"] == "NO_DATA", d
' "$SCRATCH/.stdout" "$SUB_A" "$SUB_B"
check "the token appears in no output" sh -c \
	"! grep -rqF '$TOKEN' '$SCRATCH/.stdout' '$SCRATCH/.stderr' \
	'$SCRATCH/st'"
done_testing
