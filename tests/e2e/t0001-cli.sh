# The command line itself: help, version, unknown commands, and run's
# option errors.
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
done_testing
