# intofocus check: the plan of valid files, exact errors for invalid ones,
# --json, usage.  Never any network: check only reads files.
. "$TOP/tests/e2e/lib.sh"

EX="$TOP/examples"
CORPUS=tests/fixtures/experiments/invalid

for f in exp1 exp2 exp3 exp4 demo; do
	expect_exit 0 "check accepts examples/$f.yaml" "$INTOFOCUS" check "$EX/$f.yaml"
done

# The plan of seed experiment 1: 4 images x 5 stages x 3 workers at $0.15
# + $0.03 fee = $10.80 of a $20.00 budget.
"$INTOFOCUS" check "$EX/exp1.yaml" >plan.txt 2>plan.err
check "the plan names the experiment" grep -q 'experiment "exp1" is valid' plan.txt
check "the plan lists the images with sizes and faces" \
	grep -Eq '^  family +images/family\.jpg +500x375 +7$' plan.txt
check "the plan lists the stages" grep -q 'median windows 41, 27, 21, 17, 13' plan.txt
check "the plan counts HITs" grep -q '^HITs         20 (4 images x 5 stages), 3 assignments each' plan.txt
check "the plan counts assignments" grep -q '^assignments  60$' plan.txt
check "the plan shows the fee" grep -q 'reward + \$0.03 MTurk fee (20%)' plan.txt
check "the plan shows the cost" grep -q '^cost         \$10.80 (\$9.00 rewards + \$1.80 fees)$' plan.txt
check "the plan shows the budget left" grep -q '\$20.00, \$9.20 left' plan.txt
check "a valid plan writes nothing to stderr" test ! -s plan.err
check "sandbox is said" grep -q '^environment  sandbox (https://mturk-requester-sandbox' plan.txt

# --json parses and carries the same numbers.
expect_exit 0 "check --json exits 0" "$INTOFOCUS" check --json "$EX/exp3.yaml"
check "--json output is JSON" "$PYTHON" -m json.tool "$SCRATCH/.stdout"
cp "$SCRATCH/.stdout" plan.json
check "--json numbers" "$PYTHON" -c '
import json, sys
p = json.load(open("plan.json"))
assert p["valid"] is True and p["name"] == "exp3", p
# 41 is stage 1 of experiment 1 (start_from): exp3 pays for 21 and 13 only.
assert p["stages"] == [21, 13], p["stages"]
assert p["start_from"]["stage"] == 1, p["start_from"]
assert p["start_from"]["state_dir"].endswith("state/exp1"), p["start_from"]
assert p["hits"] == 8 and p["assignments"] == 24, p
assert p["cost"]["total_usd"] == "4.32" and p["cost"]["total_cents"] == 432
assert p["cost"]["fee_per_assignment_usd"] == "0.03"
assert p["budget"]["left_usd"] == "15.68" and p["budget"]["over"] is False
assert [i["id"] for i in p["images"]] == ["astronaut", "cat", "family", "shop"]
assert p["images"][0]["width"] == 512 and p["images"][0]["faces"] == 1
'

# Over budget: still a valid file (exit 0), said on stdout and stderr.
sed 's/^budget_usd: .*/budget_usd: "6.00"/' "$EX/exp1.yaml" >over.yaml
cp -r "$EX/images" images
expect_exit 0 "a plan over budget is still valid" "$INTOFOCUS" check over.yaml
expect_stdout "over budget is said on stdout" 'OVER BUDGET by $4.80; it pays for 2 of 4 images'
expect_stderr "over budget is warned on stderr" "warning: over.yaml: the plan costs more than budget_usd"

# Invalid files through the command line: exit 2, exactly the expected
# messages on stderr, then the count.  test_config compares every file of
# the corpus through exp_load(); here one of each kind of rule is enough to
# cover the command's own output, and keeps the suite fast under ASan.
check "the corpus has at least 30 invalid files" \
	test "$(ls "$TOP/$CORPUS"/*.yaml | wc -l)" -ge 30
