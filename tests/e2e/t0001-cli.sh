# The command line itself: help, version, unknown commands, and the option
# errors of run, check and sim (one shape: cmd_opt_error, cmd_usage_error).
. "$TOP/tests/e2e/lib.sh"

expect_exit 0 "--help exits 0" "$INTOFOCUS" --help
expect_stdout "--help lists the render command" "render"
expect_exit 0 "--version exits 0" "$INTOFOCUS" --version
expect_stdout "--version prints the version" "intofocus $(cat "$TOP/VERSION")"
expect_exit 2 "no command is a usage error" "$INTOFOCUS"
expect_exit 2 "an unknown command is a usage error" "$INTOFOCUS" frobnicate
expect_stderr "an unknown command is named" 'unknown command "frobnicate"'
# run's own option errors (cmd_opt_error, cmd_usage_error).
expect_exit 2 "run: an unknown option is a usage error" \
	"$INTOFOCUS" run --frobnicate x.yaml
expect_stderr "run: the unknown option is named" \
	'intofocus run: unknown option "--frobnicate"'
expect_stderr "run: the usage error points to --help" \
	'Try "intofocus run --help".'
expect_exit 2 "run: an option without its value is a usage error" \
	"$INTOFOCUS" run x.yaml --state-dir
expect_stderr "run: the option without a value is named" \
	'intofocus run: --state-dir needs a value'
expect_exit 0 "run --help exits 0" "$INTOFOCUS" run --help
# check's: it has no option that takes a value.
expect_exit 2 "check: an unknown option is a usage error" \
	"$INTOFOCUS" check --frobnicate x.yaml
expect_stderr "check: the unknown option is named" \
	'intofocus check: unknown option "--frobnicate"'
expect_stderr "check: the usage error points to --help" \
	'Try "intofocus check --help".'
expect_exit 2 "check: a value given to a flag is a usage error" \
	"$INTOFOCUS" check --json=yes x.yaml
expect_stderr "check: the flag with a value is named" \
	'intofocus check: unknown option "--json=yes"'
expect_exit 2 "check: two files are a usage error" \
	"$INTOFOCUS" check x.yaml y.yaml
expect_stderr "check: one file at a time" \
	'intofocus check: give exactly one EXPERIMENT.yaml'
expect_exit 0 "check --help exits 0" "$INTOFOCUS" check --help
# sim's: refused before it listens or reads a file.
expect_exit 2 "sim: an unknown option is a usage error" \
	"$INTOFOCUS" sim --frobnicate
expect_stderr "sim: the unknown option is named" \
	'intofocus sim: unknown option "--frobnicate"'
expect_stderr "sim: the usage error points to --help" \
	'Try "intofocus sim --help".'
expect_exit 2 "sim: an option without its value is a usage error" \
	"$INTOFOCUS" sim --no-crowd --seed
expect_stderr "sim: the option without a value is named" \
	'intofocus sim: --seed needs a value'
expect_exit 2 "sim: a stray argument is a usage error" \
	"$INTOFOCUS" sim extra
expect_stderr "sim: the stray argument is named" \
	'intofocus sim: unexpected argument "extra"'
expect_exit 2 "sim: a missing experiment file is not a usage error" \
	"$INTOFOCUS" sim --experiment nope.yaml --listen 127.0.0.1:0
expect_stderr "sim: the missing file is named" 'nope.yaml'
check "sim: ... so it does not point to --help" \
	sh -c '! grep -q "Try " "$1"' sh "$SCRATCH/.stderr"
expect_exit 0 "sim --help exits 0" "$INTOFOCUS" sim --help
done_testing
