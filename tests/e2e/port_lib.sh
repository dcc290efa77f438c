# The wait for a started server's port, shared by the command-line suites
# (through tests/e2e/lib.sh) and the benches (tests/bench/serve_load.sh):
#
#   . "$TOP/tests/e2e/port_lib.sh"
#   "$INTOFOCUS" serve --listen 127.0.0.1:0 ... >srv.log 2>&1 &
#   wait_port PORT $! srv.log || fail

# wait_port VAR PID FILE [SED]: sets VAR to the port of the "endpoint:
# http://127.0.0.1:PORT" line a server started as PID writes to FILE once
# it listens, or to what the sed command SED (s|...|...|p) prints of FILE.
# VAR is empty, and wait_port fails, when PID exits first or after 120 s:
# the bound only ends a hang, since a loaded machine (or valgrind) can
# take seconds to start a server.  A FILE an earlier run wrote must be
# emptied before the server starts (the redirection happens in the
# child).  Not in a command substitution: a subshell does not reap the
# script's children, so it would take an exited server for a live one.
wait_port() {
	wp_sed=${4:-'s|.*endpoint: http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p'}
	wp_i=0
	while [ $wp_i -lt 2400 ]; do
		wp_got=$(sed -n "$wp_sed" "$3" 2>/dev/null | head -1)
		if [ -z "$wp_got" ] && ! kill -0 "$2" 2>/dev/null; then
			# It may have written the line just before it exited.
			wp_got=$(sed -n "$wp_sed" "$3" 2>/dev/null | head -1)
			break
		fi
		[ -n "$wp_got" ] && break
		sleep 0.05
		wp_i=$((wp_i + 1))
	done
	eval "$1=\$wp_got"
	[ -n "$wp_got" ]
}
