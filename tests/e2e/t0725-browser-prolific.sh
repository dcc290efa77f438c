#!/bin/sh
# A Prolific study end to end in Debian's chromium
# (tests/browser/prolific.js): "intofocus serve" with the study's id and
# completion code, the daemon posting its HITs there, a participant
# arriving with Prolific's URL parameters, doing their share of tasks over
# several visits (the same session each time, the same task when they left
# one open), reaching Prolific's completion page with the code, and
# another participant who finds nothing left sent there at once.
# app.prolific.com is a stand-in on loopback (see prolific.js).
. "$TOP/tests/e2e/lib.sh"

BROWSER_DIR="$TOP/tests/browser"
SRV_PID=""
RUN_PID=""
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null;
	[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT

check "Debian's chromium is installed (scripts/deps.sh test)" \
	test -x /usr/bin/chromium
check "openssl is installed (scripts/deps.sh test)" \
	sh -c 'command -v openssl'
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
	(cd "$BROWSER_DIR" && npm ci --no-audit --no-fund) \
		>"$SCRATCH/npm.log" 2>&1 ||
		sed 's/^/# npm: /' "$SCRATCH/npm.log" | tail -20
fi
check "playwright-core is installed in tests/browser/node_modules" \
	test -d "$BROWSER_DIR/node_modules/playwright-core"

export AWS_ACCESS_KEY_ID=AKIDSERVEPROLIFIC001
export AWS_SECRET_ACCESS_KEY=serve-prolific-test-secret
unset AWS_SESSION_TOKEN AWS_PROFILE CREDENTIALS_DIRECTORY
export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-such-credentials"
export HOME="$SCRATCH"
export TMPDIR="$SCRATCH"

STUDY=60a1b2c3d4e5f60718293a4b
CODE=C1A2B3C4
PID_A=5f0c0a1b2c3d4e5f6a7b8c9d
SESSION_A=6b1c2d3e4f5a6b7c8d9e0f1a
PID_B=5f0c0a1b2c3d4e5f6a7b8c9e
SESSION_B=6b1c2d3e4f5a6b7c8d9e0f1b
PID_C=5f0c0a1b2c3d4e5f6a7b8c9f
SESSION_C=6b1c2d3e4f5a6b7c8d9e0f1c

check "a certificate for the stand-in of app.prolific.com" \
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	-subj /CN=app.prolific.com -keyout standin.key -out standin.crt

"$INTOFOCUS" serve --listen 127.0.0.1:0 --state-dir srv --share 2 \
	--prolific-study "$STUDY" --prolific-code "$CODE" \
	>srv.log 2>&1 &
SRV_PID=$!
PORT=""
i=0
while [ -z "$PORT" ] && [ $i -lt 400 ]; do
	PORT=$(sed -n 's|.*endpoint: http://127.0.0.1:\([0-9]*\).*|\1|p' srv.log |
		head -1)
	[ -n "$PORT" ] || sleep 0.05
	i=$((i + 1))
done
check "the task server starts" test -n "$PORT"
BASE="http://127.0.0.1:$PORT"

cp "$TOP/tests/fixtures/daemon/group.jpg" alpha.jpg
cp "$TOP/tests/fixtures/daemon/street.jpg" beta.jpg
cat >bprolific.yaml <<YAML
name: bprolific
mturk:
  environment: simulator
  endpoint: $BASE
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
YAML
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
	NODE_PATH="$BROWSER_DIR/node_modules" \
	timeout 280 node "$BROWSER_DIR/prolific.js" >browser.out 2>&1
echo "# node exit $?"
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "# $line" ;;
	esac
done <browser.out
check "the browser script reported its checks" grep -q "^ok - " browser.out
check "Prolific's side saw the code three times: A, A again, B" \
	test "$(cat completed.txt)" = "$(printf '%s %s\n%s %s\n%s %s' \
	"$PID_A" "$CODE" "$PID_A" "$CODE" "$PID_B" "$CODE")"

# Both answers (A's) reach the daemon, which finishes the experiment.
i=0
while kill -0 "$RUN_PID" 2>/dev/null && [ $i -lt 900 ]; do
	sleep 0.1
	i=$((i + 1))
done
wait "$RUN_PID"
rc=$?
RUN_PID=""
check "the daemon finished the experiment with exit 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/# run: /' run.log | tail -20
check "... one valid answer per image, both by participant A" \
	"$PYTHON" - "$PID_A" out/alpha.json out/beta.json <<'PY'
import json, sys
for path in sys.argv[2:]:
    asg = [a for st in json.load(open(path))["stages"]
           for a in st["assignments"]]
    assert [(a["worker_id"], a["valid"]) for a in asg] == \
        [(sys.argv[1], True)], (path, asg)
PY
done_testing
