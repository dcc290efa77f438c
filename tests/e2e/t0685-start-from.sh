# Experiments 3 and 4 as the study designed them (issue 17), on the
# embedded simulator: examples/exp3.yaml and exp4.yaml, moved to the
# simulator and nothing else changed, start from experiment 1's and 2's
# finished stage 1.  They post no HIT at window 41, their stage 0 is the
# other experiment's stage-1 aggregate (origin "experiment expN stage 1"),
# and their first served image hides it.  Before the other experiment has
# run, check warns and run refuses; so does run for a stage not finished,
# another photo under a shared id, the experiment's own state, and an
# experiment sharing no image.
. "$TOP/tests/e2e/lib.sh"

PY=${PYTHON:-/usr/bin/python3}
mkdir examples
cp -r "$TOP"/examples/images examples/images
# The examples target the MTurk sandbox and S3: the same files on the
# embedded simulator.
for n in 1 2 3 4; do
	"$PY" - "$TOP/examples/exp$n.yaml" "examples/exp$n.yaml" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
text = text.replace("environment: sandbox", "environment: simulator")
text = text.replace("poll_interval: 30s", "poll_interval: 1s")
text = re.sub(r"images_host:\n(  .*\n)+", "images_host:\n  kind: simulator\n",
              text)
assert "kind: simulator" in text and "s3" not in text
open(sys.argv[2], "w").write(text)
PYEOF
done
check "exp3 starts from exp1's stage 1, exp4 from exp2's" sh -c \
	"grep -q 'state_dir: ../state/exp1' examples/exp3.yaml &&
	 grep -q 'state_dir: ../state/exp2' examples/exp4.yaml &&
	 grep -q '^stages: \[21, 13\]' examples/exp3.yaml"

expect_exit 0 "check exp3 before exp1 has run: a valid file" \
	"$INTOFOCUS" check examples/exp3.yaml
expect_stdout "... its start is not ready" "NOT READY"
expect_stderr "... the warning names the state" \
	"warning: examples/exp3.yaml: start_from: state/exp1/state.db: no state yet"
expect_exit 2 "run exp3 before exp1 has run is refused" \
	"$INTOFOCUS" run examples/exp3.yaml --state-dir state/exp3
expect_stderr "... naming the directory" "start_from: state/exp1/state.db: no state yet"

