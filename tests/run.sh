#!/bin/sh
# Runs every test suite and ends with one line "N passed, N failed".
#
# Unit suites are cmocka programs (build/tests/test_*), run with TAP output.
# Fuzz harnesses replay their seed corpus (build/tests/fuzzreplay_X over
# tests/fuzz/corpus/X), one TAP line per seed.
# Command-line suites are tests/e2e/t*.sh scripts that print TAP themselves
# (see tests/e2e/lib.sh).  A suite that crashes or exits non-zero without
# reporting a failing test counts as one failed test, so a crash is never
# mistaken for a pass.
#
#   tests/run.sh [PATTERN]     only suites whose name contains PATTERN
#   SUITE_EXACT=1 tests/run.sh NAME   only the suite named NAME
set -u

BUILD=${BUILD:-build}
export BUILD
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
# tests/valgrind.sh points INTOFOCUS at a wrapper and sets TEST_WRAPPER.
export INTOFOCUS="${INTOFOCUS:-$TOP/$BUILD/intofocus}"
wrapper=${TEST_WRAPPER:-}
export PYTHON=${PYTHON:-/usr/bin/python3}
pattern=${1:-}

# wanted NAME: whether the suite NAME is one to run.
wanted() {
	if [ "${SUITE_EXACT:-0}" = 1 ]; then
		[ "$1" = "$pattern" ]
		return
	fi
	case "$1" in *"$pattern"*) return 0 ;; esac
	return 1
}
logdir="$TOP/$BUILD/test-logs"
mkdir -p "$logdir"

total_pass=0
total_fail=0
failed_suites=""

run_suite() {
	name=$1
	shift
	log="$logdir/$name.log"
	start=$(date +%s)
	( cd "$TOP" && CMOCKA_MESSAGE_OUTPUT=TAP timeout "${SUITE_TIMEOUT:-600}" "$@" ) >"$log" 2>&1
	rc=$?
	pass=$(grep -c '^ok ' "$log")
	fail=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	if [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
		echo "not ok - $name ran no test" >>"$log"
	fi
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	secs=$(( $(date +%s) - start ))
	if [ "$fail" -gt 0 ]; then
		failed_suites="$failed_suites $name"
		printf '%-28s %4d passed, %3d FAILED  (%ds)\n' "$name" "$pass" "$fail" "$secs"
		grep -E '^not ok|^# ' "$log" | grep -v '^# ok' | head -40 | sed 's/^/    /'
	else
		printf '%-28s %4d passed  (%ds)\n' "$name" "$pass" "$secs"
	fi
}

for bin in "$TOP/$BUILD"/tests/test_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	wanted "$name" || continue
	run_suite "$name" $wrapper "$bin"
done

for bin in "$TOP/$BUILD"/tests/fuzzreplay_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	wanted "$name" || continue
	run_suite "$name" $wrapper "$bin" "tests/fuzz/corpus/${name#fuzzreplay_}"
done

for script in "$TOP"/tests/e2e/t*.sh; do
	[ -f "$script" ] || continue
	name=$(basename "$script" .sh)
	wanted "$name" || continue
	run_suite "$name" sh "$script"
done

if [ -n "$failed_suites" ]; then
	echo "failed suites:$failed_suites (logs in $BUILD/test-logs/)"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
