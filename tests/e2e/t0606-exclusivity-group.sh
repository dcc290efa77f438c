# hit.exclusivity_group: two experiments on one simulator share their
# stage qualification types.  Experiment qa works in slots 1-3 of group
# "linked" (windows 41, 27, 21); qb starts from qa's stage 1 (start_from)
# and works in slots 4-5 (21, 13), as the study's experiment 3 goes on
# from experiment 1.  qa runs first, then qb: no worker who answered in qa
# (its stage 1 above all) answers in qb, each qualification type exists
# once, and every HIT of either keeps out the holders of the group's other
# four slots.  The control runs the same two experiments without the group
# on a fresh simulator with the same seed: workers of qa do answer in qb
# there, so the first assertion can fail.
. "$TOP/tests/e2e/lib.sh"

cp "$TOP"/tests/fixtures/daemon/group.jpg "$TOP"/tests/fixtures/daemon/street.jpg .
PY=${PYTHON:-/usr/bin/python3}

# experiment NAME STAGES [GROUP [START_FROM]]: an experiment file on stdout.
experiment() {
	cat <<YAML
name: $1
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 3
  exclusive_stages: true
YAML
	[ -n "${3:-}" ] && echo "  exclusivity_group: $3"
	[ -n "${4:-}" ] && printf 'start_from:\n  state_dir: %s\n  stage: 1\n' "$4"
	echo "stages: $2"
	two_photos_yaml
}

experiment qa "[41, 27, 21]" "{name: linked, stages: 5}" >sim.yaml
experiment qb "[21, 13]" "{name: linked, stages: 5, first_stage: 4}" \
	../qa/st >qb.yaml
experiment qa "[41, 27, 21]" >qa-own.yaml
experiment qb "[21, 13]" "" ../qa-own/st >qb-own.yaml
. "$TOP/tests/e2e/sim_lib.sh"

# with_endpoint FILE PORT DIR: DIR/exp.yaml = FILE talking to that simulator.
with_endpoint() {
	mkdir -p "$3"
	cp group.jpg street.jpg "$3/"
	sed "s|^  environment: simulator|  environment: simulator\n  endpoint: http://127.0.0.1:$2|" \
		"$1" >"$3/exp.yaml"
}

check "check counts the group's other slots" sh -c \
	'"$1" check "$2" | grep -q "one of the 5 stages of group linked.*are 4-5; 4 requirements per HIT"' \
	- "$INTOFOCUS" qb.yaml

# workers_shared A B: the workers who answered in both experiments' outputs.
workers_shared() {
	"$PY" - "$1" "$2" <<'PYEOF'
import json, sys
def workers(d):
    w = set()
    for i in ("group", "street"):
        rec = json.load(open("%s/out/%s.json" % (d, i)))
        assert rec["state"] == "done", rec["state"]
        for st in rec["stages"]:
            assert len(st["assignments"]) == 3, (d, i, st["stage"])
            w |= {a["worker_id"] for a in st["assignments"]}
    return w
print(len(workers(sys.argv[1]) & workers(sys.argv[2])))
PYEOF
}

start_sim linked --seed 5 --experiment qb.yaml
check "the simulator started" test -n "$PORT"
with_endpoint sim.yaml "$PORT" qa
with_endpoint qb.yaml "$PORT" qb
expect_exit 0 "qa runs to the end" "$INTOFOCUS" run qa/exp.yaml --state-dir qa/st
expect_exit 0 "qb runs to the end" "$INTOFOCUS" run qb/exp.yaml --state-dir qb/st
check "qb started from qa's stage 1" grep -q '"experiment qa stage 1"' qb/out/group.json
check "no worker of qa answered in qb" test "$(workers_shared qa qb)" = 0
check "the group's five types, each once, required by every HIT" \
	"$PY" - "$PORT" <<'PYEOF'
import os, sys
import boto3
c = boto3.client("mturk", endpoint_url="http://127.0.0.1:%s" % sys.argv[1],
                 region_name="us-east-1",
                 aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
types = c.list_qualification_types(Query="intofocus group linked",
                                   MustBeRequestable=False,
                                   MustBeOwnedByCaller=True,
                                   MaxResults=100)["QualificationTypes"]
names = sorted(t["Name"] for t in types)
want = ["intofocus group linked stage %d" % k for k in range(1, 6)]
assert names == want, names
slot_type = {int(t["Name"].rsplit(" ", 1)[1]): t["QualificationTypeId"]
             for t in types}
hits = c.list_hits(MaxResults=100)["HITs"]
assert len(hits) == 10, len(hits)
for h in hits:
    exp, _, stage = h["RequesterAnnotation"].split("/")
    slot = int(stage) + (3 if exp == "qb" else 0)
    reqs = c.get_hit(HITId=h["HITId"])["HIT"]["QualificationRequirements"]
    got = sorted(r["QualificationTypeId"] for r in reqs
                 if r["Comparator"] == "DoesNotExist")
    others = sorted(v for k, v in slot_type.items() if k != slot)
    assert got == others, (h["RequesterAnnotation"], got, others)
print("ok")
PYEOF
expect_exit 2 "a state of the group refuses the file without it" \
	"$INTOFOCUS" run qa-own.yaml --state-dir qa/st
expect_stderr "the refusal names both" \
	"stage qualification types are group linked, the file asks for the experiment's own"

start_sim own --seed 5 --experiment qb-own.yaml
check "the control simulator started" test -n "$PORT"
with_endpoint qa-own.yaml "$PORT" qa-own
with_endpoint qb-own.yaml "$PORT" qb-own
expect_exit 0 "control: qa runs to the end" "$INTOFOCUS" run qa-own/exp.yaml --state-dir qa-own/st
expect_exit 0 "control: qb runs to the end" "$INTOFOCUS" run qb-own/exp.yaml --state-dir qb-own/st
check "control: without the group, workers of qa answer in qb" \
	test "$(workers_shared qa-own qb-own)" -gt 0
done_testing
