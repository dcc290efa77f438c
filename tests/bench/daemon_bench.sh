#!/bin/sh
# make bench, the daemon part (issue 6): N small images x 5 stages x 3
# workers on the embedded simulator with no worker delay.  Prints the wall
# time, MTurk operations per HIT and the peak RSS, next to the targets
# (120 s, 8 calls per HIT, 200 MB).
#   BENCH_EXCLUSIVE=true|false  exclusive_stages (the seed experiments' true;
#                               the simulated crowd grows to cover it)
#   BENCH_SIM=disk|memory       the embedded simulator's state in
#                               DIR/simulator/sim.db (the default), or
#                               --sim-memory
# Figures only; it never fails on speed.
#
#   BUILD=build tests/bench/daemon_bench.sh [N]   (default 1000)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
PY=${PYTHON:-/usr/bin/python3}
N=${1:-1000}
SIMFLAG=
[ "${BENCH_SIM:-disk}" = memory ] && SIMFLAG=--sim-memory
EXCL=${BENCH_EXCLUSIVE:-true}
DIR="$BUILD/bench-daemon"
rm -rf "$DIR"
mkdir -p "$DIR/images"
"$PY" - "$DIR" "$N" "$EXCL" <<'PYEOF'
import random, sys
from PIL import Image, ImageDraw
d, n, excl = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(5)
lines = ["name: bench", "mturk:", "  environment: simulator", "  poll_interval: 1s",
         "hit:", '  reward: "0.05"', "  workers: 3",
         "  exclusive_stages: %s" % excl,
         "stages: [41, 27, 21, 17, 13]", "images_host:", "  kind: simulator",
         "output_dir: out", "images:"]
for i in range(n):
    im = Image.new("RGB", (96, 72), (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    x, y = rnd.randrange(0, 60), rnd.randrange(0, 36)
    ImageDraw.Draw(im).ellipse([x, y, x + 30, y + 34], fill=(224, 172, 140))
    im.save("%s/images/i%04d.jpg" % (d, i), quality=85)
    lines += ["  - id: i%04d" % i, "    file: images/i%04d.jpg" % i,
              "    ground_truth: [[%d, %d, 31, 35]]" % (x, y)]
open(d + "/exp.yaml", "w").write("\n".join(lines) + "\n")
PYEOF
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$DIR/rss" "$BUILD/intofocus" run "$DIR/exp.yaml" \
	--state-dir "$DIR/state" $SIMFLAG >"$DIR/run.log" 2>&1
end=$(date +%s.%N)
calls=$(sed -n 's/.*: \([0-9]*\) MTurk operations this run/\1/p' "$DIR/run.log")
byop=$(sed -n 's/.*: MTurk requests: \(.*\) ([0-9]* in all)$/\1/p' "$DIR/run.log")
hits=$((N * 5))
"$PY" - "$start" "$end" "$calls" "$hits" "$(cat "$DIR/rss")" "$N" "$EXCL" \
	"${BENCH_SIM:-disk}" "$byop" <<'PYEOF'
import sys
start, end, calls, hits, rss, n, excl, sim, byop = sys.argv[1:]
wall = float(end) - float(start)
print("daemon: %s images x 5 stages x 3 workers on the embedded simulator "
      "(exclusive_stages %s, simulator state %s)" % (n, excl, sim))
print("  wall time      %7.1f s    (target <= 120 s)" % wall)
print("  MTurk calls    %7.2f per HIT (%s calls, %s HITs; target <= 8)" % (int(calls) / int(hits), calls, hits))
# Requests sent per operation (pages, retries and read-backs included).
for item in filter(None, (x.strip() for x in byop.split(","))):
    op, k = item.rsplit(" ", 1)
    print("    %-32s %6.2f per HIT (%s)" % (op, int(k) / int(hits), k))
print("  peak RSS       %7.1f MB   (target <= 200 MB)" % (int(rss) / 1024))
PYEOF
