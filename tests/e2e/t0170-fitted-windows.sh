# Windows fitted to the image: stages written as shares of each image's
# shorter side, and an image with its own schedule, are resolved per image
# by check and used by run (records, state) and status.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/daemon"
cp "$FIX"/group.jpg "$FIX"/street.jpg . # 320x240 and 256x192
cat >fit.yaml <<'YAML'
name: fit
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
stages: [8%, 4%]
aggregate: union
images_host:
  kind: simulator
output_dir: out
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60]]
  - id: street
    file: street.jpg
    windows: [17, 5]
    ground_truth: [[30, 30, 60, 72]]
YAML

# group: 8% of 240 = 19.2 -> 19, 4% = 9.6 -> 9; street: its own 17, 5.
expect_exit 0 "check resolves the windows" "$INTOFOCUS" check fit.yaml
expect_stdout "the schedule as written" "median windows 8%, 4%"
expect_stdout "group's windows in pixels" "group   19, 9"
expect_stdout "street's own windows" "street  17, 5  (its own)"
expect_exit 0 "check --json" "$INTOFOCUS" check --json fit.yaml
check "each image's windows in the JSON" "$PYTHON" -c '
import json
d = json.load(open(".stdout"))
w = {i["id"]: i["windows"] for i in d["images"]}
assert w == {"group": [19, 9], "street": [17, 5]}, w
assert d["stages_written"] == ["8%", "4%"], d["stages_written"]
'

expect_exit 0 "run ends with both images final" \
	"$INTOFOCUS" run fit.yaml --state-dir st
check "the records carry each image's windows" "$PYTHON" -c '
import json
for img, want in (("group", [19, 9]), ("street", [17, 5])):
    rec = json.load(open("out/%s.json" % img))
    got = [s["window"] for s in rec["stages"]]
    assert got == want, (img, got, want)
'
check "the state recorded the windows used" sh -c '
	[ "$(sqlite3 st/state.db "SELECT image_id, stage, window FROM
	     stage_results ORDER BY image_id, stage" | tr "\n" " ")" = \
	  "group|1|19 group|2|9 street|1|17 street|2|5 " ]'

# A schedule that collapses once resolved is refused where it is written.
sed 's/stages: \[8%, 4%\]/stages: [1%, 0.9%]/' fit.yaml >small.yaml
expect_exit 2 "windows that no longer decrease are refused" \
	"$INTOFOCUS" check small.yaml
expect_stderr "named with the image and its size" \
	"images[1]: its windows resolve to [3, 3] on the 320x240 image"

done_testing
