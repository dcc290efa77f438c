# The simulated crowd's model is a setting: the experiment's simulator:
# keys, and intofocus sim's --crowd-k, --crowd-x0, --spurious and --jitter
# over them.  Two extreme crowds make the answers certain.
. "$TOP/tests/e2e/lib.sh"

export AWS_ACCESS_KEY_ID=AKIDINTOFOCUSSIM0000
export AWS_SECRET_ACCESS_KEY=intofocus-simulator-secret-not-for-aws
unset AWS_SESSION_TOKEN AWS_PROFILE CREDENTIALS_DIRECTORY
export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-such-file"
export HOME="$SCRATCH/home"
mkdir -p "$HOME"
SIMPIDS=""
trap 'for p in $SIMPIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$SCRATCH"' EXIT

cp "$TOP/tests/fixtures/daemon/group.jpg" .
cat >m.yaml <<'YAML'
name: m
mturk:
  environment: simulator
hit:
  reward: "0.10"
stages: [41, 13]
simulator:
  crowd_k: 50
  crowd_x0: 0.01
  spurious_rate: 0
  jitter: 0
images:
  - id: g
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]
YAML

# start NAME ARGS...: a simulator knowing m.yaml; sets PORT.
start() {
	name=$1
	shift
	: >"sim-$name.log"
	"$INTOFOCUS" sim --listen 127.0.0.1:0 --experiment m.yaml "$@" \
		>"sim-$name.log" 2>&1 &
	SIMPIDS="$SIMPIDS $!"
	# Readiness, not timing: wait for the line naming the port.
	wait_port PORT "$!" "sim-$name.log"
}

# answers NAME: the answers of one new 3-worker HIT of image g, stage 1.
answers() {
	ep="http://127.0.0.1:$PORT"
	"$INTOFOCUS" mturk --endpoint "$ep" CreateHIT '{"Title": "t",
	  "Description": "d", "Reward": "0.10",
	  "AssignmentDurationInSeconds": 300, "LifetimeInSeconds": 3600,
	  "MaxAssignments": 3, "Question": "<q/>",
	  "RequesterAnnotation": "m/g/1"}' >"hit-$1.json" &&
	hit=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["HIT"]["HITId"])' "hit-$1.json") &&
	"$INTOFOCUS" mturk --endpoint "$ep" ListAssignmentsForHIT \
		"{\"HITId\": \"$hit\"}" >"asg-$1.json"
}

# The file's crowd: a step at 1% of the window, no jitter, no spurious
# box: every worker boxes every face exactly.
start file
check "a simulator with the file's crowd" test -n "$PORT"
check "its answers" answers file
check "every worker boxes every face exactly" "$PYTHON" -c '
import json, re
faces = [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]
a = json.load(open("asg-file.json"))["Assignments"]
assert len(a) == 3, a
for x in a:
    boxes = json.loads(re.search(r"boxes</QuestionIdentifier>\s*<FreeText>([^<]*)<", x["Answer"]).group(1))
    assert sorted(boxes) == sorted(faces), boxes
'

# The flags over the file: nobody finds a face (x0 = 100), everyone adds
# one spurious box.
start flags --crowd-x0 100 --spurious 1
check "a simulator with the flags' crowd" test -n "$PORT"
check "its answers" answers flags
check "one spurious box each, and no face" "$PYTHON" -c '
import json, re
a = json.load(open("asg-flags.json"))["Assignments"]
assert len(a) == 3, a
for x in a:
    boxes = json.loads(re.search(r"boxes</QuestionIdentifier>\s*<FreeText>([^<]*)<", x["Answer"]).group(1))
    assert len(boxes) == 1, boxes
    assert re.search(r"face_found</QuestionIdentifier>\s*<FreeText>no<", x["Answer"]), x
'
expect_exit 2 "a crowd flag out of range" "$INTOFOCUS" sim --spurious 2
expect_stderr "the flag is named" "--spurious"

done_testing
