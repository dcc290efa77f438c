# Shared helpers for the command-line suites (tests/e2e/t*.sh).
#
# Each script sources this file, runs in its own scratch directory and
# prints TAP: "ok N - what" or "not ok N - what", then a plan "1..N".
#
#   . "$TOP/tests/e2e/lib.sh"
#   expect_exit 2 "render refuses a missing file" "$INTOFOCUS" render nope.jpg -w 3 -o x.png
#   check "output exists" test -f x.png
#   done_testing

set -u
: "${TOP:?run through tests/run.sh}"
: "${INTOFOCUS:?run through tests/run.sh}"
TEST_NUM=0
TEST_FAILED=0
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/intofocus-e2e.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
cd "$SCRATCH" || exit 1

ok() {
	TEST_NUM=$((TEST_NUM + 1))
	echo "ok $TEST_NUM - $1"
}

not_ok() {
	TEST_NUM=$((TEST_NUM + 1))
	TEST_FAILED=$((TEST_FAILED + 1))
	echo "not ok $TEST_NUM - $1"
}

# check DESCRIPTION COMMAND...: passes when COMMAND exits 0.
check() {
	desc=$1
	shift
	if "$@" >"$SCRATCH/.out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		sed 's/^/# /' "$SCRATCH/.out" | head -20
	fi
}

# expect_exit CODE DESCRIPTION COMMAND...: passes when COMMAND exits CODE.
# Its stdout and stderr stay in $SCRATCH/.stdout and $SCRATCH/.stderr.
expect_exit() {
	want=$1
	desc=$2
	shift 2
	"$@" >"$SCRATCH/.stdout" 2>"$SCRATCH/.stderr"
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc (exit $got, wanted $want)"
		sed 's/^/# stderr: /' "$SCRATCH/.stderr" | head -20
	fi
}

# expect_stderr DESCRIPTION TEXT: the last command's stderr contains TEXT.
expect_stderr() {
	if grep -qF -- "$2" "$SCRATCH/.stderr"; then
		ok "$1"
	else
		not_ok "$1"
		echo "# wanted in stderr: $2"
		sed 's/^/# stderr: /' "$SCRATCH/.stderr" | head -20
	fi
}

# expect_stdout DESCRIPTION TEXT: the last command's stdout contains TEXT.
expect_stdout() {
	if grep -qF -- "$2" "$SCRATCH/.stdout"; then
		ok "$1"
	else
		not_ok "$1"
		echo "# wanted in stdout: $2"
		sed 's/^/# stdout: /' "$SCRATCH/.stdout" | head -20
	fi
}

# wait_port VAR PID FILE [SED]: the wait for a started server's port
# (tests/e2e/port_lib.sh, shared with the benches).
. "$TOP/tests/e2e/port_lib.sh"

# two_photos_yaml: the end of an experiment file shared by the daemon
# suites - union aggregation, the simulator's image host, out/, and the two
# fixture photos (tests/fixtures/daemon/group.jpg and street.jpg, copied
# beside it) with their ground truth.
two_photos_yaml() {
	cat <<'YAML'
aggregate: union
images_host:
  kind: simulator
output_dir: out
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]
  - id: street
    file: street.jpg
    ground_truth: [[30, 30, 60, 72], [180, 100, 12, 14]]
YAML
}

done_testing() {
	echo "1..$TEST_NUM"
	[ "$TEST_FAILED" -eq 0 ]
}
