# intofocus detect: the faces OpenCV's cascades find, as x,y,w,h lines or
# JSON; its options and exit codes; render --detect redacts those faces.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/images"
PHOTO="$FIX/s05_voc_family_group.jpg" # 500x375, 7 faces

expect_exit 0 "--help exits 0" "$INTOFOCUS" detect --help
expect_stdout "--help shows the usage" "detect IMAGE"

expect_exit 0 "detect a group photo" "$INTOFOCUS" detect "$PHOTO"
cp .stdout boxes.txt
check "at least 5 boxes, one x,y,w,h a line" \
	sh -c '[ $(grep -cE "^[0-9]+,[0-9]+,[0-9]+,[0-9]+$" boxes.txt) -ge 5 ] &&
	       [ $(grep -cvE "^[0-9]+,[0-9]+,[0-9]+,[0-9]+$" boxes.txt) -eq 0 ]'
check "every box inside the 500x375 image" \
	awk -F, '$1 < 0 || $2 < 0 || $1 + $3 > 500 || $2 + $4 > 375 { exit 1 }' \
	boxes.txt

# The face at [194, 90, 37, 37] (ground truth) is inside one box.
check "a ground-truth face is covered" \
	awk -F, 'BEGIN { ok = 1 } $1 <= 194 && $2 <= 90 && $1 + $3 >= 231 &&
		 $2 + $4 >= 127 { ok = 0 } END { exit ok }' boxes.txt

expect_exit 0 "--json" "$INTOFOCUS" detect --json --margin 0 "$PHOTO"
check "the JSON names the image, size and boxes" "$PYTHON" -c '
import json, sys
d = json.load(open(".stdout"))
assert d["width"] == 500 and d["height"] == 375, d
assert d["min_face_px"] == 20, d
assert len(d["boxes"]) >= 5, d
assert all(len(b) == 4 for b in d["boxes"]), d
'
expect_exit 0 "a relative smallest face" "$INTOFOCUS" detect --json \
	--min-face 40% "$PHOTO"
check "40% of 375 px is 150 px, and no face is that large" "$PYTHON" -c '
import json
d = json.load(open(".stdout"))
assert d["min_face_px"] == 150 and d["boxes"] == [], d
'
expect_exit 0 "one cascade by path" "$INTOFOCUS" detect \
	--cascade "$(pkg-config --variable=prefix opencv4)/share/opencv4/haarcascades/haarcascade_frontalface_default.xml" \
	"$PHOTO"
check "it finds faces too" sh -c '[ $(wc -l <.stdout) -ge 3 ]'

expect_exit 2 "a missing cascade" "$INTOFOCUS" detect --cascade nosuch "$PHOTO"
expect_stderr "the cascade file is named" "haarcascade_nosuch.xml"
expect_exit 2 "a bad --min-face" "$INTOFOCUS" detect --min-face 0 "$PHOTO"
expect_stderr "--min-face is named" "--min-face"
expect_exit 2 "a bad --margin" "$INTOFOCUS" detect --margin 10 "$PHOTO"
expect_exit 2 "no image" "$INTOFOCUS" detect
expect_exit 2 "an unreadable image" "$INTOFOCUS" detect "$FIX/README.md"

# render --detect hides what detect found: the pixels of the first box
# are the fill colour.
expect_exit 0 "render --detect" "$INTOFOCUS" render "$PHOTO" -w 1 --detect \
	--margin 0 -o det.ppm
first=$(head -n 1 boxes.txt)
check "render --detect fills the first face's box" "$PYTHON" -c '
import sys
x, y, w, h = map(int, sys.argv[1].split(","))
data = open("det.ppm", "rb").read()
hdr = data.split(b"\n", 3)
W = int(hdr[1].split()[0])
px = hdr[3]
cx, cy = x + w // 2, y + h // 2
assert px[(cy * W + cx) * 3:(cy * W + cx) * 3 + 3] == b"\0\0\0"
' "$first"

done_testing
