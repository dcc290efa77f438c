# intofocus report: the results site and the metrics table (spec sections
# 7 and 8) of a small experiment run on the embedded simulator, checked
# against an independent Python oracle (pixel masks for the 50% rule and
# the analysis, Pillow for the stage images), the comparison of two
# experiments, a partially finished experiment, and the usage errors.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/daemon"
PY=${PYTHON:-/usr/bin/python3}
cp "$FIX"/group.jpg "$FIX"/street.jpg "$FIX"/empty.jpg .

cat >rep.yaml <<YAML
name: rep
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.15"
  workers: 2
  lifetime: 1d
stages: [15, 9]
aggregate: union
images_host:
  kind: simulator
output_dir: out
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]
  - id: street
    file: street.jpg
    ground_truth: [[30, 30, 60, 72], [180, 100, 12, 14]]
  - id: empty
    file: empty.jpg
YAML

expect_exit 0 "report --help" "$INTOFOCUS" report --help
expect_stdout "--help names -o" "-o, --output DIR"
expect_exit 2 "report without -o is a usage error" "$INTOFOCUS" report rep.yaml
expect_stderr "the message says -o is required" "-o DIR is required"
expect_exit 2 "report with a bad option" "$INTOFOCUS" report rep.yaml -o s --bogus
expect_exit 2 "report of a missing experiment file" "$INTOFOCUS" report nope.yaml -o s
expect_exit 2 "report without state is refused like status" \
	"$INTOFOCUS" report rep.yaml --state-dir nostate -o s
expect_stderr "the message says there is no state yet" "no state yet"

expect_exit 0 "the experiment runs on the simulator" \
	"$INTOFOCUS" run rep.yaml --state-dir st
expect_exit 0 "report writes the site" \
	"$INTOFOCUS" report rep.yaml --state-dir st -o site
expect_stdout "report names what it wrote" "site/metrics.csv"
for f in index.html metrics.csv metrics.json images/group-stage1.jpg \
	images/group-stage2.jpg images/group-original.jpg \
	images/group-final.jpg images/empty-final.jpg; do
	check "site has $f" test -s "site/$f"
done
check "the final image is the daemon's, byte for byte" \
	cmp site/images/group-final.jpg out/group.jpg

# The oracle: table 1 recomputed from the daemon's own JSON records with
# pixel masks, and the stage-2 image recomputed with Pillow.
check "metrics.csv and metrics.json agree with a pixel-mask oracle" \
	"$PY" - <<'PYEOF'
import csv, json
import numpy as np
gt = {"group": [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]],
      "street": [[30, 30, 60, 72], [180, 100, 12, 14]]}
rows = {r["image"]: r for r in csv.DictReader(open("site/metrics.csv"))}
mj = json.load(open("site/metrics.json"))
tot = {"faces": 0, "found": 0}
for img, faces in gt.items():
    rec = json.load(open("out/%s.json" % img))
    h, w = rec["height"], rec["width"]
    mask = np.zeros((h, w), bool)
    for st in rec["stages"]:
        for x, y, bw, bh in st["boxes"]:
            mask[max(y, 0):y + bh, max(x, 0):x + bw] = True
    found = [f for f in faces
             if mask[f[1]:f[1] + f[3], f[0]:f[0] + f[2]].sum() * 2
             >= f[2] * f[3]]
    missed = [f for f in faces if f not in found]
    r = rows[img]
    assert int(r["faces"]) == len(faces), r
    assert int(r["found"]) == len(found), (r, found)
    assert int(r["not_found"]) == len(missed), r
    assert int(r["image_area"]) == w * h, r
    assert int(r["largest_face_area"]) == max(f[2] * f[3] for f in faces)
    if missed:
        assert int(r["largest_not_found_area"]) == \
            max(f[2] * f[3] for f in missed), r
    else:
        assert r["largest_not_found_area"] == "", r
    if found:
        a = min(f[2] * f[3] for f in found)
        assert int(r["smallest_found_area"]) == a, r
        assert abs(float(r["smallest_found_pct"]) - 100 * a / (w * h)) < 1e-3
    tot["faces"] += len(faces)
    tot["found"] += len(found)
