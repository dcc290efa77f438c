# The unit (spec section 10): systemd-analyze verify is clean, the exposure
# level is 1.5 or lower, the contract's settings are there, and what the
# binary does fits the sandbox the unit builds (system calls and paths,
# traced with strace).  Needs no running systemd: verify and
# "security --offline=yes" work in a container.
. "$TOP/tests/e2e/lib.sh"

UNIT="$TOP/systemd/intofocus@.service"

skip() {
	TEST_NUM=$((TEST_NUM + 1))
	echo "ok $TEST_NUM # SKIP $1"
}

check "the unit file exists" test -f "$UNIT"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "systemd-analyze is absent (Debian package systemd)"
	done_testing
	exit
fi

# verify insists that ExecStart exists and that the Documentation= pages
# resolve: point it at the built binary and at our own man pages.
mkdir -p unit man/man1 man/man5
cp "$TOP/man/intofocus.1" man/man1/
cp "$TOP/man/intofocus.yaml.5" man/man5/
sed "s|/usr/local/bin/intofocus|$INTOFOCUS|" "$UNIT" >unit/intofocus@test.service
check "the test copy runs the built binary" \
	grep -qx "ExecStart=$INTOFOCUS run /etc/intofocus/%i.yaml" \
	unit/intofocus@test.service

# verify: exit 0 and not a word (unknown keys only warn, with exit 0).
verify_clean() {
	MANPATH="$SCRATCH/man" systemd-analyze verify "$1" >"$SCRATCH/verify.out" 2>&1 &&
		! [ -s "$SCRATCH/verify.out" ]
}
check "systemd-analyze verify is clean" verify_clean unit/intofocus@test.service
sed 's/^\[Service\]$/[Service]\nFrobnicate=yes/' unit/intofocus@test.service \
	>unit/intofocus@bad.service
if verify_clean unit/intofocus@bad.service; then
	not_ok "verify notices an unknown setting (the check above can fail)"
else
	ok "verify notices an unknown setting (the check above can fail)"
fi

# The figure of "→ Overall exposure level for intofocus@test.service: 1.1 OK".
exposure() {
	systemd-analyze security --offline=yes "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: *\([0-9.]*\).*/\1/p'
}
level=$(exposure unit/intofocus@test.service)
echo "# exposure level: ${level:-none}"
if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 1.5) }'; then
	ok "exposure level $level <= 1.5"
else
	not_ok "exposure level ${level:-not found} <= 1.5"
	systemd-analyze security --offline=yes unit/intofocus@test.service 2>&1 |
		grep '✗' | sed 's/^/# /'
fi
# Without its hardening block the same unit must score worse, so the figure
# above is parsed from the right line and means something.
sed '/^# Hardening/,/^SystemCallErrorNumber/d' unit/intofocus@test.service \
	>unit/intofocus@soft.service
soft=$(exposure unit/intofocus@soft.service)
if [ -n "$soft" ] && awk -v l="$soft" 'BEGIN { exit !(l > 1.5) }'; then
	ok "the unit without its hardening scores $soft > 1.5"
else
	not_ok "the unit without its hardening scores ${soft:-nothing} > 1.5"
fi

# The settings the contract names, each exactly once.
for line in "Type=notify" "NotifyAccess=main" \
	"ExecReload=/bin/kill -HUP \$MAINPID" "Restart=on-failure" \
	"RestartPreventExitStatus=2" "DynamicUser=yes" \
	"StateDirectory=intofocus/%i" "StateDirectoryMode=0700" \
	"LoadCredential=aws:/etc/intofocus/credentials" "UMask=0077" \
	"ProtectSystem=strict" "ProtectHome=yes" \
	"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
	"ExecStart=/usr/local/bin/intofocus run /etc/intofocus/%i.yaml"; do
	check "the unit says $line" test "$(grep -cxF "$line" "$UNIT")" -eq 1
done
wd=$(sed -n 's/^WatchdogSec=\([0-9]*\)s$/\1/p' "$UNIT")
check "the watchdog is set (WatchdogSec=${wd:-?}s)" test "${wd:-0}" -gt 0

# ---- the credential, as LoadCredential= hands it over --------------------
# systemd copies /etc/intofocus/credentials to $CREDENTIALS_DIRECTORY/aws,
# mode 0400.  The installed template, filled in, must sign requests the
# simulator accepts; left as installed, it must give a clear error.
mkdir -p cred
sed -e 's/^# \[default\]/[default]/' \
	-e 's/^# aws_access_key_id = .*/aws_access_key_id = AKIDINTOFOCUSTEST001/' \
	-e 's|^# aws_secret_access_key = .*|aws_secret_access_key = t0800/secret/0123456789abcdefghijklmnop|' \
	"$TOP/systemd/credentials.example" >cred/aws
chmod 400 cred/aws
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_PROFILE \
	-u AWS_SHARED_CREDENTIALS_FILE HOME="$SCRATCH" \
	CREDENTIALS_DIRECTORY="$SCRATCH/cred" \
	"$INTOFOCUS" sim --listen 127.0.0.1:0 >sim.out 2>&1 &
