# Helpers for the browser suites (t0710, t0720, t0725; sourced after
# lib.sh): Debian's chromium driven by playwright-core from
# tests/browser, a server on a free port, the browser script's TAP, and the
# daemon that finishes once the browser has answered.  A missing chromium,
# node or node module is a failure, not a skip: these pages are only tested
# here.

BROWSER_DIR="$TOP/tests/browser"

# browser_setup [axe-core]: chromium, node and tests/browser's node modules
# (npm ci from the committed package-lock.json when one is missing), each
# one a check.
browser_setup() {
	check "Debian's chromium is installed (scripts/deps.sh test)" \
		test -x /usr/bin/chromium
	check "node is on PATH" command -v node
	if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ] ||
		{ [ "${1:-}" = axe-core ] &&
			[ ! -d "$BROWSER_DIR/node_modules/axe-core" ]; }; then
		(cd "$BROWSER_DIR" && npm ci --no-audit --no-fund) \
			>"$SCRATCH/npm.log" 2>&1 ||
			sed 's/^/# npm: /' "$SCRATCH/npm.log" | tail -20
	fi
	check "playwright-core is installed in tests/browser/node_modules" \
		test -d "$BROWSER_DIR/node_modules/playwright-core"
	if [ "${1:-}" = axe-core ]; then
		check "axe-core is installed in tests/browser/node_modules" \
			test -f "$BROWSER_DIR/node_modules/axe-core/axe.min.js"
	fi
}

# browser_credentials KEY_ID SECRET: the made-up credentials the server
# and the daemon agree on, and nothing of the user's (HOME, TMPDIR and
# the AWS files all in the scratch directory).
browser_credentials() {
	export AWS_ACCESS_KEY_ID="$1"
	export AWS_SECRET_ACCESS_KEY="$2"
	unset AWS_SESSION_TOKEN AWS_PROFILE CREDENTIALS_DIRECTORY
	export AWS_SHARED_CREDENTIALS_FILE="$SCRATCH/no-such-credentials"
	export HOME="$SCRATCH"
	export TMPDIR="$SCRATCH"
}

# browser_tap OUT: the browser script's "ok - ..." and "not ok - ..." lines
# in OUT as this suite's tests, the rest as comments, and a check that it
# reported any.
browser_tap() {
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) echo "# $line" ;;
		esac
	done <"$1"
	check "the browser script reported its checks" grep -q "^ok - " "$1"
}

# wait_run: waits up to 90 s for the daemon RUN_PID to end by itself;
# RUN_RC is its exit status, and RUN_PID is cleared.
wait_run() {
	i=0
	while kill -0 "$RUN_PID" 2>/dev/null && [ $i -lt 900 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	wait "$RUN_PID"
	RUN_RC=$?
	RUN_PID=""
}