assert rows["empty"]["faces"] == "", rows["empty"]
assert int(rows["total"]["faces"]) == tot["faces"], rows["total"]
assert int(rows["total"]["found"]) == tot["found"], rows["total"]
assert mj["total"]["images"] == 2, mj["total"]
assert mj["excluded_without_ground_truth"] == ["empty"], mj
assert [i["image"] for i in mj["images"]] == ["group", "street", "empty"]
PYEOF

check "stage 2 as shown to workers matches Pillow's median + stage-1 boxes" \
	"$PY" - <<'PYEOF'
import json
import numpy as np
from PIL import Image, ImageFilter
rec = json.load(open("out/group.json"))
orig = Image.open("group.jpg").convert("RGB")
want = np.array(orig.filter(ImageFilter.MedianFilter(size=9)))
for x, y, w, h in rec["stages"][0]["boxes"]:
    want[max(y, 0):y + h, max(x, 0):x + w] = 0
got = np.array(Image.open("site/images/group-stage2.jpg").convert("RGB"))
assert got.shape == want.shape
# JPEG at the daemon's quality: close, not equal.
err = np.abs(got.astype(int) - want.astype(int)).mean()
assert err < 4, err
PYEOF

check "the site embeds its data and loads nothing from elsewhere" \
	"$PY" - <<'PYEOF'
import json, re
html = open("site/index.html").read()
m = re.search(r"<script>const IF_DATA = (.*?);</script>", html, re.S)
assert m, "no embedded data"
data = json.loads(m.group(1))
assert [i["image"] for i in data["images"]] == ["group", "street", "empty"]
g = data["images"][0]
assert [v["kind"] for v in g["views"]] == ["stage", "stage", "original",
                                           "final"], g["views"]
assert len(g["stages"][0]["assignments"]) == 2
assert "<" not in m.group(1)
for bad in ("http://", "https://", "fetch(", "src=\"//"):
    assert bad not in html, bad
for tab in ("HITs", "Boxes", "Images", "Ground truth"):
    assert ">%s</button>" % tab in html, tab
PYEOF

# The analysis beyond table 1, recomputed from the daemon's own records
# and the state with pixel masks: per face the first covering stage and
# the first single-worker stage, faces found per stage, the privacy cost,
# per worker recall and precision, and the HIT and time figures.
check "per-face stages, privacy cost and workers agree with the oracle" \
	"$PY" - <<'PYEOF'
import csv, json, sqlite3
import numpy as np
gt = {"group": [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]],
      "street": [[30, 30, 60, 72], [180, 100, 12, 14]]}
mj = json.load(open("site/metrics.json"))
rows = {r["image"]: r for r in csv.DictReader(open("site/metrics.csv"))}
db = sqlite3.connect("file:st/state.db?mode=ro", uri=True)
def mask_of(boxes, w, h):
    m = np.zeros((h, w), bool)
    for b in boxes:
        x, y, bw, bh = b[:4]
        m[max(y, 0):y + bh, max(x, 0):x + bw] = True
    return m
def covers(m, f):
    return m[f[1]:f[1] + f[3], f[0]:f[0] + f[2]].sum() * 2 >= f[2] * f[3]
