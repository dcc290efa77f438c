# Stage 0, the starting boxes (issue 17), on the embedded simulator:
# images[].boxes and boxes_file are recorded once with their origins,
# hidden in the first stage's served image (byte for byte the render with
# them redacted) and in the final image; the simulated crowd does not box
# what its image hides (against a control run without them); check shows
# them.  The detector's faces become stage 0 (origin "detector", the boxes
# `intofocus detect` prints), with one detector loaded per run, and a
# crash between the detection and the record detects again and records
# once.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/daemon"
PY=${PYTHON:-/usr/bin/python3}
cp "$FIX"/group.jpg "$FIX"/street.jpg .
cp "$TOP"/tests/fixtures/images/s05_voc_family_group.jpg family.jpg
echo '[[180, 100, 12, 14], [0, 0, 10, 10]]' >street.boxes.json

# write_exp FILE WITH_BOXES(yes|no) [DETECTOR(yes|no)]
write_exp() {
	{
		cat <<YAML
name: s0
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.15"
  workers: 3
stages: [41, 21]
images_host:
  kind: simulator
output_dir: out-${1%.yaml}
YAML
		if [ "${3:-no}" = yes ]; then
			printf 'detector:\n  enabled: true\n'
		fi
		cat <<YAML
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]
YAML
		[ "$2" = yes ] && echo "    boxes: [[40, 50, 48, 60]]"
		cat <<YAML
  - id: street
    file: street.jpg
    ground_truth: [[30, 30, 60, 72], [180, 100, 12, 14]]
YAML
		[ "$2" = yes ] && echo "    boxes_file: street.boxes.json"
		if [ "${3:-no}" = yes ]; then
			cat <<YAML
  - id: family
    file: family.jpg
YAML
		fi
	} >"$1"
}

# served STATE IMAGE STAGE OUT: the image the HIT of that stage showed,
# from the embedded simulator's store.
cat >served.py <<'PYEOF'
import sqlite3, sys, urllib.parse
st, img, stage, out = sys.argv[1:5]
url = sqlite3.connect(st + "/state.db").execute(
    "SELECT image_url FROM hits WHERE image_id = ? AND stage = ? "
    "ORDER BY attempt DESC", (img, int(stage))).fetchone()[0]
key = urllib.parse.urlparse(url).path.lstrip("/")
data = sqlite3.connect(st + "/simulator/sim.db").execute(
    "SELECT data FROM records WHERE kind = 'objects' AND key = ?",
    (key,)).fetchone()[0]
open(out, "wb").write(data)
PYEOF
served() { "$PY" served.py "$@"; }

# covered STATE IMAGE STAGE X Y W H: some answer of that stage covers at
# least half of the box (what the metrics call found by a worker).
cat >covered.py <<'PYEOF'
import json, sqlite3, sys
st, img, stage = sys.argv[1:4]
fx, fy, fw, fh = map(int, sys.argv[4:8])
rows = sqlite3.connect(st + "/state.db").execute(
    "SELECT boxes FROM assignments WHERE image_id = ? AND stage = ?",
    (img, int(stage))).fetchall()
assert rows, "no answers"
best = 0.0
for (boxes,) in rows:
    cells = set()
    for b in json.loads(boxes):
        x, y, w, h = b[:4]
        for i in range(max(x, fx), min(x + w, fx + fw)):
            for j in range(max(y, fy), min(y + h, fy + fh)):
                cells.add((i, j))
    best = max(best, len(cells) / float(fw * fh))
print("best cover", best)
sys.exit(0 if best >= 0.5 else 1)
PYEOF
covered() { "$PY" covered.py "$@"; }

# ---- the image's own boxes and a boxes file -------------------------------

write_exp own.yaml yes
write_exp ctl.yaml no
expect_exit 0 "check shows the starting boxes" "$INTOFOCUS" check own.yaml
expect_stdout "... their count" "stage 0      3 starting boxes, hidden from the first stage on"
expect_stdout "... per image and origin" "  street  2: 2 file"
expect_exit 0 "check --json" "$INTOFOCUS" check --json own.yaml
cp "$SCRATCH/.stdout" plan.json
check "--json lists each image's boxes with their origins" "$PY" -c '
import json
p = json.load(open("plan.json"))
assert p["start_from"] is None, p["start_from"]
got = {i["id"]: i["start_boxes"] for i in p["images"]}
assert got["group"] == [{"box": [40, 50, 48, 60], "origin": "image"}], got
assert got["street"] == [{"box": [180, 100, 12, 14], "origin": "file"},
                         {"box": [0, 0, 10, 10], "origin": "file"}], got
'

expect_exit 0 "run with starting boxes" \
	"$INTOFOCUS" run own.yaml --state-dir st-own --sim-seed 3
