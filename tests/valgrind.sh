#!/bin/sh
# `make valgrind`: the suites of tests/run.sh with every test program under
# valgrind (memcheck): the cmocka unit suites and the fuzz corpus replays
# directly (a valgrind error makes the suite exit 1, which run.sh counts as
# a failure), and every intofocus the e2e suites start through a wrapper
# that logs to $BUILD/valgrind/PID.log; those logs are checked at the end,
# because an e2e suite compares exit statuses and cannot tell valgrind's
# from ours.  Leaks: only "definitely lost" blocks are errors; what the
# libraries keep for the process's lifetime (libcurl, OpenSSL, libxml2
# global state) is "still reachable" and not reported.  A library's own
# definite leak, should one appear, goes to tests/valgrind.supp with a note,
# never one of ours.
#
#   BUILD=build/vg tests/valgrind.sh [PATTERN]
#   VALGRIND_E2E=0 skips the e2e suites (about 12 min of the ~14 under
#   valgrind on 2 cores); VALGRIND_SKIP="..." replaces the default skips.
set -u

BUILD=${BUILD:-build/vg}
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
logs="$TOP/$BUILD/valgrind"
rm -rf "$logs"
mkdir -p "$logs"

VG="valgrind -q --error-exitcode=1 --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite \
--track-fds=no --num-callers=30 --suppressions=$TOP/tests/valgrind.supp"

cat >"$logs/vg-unit" <<WRAP
#!/bin/sh
exec $VG --log-file="$logs/unit.%p.log" "\$@"
WRAP
cat >"$logs/intofocus" <<WRAP
#!/bin/sh
exec $VG --log-file="$logs/e2e.%p.log" "$TOP/$BUILD/intofocus" "\$@"
WRAP
chmod +x "$logs/vg-unit" "$logs/intofocus"

# These suites check the binary itself - the files it opens (strace
# against the unit's sandbox) and the installed copy's bytes - which a
# valgrind wrapper changes by nature; they are skipped here, said aloud.
skip=${VALGRIND_SKIP-t0800-systemd t0810-install}

pattern=${1:-}
suites=""
for f in "$BUILD"/tests/test_* "$BUILD"/tests/fuzzreplay_*; do
	[ -x "$f" ] && suites="$suites $(basename "$f")"
done
if [ "${VALGRIND_E2E:-1}" != 0 ]; then
	for f in tests/e2e/t*.sh; do
		suites="$suites $(basename "$f" .sh)"
	done
fi
rc=0
pass=0
fail=0
for name in $suites; do
	case "$name" in *"$pattern"*) ;; *) continue ;; esac
	case " $skip " in
	*" $name "*)
		echo "$name: skipped under valgrind (checks the binary itself)"
		continue ;;
	esac
	# One suite a call: test_stage alone, not test_stage0 again.
	out=$(TEST_WRAPPER="$logs/vg-unit" SUITE_TIMEOUT=${SUITE_TIMEOUT:-1800} \
		INTOFOCUS="$logs/intofocus" BUILD=$BUILD SUITE_EXACT=1 \
		tests/run.sh "$name")
	echo "$out" | sed '$d'
	last=$(echo "$out" | tail -1)
	pass=$((pass + $(echo "$last" | sed 's/ passed.*//')))
	fail=$((fail + $(echo "$last" | sed 's/.*passed, //; s/ failed.*//')))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || rc=1

# Every log with an error report of ours fails the run.
bad=0
for f in "$logs"/*.log; do
	[ -s "$f" ] || continue
	if grep -q -E '^==[0-9]+== [A-Z]' "$f"; then
		bad=$((bad + 1))
		echo "valgrind: $f:"
		head -40 "$f" | sed 's/^/    /'
	fi
done
n=$(ls "$logs"/*.log 2>/dev/null | wc -l)
if [ "$bad" -gt 0 ]; then
	echo "valgrind: $bad of $n processes reported errors"
	exit 1
fi
echo "valgrind: $n processes, no error reported"
exit $rc