sim_pid=$!
wait_port endpoint "$sim_pid" sim.out \
	's|.*API and S3 endpoint: \(http://127\.0\.0\.1:[0-9]*\).*|\1|p'
if grep -q "not implemented yet" sim.out; then
	skip "credentials: intofocus sim is not implemented yet"
elif [ -z "$endpoint" ]; then
	not_ok "the simulator starts on loopback"
	sed 's/^/# /' sim.out | head -10
else
	expect_exit 0 "the filled-in credentials template signs requests the simulator accepts" \
		env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_PROFILE \
		-u AWS_SHARED_CREDENTIALS_FILE HOME="$SCRATCH" \
		CREDENTIALS_DIRECTORY="$SCRATCH/cred" \
		"$INTOFOCUS" mturk GetAccountBalance --endpoint "$endpoint"
	expect_stdout "the answer is the balance" "AvailableBalance"
	mkdir -p wrong
	sed 's/0123456789/9876543210/' cred/aws >wrong/aws
	chmod 400 wrong/aws
	expect_exit 1 "a wrong secret is refused (the check above can fail)" \
		env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_PROFILE \
		-u AWS_SHARED_CREDENTIALS_FILE HOME="$SCRATCH" \
		CREDENTIALS_DIRECTORY="$SCRATCH/wrong" \
		"$INTOFOCUS" mturk GetAccountBalance --endpoint "$endpoint" \
		--attempts 1
	mkdir -p pristine
	cp "$TOP/systemd/credentials.example" pristine/aws
	chmod 400 pristine/aws
	expect_exit 2 "the template as installed is no credential (exit 2)" \
		env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_PROFILE \
		-u AWS_SHARED_CREDENTIALS_FILE HOME="$SCRATCH" \
		CREDENTIALS_DIRECTORY="$SCRATCH/pristine" \
		"$INTOFOCUS" mturk GetAccountBalance --endpoint "$endpoint"
	expect_stderr "... and the error names the credential file" "$SCRATCH/pristine/aws"
fi
kill "$sim_pid" 2>/dev/null
wait "$sim_pid" 2>/dev/null

# ---- the binary inside the sandbox --------------------------------------
# What the service may call: @system-service minus @privileged and
# @resources, groups expanded recursively.
expand() {
	for s in $(systemd-analyze syscall-filter "$1" </dev/null 2>/dev/null |
		sed -n 's/^    \([@a-z0-9_-]*\)$/\1/p'); do
		case "$s" in
		@*) expand "$s" ;;
		*) echo "$s" ;;
		esac
	done
}
expand @system-service | sort -u >allowed.all
{ expand @privileged; expand @resources; } | sort -u >denied
comm -23 allowed.all denied >allowed
check "the allowed system call set is not empty" test -s allowed
check "setuid is outside the allowed set" sh -c '! grep -qx setuid allowed'

# trace_check NAME COMMAND...: every system call COMMAND makes is allowed,
# it opens nothing under /home, /root, /run/user or the non-process part
# of /proc, no device beyond those PrivateDevices= provides, and it writes
# only inside the scratch directory (which stands for the state directory)
# or the private /tmp.
trace_check() {
	name=$1
	shift
	strace -f -qq -o "trace.$name" "$@" >"out.$name" 2>&1
	if grep -q "not implemented yet" "out.$name"; then
		skip "$name: not implemented yet"
		return
	fi
	# Keep the lines of intofocus itself: from its successful execve on,
	# and of the threads and children it creates (not timeout's or env's).
	awk -v bin="$INTOFOCUS" '
	{ pid = $1 }
	index($0, "execve(\"" bin "\"") { pending[pid] = 1 }
	pending[pid] && / = 0$/ && /execve/ { mine[pid] = 1; delete pending[pid]; next }
	!mine[pid] { next }
	/(clone|clone3|fork|vfork)[ (]/ || /<\.\.\. (clone|clone3|fork|vfork) resumed>/ {
		if (match($0, /= [0-9]+$/)) mine[substr($0, RSTART + 2)] = 1
	}
	{ print }
	' "trace.$name" >"own.$name"
	if ! [ -s "own.$name" ]; then
		not_ok "$name: intofocus did not start under strace"
		sed 's/^/# /' "out.$name" | head -5
		return
	fi
	mv "own.$name" "trace.$name"
	sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "trace.$name" | sort -u \
		>"calls.$name"
	# SQLite hands its journal files to the database's owner only when it
	# runs as root (robust_fchown); the service runs as a DynamicUser.
	if [ "$(id -u)" -eq 0 ]; then
		grep -vx 'fchown' "calls.$name" >"calls.$name.t"
		mv "calls.$name.t" "calls.$name"
	fi
	comm -23 "calls.$name" allowed >"bad.$name"
	if [ -s "calls.$name" ] && ! [ -s "bad.$name" ]; then
		ok "$name: all $(wc -l <"calls.$name") system calls pass the unit's filter"
	else
		not_ok "$name: system calls outside the unit's filter"
		sed 's/^/# /' "bad.$name"
	fi
	# "PATH FLAGS" per open; "PATH W" for calls that change the tree.
	{
		sed -n 's/^[0-9]* *open\(at\)*([^"]*"\([^"]*\)", *\([A-Z_|]*\).*/\2 \3/p' \
			"trace.$name"
		sed -n -E 's/^[0-9]* *(creat|mkdir|mkdirat|rename|renameat|renameat2|unlink|unlinkat|link|linkat|symlink|symlinkat|truncate|chmod|fchmodat)\([^"]*"([^"]*)".*/\2 W/p' \
			"trace.$name"
	} >"opens.$name"
	# glibc's malloc reads overcommit_memory in threads and, when it cannot,
	# simply keeps from shrinking heaps (malloc/arena.c).
	awk '
	$1 == "/proc/sys/vm/overcommit_memory" { next }
	$1 ~ /^\/(home|root|run\/user)(\/|$)/ { print "hidden: " $0; next }
	$1 ~ /^\/proc\// && $1 !~ /^\/proc\/(self|thread-self|[0-9]+)(\/|$)/ {
		print "hidden by ProcSubset=pid: " $0; next }
	$1 ~ /^\/dev\// && $1 !~ /^\/dev\/(null|zero|full|random|urandom|shm\/.*)$/ {
		print "no such device: " $0; next }
	' "opens.$name" >"badpaths.$name"
	awk -v s="$SCRATCH/" '
	$2 ~ /O_WRONLY|O_RDWR|O_CREAT|^W$/ && index($1, s) != 1 &&
	    $1 !~ /^\/(dev\/null|dev\/shm\/|tmp\/|var\/tmp\/)/ {
		print "writes outside its directories: " $0 }
	' "opens.$name" >>"badpaths.$name"
	if ! [ -s "badpaths.$name" ]; then
		ok "$name: every path it opens exists in the sandbox"
	else
		not_ok "$name: paths the sandbox hides or keeps read-only"
		sed 's/^/# /' "badpaths.$name" | head -20
	fi
}

