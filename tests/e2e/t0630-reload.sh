# SIGHUP and systemd's notify protocol (spec sections 3 and 10): a budget
# pause, a reload refused for a forbidden change (the old plan goes on), a
# reload that adds an image and raises the budget, and the datagrams a fake
# NOTIFY_SOCKET receives: READY=1, STATUS=, WATCHDOG=1, RELOADING=1 then
# READY=1, STOPPING=1.
. "$TOP/tests/e2e/lib.sh"

PY=${PYTHON:-/usr/bin/python3}
cp "$TOP"/tests/fixtures/daemon/group.jpg "$TOP"/tests/fixtures/daemon/street.jpg .

# write_exp STAGES BUDGET [with-street]
write_exp() {
	cat >exp.yaml <<YAML
name: reload
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.15"
  workers: 3
stages: [$1]
aggregate: union
images_host:
  kind: simulator
budget_usd: "$2"
output_dir: out
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]
YAML
	if [ "${3:-}" = with-street ]; then
		cat >>exp.yaml <<YAML
  - id: street
    file: street.jpg
    ground_truth: [[30, 30, 60, 72], [180, 100, 12, 14]]
YAML
	fi
}

# wait_for FILE TEXT: until FILE holds TEXT (at most 30 s).
wait_for() {
	i=0
	while [ $i -lt 600 ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# A fake systemd: records every datagram sent to NOTIFY_SOCKET.
"$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
with open(sys.argv[2], "a") as out:
    while True:
        msg = s.recv(4096).decode()
        out.write(msg.replace("\n", " ") + "\n")
        out.flush()
' "$SCRATCH/notify.sock" "$SCRATCH/notify.log" &
LISTENER=$!
trap 'kill $LISTENER 2>/dev/null; rm -rf "$SCRATCH"' EXIT
i=0
while [ ! -S notify.sock ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done

# One HIT costs 3 x (0.15 + 0.03) = 0.54; 1.00 pays for one stage only.
write_exp "41, 21, 13" "1.00"
NOTIFY_SOCKET="$SCRATCH/notify.sock" WATCHDOG_USEC=1000000 \
	"$INTOFOCUS" run exp.yaml --state-dir st >run.log 2>&1 &
pid=$!
check "the image pauses at the budget" wait_for run.log "post -> paused"
check "READY=1 once the state is open" wait_for notify.log "READY=1"
check "STATUS= tells the progress" wait_for notify.log "STATUS=0/1 images final"
check "WATCHDOG=1 from the loop" wait_for notify.log "WATCHDOG=1"

write_exp "41, 27, 13" "1.00"
kill -HUP $pid
check "a changed plan for a started image is refused" wait_for run.log "reload refused"
# The datagrams reach notify.log through the listener, maybe after the
# daemon has logged the refusal: wait for the order, do not sample it.
ready_after_reloading() {
	r=$(grep -n 'RELOADING=1' notify.log | head -1 | cut -d: -f1)
	s=$(grep -n 'READY=1' notify.log | tail -1 | cut -d: -f1)
	[ -n "$r" ] && [ -n "$s" ] && [ "$s" -gt "$r" ]
}
wait_until() {
	i=0
	while [ $i -lt 600 ]; do
		"$@" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
check "RELOADING=1 then READY=1 around the reload" \
	wait_until ready_after_reloading
check "the old plan goes on (still paused, nothing new posted)" sh -c \
	"\"$INTOFOCUS\" status exp.yaml --state-dir st | grep -q '^group .*paused'"

write_exp "41, 21, 13" "10.00" with-street
kill -HUP $pid
check "a reload adds an image" wait_for run.log "reload/street: new image"
check "a raised budget applies" wait_for run.log 'budget $1.00 -> $10.00'
wait $pid
rc=$?
check "the run then finishes with 0" test "$rc" -eq 0
check "both images are final" sh -c "\"$INTOFOCUS\" status exp.yaml --state-dir st | grep -q '2/2 images final (2 done'"
check "STOPPING=1 on the way out" wait_for notify.log "STOPPING=1"

# SIGTERM mid-run: the step under way finishes, exit 0, and run resumes.
write_exp "41, 21, 13" "1.00"
rm -rf st out
"$INTOFOCUS" run exp.yaml --state-dir st >run2.log 2>&1 &
pid=$!
wait_for run2.log "post -> paused" >/dev/null
kill -TERM $pid
wait $pid
check "SIGTERM exits 0" test $? -eq 0
check "and says how to go on" grep -q "stopping on request; run again to go on" run2.log
done_testing
