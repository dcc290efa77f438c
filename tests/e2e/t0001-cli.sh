# The command line itself: help, version, unknown commands.
. "$TOP/tests/e2e/lib.sh"

expect_exit 0 "--help exits 0" "$INTOFOCUS" --help
expect_stdout "--help lists the render command" "render"
expect_exit 0 "--version exits 0" "$INTOFOCUS" --version
expect_stdout "--version prints the version" "intofocus $(cat "$TOP/VERSION")"
expect_exit 2 "no command is a usage error" "$INTOFOCUS"
expect_exit 2 "an unknown command is a usage error" "$INTOFOCUS" frobnicate
expect_stderr "an unknown command is named" 'unknown command "frobnicate"'
done_testing