for pair in 1:3 2:4; do
	a=${pair%:*}
	b=${pair#*:}
	expect_exit 0 "run exp$a" \
		"$INTOFOCUS" run "examples/exp$a.yaml" --state-dir "state/exp$a"
	expect_exit 0 "check exp$b once exp$a is done" \
		"$INTOFOCUS" check "examples/exp$b.yaml"
	expect_stdout "... it names where it starts, from here" \
		"start from   experiment exp$a, stage 1 (state state/exp$a)"
	expect_exit 0 "check --json exp$b" \
		"$INTOFOCUS" check --json "examples/exp$b.yaml"
	check "... its start_from.state_dir is the same path" "$PY" -c "
import json, sys
s = json.load(open(sys.argv[1]))['start_from']
assert s['state_dir'] == 'state/exp$a' and s['ready'], s
" "$SCRATCH/.stdout"
	expect_exit 0 "run exp$b" \
		"$INTOFOCUS" run "examples/exp$b.yaml" --state-dir "state/exp$b"
	check "exp$b posted 8 HITs, 2 stages of 4 images, none at window 41" \
		test "$(sqlite3 "state/exp$b/state.db" "SELECT COUNT(*), MIN(stage), MAX(stage) FROM hits") $(sqlite3 "state/exp$b/state.db" "SELECT group_concat(DISTINCT window) FROM stage_results")" = \
		"8|1|2 21,13"
	check "exp$b's stage 0 is exp$a's stage-1 aggregate, image by image" \
		"$PY" - "$a" "$b" <<'PYEOF'
import json, sqlite3, sys
a, b = sys.argv[1:3]
src = sqlite3.connect("state/exp%s/state.db" % a)
dst = sqlite3.connect("state/exp%s/state.db" % b)
nonempty = 0
for (img,) in src.execute("SELECT id FROM images ORDER BY seq"):
    want = json.loads(src.execute(
        "SELECT boxes FROM stage_results WHERE image_id = ? AND stage = 1",
        (img,)).fetchone()[0])
    rows = dst.execute("SELECT x, y, w, h, origin FROM stage0_boxes "
                       "WHERE image_id = ? ORDER BY seq", (img,)).fetchall()
    got = [list(r[:4]) for r in rows]
    assert got == want, (img, got, want)
    assert all(r[4] == "experiment exp%s stage 1" % a for r in rows), rows
    assert dst.execute("SELECT COUNT(*) FROM stage0 WHERE image_id = ?",
                       (img,)).fetchone()[0] == 1, img
    nonempty += len(want) > 0
assert nonempty >= 2, "too few boxes to prove anything: %d" % nonempty
print("ok", nonempty)
PYEOF
done

# exp3's first served image (window 21) hides exp1's stage-1 boxes.
"$PY" - <<'PYEOF' >family-args
import json, sqlite3
b = json.loads(sqlite3.connect("state/exp1/state.db").execute(
    "SELECT boxes FROM stage_results WHERE image_id = 'family' AND stage = 1"
).fetchone()[0])
print(" ".join("--box %d,%d,%d,%d" % tuple(x) for x in b))
PYEOF
"$PY" - <<'PYEOF'
import sqlite3, urllib.parse
url = sqlite3.connect("state/exp3/state.db").execute(
    "SELECT image_url FROM hits WHERE image_id = 'family' AND stage = 1"
).fetchone()[0]
key = urllib.parse.urlparse(url).path.lstrip("/")
open("served-family.jpg", "wb").write(sqlite3.connect(
    "state/exp3/simulator/sim.db").execute(
    "SELECT data FROM records WHERE kind = 'objects' AND key = ?",
    (key,)).fetchone()[0])
PYEOF
# shellcheck disable=SC2046
"$INTOFOCUS" render examples/images/family.jpg -w 21 $(cat family-args) \
	-o want-family.jpg
check "exp3's stage 1 shows family at 21 with exp1's stage-1 boxes hidden" \
	sh -c "test -s family-args && cmp served-family.jpg want-family.jpg"
check "exp3's record of family has stage 0 with its origin" "$PY" -c '
import json
r = json.load(open("out/exp3/family.json"))
assert r["stage0"]["origins"] and set(r["stage0"]["origins"]) == \
    {"experiment exp1 stage 1"}, r["stage0"]
'

# What run refuses, naming the directory, the stage and the image.
sed 's/  stage: 1 .*/  stage: 6/' examples/exp3.yaml >examples/late.yaml
sed -i 's/^name: exp3/name: late/' examples/late.yaml
expect_exit 2 "a stage exp1 does not have finished is refused" \
	"$INTOFOCUS" run examples/late.yaml --state-dir state/late
expect_stderr "... naming directory, stage and image" \
	"start_from: state/exp1: experiment exp1 has not finished stage 6 of image astronaut (it is done at stage 6)"
sed 's#file: images/astronaut.jpg#file: images/cat.jpg#; s/^name: exp3/name: other/' \
	examples/exp3.yaml >examples/other.yaml
expect_exit 2 "another photo under a shared id is refused" \
	"$INTOFOCUS" run examples/other.yaml --state-dir state/other
expect_stderr "... naming it" \
	"image astronaut of experiment exp1 is another photo"
sed 's#state_dir: ../state/exp1#state_dir: ../state/exp3#' \
	examples/exp3.yaml >examples/self.yaml
expect_exit 0 "check an experiment starting from its own state" \
	"$INTOFOCUS" check examples/self.yaml
expect_stderr "... warns that it is its own" \
	"this is the experiment's own state"
sed 's/- id: \([a-z]*\)/- id: x\1/; s/^name: exp3/name: disjoint/' \
	examples/exp3.yaml >examples/disjoint.yaml
expect_exit 2 "an experiment sharing no image with exp1 is refused" \
	"$INTOFOCUS" run examples/disjoint.yaml --state-dir state/disjoint
expect_stderr "... saying so" \
	"experiment exp1 has none of this experiment's image ids"
done_testing
