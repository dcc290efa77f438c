#!/bin/sh
# A Prolific study end to end in Debian's chromium
# (tests/browser/prolific.js): "intofocus serve" with the study's id,
# completion code and share taken from the experiment's recruitment:
# (--experiment), the daemon posting its HITs there, a participant
# arriving with Prolific's URL parameters, doing their share of tasks over
# several visits (the same session each time, the same task when they left
# one open), reaching Prolific's completion page with the code, and
# another participant who finds no task open while the last one is held
# kept on a page that waits and looks again (not sent to Prolific with
# nothing done), then, the study over, told to return it.  Then,
# with the daemon's Prolific step against the fake Prolific API (a process
# of its own, build/fakes/fake_prolific_server, whose submissions the
# stand-in moves to AWAITING REVIEW when a participant reaches it): the
# participant who did the tasks is approved and paid the bonus once, also
# after a second run, and "intofocus prolific submissions" shows it.
# app.prolific.com is a stand-in on loopback (see prolific.js).
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/browser_lib.sh"

SRV_PID=""
RUN_PID=""
FAKE_PID=""
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null;
	[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null;
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT

browser_setup
check "openssl is installed (scripts/deps.sh test)" \
	sh -c 'command -v openssl'
browser_credentials AKIDSERVEPROLIFIC001 serve-prolific-test-secret

STUDY=60a1b2c3d4e5f60718293a4b
CODE=C1A2B3C4
PID_A=5f0c0a1b2c3d4e5f6a7b8c9d
SESSION_A=6b1c2d3e4f5a6b7c8d9e0f1a
PID_B=5f0c0a1b2c3d4e5f6a7b8c9e
SESSION_B=6b1c2d3e4f5a6b7c8d9e0f1b
PID_C=5f0c0a1b2c3d4e5f6a7b8c9f
SESSION_C=6b1c2d3e4f5a6b7c8d9e0f1c

TOKEN=t0725-prolific-token-0123456789
unset CREDENTIALS_DIRECTORY
"$TOP/$BUILD/fakes/fake_prolific_server" "$TOKEN" "$STUDY" >fake.out 2>&1 &
FAKE_PID=$!
wait_port FAKE_URL "$FAKE_PID" fake.out 's|^url: ||p'
check "the fake Prolific API starts" test -n "$FAKE_URL"
# fake METHOD PATH: the fake's control surface (its JSON on stdout).
fake() {
	"$PYTHON" - "$FAKE_URL" "$TOKEN" "$1" "$2" <<'PY'
import sys, urllib.request
url, token, method, path = sys.argv[1:5]
rq = urllib.request.Request(url + path, method=method,
                            headers={"Authorization": "Token " + token})
print(urllib.request.urlopen(rq).read().decode())
PY
}
# Prolific makes a submission when a participant starts the study.
for x in "$PID_A:$SESSION_A" "$PID_B:$SESSION_B" "$PID_C:$SESSION_C"; do
	fake POST "/_fake/submission?id=${x#*:}&participant=${x%%:*}&status=ACTIVE" \
		>/dev/null
done
export PROLIFIC_TOKEN="$TOKEN"

check "a certificate for the stand-in of app.prolific.com" \
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	-subj /CN=app.prolific.com -keyout standin.key -out standin.crt

cp "$TOP/tests/fixtures/daemon/group.jpg" alpha.jpg
cp "$TOP/tests/fixtures/daemon/street.jpg" beta.jpg
# experiment ENDPOINT: the experiment file, for a task server there.
experiment() {
	cat <<YAML
name: bprolific
mturk:
  environment: simulator
  endpoint: $1
  poll_interval: 1s
hit:
  reward: "0.15"
  workers: 1
  lifetime: 1h
  exclusive_stages: false
stages: [9]
images_host:
  kind: simulator
output_dir: out
task:
  face_question: "Did you find a face? (yes or no)"
images:
  - id: alpha
    file: alpha.jpg
  - id: beta
    file: beta.jpg
budget_usd: "20"
recruitment:
  platform: prolific
  study_id: $STUDY
  completion_code: $CODE
  reward_usd: "1.00"
  places: 3
  tasks_per_participant: 2
  bonus_per_task_usd: "0.05"
  api_url: $FAKE_URL
YAML
}
# The task server takes the study, its code and the share (2) from the
# experiment's recruitment: (its endpoint is not known before it starts).
experiment http://127.0.0.1:9 >serve.yaml
sed '/^recruitment:/,$d; /^budget_usd/d' serve.yaml >mturk.yaml
expect_exit 2 "serve --experiment refuses two experiments of one name" \
	"$INTOFOCUS" serve --state-dir srv-x --experiment serve.yaml \
	--experiment mturk.yaml
expect_stderr "... naming it" "another --experiment is named \"bprolific\""
expect_exit 2 "serve --experiment with --prolific-study: one or the other" \
	"$INTOFOCUS" serve --state-dir srv-x --experiment serve.yaml \
	--prolific-study "$STUDY" --prolific-code "$CODE"
expect_exit 2 "serve --experiment with another --share is refused" \
	"$INTOFOCUS" serve --state-dir srv-x --experiment serve.yaml --share 3
expect_stderr "... naming both" \
	"--share 3 differs from serve.yaml's recruitment.tasks_per_participant 2"
"$INTOFOCUS" serve --listen 127.0.0.1:0 --state-dir srv \
	--experiment serve.yaml >srv.log 2>&1 &
SRV_PID=$!
wait_port PORT "$SRV_PID" srv.log
check "the task server starts" test -n "$PORT"
check "... with the study and the share from the experiment" \
	grep -q "share 2; Prolific $STUDY" srv.log
BASE="http://127.0.0.1:$PORT"
experiment "$BASE" >bprolific.yaml
"$INTOFOCUS" run bprolific.yaml --state-dir st >run.log 2>&1 &
RUN_PID=$!

# The study opens on Prolific once the daemon has posted its HITs (the
# operator's guide says so: before that, a participant finds none).
hits=0
i=0
while [ "$hits" -lt 2 ] && [ $i -lt 600 ] && kill -0 "$RUN_PID" 2>/dev/null
do
	hits=$("$INTOFOCUS" mturk ListHITs -e "$BASE" 2>/dev/null |
		grep -c '"HITId"')
	[ "$hits" -ge 2 ] || sleep 0.1
	i=$((i + 1))
done
check "the daemon posted both HITs to the task server" test "$hits" -eq 2

: >completed.txt
BASE="$BASE" STUDY="$STUDY" CODE="$CODE" SHARE=2 \
	PID_A="$PID_A" SESSION_A="$SESSION_A" \
	PID_B="$PID_B" SESSION_B="$SESSION_B" \
	PID_C="$PID_C" SESSION_C="$SESSION_C" \
	CERT="$SCRATCH/standin.crt" KEY="$SCRATCH/standin.key" \
	COMPLETED="$SCRATCH/completed.txt" \
	FAKE_PROLIFIC="$FAKE_URL" FAKE_TOKEN="$TOKEN" \
	NODE_PATH="$BROWSER_DIR/node_modules" \
	timeout 280 node "$BROWSER_DIR/prolific.js" >browser.out 2>&1
echo "# node exit $?"
browser_tap browser.out
check "Prolific's side saw the code twice: A, A again (B waits)" \
	test "$(cat completed.txt)" = "$(printf '%s %s\n%s %s' \
	"$PID_A" "$CODE" "$PID_A" "$CODE")"

# Both answers (A's) reach the daemon, which finishes the experiment and
# approves on Prolific what is awaiting review by then.
wait_run
check "the daemon finished the experiment with exit 0" test "$RUN_RC" -eq 0
[ "$RUN_RC" -eq 0 ] || sed 's/^/# run: /' run.log | tail -20
check "... one valid answer per image, both by participant A" \
	"$PYTHON" - "$PID_A" out/alpha.json out/beta.json <<'PY'
import json, sys
for path in sys.argv[2:]:
    asg = [a for st in json.load(open(path))["stages"]
           for a in st["assignments"]]
    assert [(a["worker_id"], a["valid"]) for a in asg] == \
        [(sys.argv[1], True)], (path, asg)
PY
# Run again, as an operator would: whatever reached Prolific's review
# after the first run's last look is settled now, and nothing twice.
expect_exit 0 "a second run settles what is left and exits 0" \
	"$INTOFOCUS" run bprolific.yaml --state-dir st
fake GET /_fake/state >fake-state.json
check "A (two valid tasks) approved once, bonus of 0.10 paid once" \
	"$PYTHON" - "$SESSION_A" fake-state.json <<'PY'
import json, sys
s = {x["id"]: x for x in json.load(open(sys.argv[2]))["submissions"]}
a = s[sys.argv[1]]
assert (a["status"], a["approvals"], a["pay_calls"], a["bonus_landed"]) \
    == ("APPROVED", 1, 1, 1), a
PY
check "nobody approved twice, nobody rejected, C (never completed) not" \
	"$PYTHON" - "$SESSION_C" fake-state.json <<'PY'
import json, sys
subs = json.load(open(sys.argv[2]))["submissions"]
assert all(x["approvals"] <= 1 and x["reject_calls"] == 0
           and x["pay_calls"] <= 1 for x in subs), subs
c = [x for x in subs if x["id"] == sys.argv[1]][0]
assert (c["status"], c["approve_calls"]) == ("ACTIVE", 0), c
PY
expect_exit 0 "the operator's view of the study" \
	"$INTOFOCUS" prolific bprolific.yaml --state-dir st submissions
check "... A: approved on Prolific, 2 answers valid, approval done, bonus paid" \
	sh -c "grep '^$SESSION_A ' '$SCRATCH/.stdout' |
	grep -q ' APPROVED  *2  *2  done  *paid 0.10 '"
done_testing