n=0
bad=0
for name in empty not-utf8 tab-indent syntax-error alias duplicate-key \
	unknown-key-typo missing-required stages-increasing reward-decimals \
	durations production-no-budget host-s3-incomplete image-not-image \
	ground-truth-outside qual-values; do
	want="$TOP/$CORPUS/$name.expected"
	( cd "$TOP" && "$INTOFOCUS" check "$CORPUS/$name.yaml" ) >out.txt 2>err.txt
	rc=$?
	count=$(wc -l <"$want")
	if [ "$count" -eq 1 ]; then word=error; else word=errors; fi
	{ cat "$want"; echo "intofocus check: $CORPUS/$name.yaml: $count $word"; } >want.txt
	if [ "$rc" -ne 2 ] || ! cmp -s want.txt err.txt || [ -s out.txt ]; then
		bad=$((bad + 1))
		echo "# $name: exit $rc"
		diff want.txt err.txt | sed 's/^/# /' | head -10
	fi
	n=$((n + 1))
done
check "$n invalid files: exit 2 and exactly their expected messages" test "$bad" -eq 0

# --json on an invalid file: the errors as JSON, exit 2.
expect_exit 2 "check --json on an invalid file exits 2" \
	"$INTOFOCUS" check --json "$TOP/$CORPUS/missing-required.yaml"
cp "$SCRATCH/.stdout" bad.json
check "--json errors parse and count" "$PYTHON" -c '
import json
p = json.load(open("bad.json"))
assert p["valid"] is False and p["count"] == 3, p
assert p["errors"][0].endswith(":1:1: missing key \"name\""), p["errors"]
'

# Positions are 1-based lines and columns of the file as written.
printf 'name: t\nmturk:\n  environment: simulator\nhit:\n  reward: "0.15"\n  workres: 3\nimages: []\n' >typo.yaml
expect_exit 2 "a typo is refused" "$INTOFOCUS" check typo.yaml
expect_stderr "a typo is named with its position and a suggestion" \
	'typo.yaml:6:3: unknown key "workres" (did you mean "workers"?)'
expect_stderr "the count ends the output" 'intofocus check: typo.yaml: 1 error'

# Image paths are relative to the experiment file, not the working directory.
mkdir -p sub/dir
cp "$EX/exp4.yaml" sub/exp4.yaml
cp -r "$EX/images" sub/images
( cd sub/dir && "$INTOFOCUS" check ../exp4.yaml >/dev/null 2>&1 )
check "images resolve next to the file from another directory" test $? -eq 0

# "It never touches the network" (spec section 2): not one socket is opened,
# for the sandbox and production environments alike.  strace is optional.
sed 's/environment: sandbox .*/environment: production/' "$EX/exp1.yaml" >prod.yaml
if command -v strace >/dev/null 2>&1; then
	for f in "$EX/exp1.yaml" prod.yaml; do
		# LeakSanitizer cannot run under ptrace; the leak check of
		# check runs in the rest of this suite.
		ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=socket,connect \
			-o trace.txt "$INTOFOCUS" check "$f" >/dev/null 2>&1
		rc=$?
		check "check $(basename "$f") exits 0 under strace ($rc)" test "$rc" -eq 0
		check "check $(basename "$f") opens no socket" \
			sh -c '! grep -Eq "socket\(|connect\(" trace.txt'
	done
else
	ok "# skip strace is not installed"
fi

# Usage.
expect_exit 2 "check without a file is a usage error" "$INTOFOCUS" check
expect_exit 2 "an unknown option is a usage error" "$INTOFOCUS" check --frob x.yaml
expect_stderr "the unknown option is named" 'unknown option "--frob"'
expect_exit 0 "check --help exits 0" "$INTOFOCUS" check --help
expect_stdout "--help shows the usage" 'usage: intofocus check EXPERIMENT.yaml [--json]'
expect_exit 0 "check --keys exits 0" "$INTOFOCUS" check --keys
expect_stdout "--keys describes each key with its default" 'hit.workers: integer 1..100 [default: 3]'
expect_exit 2 "a missing file exits 2" "$INTOFOCUS" check nope.yaml
expect_stderr "a missing file is named" 'nope.yaml: cannot open: No such file or directory'

done_testing