if ! command -v strace >/dev/null 2>&1; then
	skip "strace is absent (Debian package strace)"
elif ldd "$INTOFOCUS" 2>/dev/null | grep -Eq 'lib(a|ub|t)san'; then
	# The sanitizer runtimes make calls of their own (personality,
	# sched_getaffinity, ...) that the installed binary never makes.
	skip "the sandbox trace needs a build without sanitizers"
else
	trace_check version "$INTOFOCUS" --version
	trace_check render "$INTOFOCUS" render \
		"$TOP/examples/images/astronaut.jpg" -w 41 \
		--box 179,68,91,92 -o "$SCRATCH/stage.jpg"
	sed -e "s|^output_dir:.*|output_dir: $SCRATCH/out|" \
		-e "s|poll_interval:.*|poll_interval: 1s|" \
		-e "s|/usr/local/share/intofocus/example|$TOP/examples/images|" \
		"$TOP/systemd/example.yaml" >example.yaml
	trace_check check "$INTOFOCUS" check "$SCRATCH/example.yaml"
	# SIGTERM after a while is a clean stop, and whatever the daemon did
	# until then is checked: the outcome does not depend on the timing.
	trace_check run env STATE_DIRECTORY="$SCRATCH/state" \
		timeout -s TERM 15 "$INTOFOCUS" run "$SCRATCH/example.yaml"
fi

# ---- the task server's unit (intofocus serve) ----------------------------
SUNIT="$TOP/systemd/intofocus-serve@.service"
check "the task server's unit exists" test -f "$SUNIT"
sed "s|/usr/local/bin/intofocus|$INTOFOCUS|" "$SUNIT" \
	>unit/intofocus-serve@test.service
check "its systemd-analyze verify is clean" \
	verify_clean unit/intofocus-serve@test.service
slevel=$(exposure unit/intofocus-serve@test.service)
echo "# task server exposure level: ${slevel:-none}"
if [ -n "$slevel" ] && awk -v l="$slevel" 'BEGIN { exit !(l <= 1.5) }'; then
	ok "the task server's exposure level $slevel <= 1.5"
else
	not_ok "the task server's exposure level ${slevel:-not found} <= 1.5"
fi
sed '/^# Hardening/,/^SystemCallErrorNumber/d' \
	unit/intofocus-serve@test.service >unit/intofocus-serve@soft.service
ssoft=$(exposure unit/intofocus-serve@soft.service)
check "... and without its hardening it scores worse (${ssoft:-?})" \
	awk -v l="${ssoft:-0}" 'BEGIN { exit !(l > 1.5) }'
for line in "DynamicUser=yes" "StateDirectory=intofocus-serve/%i" \
	"StateDirectoryMode=0700" "UMask=0077" "IPAddressDeny=any" \
	"IPAddressAllow=localhost" "RestartPreventExitStatus=2" \
	"LoadCredential=aws:/etc/intofocus/credentials" \
	"ExecStart=/usr/local/bin/intofocus serve --state-dir \${STATE_DIRECTORY} \$SERVE_ARGS"; do
	check "the task server's unit says $line" \
		test "$(grep -cxF "$line" "$SUNIT")" -eq 1
done

done_testing
