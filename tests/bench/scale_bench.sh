#!/bin/sh
# make bench, the scale part (issue 15): a study of N images x 5 stages x
# 3 workers with the daemon and the MTurk-compatible server as two
# processes ("intofocus run" against "intofocus sim", its state on disk),
# at a baseline of 1,000 images and at N.  Prints each process's peak RSS
# and the time per image at both, and the ratio of the two times per
# image, against the issue's targets: at 10,000 images the daemon and
# the server each under 150 MB, the time per image within 1.2x of that
# at 1,000.  Figures only: PASS/FAIL is printed, the script never fails
# on them.
#
#   BUILD=build SCALE_IMAGES=N SCALE_BASE=B tests/bench/scale_bench.sh
#       SCALE_IMAGES  the larger study (default 2,000, short enough for
#                     a shared 2-core machine; the targets are stated
#                     for 10,000: make bench SCALE_IMAGES=10000)
#       SCALE_BASE    the baseline (default 1,000)
#   (tests/bench/scale_bench.sh N [B] as before: the arguments win.)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
PY=${PYTHON:-/usr/bin/python3}
N=${1:-${SCALE_IMAGES:-2000}}
BASE=${2:-${SCALE_BASE:-1000}}
[ "$BASE" -lt "$N" ] || BASE=$((N / 2))
INTOFOCUS="$BUILD/intofocus"
ROOT="$BUILD/bench-scale"
rm -rf "$ROOT"
mkdir -p "$ROOT"

# The server and the daemon agree on the credentials through the
# environment, as "intofocus sim" and "intofocus run" in one shell do.
export AWS_ACCESS_KEY_ID=AKIDBENCHSCALE000000
export AWS_SECRET_ACCESS_KEY=bench-scale-secret
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_SHARED_CREDENTIALS_FILE="$ROOT/no-such-credentials"
SIMPID=""
trap '[ -z "$SIMPID" ] || kill "$SIMPID" 2>/dev/null || :' EXIT INT TERM

# study DIR N: N small images with one face each, and DIR/exp.yaml.
study() {
	mkdir -p "$1/images"
	"$PY" - "$1" "$2" <<'PYEOF'
import random, sys
from PIL import Image, ImageDraw
d, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(5)
lines = ["name: scale", "mturk:", "  environment: simulator",
         "  poll_interval: 1s", "hit:", '  reward: "0.05"', "  workers: 3",
         "  exclusive_stages: false",
         "stages: [41, 27, 21, 17, 13]", "images_host:", "  kind: simulator",
         "output_dir: out", "images:"]
for i in range(n):
    im = Image.new("RGB", (96, 72), (rnd.randrange(256), rnd.randrange(256),
                                     rnd.randrange(256)))
    x, y = rnd.randrange(0, 60), rnd.randrange(0, 36)
    ImageDraw.Draw(im).ellipse([x, y, x + 30, y + 34], fill=(224, 172, 140))
    im.save("%s/images/i%05d.jpg" % (d, i), quality=85)
    lines += ["  - id: i%05d" % i, "    file: images/i%05d.jpg" % i,
              "    ground_truth: [[%d, %d, 31, 35]]" % (x, y)]
open(d + "/exp.yaml", "w").write("\n".join(lines) + "\n")
PYEOF
}

