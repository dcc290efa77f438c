# Secrets audit (spec sections 2 and 9, issue 9): with distinctive
# credentials in the environment, the secret key and the session token
# appear in no log line (-v and --verbose included), no error message, no
# state file (the SQLite database, its WAL and shared memory, byte for
# byte), no output or report file; the state directory is 0700 and its
# files 0600.  The access key id is public and may appear.
#
# One exception, which is how AWS works, not a leak of ours: a presigned
# URL made with temporary credentials must carry the session token as its
# X-Amz-Security-Token parameter, and that URL is the stage image's address
# given to every worker.  So outside the daemon's own state (the simulator
# stands for MTurk, which keeps the HIT's page) the token may occur only
# right after "X-Amz-Security-Token="; the daemon's state keeps URLs without
# their query and holds no token at all; the secret key occurs nowhere.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/daemon"
PY=${PYTHON:-/usr/bin/python3}
cp "$FIX"/group.jpg "$FIX"/street.jpg .

SECRET=SeCrEtKeY0910wJalrXUtnFEMIbPxRfiCYzzQ
TOKEN=SeSsIoNtOkEn0910FwoGZXIvYXdzEJr
export AWS_ACCESS_KEY_ID=ASIAE2ESECRETS000910
export AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_SESSION_TOKEN=$TOKEN
unset AWS_PROFILE
export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-such-credentials"
SIMPID=""
trap '[ -n "$SIMPID" ] && kill $SIMPID 2>/dev/null; rm -rf "$SCRATCH"' EXIT

cat >exp.yaml <<'YAML'
name: secrets
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 2
stages: [41, 13]
aggregate: union
images_host:
  kind: simulator
output_dir: out
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50]]
  - id: street
    file: street.jpg
    ground_truth: [[30, 30, 60, 72]]
YAML

# no_secret DESCRIPTION FILE...: the secret key occurs nowhere in the
# files' bytes, and the session token only as a presigned URL's parameter
# (grep -a: binary files such as the database are searched as text).
no_secret() {
	desc=$1
	shift
	if [ $# -eq 0 ]; then
		not_ok "$desc (no file to search)"
		return
	fi
	bad=""
	for f in "$@"; do
		grep -a -q -F -e "$SECRET" "$f" && bad="$bad $f(secret key)"
		all=$(grep -a -o -F -e "$TOKEN" "$f" | wc -l)
		inurl=$(grep -a -o -F -e "X-Amz-Security-Token=$TOKEN" "$f" | wc -l)
		[ "$all" -eq "$inurl" ] || bad="$bad $f(session token)"
	done
	if [ -n "$bad" ]; then
		not_ok "$desc"
		echo "# found in:$bad"
	else
		ok "$desc ($# files)"
	fi
}

# The daemon on the embedded simulator, verbose.  Its state stays open
# across a second, finished run, so that the WAL is there to be searched.
expect_exit 0 "run -v finishes on the embedded simulator" \
	"$INTOFOCUS" run exp.yaml --state-dir st -v
cp "$SCRATCH/.stderr" run.log
cp "$SCRATCH/.stdout" run.out
check "the verbose log is not empty" test -s run.log
expect_exit 0 "status reads the state" "$INTOFOCUS" status exp.yaml --state-dir st --json
cp "$SCRATCH/.stdout" status.out
expect_exit 0 "report writes the results site" \
	"$INTOFOCUS" report exp.yaml --state-dir st -o site
check "the run wrote final images and records" test -f out/group.jpg -a -f out/group.json

no_secret "no secret in run -v's log or output" run.log run.out status.out
no_secret "no secret in any state file (database, WAL, shm)" $(find st -type f)
# no_token FILE...: not even the session token inside a URL.
no_token() {
	desc=$1
	shift
	if grep -a -l -F -e "$TOKEN" "$@" >found 2>/dev/null; then
		not_ok "$desc"
		sed 's/^/# found in: /' found
	else
		ok "$desc ($# files)"
	fi
}
no_token "the daemon's own state holds no session token" $(find st -maxdepth 1 -type f)
no_secret "no secret in any output file" $(find out -type f)
no_secret "no secret in any report file" $(find site -type f)

check "the state directory is 0700" sh -c '[ "$(stat -c %a st)" = 700 ]'
check "every state file is 0600" sh -c '
	n=0
	for f in $(find st -type f); do
		[ "$(stat -c %a "$f")" = 600 ] || { echo "$f: $(stat -c %a "$f")"; exit 1; }
		n=$((n + 1))
	done
	[ $n -ge 1 ]'
check "the state is a SQLite database with the run in it" sh -c \
	'ls st | grep -q "\.db$"'

# The search must be able to see into the database (a control, so that a
# search that reads nothing cannot pass the checks above): the HITs'
# annotations are there in the clear.
check "control: the search finds the HITs' annotations in the database" \
	grep -a -q -F "secrets/group/1" st/state.db
check "control: the simulator (MTurk's stand-in) does hold the presigned URL" \
	sh -c "grep -a -r -q -F 'X-Amz-Security-Token=$TOKEN' st/simulator"

# A finished run folds its WAL into the database; a daemon killed by
# SIGKILL mid-run leaves the WAL as it was, so search that too.
INTOFOCUS_TEST_CRASH_AT=1 INTOFOCUS_TEST_CRASH_LABEL="after CreateHIT" \
	"$INTOFOCUS" run exp.yaml --state-dir st2 -v >crash.out 2>crash.log
rc=$?
check "a run killed after CreateHIT died by SIGKILL (exit 137, got $rc)" test "$rc" -eq 137
check "the killed run left a WAL" sh -c 'ls st2 | grep -q -- "-wal$"'
no_secret "no secret in the killed run's state, WAL included" $(find st2 -type f)
no_token "no session token in the killed run's own state" $(find st2 -maxdepth 1 -type f)
no_secret "no secret in the killed run's log" crash.out crash.log

# intofocus mturk --verbose against an external simulator, which accepts
# these credentials (its one key pair comes from the same environment).
"$INTOFOCUS" sim --listen 127.0.0.1:0 >sim.log 2>&1 &
SIMPID=$!
wait_port PORT "$SIMPID" sim.log
check "the external simulator started" test -n "$PORT"
expect_exit 0 "mturk --verbose GetAccountBalance succeeds" \
	"$INTOFOCUS" mturk GetAccountBalance --endpoint "http://127.0.0.1:$PORT" --verbose
cp "$SCRATCH/.stderr" mturk.log
cp "$SCRATCH/.stdout" mturk.out
expect_stderr "the trace shows the signed request" "Authorization"
no_secret "no secret in mturk --verbose's trace or answer" mturk.log mturk.out

# A refused call: the error message names the problem, never the secret.
AWS_SECRET_ACCESS_KEY=${SECRET}x expect_exit 1 "a wrong secret is refused" \
	"$INTOFOCUS" mturk GetAccountBalance --endpoint "http://127.0.0.1:$PORT" \
	--verbose --attempts 1
cp "$SCRATCH/.stderr" refused.log
no_secret "no secret in the refusal's message and trace" refused.log "$SCRATCH/.stdout"
no_secret "no secret in the simulator's own log" sim.log

done_testing
