# kill -9 at each Prolific step of run (issue 16): the daemon runs an
# experiment on the embedded simulator, then the fake Prolific (in a
# process of its own, tests/fakes/fake_prolific_server) is told that each
# simulated worker is a participant whose submission awaits review.  Each
# later run kills itself with SIGKILL at the R-th crash point of one kind
# around the approval and bonus records (INTOFOCUS_TEST_CRASH_LABEL; see
# crash_point in daemon/recruit.c), with faults injected in the fake
# (429, 5xx, dropped replies, done but the reply lost), round after round
# until a run finishes.  Then, from the fake's counters: no submission
# approved twice, no bonus paid twice, none rejected, every participant
# whose answers are valid approved and paid once, the others left alone.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/crash_lib.sh"

FIX="$TOP/tests/fixtures/daemon"
PY=${PYTHON:-/usr/bin/python3}
TOKEN=e2e-prolific-token-0001
STUDY=60aa00000000000000000042
cp "$FIX"/group.jpg "$FIX"/street.jpg .

: >fake.log
"$TOP/$BUILD/fakes/fake_prolific_server" "$TOKEN" "$STUDY" >fake.log 2>&1 &
FAKEPID=$!
trap 'kill $FAKEPID 2>/dev/null; rm -rf "$SCRATCH"' EXIT
wait_port URL "$FAKEPID" fake.log 's|^url: \(http://127.0.0.1:[0-9]*\)$|\1|p'
check "the fake Prolific started" test -n "$URL"
fake() { # fake METHOD PATH?QUERY: the fake's control surface
	curl -sf -X "$1" -H "Authorization: Token $TOKEN" "$URL/_fake/$2"
}

cat >exp.yaml <<YAML
name: pcrash
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 3
stages: [41, 21, 13]
budget_usd: "100"
recruitment:
  platform: prolific
  study_id: $STUDY
  completion_code: C0DE1
  reward_usd: "1.00"
  places: 30
  tasks_per_participant: 2
  bonus_per_task_usd: "0.05"
  fee: academic
  api_url: $URL
YAML
two_photos_yaml >>exp.yaml
export PROLIFIC_TOKEN="$TOKEN"
unset CREDENTIALS_DIRECTORY

expect_exit 0 "check prices the study" "$INTOFOCUS" check exp.yaml
expect_exit 0 "a run with no submission yet finishes the images" \
	"$INTOFOCUS" run exp.yaml --state-dir st --sim-seed 7
db() { sqlite3 st/state.db "$1"; }
check "the study was listed" sh -c "grep -q 'Prolific study $STUDY' '$SCRATCH/.stderr'"
check "nothing was approved yet" test "$(db 'SELECT COUNT(*) FROM prolific_approvals')" = 0

# Every simulated worker completes on Prolific; one more returned the
# study, one is still at it (neither has an answer).
n=0
for w in $(db "SELECT DISTINCT worker_id FROM assignments ORDER BY worker_id"); do
	n=$((n + 1))
	fake POST "submission?id=S$n&participant=$w&status=AWAITING%20REVIEW" >/dev/null
done
fake POST "submission?id=SR&participant=PRETURNED&status=RETURNED" >/dev/null
fake POST "submission?id=SA&participant=PACTIVE&status=ACTIVE" >/dev/null
check "the workers are participants ($n)" test "$n" -ge 6

# Faults, one kind a run, cycling; a fault injected stays until a
# request meets it.
inject() {
	case $(( $1 % 6 )) in
	0) fake POST "inject?method=GET&prefix=/api/v1/submissions/&fault=429&times=2" ;;
	1) fake POST "inject?method=POST&prefix=/api/v1/submissions/S&fault=done-drop&times=1" ;;
	2) fake POST "inject?method=POST&prefix=/api/v1/bulk-bonus-payments/&fault=done-drop&times=1" ;;
	3) fake POST "inject?method=POST&prefix=/api/v1/submissions/bonus-payments/&fault=503&times=1" ;;
	4) fake POST "inject?method=POST&prefix=/api/v1/bulk-bonus-payments/&fault=500&times=1" ;;
	5) fake POST "inject?method=GET&prefix=/api/v1/submissions/S&fault=drop&times=1" ;;
	esac >/dev/null
}

