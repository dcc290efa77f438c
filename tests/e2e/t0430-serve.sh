#!/bin/sh
# intofocus serve, the task server for real participants (issue 15): the
# command, its state directory, and each attack of the issue as a
# regression (tests/e2e/serve_attacks.py): identity from a session only,
# CSRF and Origin, exclusivity, escaped errors, security headers, body
# limits before buffering, signatures before bodies, idle connections,
# the NUL; and Prolific's entry and completion redirect.
. "$TOP/tests/e2e/lib.sh"

SRV_PID=""
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$SCRATCH"' EXIT

export AWS_ACCESS_KEY_ID=AKIDSERVETEST0000001
export AWS_SECRET_ACCESS_KEY=serve-test-secret-0000000000000000
unset AWS_SESSION_TOKEN AWS_PROFILE CREDENTIALS_DIRECTORY \
	AWS_SHARED_CREDENTIALS_FILE
export HOME="$SCRATCH"

expect_exit 0 "serve --help" "$INTOFOCUS" serve --help
expect_stdout "... names --public-url" "--public-url"
expect_exit 2 "serve needs a state directory" "$INTOFOCUS" serve
expect_exit 2 "a non-loopback address is refused" \
	"$INTOFOCUS" serve --state-dir "$SCRATCH/x" --listen 0.0.0.0:0
expect_exit 2 "serve refuses to run without credentials" \
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	"$INTOFOCUS" serve --state-dir "$SCRATCH/x" --listen 127.0.0.1:0

# A planted sim.db symlink is not followed, and a 0777 directory is made
# private.
mkdir -p "$SCRATCH/planted"
ln -s "$SCRATCH/elsewhere.db" "$SCRATCH/planted/sim.db"
expect_exit 1 "a planted sim.db symlink is refused" \
	"$INTOFOCUS" serve --state-dir "$SCRATCH/planted" --listen 127.0.0.1:0
expect_stderr "... saying why" "symbolic link"
check "... and nothing was written through it" \
	test ! -e "$SCRATCH/elsewhere.db"
mkdir -p "$SCRATCH/state"
chmod 0777 "$SCRATCH/state"

for p in P01 AP01 p-0-1 EXCL RET1 LIM1; do
	"$INTOFOCUS" serve link --state-dir "$SCRATCH/state" \
		--public-url http://127.0.0.1:1 --participant "$p" \
		>"$SCRATCH/link-$p.raw"
done
check "serve link issues a link per participant" \
	grep -q "^http://127.0.0.1:1/enter?p=P01&t=[0-9a-f]\{64\}$" \
	"$SCRATCH/link-P01.raw"
expect_exit 0 "... and random ones with --count" "$INTOFOCUS" serve link \
	--state-dir "$SCRATCH/state" --public-url https://tasks.example.org \
	--count 3
check "... three distinct, unguessable ids" sh -c \
	"test \$(grep -c '^https://tasks.example.org/enter?p=L[0-9a-f]\{32\}&t=' \
	'$SCRATCH/.stdout') -eq 3 && test \$(sort -u '$SCRATCH/.stdout' | wc -l) -eq 3"
expect_exit 2 "... and refuses an id it would have to fold" \
	"$INTOFOCUS" serve link --state-dir "$SCRATCH/state" \
	--public-url http://127.0.0.1:1 --participant "Pé01"
check "the session key is private (0600)" \
	test "$(stat -c %a "$SCRATCH/state/serve.key")" = 600

# The experiment whose HITs serve_attacks.py posts (one stage of two
# images): the server knows when no task can come for a participant.
cp "$TOP/tests/fixtures/daemon/group.jpg" "$SCRATCH/img.jpg"
cat >"$SCRATCH/secretexp.yaml" <<YAML
name: secretexp
mturk:
  environment: simulator
  endpoint: http://127.0.0.1:1
hit:
  reward: "0.10"
stages: [41]
images_host:
  kind: simulator
images:
  - id: img-42
    file: img.jpg
  - id: img-43
    file: img.jpg
YAML
"$INTOFOCUS" serve --listen 127.0.0.1:0 --state-dir "$SCRATCH/state" \
	--share 2 --prolific-study study1 --prolific-code CODE123 \
	--experiment "$SCRATCH/secretexp.yaml" \
	--per-ip 20 >"$SCRATCH/srv.out" 2>"$SCRATCH/srv.err" &
SRV_PID=$!
wait_port port "$SRV_PID" "$SCRATCH/srv.out"
check "serve starts and prints its endpoint" test -n "$port"
check "... and the experiment it knows" \
	grep -q "experiments known: 1$" "$SCRATCH/srv.out"
check "... its state directory is now 0700" \
	test "$(stat -c %a "$SCRATCH/state")" = 700
URL="http://127.0.0.1:$port"
# The links' host is the public URL's; the tests reach the server itself.
for p in P01 AP01 p-0-1 EXCL RET1 LIM1; do
	sed "s#http://127.0.0.1:1#$URL#" "$SCRATCH/link-$p.raw" \
		>"$SCRATCH/link-$p"
done

attack() {
	check "$1" "$PYTHON" "$TOP/tests/e2e/serve_attacks.py" "$2" "$URL" \
		"$SCRATCH"
}
attack "the daemon's API and S3 work as with MTurk (HITs, images)" setup
attack "a participant kept out neither gets, sees nor fetches the HIT" exclusion
attack "every page has CSP frame-ancestors 'none', nosniff, Referrer-Policy" headers
attack "the S3 signature error escapes a signed header's name (no XSS)" xss
attack "sessions open only from valid entry links; HttpOnly SameSite=Strict" entry
attack "accept and submit need the session, a CSRF token and our Origin" csrf
attack "participant ids are kept as given: P01, AP01, p-0-1 apart, Pé01 refused" ids
attack "a returning participant lands in the same session and task" return
attack "big bodies refused before reading; long feedback and NUL refused" limits
attack "an S3 PUT's signature is checked before its body is read" s3_put
attack "300 idle connections from one address lock nobody else out" connections
attack "Prolific entry checked; done participants go to the completion URL" prolific
check "logs never name the experiment's image ids for participants" \
	sh -c "! grep -q 'img-42' '$SCRATCH/srv.err'"

kill -TERM "$SRV_PID"
wait "$SRV_PID"
rc=$?
SRV_PID=""
check "SIGTERM stops it with status 0" test "$rc" -eq 0
done_testing