expect_stderr "it logs stage 0" "s0/group/0: stage 0 recorded: 1 starting box"
check "stage 0 is in the state with its origins" test \
	"$(sqlite3 st-own/state.db "SELECT image_id, x, y, w, h, origin FROM stage0_boxes ORDER BY image_id, seq" | tr '\n' ' ')" = \
	"group|40|50|48|60|image street|180|100|12|14|file street|0|0|10|10|file "
check "once per image" test \
	"$(sqlite3 st-own/state.db "SELECT COUNT(*) FROM stage0")" = 2
for img in group street; do
	served st-own "$img" 1 "served-$img-1.jpg"
	boxes=$(sqlite3 st-own/state.db "SELECT '--box ' || x || ',' || y || ',' || w || ',' || h FROM stage0_boxes WHERE image_id = '$img'")
	# shellcheck disable=SC2086
	"$INTOFOCUS" render "$img.jpg" -w 41 $boxes -o "want-$img-1.jpg"
	"$INTOFOCUS" render "$img.jpg" -w 41 -o "bare-$img-1.jpg"
	check "$img: stage 1's served image is the render with stage 0 redacted" \
		cmp "served-$img-1.jpg" "want-$img-1.jpg"
	check "$img: ... not the render without it (the control)" \
		sh -c "! cmp -s served-$img-1.jpg bare-$img-1.jpg"
done
check "the record has stage 0 with its origins, and its boxes in boxes" \
	"$PY" -c '
import json
r = json.load(open("out-own/street.json"))
assert r["stage0"] == {"stage": 0, "boxes": [[180, 100, 12, 14],
    [0, 0, 10, 10]], "origins": ["file", "file"]}, r["stage0"]
assert r["boxes"][:2] == [[180, 100, 12, 14], [0, 0, 10, 10]], r["boxes"]
'
"$PY" -c '
import json
r = json.load(open("out-own/group.json"))
print(" ".join("--box %d,%d,%d,%d" % tuple(b) for b in r["boxes"]))
' >final-args
# shellcheck disable=SC2046
"$INTOFOCUS" render group.jpg -w 1 $(cat final-args) -o want-final.jpg
check "the final image redacts stage 0 with the rest" \
	sh -c "grep -q -- '--box 40,50,48,60' final-args && cmp want-final.jpg out-own/group.jpg"

# status shows stage 0 as the metrics do: per image its count by origin,
# and the total.
expect_exit 0 "status" "$INTOFOCUS" status own.yaml --state-dir st-own
cp "$SCRATCH/.stdout" status-own.txt
check "status: group's stage 0 is the line under group's" sh -c \
	"grep -A1 '^group ' status-own.txt | tail -1 | grep -qx '  stage 0: 1 starting box: 1 image'"
expect_stdout "... group: its own box" "  stage 0: 1 starting box: 1 image"
expect_stdout "... street: the boxes file's" \
	"  stage 0: 2 starting boxes: 2 file"
expect_stdout "... and in the totals" \
	"stage 0: 3 starting boxes recorded for 2/2 images, 0 by the detector"
expect_exit 0 "status --json" \
	"$INTOFOCUS" status own.yaml --state-dir st-own --json
cp "$SCRATCH/.stdout" status-own.json
check "status --json: each image's stage 0 and the total" "$PY" -c '
import json
s = json.load(open("status-own.json"))
got = {i["id"]: i["stage0"] for i in s["images"]}
assert got["group"] == {"recorded": True, "boxes": 1, "detector_boxes": 0,
    "origins": [{"origin": "image", "boxes": 1}]}, got
assert got["street"] == {"recorded": True, "boxes": 2, "detector_boxes": 0,
    "origins": [{"origin": "file", "boxes": 2}]}, got
assert s["stage0"] == {"images_recorded": 2, "boxes": 3,
    "detector_boxes": 0}, s["stage0"]
'

# The simulated crowd judges what it is served: the same run without the
# starting boxes (same name, same seed) finds the face; with them hidden,
# no worker of stage 1 boxes it.
expect_exit 0 "the control run without starting boxes" \
	"$INTOFOCUS" run ctl.yaml --state-dir st-ctl --sim-seed 3
expect_exit 0 "status of the control" \
	"$INTOFOCUS" status ctl.yaml --state-dir st-ctl --json
cp "$SCRATCH/.stdout" status-ctl.json
check "... no stage 0 where nothing gives starting boxes" "$PY" -c '
import json
s = json.load(open("status-ctl.json"))
assert s["stage0"] is None and all(i["stage0"] is None
    for i in s["images"]), s
'
"$INTOFOCUS" status ctl.yaml --state-dir st-ctl >status-ctl.txt
check "... nor in its text" sh -c \
	"grep -q '^group ' status-ctl.txt && ! grep -q 'stage 0' status-ctl.txt"
check "control: a stage-1 worker boxes the face at [40, 50, 48, 60]" \
	covered st-ctl group 1 40 50 48 60
check "with it hidden from stage 1 on, no worker boxes it" \
	sh -c "! $PY covered.py st-own group 1 40 50 48 60"