export INTOFOCUS_TEST_PROLIFIC_SETTLE_S=1
# Prolific's kinds of crash point (daemon/recruit.c).
CRASH_POINTS="prolific intent recorded|prolific approval sending"
CRASH_POINTS="$CRASH_POINTS|prolific approval done unsaved"
CRASH_POINTS="$CRASH_POINTS|prolific approval done"
CRASH_POINTS="$CRASH_POINTS|prolific bonus created unsaved"
CRASH_POINTS="$CRASH_POINTS|prolific bonus created|prolific bonus paying"
CRASH_POINTS="$CRASH_POINTS|prolific bonus paid unsaved|prolific bonus paid"
CRASH_BEFORE_RUN=inject
crash_rounds 300 crash.log "$INTOFOCUS" run exp.yaml --state-dir st \
	--sim-seed 7
rc=$CRASH_RC
crash_points_met crash.log
check "run survived being killed at every Prolific step" test "$rc" -eq 0
for point in "prolific intent recorded" "prolific approval sending" \
	"prolific approval done unsaved" "prolific approval done" \
	"prolific bonus created unsaved" "prolific bonus created" \
	"prolific bonus paying" "prolific bonus paid unsaved" \
	"prolific bonus paid"; do
	check "killed at least once at: $point" grep -q "crash point 1 ($point)" crash.log
done
check "faults were met (a reply lost after the work was done)" \
	grep -q "Empty reply from server" crash.log

fake GET state >fake.json
db "SELECT a.worker_id, COUNT(*), SUM(a.approval = 'approved' AND a.valid = 1) FROM assignments a GROUP BY a.worker_id" >answers.txt
db "SELECT s.participant_id, b.amount_cents, b.state FROM prolific_bonuses b JOIN prolific_submissions s USING (submission_id)" >bonuses.txt
check "from the fake's counters: each valid participant approved and paid once, nobody twice, none rejected" "$PY" - <<'PYEOF'
import json
state = json.load(open("fake.json"))
subs = {s["participant"]: s for s in state["submissions"]}
answers = {}
for line in open("answers.txt"):
    w, n, ok = line.strip().split("|")
    answers[w] = (int(n), int(ok))
bonus = {}
for line in open("bonuses.txt"):
    p, cents, st = line.strip().split("|")
    bonus[p] = (int(cents), st)
for s in state["submissions"]:
    assert s["reject_calls"] == 0, s
    assert s["approvals"] <= 1, s
    assert s["pay_calls"] <= 1 and s["bonus_landed"] <= 1, s
valid = [w for w, (n, ok) in answers.items() if n == ok]
assert valid, answers
for w, (n, ok) in answers.items():
    s = subs[w]
    if n == ok:
        assert s["approvals"] == 1 and s["status"] == "APPROVED", s
        assert s["pay_calls"] == 1 and s["bonus_landed"] == 1, s
        assert bonus[w] == (5 * min(n, 2), "paid"), (w, bonus.get(w), n)
    else:
        assert s["approvals"] == 0 and s["pay_calls"] == 0, s
for p in ("PRETURNED", "PACTIVE"):
    assert subs[p]["approve_calls"] == 0 and subs[p]["pay_calls"] == 0
print("# %d participants approved and paid once" % len(valid))
PYEOF
check "the state agrees: every approval done, no bonus in flight" test \
	"$(db "SELECT COUNT(*) FROM prolific_approvals WHERE state != 'done'") $(db "SELECT COUNT(*) FROM prolific_bonuses WHERE state != 'paid'")" = "0 0"
check "what was committed stays within budget_usd" test \
	"$(db 'SELECT (SELECT SUM(cost_cents) FROM prolific_approvals) + (SELECT SUM(cost_cents) FROM prolific_bonuses) <= 10000')" = 1
check "the returned submission is left to the operator" test \
	"$(db "SELECT settled FROM prolific_submissions WHERE submission_id = 'SR'")" = 3
expect_exit 0 "one more run calls nothing that pays" \
	"$INTOFOCUS" run exp.yaml --state-dir st --sim-seed 7
fake GET state >fake2.json
check "... the counters did not move" "$PY" -c '
import json
a = json.load(open("fake.json"))["submissions"]
b = json.load(open("fake2.json"))["submissions"]
key = lambda s: (s["id"], s["approvals"], s["pay_calls"], s["bonus_landed"])
assert sorted(map(key, a)) == sorted(map(key, b)), (a, b)
'
check "the token never reached the log" sh -c "! grep -q '$TOKEN' crash.log '$SCRATCH/.stderr'"
done_testing
