# HIT lifetime (issue 6): a HIT that lacks answers is extended up to
# max_extensions; with still no usable answer the image fails with the
# reason, the others go on, and run ends with 0.  No worker answers here
# (`intofocus sim --no-crowd`); the daemon's clock runs 60 times faster
# (the INTOFOCUS_TEST_TIME_WARP hook), so 30 s lifetimes pass in half a
# second - the outcome depends on the order of events, not on timing.
. "$TOP/tests/e2e/lib.sh"

cp "$TOP"/tests/fixtures/daemon/group.jpg .
cat >sim.yaml <<'YAML'
name: expiry
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 1
  lifetime: 30s
  max_extensions: 2
stages: [41, 13]
images_host:
  kind: simulator
output_dir: out
images:
  - id: group
    file: group.jpg
    ground_truth: [[40, 50, 48, 60]]
YAML
. "$TOP/tests/e2e/sim_lib.sh"

start_sim quiet --no-crowd --seed 3
check "a simulator without a crowd started" test -n "$PORT"
exp_for run "$PORT"
expect_exit 0 "run ends although the image failed" \
	env INTOFOCUS_TEST_TIME_WARP=60 "$INTOFOCUS" run run/exp.yaml --state-dir run/st
expect_stderr "the HIT was extended once" "extended (1 of 2) with 0 of 1 answers"
expect_stderr "and twice" "extended (2 of 2) with 0 of 1 answers"
expect_stderr "then the image failed with the reason" "expired without a usable answer after 2 extensions"
expect_stderr "the summary names the failure" "expiry/group: failed:"
check "status shows it failed" sh -c \
	"\"$INTOFOCUS\" status run/exp.yaml --state-dir run/st | grep -q '^group .*failed'"
check "no final image for a failed image" test ! -e run/out/group.jpg

# ---- the extension refused, on the simulator inside run (--sim-refuse) ----
# No answer comes (the embedded crowd waits an hour); the first extension
# is refused.  The HIT is not asked again, and when it expires without a
# usable answer the image fails with the refusal as the reason.
sed -e '/^  endpoint:/d' run/exp.yaml >embedded.yaml
expect_exit 2 "run refuses a --sim-refuse rule that makes no sense" \
	"$INTOFOCUS" run embedded.yaml --state-dir emb-bad/st \
	--sim-refuse UpdateExpirationForHIT=Nope
expect_stderr "... naming it" 'unknown error "Nope"'
expect_exit 2 "--sim-refuse without the embedded simulator is refused" \
	"$INTOFOCUS" run run/exp.yaml --state-dir emb-bad2/st \
	--sim-refuse UpdateExpirationForHIT=ParameterValidationError
expect_stderr "... saying why" "does not use the embedded simulator"
expect_exit 0 "run ends although the image failed" \
	env INTOFOCUS_TEST_TIME_WARP=60 timeout 120 "$INTOFOCUS" run embedded.yaml \
	--state-dir emb/st --sim-delay 3600000 \
	--sim-refuse UpdateExpirationForHIT=ParameterValidationError
expect_stderr "the embedded simulator says what it refuses" \
	"the embedded simulator refuses UpdateExpirationForHIT=ParameterValidationError"
expect_stderr "the HIT cannot be extended" "cannot be extended, so it ends with 0 of 1 answers"
expect_stderr "the image failed with the refusal as the reason" \
	"expired without a usable answer and could not be extended (UpdateExpirationForHIT: AWS.MechanicalTurk.ParameterValidationError"
check "one UpdateExpirationForHIT only" sh -c \
	"grep -q 'MTurk requests: .*UpdateExpirationForHIT 1[,) ]' '$SCRATCH/.stderr'"
check "status shows it failed" sh -c \
	"\"$INTOFOCUS\" status embedded.yaml --state-dir emb/st | grep -q '^group .*failed'"
done_testing
