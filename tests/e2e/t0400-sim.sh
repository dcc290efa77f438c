#!/bin/sh
# intofocus sim on the command line: usage errors, loopback only, the
# banner (URL, lab URL, accepted credentials), the crowd taught by
# --experiment, lab mode reachable, and a clean exit on SIGTERM.
. "$TOP/tests/e2e/lib.sh"

SIM_PID=""
trap '[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$SCRATCH"' EXIT

noenv() {
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
		-u AWS_PROFILE -u CREDENTIALS_DIRECTORY \
		-u AWS_SHARED_CREDENTIALS_FILE HOME="$SCRATCH" "$@"
}

expect_exit 0 "sim --help" "$INTOFOCUS" sim --help
expect_stdout "help names --faults" "--faults RATE"
expect_exit 2 "a non-loopback address is refused" \
	noenv "$INTOFOCUS" sim --listen 0.0.0.0:0
expect_stderr "... saying only loopback is allowed" "only loopback"
expect_exit 2 "a fault rate above 1 is refused" "$INTOFOCUS" sim --faults 1.5
expect_stderr "... naming the option" "--faults"
expect_exit 2 "a bad --listen is refused" "$INTOFOCUS" sim --listen nowhere
expect_exit 2 "a missing experiment file is refused" \
	"$INTOFOCUS" sim --experiment "$SCRATCH/nope.yaml"

# Start it for real, with the demo experiment's ground truth.  A simple
# command in the background, so that $! is the simulator itself.
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	-u AWS_PROFILE -u CREDENTIALS_DIRECTORY -u AWS_SHARED_CREDENTIALS_FILE \
	HOME="$SCRATCH" "$INTOFOCUS" sim --listen 127.0.0.1:0 --seed 5 \
	--experiment "$TOP/examples/demo.yaml" \
	>"$SCRATCH/sim.out" 2>"$SCRATCH/sim.err" &
SIM_PID=$!
wait_port port "$SIM_PID" "$SCRATCH/sim.out"
check "the simulator prints its URL" test -n "$port"
check "... the lab-mode URL" grep -q "lab mode: http://127.0.0.1:$port/" \
	"$SCRATCH/sim.out"
check "... and the fixed credentials it accepts" grep -q \
	"AWS_ACCESS_KEY_ID=AKIDINTOFOCUSSIM0000 AWS_SECRET_ACCESS_KEY=" \
	"$SCRATCH/sim.out"
check "... and that it knows one experiment" grep -q "1 experiment" \
	"$SCRATCH/sim.out"

# The crowd boxes the astronaut's face (91 px at window 41: p = 0.98) and
# nothing real on the cat; the lab index lists the HITs.
cat >"$SCRATCH/crowd.py" <<'PY'
import json, sys, urllib.request, xml.etree.ElementTree as ET
import boto3, botocore.config
ep = sys.argv[1]
mt = boto3.client('mturk', endpoint_url=ep, region_name='us-east-1',
                  aws_access_key_id='AKIDINTOFOCUSSIM0000',
                  aws_secret_access_key='intofocus-simulator-secret-not-for-aws',
                  config=botocore.config.Config(retries={'max_attempts': 1}))
NS = '{http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd}'
def boxes(annotation):
    h = mt.create_hit(MaxAssignments=3, LifetimeInSeconds=600,
                      AssignmentDurationInSeconds=300, Reward='0.15',
                      Title='t', Description='d', Question='<q/>',
                      RequesterAnnotation=annotation)['HIT']
    out = []
    for a in mt.list_assignments_for_hit(HITId=h['HITId'])['Assignments']:
        root = ET.fromstring(a['Answer'])
        f = {x.find(NS + 'QuestionIdentifier').text: x.find(NS + 'FreeText').text
             for x in root.findall(NS + 'Answer')}
        out.append((json.loads(f['boxes']), f['face_found']))
    return out
def covers(b, f):
    ix = max(0, min(b[0] + b[2], f[0] + f[2]) - max(b[0], f[0]))
    iy = max(0, min(b[1] + b[3], f[1] + f[3]) - max(b[1], f[1]))
    return ix * iy >= 0.5 * f[2] * f[3]
face = [179, 68, 91, 92]
astro = boxes('demo/astronaut/1')
cat = boxes('demo/cat/1')
ok = sum(any(covers(b, face) for b in bx) for bx, _ in astro) >= 2
ok &= all(ff == 'yes' for bx, ff in astro if any(covers(b, face) for b in bx))
ok &= all(ff == 'no' for _, ff in cat)
index = urllib.request.urlopen(ep + '/?workerId=P1').read().decode()
ok &= 'demo/astronaut/1' in index and 'AP1' in index
sys.exit(0 if ok else 1)
PY
check "the crowd boxes ground-truth faces and lab mode lists the HITs" \
	"$PYTHON" "$SCRATCH/crowd.py" "http://127.0.0.1:$port"

kill -TERM "$SIM_PID"
wait "$SIM_PID"
rc=$?
SIM_PID=""
check "SIGTERM stops it with status 0" test "$rc" -eq 0
check "... saying so" grep -q "stopping" "$SCRATCH/sim.out"

# With --state-dir, a HIT made before a restart is still there after it.
start_sim() {
	# Emptied here, not by the redirection below: that one runs in the
	# background child, so the loop could read the last run's port.
	: >"$SCRATCH/sim.out"
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
		-u AWS_PROFILE -u CREDENTIALS_DIRECTORY \
		-u AWS_SHARED_CREDENTIALS_FILE HOME="$SCRATCH" \
		"$INTOFOCUS" sim --listen 127.0.0.1:0 --state-dir "$SCRATCH/state" \
		>"$SCRATCH/sim.out" 2>"$SCRATCH/sim.err" &
	SIM_PID=$!
	wait_port port "$SIM_PID" "$SCRATCH/sim.out"
}
cat >"$SCRATCH/persist.py" <<'PY'
import sys, boto3
mt = boto3.client('mturk', endpoint_url=sys.argv[1], region_name='us-east-1',
                  aws_access_key_id='AKIDINTOFOCUSSIM0000',
                  aws_secret_access_key='intofocus-simulator-secret-not-for-aws')
if sys.argv[2] == 'create':
    h = mt.create_hit(MaxAssignments=1, LifetimeInSeconds=600,
                      AssignmentDurationInSeconds=300, Reward='0.15',
                      Title='t', Description='d', Question='<q/>',
                      UniqueRequestToken='persist-1')['HIT']
    open(sys.argv[3], 'w').write(h['HITId'])
else:
    hid = open(sys.argv[3]).read()
    h = mt.get_hit(HITId=hid)['HIT']
    a = mt.list_assignments_for_hit(HITId=hid)['Assignments']
    sys.exit(0 if h['HITId'] == hid and len(a) == 1 else 1)
PY
start_sim
check "a simulator with --state-dir starts" test -n "$port"
check "... takes a HIT" "$PYTHON" "$SCRATCH/persist.py" \
	"http://127.0.0.1:$port" create "$SCRATCH/hit"
kill -TERM "$SIM_PID"
wait "$SIM_PID"
SIM_PID=""
start_sim
check "after a restart it still has the HIT and its assignment" \
	"$PYTHON" "$SCRATCH/persist.py" "http://127.0.0.1:$port" get \
	"$SCRATCH/hit"
check "its state is private (0700)" test "$(stat -c %a "$SCRATCH/state")" = 700
done_testing
