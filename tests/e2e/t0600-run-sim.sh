# intofocus run on the embedded simulator, end to end: the seed's four
# experiments (spec section 1), outputs, status, a finished rerun, budget.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/daemon"
PY=${PYTHON:-/usr/bin/python3}
cp "$FIX"/group.jpg "$FIX"/street.jpg "$FIX"/empty.jpg .

# write_exp NAME STAGES AGGREGATE [BUDGET]
write_exp() {
	cat >"$1.yaml" <<YAML
name: $1
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.15"
  workers: 3
  assignment_duration: 5m
  lifetime: 1d
stages: [$2]
aggregate: $3
images_host:
  kind: simulator
budget_usd: "${4:-50.00}"
output_dir: out-$1
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]
  - id: street
    file: street.jpg
    ground_truth: [[30, 30, 60, 72], [180, 100, 12, 14]]
  - id: empty
    file: empty.jpg
    ground_truth: []
YAML
}

# check_outputs NAME NSTAGES AGGREGATE: the JSON records and final images.
check_outputs() {
	"$PY" - "$1" "$2" "$3" <<'PYEOF'
import json, sys
from PIL import Image
name, nstages, agg = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for img in ("group", "street", "empty"):
    rec = json.load(open("out-%s/%s.json" % (name, img)))
    assert rec["state"] == "done", rec["state"]
    assert len(rec["stages"]) == nstages
    union = []
    for st in rec["stages"]:
        subs = [a for a in st["assignments"] if a["valid"]]
        assert len(st["assignments"]) == 3, st
        assert all(a["approval"] == "approved" for a in subs), st
        assert len({a["worker_id"] for a in st["assignments"]}) == 3
        if agg == "union":
            want = [b for a in subs for b in a["boxes"]]
        elif agg == "first":
            want = subs[0]["boxes"]
        else:
            want = None
        if want is not None:
            assert st["boxes"] == want, (st["boxes"], want)
        union += st["boxes"]
    assert rec["boxes"] == union
    im = Image.open("out-%s/%s.jpg" % (name, img))
    assert im.format == "JPEG"
    assert "exif" not in im.info and "comment" not in im.info, im.info
    px = im.convert("RGB").load()
    # Every aggregated box is filled black (JPEG noise allowed).
    for (x, y, w, h) in rec["boxes"]:
        cx, cy = x + w // 2, y + h // 2
        assert max(px[cx, cy]) < 40, (img, x, y, w, h, px[cx, cy])
print("ok")
PYEOF
}

for spec in "exp1:41, 27, 21, 17, 13:union:5" "exp2:41, 27, 21, 17, 13:first:5" \
	"exp3:41, 21, 13:union:3" "exp4:41, 21, 13:first:3"; do
	name=${spec%%:*}
	rest=${spec#*:}
	stages=${rest%%:*}
	rest=${rest#*:}
	agg=${rest%%:*}
	n=${rest#*:}
	write_exp "$name" "$stages" "$agg"
	expect_exit 0 "$name: run ends with every image final" \
		"$INTOFOCUS" run "$name.yaml" --state-dir "st-$name"
	check "$name: final images and records ($agg over $n stages)" \
		check_outputs "$name" "$n" "$agg"
done

expect_exit 0 "status reads the state" "$INTOFOCUS" status exp1.yaml --state-dir st-exp1
expect_stdout "status totals" "3/3 images final (3 done, 0 failed)"
expect_exit 0 "status --json" "$INTOFOCUS" status exp1.yaml --state-dir st-exp1 --json
check "status --json is JSON with every image done" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["images_done"] == 3 and len(d["images"]) == 3
assert all(i["state"] == "done" and i["assignments_approved"] == 15 for i in d["images"])
assert d["hits_total"] == 15 and d["hits_open"] == 0
assert d["committed_usd"] == "8.10", d["committed_usd"]
' "$SCRATCH/.stdout"

check "state is private: 0700 directory, 0600 database" sh -c \
	'[ "$(stat -c %a st-exp1)" = 700 ] && [ "$(stat -c %a st-exp1/state.db)" = 600 ]'

cp out-exp1/group.jpg before.jpg
expect_exit 0 "a finished experiment reruns as a no-op" \
	"$INTOFOCUS" run exp1.yaml --state-dir st-exp1
check "the rerun posted no HIT and changed no output" sh -c \
	"cmp -s before.jpg out-exp1/group.jpg && \"$INTOFOCUS\" status exp1.yaml --state-dir st-exp1 | grep -q '0 HITs open of 15'"

# The same seed gives the same answers: a second run is byte-identical.
write_exp again "41, 27, 21, 17, 13" union
sed -i 's/^output_dir: .*/output_dir: out-again/' again.yaml
sed -i 's/^name: again/name: exp1/' again.yaml
expect_exit 0 "a second state of the same experiment runs" \
	"$INTOFOCUS" run again.yaml --state-dir st-again
check "the same seed gives byte-identical final images" sh -c \
	'for i in group street empty; do cmp -s out-exp1/$i.jpg out-again/$i.jpg || exit 1; done'

# Log lines summarise boxes (issue 15); the boxes stay in the JSON.
check "answers are logged as a box count and the union's share" \
	grep -Eq 'assignment .* by .*: [0-9]+ boxes over [0-9.]+% of the image' \
	"$SCRATCH/.stderr"
check "a finished stage is logged the same way" \
	grep -Eq 'window [0-9]+ done, [0-9]+ boxes over [0-9.]+% of the image' \
	"$SCRATCH/.stderr"
check "no log line lists the boxes" sh -c "! grep -q '\\[\\[' \"\$1\"" sh \
	"$SCRATCH/.stderr"

# Budget: one HIT costs 3 x (0.15 + 0.03) = 0.54; 1.00 pays for one stage
# of one image only, then everything pauses and run keeps waiting.
write_exp poor "41, 21, 13" union "1.00"
"$INTOFOCUS" run poor.yaml --state-dir st-poor >run-poor.log 2>&1 &
pid=$!
tries=0
while [ $tries -lt 300 ]; do
	"$INTOFOCUS" status poor.yaml --state-dir st-poor 2>/dev/null | grep -q paused && break
	tries=$((tries + 1))
	sleep 0.1
done
check "over-budget images pause" sh -c "\"$INTOFOCUS\" status poor.yaml --state-dir st-poor | grep -q paused"
kill -TERM $pid
wait $pid
rc=$?
check "SIGTERM ends a waiting daemon with 0" test "$rc" -eq 0
check "the log says why images paused" grep -q "would pass the budget of \$1.00" run-poor.log
check "nothing past the budget was committed" sh -c \
	"\"$INTOFOCUS\" status poor.yaml --state-dir st-poor | grep -q '\\\$0.54 committed of \\\$1.00'"

done_testing