workers = {}
tot_found = [0, 0]
for img, faces in gt.items():
    rec = json.load(open("out/%s.json" % img))
    w, h = rec["width"], rec["height"]
    row = [i for i in mj["images"] if i["image"] == img][0]
    masks = []
    m = np.zeros((h, w), bool)
    for st in rec["stages"]:
        m = m | mask_of(st["boxes"], w, h)
        masks.append(m.copy())
    first = [next((k + 1 for k, mk in enumerate(masks) if covers(mk, f)),
                  None) for f in faces]
    assert [f["first_stage"] for f in row["faces"]] == first, (img, first)
    for k in range(2):
        n = sum(1 for s in first if s is not None and s <= k + 1)
        assert int(rows[img]["found_stage%d" % (k + 1)]) == n, (img, k, n)
        tot_found[k] += n
    # One worker's boxes alone.
    wfirst = [None] * len(faces)
    for sid, wid, boxes in db.execute(
            "SELECT stage, worker_id, boxes FROM assignments WHERE "
            "image_id=? AND valid=1 ORDER BY stage", (img,)):
        bm = mask_of(json.loads(boxes), w, h)
        bl = [b for b in json.loads(boxes)]
        ws = workers.setdefault(wid, [0, 0, 0, 0])
        for i, f in enumerate(faces):
            hidden = first[i] is not None and first[i] < sid
            hit = covers(bm, f)
            if hit and wfirst[i] is None:
                wfirst[i] = sid
            if not hidden:
                ws[0] += 1
                ws[1] += hit
        for b in bl:
            x0, y0 = max(b[0], 0), max(b[1], 0)
            x1, y1 = min(b[0] + b[2], w), min(b[1] + b[3], h)
            if x1 <= x0 or y1 <= y0:
                continue
            ws[2] += 1
            ws[3] += any(x0 < f[0] + f[2] and f[0] < x1 and
                         y0 < f[1] + f[3] and f[1] < y1 for f in faces)
    assert [f["first_worker_stage"] for f in row["faces"]] == wfirst, \
        (img, wfirst)
    fm = np.zeros((h, w), bool)
    for f in faces:
        fm[f[1]:f[1] + f[3], f[0]:f[0] + f[2]] = True
    out = (m & ~fm).sum()
    assert abs(row["redacted_outside_faces_pct"] - 100 * out / (w * h)) \
        < 1e-6, (img, row["redacted_outside_faces_pct"], out)
    assert abs(row["redacted_pct"] - 100 * m.sum() / (w * h)) < 1e-6
    allb = [b for st in rec["stages"] for b in st["boxes"]]
    nf = sum(1 for b in allb if not any(
        b[0] < f[0] + f[2] and f[0] < b[0] + b[2] and
        b[1] < f[1] + f[3] and f[1] < b[1] + b[3] for f in faces))
    assert row["boxes_on_no_face"] == nf and row["redaction_boxes"] == \
        len(allb), (img, nf, len(allb))
assert mj["total"]["found_by_stage"] == tot_found, mj["total"]
assert int(rows["total"]["found_stage2"]) == tot_found[1]
an = mj["analysis"]
for wk in an["workers"]:
    if wk["worker"] not in workers:
        continue
    faces_seen, found, boxes, on = workers[wk["worker"]]
    assert wk["faces"] == faces_seen and wk["faces_found"] == found, wk
    assert wk["recall"] == (found / faces_seen if faces_seen else None), wk
    assert wk["precision"] == (on / boxes if boxes else None), wk
n = db.execute("SELECT COUNT(DISTINCT worker_id) FROM assignments")
assert an["unique_workers"] == n.fetchone()[0]
secs = sorted(s for (s,) in db.execute(
    "SELECT submit_time - accept_time FROM assignments"))
assert an["time"]["assignments"] == len(secs)
assert an["time"]["median_seconds"] == float(np.median(secs)), an["time"]
assert abs(an["time"]["mean_seconds"] - float(np.mean(secs))) < 1e-9
hits = db.execute("SELECT COUNT(*), SUM(extensions) FROM hits").fetchone()
assert an["hits"]["hits"] == hits[0], an["hits"]
cost = dict(db.execute("SELECT stage, SUM(cost_cents) FROM hits "
                       "GROUP BY stage").fetchall())
assert [round(s["cost_usd"] * 100) for s in an["stages"]] == \
    [cost.get(1, 0), cost.get(2, 0)], an["stages"]
assert [s["window"] for s in an["stages"]] == [15, 9]
PYEOF

# Two experiments compared: each site in DIR/NAME/, the comparison above.
sed 's/^name: rep$/name: rep-b/; s/^aggregate: union$/aggregate: first/' \
	rep.yaml >rep-b.yaml
expect_exit 0 "the second experiment runs" \
	"$INTOFOCUS" run rep-b.yaml --state-dir st-b
expect_exit 0 "report A.yaml B.yaml compares them" \
	"$INTOFOCUS" report rep.yaml rep-b.yaml --state-dir st --state-dir st-b \
	-o cmp
expect_stdout "it says so" "2 experiments compared in cmp/index.html"
check "each site in its folder, the comparison holding both" \
	"$PY" - <<'PYEOF'
import json, re
for n in ("rep", "rep-b"):
    json.load(open("cmp/%s/metrics.json" % n))
    open("cmp/%s/index.html" % n).close()
