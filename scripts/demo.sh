#!/bin/sh
# make demo: the demo experiment (examples/demo.yaml) end to end on the
# embedded simulator - no account, no money, no network.  Simulated workers
# box the photos' ground-truth faces with a probability that grows with the
# face's size relative to each stage's median window (spec section 6).
#
#   BUILD=build scripts/demo.sh        (make demo runs it)
#
# Each demo starts afresh: its state (build/demo-state) and its outputs
# (demo-out/) are replaced.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
INTOFOCUS="$BUILD/intofocus"
EXP="$TOP/examples/demo.yaml"
STATE="$BUILD/demo-state"
OUT="$TOP/demo-out"

rm -rf "$STATE" "$OUT"
echo "== intofocus check $EXP"
"$INTOFOCUS" check "$EXP"
echo
echo "== intofocus run $EXP"
"$INTOFOCUS" run "$EXP" --state-dir "$STATE"
echo
echo "== intofocus status"
"$INTOFOCUS" status "$EXP" --state-dir "$STATE"
if "$INTOFOCUS" report --help >/dev/null 2>&1; then
	"$INTOFOCUS" report "$EXP" --state-dir "$STATE" -o "$OUT/site"
	echo
	echo "Results site: $OUT/site/index.html"
fi
echo
echo "Final images (the originals with every region the crowd selected"
echo "redacted) and their records (boxes per stage and worker, HITs, cost):"
for f in "$OUT"/*.jpg; do
	echo "  $f  ${f%.jpg}.json"
done
