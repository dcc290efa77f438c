# intofocus calibrate: a simulated crowd of a known curve (the experiment's
# simulator: keys) runs an experiment; calibrate fits that curve back from
# the state, within its stated uncertainty, and proposes a schedule.
. "$TOP/tests/e2e/lib.sh"

cp "$TOP/tests/fixtures/images/s05_voc_family_group.jpg" photo.jpg
# 36 faces of sides 8..78 px in a grid inside the 500x375 photo: the
# simulated crowd knows only these boxes, not the pixels.
gt=$("$PYTHON" -c '
boxes = []
for i in range(36):
    side = 8 + 2 * i
    x, y = 5 + (i % 6) * 82, 5 + (i // 6) * 61
    boxes.append("[%d, %d, %d, %d]" % (x, y, side, min(side, 56)))
print("[" + ", ".join(boxes) + "]")')
cat >crowd.yaml <<YAML
name: crowd
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 6
stages: [41, 31, 23, 17, 13]
aggregate: first
simulator:
  crowd_k: 2.0
  crowd_x0: 0.8
  spurious_rate: 0
images_host:
  kind: simulator
output_dir: out
images:
  - id: a
    file: photo.jpg
    ground_truth: $gt
YAML

expect_exit 0 "the simulated experiment runs to the end" \
	"$INTOFOCUS" run crowd.yaml --state-dir st
sha256sum st/state.db >st.sum
expect_exit 0 "calibrate reads its state" "$INTOFOCUS" calibrate \
	crowd.yaml=st --min-face 20 --recall 0.9
expect_stdout "the fit is printed with its standard errors" "k  = "
expect_stdout "the data behind it" "side/window"
expect_stdout "a schedule is proposed" "stages: [41"
expect_stdout "the replay line" "simulator: {crowd_k:"
expect_exit 0 "calibrate --json" "$INTOFOCUS" calibrate --json \
	crowd.yaml=st --min-face 20 --recall 0.9 --workers 3
check "k and x0 are the crowd's within 3 standard errors" "$PYTHON" -c '
import json
d = json.load(open(".stdout"))
print("# k %.3f +- %.3f, x0 %.3f +- %.3f, %d pairs" % (d["k"], d["se_k"],
      d["x0"], d["se_x0"], d["observations"]))
assert d["observations"] > 200, d
assert abs(d["k"] - 2.0) <= 3 * d["se_k"], d
assert abs(d["x0"] - 0.8) <= 3 * d["se_x0"], d
s = d["schedule"]
assert s["windows"][0] == 41 and s["recall"] >= 0.9, s
assert s["workers"] == 3 and s["assignments"] == 3 * len(s["windows"]), s
'
expect_exit 2 "no experiment" "$INTOFOCUS" calibrate
expect_exit 2 "a state that is not there" "$INTOFOCUS" calibrate \
	crowd.yaml=nowhere
expect_stderr "the state file is named" "nowhere/state.db"
expect_exit 2 "a bad recall" "$INTOFOCUS" calibrate crowd.yaml=st --recall 1
check "calibrate left the state as it was (read-only)" sha256sum -c st.sum

done_testing
