#!/bin/sh
# Chaos (issue 9): an experiment of N images on a simulator that fails a
# share of the requests (--faults), and a daemon killed with SIGKILL at K
# seeded random instants, restarted each time.  Then: no duplicate HIT,
# every submitted assignment approved exactly once, each recorded once, and
# final images byte-identical to an undisturbed run.  Prints TAP.
#
#   tests/chaos.sh [N_IMAGES] [KILLS] [FAULT_RATE] [SEED]
# `make test` runs a small variant (tests/e2e/t0660-chaos-small.sh);
# `make chaos` the full one (20 images, 20 kills, 0.2).
. "$TOP/tests/e2e/lib.sh"

N=${1:-20}
KILLS=${2:-20}
RATE=${3:-0.2}
SEED=${4:-42}
PY=${PYTHON:-/usr/bin/python3}

"$PY" - "$N" <<'PYEOF'
import random, sys
from PIL import Image, ImageDraw
n = int(sys.argv[1])
rnd = random.Random(9)
lines = ["name: chaos", "mturk:", "  environment: simulator", "  poll_interval: 1s",
         "hit:", '  reward: "0.05"', "  workers: 3",
         # Which simulated worker may take a HIT under exclusive stages
         # depends on the order of grants across images, which kills and
         # faults reorder; without them the answers are a pure function.
         "  exclusive_stages: false",
         "stages: [41, 21, 13]", "images_host:", "  kind: simulator",
         "output_dir: out", "images:"]
for i in range(n):
    im = Image.new("RGB", (120, 90), (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    faces = []
    for _ in range(rnd.randrange(0, 3)):
        w = rnd.randrange(14, 40)
        x, y = rnd.randrange(0, 120 - w), rnd.randrange(0, 90 - w)
        ImageDraw.Draw(im).ellipse([x, y, x + w - 1, y + w - 1], fill=(224, 172, 140))
        faces.append("[%d, %d, %d, %d]" % (x, y, w, w))
    im.save("img%02d.jpg" % i, quality=88)
    lines += ["  - id: img%02d" % i, "    file: img%02d.jpg" % i,
              "    ground_truth: [%s]" % ", ".join(faces)]
open("sim.yaml", "w").write("\n".join(lines) + "\n")
PYEOF
. "$TOP/tests/e2e/sim_lib.sh"

start_sim calm --seed "$SEED"
check "the calm simulator started" test -n "$PORT"
exp_for calm "$PORT"
expect_exit 0 "an undisturbed run finishes" "$INTOFOCUS" run calm/exp.yaml --state-dir calm/st
CALM=$PORT

start_sim chaos --seed "$SEED" --faults "$RATE" --slow-ms 0
check "the faulty simulator started" test -n "$PORT"
exp_for chaos "$PORT"
# K kill instants: crash point numbers drawn from the seed, each counted
# from the start of its own run.
points=$(awk -v s="$SEED" -v k="$KILLS" 'BEGIN { srand(s); for (i = 0; i < k; i++) printf "%d ", 1 + int(rand() * 25) }')
kills=0
for p in $points; do
	INTOFOCUS_TEST_CRASH_AT=$p "$INTOFOCUS" run chaos/exp.yaml --state-dir chaos/st \
		>>chaos.log 2>&1
	rc=$?
	[ $rc -eq 137 ] && kills=$((kills + 1))
	[ $rc -eq 0 ] && break
done
echo "# $kills kills at crash points: $points"
expect_exit 0 "the last run finishes" "$INTOFOCUS" run chaos/exp.yaml --state-dir chaos/st
check "the daemon was killed $KILLS times (or finished first)" test "$kills" -ge 1
check "faults were injected and retried" grep -q "retry" chaos.log "$SCRATCH/.stderr"
check "no duplicate HIT, every assignment approved (chaos)" sim_audit "$PORT" $((N * 3))
check "the calm service holds the same" sim_audit "$CALM" $((N * 3))
check "each assignment recorded once" sh -c \
	"[ \$(sqlite3 chaos/st/state.db 'SELECT COUNT(*) FROM assignments') = $((N * 9)) ]"
check "final images byte-identical to the undisturbed run" sh -c '
	for f in calm/out/*.jpg; do cmp "$f" "chaos/out/${f##*/}" || exit 1; done
	[ "$(ls calm/out/*.jpg | wc -l)" = '"$N"' ]'
done_testing
