#!/bin/sh
# make bench, the latency part (issue 19): how long an image waits between
# a stage's last answer and its next stage's HIT.  N images (default 6,
# half of them the group photo, half the street) x 5 stages x 3 workers, exclusive stages, poll_interval 1 s, on the embedded simulator
# made to answer like a remote service (every request waits
# BENCH_LATENCY_MS, default 50) with workers answering in 50 ms.  The
# times come from the simulator's own records (sim.db beside the state):
# each assignment's submit time and each HIT's creation time, in ms.
# Two runs: polling alone (run --sim-no-push), against the target of the
# worst at most the poll interval plus 0.5 s; and with the simulator's
# push (the daemon waits on it instead of the poll interval), against the
# target of the worst under 0.3 s plus the requests on one image's path
# from its last answer to its next HIT, each answered in the latency:
# the push's answer, ListReviewableHITs, ListAssignmentsForHIT, the
# grants (at once), PutObject, CreateHITType (once per stage and run) and
# CreateHITWithHITType, 7 in all.  Several images finishing together
# take their steps at once (daemon/pool.c), so their paths overlap rather
# than add up.  Prints the median and the worst delay
# over the stage transitions next to each target.  Figures only; it never
# fails on speed.
#
#   BUILD=build tests/bench/latency_bench.sh [N]
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
PY=${PYTHON:-/usr/bin/python3}
LATENCY=${BENCH_LATENCY_MS:-50}
N=${1:-6}
DIR="$BUILD/bench-latency"
FIX="$TOP/tests/fixtures/daemon"
rm -rf "$DIR"
mkdir -p "$DIR"
{
	printf 'name: latency\nmturk:\n  environment: simulator\n'
	printf '  poll_interval: 1s\nhit:\n  reward: "0.05"\n  workers: 3\n'
	printf '  exclusive_stages: true\nstages: [41, 27, 21, 17, 13]\n'
	printf 'images_host:\n  kind: simulator\noutput_dir: out\nimages:\n'
	i=0
	while [ "$i" -lt "$N" ]; do
		if [ $((i % 2)) -eq 0 ]; then
			printf '  - id: group%d\n    file: %s/group.jpg\n' \
				"$i" "$FIX"
			printf '    ground_truth: [[40, 50, 48, 60], '
			printf '[150, 60, 40, 50], [240, 120, 20, 24]]\n'
		else
			printf '  - id: street%d\n    file: %s/street.jpg\n' \
				"$i" "$FIX"
			printf '    ground_truth: [[30, 30, 60, 72], '
			printf '[180, 100, 12, 14]]\n'
		fi
		i=$((i + 1))
	done
} >"$DIR/exp.yaml"
# transitions MODE TARGET: the figures of the run just made.
transitions() {
	"$PY" - "$DIR/state/simulator/sim.db" "$LATENCY" "$N" "$1" "$2" <<'PYEOF'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
hits, last = {}, {}
for (body,) in db.execute("SELECT body FROM records WHERE kind = 'hits'"):
    h = json.loads(body)
    ann = (h.get("values") or h)["RequesterAnnotation"]
    name, image, stage = ann.split("/")
    hits[h["id"]] = (image, int(stage), h["created"])
for (body,) in db.execute("SELECT body FROM records WHERE kind = 'assignments'"):
    a = json.loads(body)
    last[a["hit"]] = max(last.get(a["hit"], 0), a["submit"])
created = {(i, k): t for i, k, t in hits.values()}
delays = sorted((created[(i, k + 1)] - last[h]) / 1000.0
                for h, (i, k, t) in hits.items()
                if h in last and (i, k + 1) in created)
if not delays:
    sys.exit("latency bench: no stage transitions in " + sys.argv[1])
mid = len(delays) // 2
median = delays[mid] if len(delays) % 2 else (delays[mid - 1] + delays[mid]) / 2
target = float(sys.argv[5])
print("  %-8s last answer -> next HIT: median %.2f s, worst %.2f s over %d "
      "transitions (target worst %s %.2f s: %s)"
      % (sys.argv[4], median, delays[-1], len(delays),
         "<=" if sys.argv[4] == "polling" else "<", target,
         "met" if (delays[-1] <= target if sys.argv[4] == "polling"
                   else delays[-1] < target) else "NOT met"))
PYEOF
}

echo "latency: $N image(s) x 5 stages x 3 workers, exclusive stages, poll" \
	"interval 1 s, simulator answering each request in $LATENCY ms"
for mode in polling push; do
	rm -rf "$DIR/state" "$DIR/out"
	if [ "$mode" = polling ]; then
		flag=--sim-no-push
		target=1.5
	else
		flag=
		target=$("$PY" -c "print(0.3 + 7 * $LATENCY / 1000.0)")
	fi
	# shellcheck disable=SC2086
	"$BUILD/intofocus" run "$DIR/exp.yaml" --state-dir "$DIR/state" \
		--sim-delay 50 --sim-latency "$LATENCY" $flag \
		>"$DIR/run-$mode.log" 2>&1
	transitions "$mode" "$target"
done
