#!/bin/sh
# Runs every libFuzzer harness (build/fuzz/fuzz/fuzz_X, made by `make fuzz`)
# for FUZZ_SECONDS each, starting from its seed corpus tests/fuzz/corpus/X.
# New interesting inputs go to build/fuzz/corpus/X, crashers to
# build/fuzz/crashes/; the seeds are never written.  A crasher becomes a
# regression test by copying it into tests/fuzz/corpus/X/ as crash_NAME.
#
#   FUZZ_SECONDS=N tests/fuzz/run.sh [TARGET...]
set -u

BUILD=${BUILD:-build/fuzz}
secs=${FUZZ_SECONDS:-10}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
mkdir -p "$BUILD/crashes" "$BUILD/logs"

if [ $# -gt 0 ]; then
	targets=$*
else
	targets=$(ls tests/fuzz/fuzz_*.c | sed 's,.*/fuzz_,,; s,\.c$,,')
fi

failed=""
for t in $targets; do
	bin="$BUILD/fuzz/fuzz_$t"
	work="$BUILD/corpus/$t"
	mkdir -p "$work"
	# Parsers of whole files: large inputs are legitimate, but keep them
	# under the seeds' order of size so that runs stay fast.
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$BUILD/crashes/$t-" \
		"$work" "tests/fuzz/corpus/$t" >"$BUILD/logs/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		"$BUILD/logs/$t.log")
	cov=$(grep -o 'cov: [0-9]*' "$BUILD/logs/$t.log" | tail -1)
	if [ "$rc" -ne 0 ]; then
		failed="$failed $t"
		printf '%-8s FAILED (exit %d) after %s runs, %s; see %s\n' \
			"$t" "$rc" "${runs:-?}" "${cov:-?}" "$BUILD/logs/$t.log"
		grep -E '^==[0-9]+==ERROR|SUMMARY|^artifact_prefix|Test unit written' \
			"$BUILD/logs/$t.log" | head -5 | sed 's/^/    /'
	else
		printf '%-8s ok: %s runs in %ss, %s\n' "$t" "${runs:-?}" "$secs" \
			"${cov:-?}"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: crashes in:$failed (inputs in $BUILD/crashes/)"
	exit 1
fi
echo "fuzz: no crash"