html = open("cmp/index.html").read()
c = json.loads(re.search(r"const IF_COMPARE = (.*?);</script>", html,
                         re.S).group(1))
assert [e["name"] for e in c["experiments"]] == ["rep", "rep-b"]
assert [e["metrics"]["aggregate"] for e in c["experiments"]] == \
    ["union", "first"]
assert c["experiments"][0]["metrics"] == json.load(open("cmp/rep/metrics.json"))
for bad in ("http://", "https://", "fetch("):
    assert bad not in html, bad
PYEOF
expect_exit 2 "the same experiment twice is refused" \
	"$INTOFOCUS" report rep.yaml rep.yaml --state-dir st --state-dir st -o twice
expect_stderr "... saying why" 'both experiment "rep"'
expect_exit 2 "more --state-dir than experiments is a usage error" \
	"$INTOFOCUS" report rep.yaml --state-dir st --state-dir st -o x

# A partially finished experiment: a new image the daemon has not seen.
sed 's/^images:$/images:\n  - id: later\n    file: street.jpg\n    ground_truth: [[1, 1, 10, 10]]/' \
	rep.yaml >part.yaml
expect_exit 0 "report of a partially finished experiment" \
	"$INTOFOCUS" report part.yaml --state-dir st -o part
check "the unstarted image is shown with its original only" \
	"$PY" - <<'PYEOF'
import json, re
html = open("part/index.html").read()
data = json.loads(re.search(r"const IF_DATA = (.*?);</script>", html,
                            re.S).group(1))
later = data["images"][0]
assert later["image"] == "later" and later["state"] == "not started"
assert [v["kind"] for v in later["views"]] == ["original"], later["views"]
mj = json.load(open("part/metrics.json"))
assert mj["excluded_not_final"] == ["later"], mj
assert mj["total"]["images"] == 2
PYEOF

# An experiment stopped half-way (the daemon kills itself at its 4th
# CreateHIT): the site shows the stages that exist and no final image for
# the images still on their way, which stay out of the totals.
sed 's/^name: rep$/name: half/; s/^output_dir: out$/output_dir: out-half/' \
	rep.yaml >half.yaml
INTOFOCUS_TEST_CRASH_AT=4 INTOFOCUS_TEST_CRASH_LABEL="after CreateHIT" \
	"$INTOFOCUS" run half.yaml --state-dir st-half >half.log 2>&1
check "the half-way daemon was killed (not finished)" \
	test ! -e out-half/group.json -o ! -e out-half/street.json \
	-o ! -e out-half/empty.json
expect_exit 0 "report of an experiment stopped half-way" \
	"$INTOFOCUS" report half.yaml --state-dir st-half -o half
check "the half-way site shows what exists, and only that" \
	"$PY" - <<'PYEOF'
import json, re
html = open("half/index.html").read()
data = json.loads(re.search(r"const IF_DATA = (.*?);</script>", html,
                            re.S).group(1))
mj = json.load(open("half/metrics.json"))
unfinished = [i for i in data["images"] if i["state"] != "done"]
assert unfinished, [i["state"] for i in data["images"]]
for im in data["images"]:
    kinds = [v["kind"] for v in im["views"]]
    shown = [st["stage"] for st in im["stages"] if st["hits"]]
    nstage = kinds.count("stage")
    # A stage image for every stage that has a HIT, at most one more
    # (rendered, not posted yet), and a final image only when done.
    assert len(shown) <= nstage <= im["stages_done"] + 1, (im["image"],
                                                            kinds, shown)
    assert ("final" in kinds) == (im["state"] == "done"), (im["image"],
                                                          kinds)
assert sorted(mj["excluded_not_final"]) == sorted(
    i["image"] for i in unfinished), mj
PYEOF

# A hostile feedback cannot break out of the embedded script.
check "a feedback with </script> stays data" sh -c \
	"sqlite3 st/state.db \"UPDATE assignments SET feedback='</script><b>x' WHERE rowid=1\" &&
	 '$INTOFOCUS' report rep.yaml --state-dir st -o hostile >/dev/null &&
	 ! grep -q '</script><b>' hostile/index.html &&
	 grep -q 'u003c/script>' hostile/index.html"

done_testing
