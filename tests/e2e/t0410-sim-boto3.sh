#!/bin/sh
# The simulator against an independent client: Debian's python3-boto3
# (tests/conformance/boto3_sim.py) drives `intofocus sim` on a free
# loopback port - qualifications, HITs, paging, parsing the answer XML,
# approve twice, a repeated token, an unknown HIT, a wrong secret, and S3
# PutObject + presigned GET.  The Python script prints the TAP lines.
. "$TOP/tests/e2e/lib.sh"

KEY=AKIDINTOFOCUSSIM0000
SECRET=intofocus-simulator-secret-not-for-aws
SIM_PID=""
trap '[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$SCRATCH"' EXIT

# No credentials from the environment or files: the fixed, documented pair.
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	-u AWS_PROFILE -u CREDENTIALS_DIRECTORY \
	-u AWS_SHARED_CREDENTIALS_FILE HOME="$SCRATCH" \
	"$INTOFOCUS" sim --listen 127.0.0.1:0 --seed 7 --delay 0 \
	>"$SCRATCH/sim.out" 2>"$SCRATCH/sim.err" &
SIM_PID=$!

# Wait for the line that names the port (not a timing assertion: it
# only waits for the server to say it is listening).
if ! wait_port port "$SIM_PID" "$SCRATCH/sim.out"; then
	echo "not ok 1 - the simulator started"
	sed 's/^/# /' "$SCRATCH/sim.err"
	echo "1..1"
	exit 1
fi

"$PYTHON" "$TOP/tests/conformance/boto3_sim.py" "http://127.0.0.1:$port" \
	"$KEY" "$SECRET"
