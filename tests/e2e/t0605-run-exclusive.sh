# exclusive_stages on a large experiment (200 images x 3 stages x 3
# workers) on the embedded simulator, its state on disk: every worker who
# answers in a stage is kept out of the others, so the 50 workers present
# at the start cannot cover it and the simulated crowd must grow.  The
# run completes with every stage answered.  (A worker may still answer in
# two stages when a HIT is planned before the daemon has granted that
# worker's earlier answer its qualification, as on MTurk: not asserted.)
. "$TOP/tests/e2e/lib.sh"

PY=${PYTHON:-/usr/bin/python3}
"$PY" - <<'PYEOF'
import random
from PIL import Image, ImageDraw
rnd = random.Random(11)
lines = ["name: excl", "mturk:", "  environment: simulator", "  poll_interval: 1s",
         "hit:", '  reward: "0.05"', "  workers: 3", "  exclusive_stages: true",
         "stages: [27, 17, 13]", "images_host:", "  kind: simulator",
         "output_dir: out", "images:"]
for i in range(200):
    im = Image.new("RGB", (64, 48), (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    x, y = rnd.randrange(0, 40), rnd.randrange(0, 24)
    ImageDraw.Draw(im).ellipse([x, y, x + 20, y + 22], fill=(224, 172, 140))
    im.save("i%03d.jpg" % i, quality=85)
    lines += ["  - id: i%03d" % i, "    file: i%03d.jpg" % i,
              "    ground_truth: [[%d, %d, 21, 23]]" % (x, y)]
open("exp.yaml", "w").write("\n".join(lines) + "\n")
PYEOF
check "200 images written" test -f i199.jpg

expect_exit 0 "the run completes" timeout 300 "$INTOFOCUS" run exp.yaml --state-dir state
check "every image is final" grep -q 'all 200 images final (200 done, 0 failed)' .stderr
check "every stage got its three answers, from more than 50 workers" "$PY" - <<'PYEOF'
import collections, json
stages_of = collections.defaultdict(set)
for i in range(200):
    rec = json.load(open("out/i%03d.json" % i))
    assert rec["state"] == "done", rec["state"]
    assert len(rec["stages"]) == 3
    for st in rec["stages"]:
        a = [x for x in st["assignments"] if x["approval"] == "approved"]
        assert len(a) == 3, (i, st["stage"], len(a))
        for x in a:
            stages_of[x["worker_id"]].add(st["stage"])
assert len(stages_of) > 50, len(stages_of)
PYEOF
done_testing
