# intofocus report with stage 0 (issue 17): an experiment whose family
# photos go through the face detector first and whose group photo has a
# starting box of its own too, run on the embedded simulator.  The faces found
# are split by who found them - the detector, the other starting boxes, or
# the crowd at its stage - and checked against a Python oracle (pixel
# masks) over the daemon's own records; metrics.csv carries the same
# figures; the site shows stage 0 as its own image (byte for byte the
# render with the starting boxes redacted), its stage-1 image is what the
# workers were served (stage 0 redacted), and its page has the stage 0
# parts.  A run without stage 0 keeps the CSV it had.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/daemon"
PY=${PYTHON:-/usr/bin/python3}
cp "$FIX"/group.jpg .
cp "$TOP"/examples/images/family.jpg .

cat >s0.yaml <<'YAML'
name: rs0
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.15"
  workers: 3
stages: [41, 21]
detector:
  enabled: true
images_host:
  kind: simulator
output_dir: out
images:
  - id: family
    file: family.jpg
    ground_truth: [[194, 90, 37, 37], [158, 114, 37, 37], [381, 89, 45, 44],
                   [94, 198, 37, 37], [178, 214, 37, 37], [294, 86, 37, 37],
                   [309, 233, 45, 44]]
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]
    boxes: [[238, 118, 24, 28]]
YAML

expect_exit 0 "the experiment runs" "$INTOFOCUS" run s0.yaml --state-dir st
expect_exit 0 "report writes the site" \
	"$INTOFOCUS" report s0.yaml --state-dir st -o site

check "faces split by stage 0 (detector, start) and crowd, as the oracle" \
	"$PY" - <<'PYEOF'
import csv, json
M = json.load(open("site/metrics.json"))
rows = {r["image"]: r for r in csv.DictReader(open("site/metrics.csv"))}

def mask(boxes, w, h):
    m = set()
    for x, y, bw, bh in (b[:4] for b in boxes):
        for yy in range(max(0, y), min(h, y + bh)):
            for xx in range(max(0, x), min(w, x + bw)):
                m.add((xx, yy))
    return m

def covers(boxes, f, w, h):
    m = mask(boxes, w, h)
    x, y, fw, fh = f
    inside = sum((xx, yy) in m for yy in range(y, y + fh)
                 for xx in range(x, x + fw))
    return 2 * inside >= fw * fh

tot = {"detector": 0, "start": 0, "crowd": 0, "s0": 0}
for img in ("family", "group"):
    rec = json.load(open("out/%s.json" % img))
    w, h = rec["width"], rec["height"]
    s0 = rec["stage0"]
    assert s0 is not None, img
    start = s0["boxes"]
    det = [b for b, o in zip(start, s0["origins"]) if o == "detector"]
    other = [o for o in s0["origins"] if o != "detector"]
    assert len(det) > 0, (img, s0["origins"])
    assert other == (["image"] if img == "group" else []), other
    stages = [st["boxes"] for st in rec["stages"]]
    row = next(r for r in M["images"] if r["image"] == img)
    want_by, cum = [], [0] * len(stages)
    for f in row["faces"]:
        box = f["box"]
        if covers(start, box, w, h):
            by, first = ("detector" if covers(det, box, w, h)
                         else "start"), 0
        else:
            by = first = None
            for k in range(len(stages)):
                if covers(start + sum(stages[:k + 1], []), box, w, h):
                    by, first = "crowd", k + 1
                    break
        assert f["found_by"] == by, (img, box, f["found_by"], by)
        assert f["first_stage"] == first, (img, box, f["first_stage"])
        want_by.append(by)
        for k in range(len(stages)):
            if first is not None and first <= k + 1:
                cum[k] += 1
    n = {b: want_by.count(b) for b in ("detector", "start", "crowd")}
    print(img, n)
    assert row["stage0"] == {"boxes": len(start),
                             "detector_boxes": len(det),
                             "found": n["detector"] + n["start"],
                             "found_by_detector": n["detector"],
                             "found_by_start": n["start"]}, row["stage0"]
    assert row["found_by_crowd"] == n["crowd"], row
    assert row["found_by_stage"] == cum, (row["found_by_stage"], cum)
    c = rows[img]
    assert [int(c[k]) for k in ("stage0_boxes", "found_by_detector",
                                "found_by_start", "found_by_crowd",
                                "found_stage0", "found_stage1",
                                "found_stage2")] == \
        [len(start), n["detector"], n["start"], n["crowd"],
         n["detector"] + n["start"]] + cum, c
    for k in n:
        tot[k] += n[k]
# Both kinds happen, or the split tests nothing.
assert tot["detector"] > 0 and tot["start"] > 0 and tot["crowd"] > 0, tot
t = M["total"]
assert t["stage0"]["found_by_detector"] == tot["detector"], t
assert t["stage0"]["found_by_start"] == tot["start"], t
assert t["found_by_crowd"] == tot["crowd"], t
assert int(rows["total"]["found_by_crowd"]) == tot["crowd"]
PYEOF

# stage0_boxes IMAGE: render's --box options for the image's stage 0.
stage0_boxes() {
	"$PY" -c '
import json, sys
print(" ".join("--box " + ",".join(map(str, b)) for b in
               json.load(open("out/%s.json" % sys.argv[1]))["stage0"]["boxes"]))' "$1"
}
boxes=$(stage0_boxes group)
# shellcheck disable=SC2086
check "site: stage 0 of group is the original with its starting boxes" sh -c \
	'"$1" render group.jpg -w 1 $2 -o want0.jpg &&
	cmp want0.jpg site/images/group-stage0.jpg' - "$INTOFOCUS" "$boxes"
boxes=$(stage0_boxes family)
# shellcheck disable=SC2086
check "site: stage 1 of family is window 41 with the detector's boxes" sh -c \
	'"$1" render family.jpg -w 41 $2 -o want1.jpg &&
	cmp want1.jpg site/images/family-stage1.jpg' - "$INTOFOCUS" "$boxes"
check "site: the final image is the daemon's" \
	cmp site/images/family-final.jpg out/family.jpg
check "site: the page has the stage 0 script" \
	grep -q "found-by-source" site/index.html
check "site: the page's data has each image's stage 0 with its origins" \
	grep -q '"origins":\["image",' site/index.html

# Without stage 0 (no detector, no starting box) the CSV has no stage 0
# columns, as before.
sed -e '/^detector:/,/^  enabled/d' -e '/boxes: \[\[238/d' \
	-e 's/^name: rs0/name: rs1/' s0.yaml >plain.yaml
expect_exit 0 "an experiment without stage 0 runs" \
	"$INTOFOCUS" run plain.yaml --state-dir st1
expect_exit 0 "and reports" "$INTOFOCUS" report plain.yaml --state-dir st1 -o site1
check "its CSV has no stage 0 columns" sh -c \
	'! head -1 site1/metrics.csv | grep -q stage0'
check "its metrics.json has no stage 0" sh -c \
	'! grep -q "\"stage0\":" site1/metrics.json'
done_testing