# one N: runs the study of N images; prints "seconds daemon_kb
# daemon_user_s daemon_sys_s server_kb done_images requests server_ticks
# load_at_end".
one() {
	dir="$ROOT/n$1"
	study "$dir" "$1"
	: >"$dir/sim.log"
	"$INTOFOCUS" sim --listen 127.0.0.1:0 --experiment "$dir/exp.yaml" \
		--state-dir "$dir/sim" >"$dir/sim.log" 2>&1 &
	SIMPID=$!
	# one runs in a subshell ($(one N)), which has traps of its own.
	trap '[ -z "$SIMPID" ] || kill "$SIMPID" 2>/dev/null || :' EXIT INT TERM
	port=""
	i=0
	while [ -z "$port" ] && [ $i -lt 600 ]; do
		port=$(sed -n 's|.*endpoint: http://127.0.0.1:\([0-9]*\).*|\1|p' \
			"$dir/sim.log" | head -1)
		[ -n "$port" ] || sleep 0.1
		i=$((i + 1))
	done
	[ -n "$port" ] || { echo "scale bench: the server did not start" >&2
		cat "$dir/sim.log" >&2; exit 1; }
	sed "s|^  environment: simulator|  environment: simulator\n  endpoint: http://127.0.0.1:$port|" \
		"$dir/exp.yaml" >"$dir/run.yaml"
	start=$(date +%s.%N)
	/usr/bin/time -f "%M %U %S" -o "$dir/rss" "$INTOFOCUS" run "$dir/run.yaml" \
		--state-dir "$dir/state" >"$dir/run.log" 2>&1 ||
		{ echo "scale bench: run failed (see $dir/run.log)" >&2; exit 1; }
	end=$(date +%s.%N)
	# The server's peak, read before it stops.
	server_kb=$(sed -n 's/^VmHWM:[^0-9]*\([0-9]*\) kB/\1/p' \
		"/proc/$SIMPID/status")
	# Its CPU time (user + system, in clock ticks; the name has no space).
	server_ticks=$(awk '{print $14 + $15}' "/proc/$SIMPID/stat")
	kill "$SIMPID"
	wait "$SIMPID" || :
	SIMPID=""
	done_images=$(ls "$dir/out" 2>/dev/null | grep -c '\.jpg$' || :)
	# Its SQLite page cache (logged as it stops): hits and misses.
	cache=$(sed -n \
		's/.*page cache of [0-9]* KiB: \([0-9]*\) hits, \([0-9]*\) misses.*/\1 \2/p' \
		"$dir/sim.log" | tail -1)
	# The MTurk requests of the run, from its summary line.
	requests=$(sed -n 's/.*MTurk requests: .*(\([0-9]*\) in all).*/\1/p' \
		"$dir/run.log" | tail -1)
	"$PY" -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' \
		"$start" "$end" | tr '\n' ' '
	# The machine's load over the last minute, as the run ended.
	read -r load_end _ </proc/loadavg 2>/dev/null || load_end=0
	# daemon_kb daemon_user daemon_sys server_kb images requests ticks load
	echo "$(cat "$dir/rss") $server_kb $done_images ${requests:-0}" \
		"$server_ticks $load_end ${cache:-0 0}"
}

read -r load1 _ </proc/loadavg 2>/dev/null || load1=unknown
echo "scale: $BASE images, then $N, x 5 stages x 3 workers; the daemon" \
	"and the server (intofocus sim, state on disk) as two processes" \
	"(load $load1 at start)"
[ "$N" -ge 10000 ] || echo "  (the targets are stated for 10,000" \
	"images: make bench SCALE_IMAGES=10000 runs that study; this run" \
	"has $N, so its PASS/FAIL lines are for $N)"
base=$(one "$BASE")
big=$(one "$N")
"$PY" - "$BASE" "$base" "$N" "$big" "$(getconf CLK_TCK)" <<'PYEOF'
import sys
def fields(line):
    t, d, du, ds, s, o, q, ticks, load, hits, misses = line.split()
    return (float(t), int(d), float(du) + float(ds), int(s), int(o),
            int(q), int(ticks) / float(sys.argv[5]), load,
            int(hits), int(misses))
nb, n = int(sys.argv[1]), int(sys.argv[3])
(tb, db, cdb, sb, ob, qb, csb, lb, hb, mb), (t, d, cd, s, o, q, cs, l, h, m) = (
    fields(sys.argv[2]), fields(sys.argv[4]))
def verdict(ok):
    return "PASS" if ok else "FAIL"
for k, tt, dd, cdd, ss, css, oo, qq, ll in (
        (nb, tb, db, cdb, sb, csb, ob, qb, lb),
        (n, t, d, cd, s, cs, o, q, l)):
    print("  %6d images: %7.1f s, %6.2f ms per image (CPU: daemon %.2f, "
          "server %.2f ms per image), daemon %6.1f MB, server %6.1f MB, "
          "%d final images, %.1f MTurk requests per image, load %s at "
          "its end" % (
              k, tt, 1000 * tt / k, 1000 * cdd / k, 1000 * css / k,
              dd / 1024, ss / 1024, oo, qq / k, ll))
for k, hh, mm in ((nb, hb, mb), (n, h, m)):
    print("  %6d images: the server's SQLite page cache %.1f%% hits, "
          "%.1f pages read from sim.db per image" % (
              k, 100.0 * hh / max(hh + mm, 1), mm / float(k)))
ratio = (t / n) / (tb / nb)
cpu_ratio = ((cd + cs) / n) / ((cdb + csb) / nb)
print("  CPU time per image %d/%d  %5.2f  (daemon and server together; "
      "less sensitive to a shared machine's load than the time)" % (
          n, nb, cpu_ratio))
print("  time per image %d/%d  %5.2f  (target <= 1.20) %s" % (
    n, nb, ratio, verdict(ratio <= 1.2)))
print("  daemon peak RSS at %d  %6.1f MB (target < 150 MB) %s" % (
    n, d / 1024, verdict(d < 150 * 1024)))
print("  server peak RSS at %d  %6.1f MB (target < 150 MB) %s" % (
    n, s / 1024, verdict(s < 150 * 1024)))
print("  every image finished  %s" % verdict(o == n and ob == nb))
PYEOF