check "... nor the street face hidden by the boxes file" \
	sh -c "! $PY covered.py st-own street 1 180 100 12 14"

# A started image's starting boxes may not change on reload; a bad file is
# refused at load with its position.
echo '[[250, 0, 10, 10]]' >bad.boxes.json
sed 's/street.boxes.json/bad.boxes.json/' own.yaml >bad.yaml
expect_exit 2 "a box outside the image is refused" "$INTOFOCUS" check bad.yaml
expect_stderr "... naming the file and the box" \
	"images[2].boxes_file: bad.boxes.json: box 1 [250, 0, 10, 10] is not inside the 256x192 image"

# ---- the detector -----------------------------------------------------------

write_exp det.yaml no yes
"$INTOFOCUS" detect family.jpg >detected.txt
check "the detector finds faces in the family photo" \
	test "$(wc -l <detected.txt)" -ge 5
expect_exit 0 "check says the detector adds its boxes at run" \
	"$INTOFOCUS" check det.yaml
expect_stdout "..." "(and the detector's)"

# A crash after the detection and before the record: nothing recorded.
INTOFOCUS_TEST_CRASH_AT=1 INTOFOCUS_TEST_CRASH_LABEL="before stage 0" \
	"$INTOFOCUS" run det.yaml --state-dir st-det --sim-seed 3 \
	>crash.out 2>crash.err
check "the run was killed before recording stage 0" test $? -eq 137
check "... and nothing was recorded" test \
	"$(sqlite3 st-det/state.db "SELECT COUNT(*) FROM stage0") $(sqlite3 st-det/state.db "SELECT COUNT(*) FROM stage0_boxes")" = "0 0"
# A crash right after the first record (the image's next transition).
INTOFOCUS_TEST_CRASH_AT=1 INTOFOCUS_TEST_CRASH_LABEL="post" \
	"$INTOFOCUS" run det.yaml --state-dir st-det --sim-seed 3 \
	>crash2.out 2>crash2.err
check "the second run was killed after recording one image" test \
	"$(sqlite3 st-det/state.db "SELECT COUNT(*) FROM stage0")" = 1
expect_exit 0 "status between the crashes" \
	"$INTOFOCUS" status det.yaml --state-dir st-det --json
cp "$SCRATCH/.stdout" status-det1.json
check "... one image's stage 0 recorded, two not yet" "$PY" -c '
import json
s = json.load(open("status-det1.json"))
rec = [i["stage0"]["recorded"] for i in s["images"]]
assert sorted(rec) == [False, False, True], rec
assert s["stage0"]["images_recorded"] == 1, s["stage0"]
'
expect_exit 0 "... in text too" \
	"$INTOFOCUS" status det.yaml --state-dir st-det
expect_stdout "..." "  stage 0: not recorded yet"
expect_exit 0 "the third run finishes" \
	"$INTOFOCUS" run det.yaml --state-dir st-det --sim-seed 3
cat crash.err crash2.err "$SCRATCH/.stderr" >all.err
check "one detector loaded per run, not per image" test \
	"$(grep -c 'detector loaded' "$SCRATCH/.stderr")" = 1
for img in group street family; do
	check "$img: stage 0 recorded once over the three runs" test \
		"$(grep -c "s0/$img/0: stage 0 recorded" all.err)" = 1
done
check "each image has one stage-0 record" test \
	"$(sqlite3 st-det/state.db "SELECT COUNT(*) FROM stage0")" = 3
sqlite3 st-det/state.db "SELECT x || ',' || y || ',' || w || ',' || h FROM stage0_boxes WHERE image_id = 'family' AND origin = 'detector' ORDER BY seq" >recorded.txt
check "family: the detector's boxes (grown by the margin) are stage 0" \
	cmp recorded.txt detected.txt
check "... every one of them with origin detector" test \
	"$(sqlite3 st-det/state.db "SELECT COUNT(*) FROM stage0_boxes WHERE origin != 'detector'")" = 0
expect_exit 0 "status after the detector" \
	"$INTOFOCUS" status det.yaml --state-dir st-det
expect_stdout "... family's stage 0 is the detector's" \
	"  stage 0: $(wc -l <detected.txt) starting boxes: $(wc -l <detected.txt) detector"
ndet=$(sqlite3 st-det/state.db "SELECT COUNT(*) FROM stage0_boxes")
expect_stdout "... and the totals count them as the detector's" \
	"stage 0: $ndet starting boxes recorded for 3/3 images, $ndet by the detector"
served st-det family 1 served-family-1.jpg
# shellcheck disable=SC2046
"$INTOFOCUS" render family.jpg -w 41 $(sed 's/^/--box /' detected.txt) \
	-o want-family-1.jpg
check "family: stage 1's served image hides the detector's faces" \
	cmp served-family-1.jpg want-family-1.jpg
done_testing
