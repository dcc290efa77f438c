# Helpers for suites that run the daemon against a separate simulator
# process (sourced after lib.sh).  The simulator and the daemon agree on the
# credentials through the environment, as `intofocus sim` and `intofocus run`
# in one shell do.

export AWS_ACCESS_KEY_ID=AKIDE2ETEST000000000
export AWS_SECRET_ACCESS_KEY=e2e-test-secret
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-such-credentials"
SIMPIDS=""
trap 'for p in $SIMPIDS; do kill $p 2>/dev/null; done; rm -rf "$SCRATCH"' EXIT

# start_sim NAME [SIM OPTIONS...]: a simulator on a free port, taught
# sim.yaml; sets PORT (empty when it did not start).
start_sim() {
	name=$1
	shift
	# The file exists before the child that writes it: the loop below
	# never reads a file not made yet.
	: >"sim-$name.log"
	"$INTOFOCUS" sim --listen 127.0.0.1:0 --experiment sim.yaml "$@" \
		>"sim-$name.log" 2>&1 &
	pid=$!
	SIMPIDS="$SIMPIDS $pid"
	wait_port PORT "$pid" "sim-$name.log"
}

# exp_for DIR PORT: DIR/exp.yaml = sim.yaml talking to that simulator,
# with the images beside it.
exp_for() {
	mkdir -p "$1"
	for f in *.jpg; do cp "$f" "$1/"; done
	sed "s|^  environment: simulator|  environment: simulator\n  endpoint: http://127.0.0.1:$2|" \
		sim.yaml >"$1/exp.yaml"
}

# sim_audit PORT NHITS: through boto3 (a client independent of ours), the
# simulator holds exactly one HIT per annotation, NHITS of them, each with
# every assignment approved.
sim_audit() {
	"${PYTHON:-/usr/bin/python3}" - "$1" "$2" <<'PYEOF'
import collections, os, sys
import boto3
c = boto3.client("mturk", endpoint_url="http://127.0.0.1:%s" % sys.argv[1],
                 region_name="us-east-1",
                 aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
hits, tok = [], None
while True:
    kw = {"MaxResults": 100}
    if tok:
        kw["NextToken"] = tok
    r = c.list_hits(**kw)
    hits += r["HITs"]
    tok = r.get("NextToken")
    if not tok:
        break
per = collections.Counter(h["RequesterAnnotation"] for h in hits)
dups = {k: v for k, v in per.items() if v != 1}
assert not dups, "duplicate HITs: %s" % dups
assert len(per) == int(sys.argv[2]), per
n = 0
for h in hits:
    a = c.list_assignments_for_hit(HITId=h["HITId"], MaxResults=100)["Assignments"]
    assert len(a) == h["MaxAssignments"], (h["HITId"], len(a))
    assert all(x["AssignmentStatus"] == "Approved" for x in a), a
    n += len(a)
print("ok", len(hits), "HITs", n, "assignments")
PYEOF
}

# sim_reviewing PORT NHITS: through boto3, NHITS HITs are Reviewing and none
# is left Reviewable (the daemon moved each finished HIT out of the list).
sim_reviewing() {
	"${PYTHON:-/usr/bin/python3}" - "$1" "$2" <<'PYEOF'
import os, sys
import boto3
c = boto3.client("mturk", endpoint_url="http://127.0.0.1:%s" % sys.argv[1],
                 region_name="us-east-1",
                 aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
def ids(status):
    out = []
    for page in c.get_paginator("list_reviewable_hits").paginate(Status=status):
        out += [h["HITId"] for h in page["HITs"]]
    return out
left, done = ids("Reviewable"), ids("Reviewing")
assert not left, "still Reviewable: %s" % left
assert len(done) == int(sys.argv[2]), done
print("ok", len(done), "HITs Reviewing")
PYEOF
}
