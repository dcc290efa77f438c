# intofocus check of a study recruited on Prolific (issue 16): the price
# (rewards, bonuses, the published service fee, its VAT) against
# budget_usd; refused (exit 2) over budget; the task server's HITs cost
# nothing; --json carries the same figures; and the recruitment keys'
# mistakes name the key and the value (a study paid in GBP among them).
# No network.
. "$TOP/tests/e2e/lib.sh"

cp "$TOP/tests/fixtures/experiments/images/tiny.png" .
study() {
	cat <<YAML
name: pstudy
mturk:
  environment: simulator
hit:
  reward: "0.15"
images:
  - {id: a, file: tiny.png}
budget_usd: "$1"
recruitment:
  platform: prolific
  study_id: 6571f0aa
  completion_code: C1A2B3C4
  reward_usd: "2.00"
  places: 40
  tasks_per_participant: 5
  bonus_per_task_usd: "0.05"
YAML
}

# 40 x $2.00 + 40 x 5 x $0.05; the academic fee 33.3% rounded up per
# payment: $0.67 + $0.09; VAT 20% of those: $0.14 + $0.02.
{ study 150; echo "  fee: academic"; echo "  vat_percent: 20"; } >ok.yaml
expect_exit 0 "a study within budget is valid" "$INTOFOCUS" check ok.yaml
expect_stdout "it names the study and the code" \
	"recruitment  prolific, study 6571f0aa, completion code C1A2B3C4 (https://api.prolific.com)"
expect_stdout "it prices rewards, bonuses, fees and VAT" \
	'cost         $126.80 at most ($80.00 rewards + $10.00 bonuses + $30.40 fees + $6.40 VAT)'
expect_stdout "the fee as published" "33.3% (academic) of every payment, VAT 20% on the fee"
expect_stdout "the budget left" 'budget       $150.00, $23.20 left after the study'
check "no MTurk cost is shown" sh -c "! grep -q 'MTurk fee' '$SCRATCH/.stdout'"
check "nothing on stderr" test ! -s "$SCRATCH/.stderr"

# The corporate fee is the default: 42.8% -> $0.86 + $0.11 per place.
study 200 >corp.yaml
expect_exit 0 "the default fee is corporate" "$INTOFOCUS" check corp.yaml
expect_stdout "... priced at 42.8%" \
	'cost         $128.80 at most ($80.00 rewards + $10.00 bonuses + $38.80 fees + $0.00 VAT)'

{ study 100; echo "  fee: academic"; echo "  vat_percent: 20"; } >over.yaml
expect_exit 2 "a study over budget is refused" "$INTOFOCUS" check over.yaml
expect_stdout "it says by how much" 'budget       $100.00: OVER BUDGET by $26.80'
expect_stderr "and why, with both figures" \
	"the Prolific study can cost 126.80 (rewards 80.00, bonuses 10.00, service fee 30.40, VAT 6.40), over budget_usd 100.00"

expect_exit 0 "--json" "$INTOFOCUS" check --json ok.yaml
cp "$SCRATCH/.stdout" plan.json
check "--json carries the price" "$PYTHON" -c '
import json
p = json.load(open("plan.json"))
r = p["recruitment"]
assert r["platform"] == "prolific" and r["places"] == 40, r
assert r["fee_bp"] == 3330 and r["vat_bp"] == 2000, r
pr = r["price"]
assert pr["total_usd"] == "126.80" and pr["total_cents"] == 12680, pr
assert pr["bonuses_usd"] == "10.00" and pr["vat_usd"] == "6.40", pr
assert pr["over_budget"] is False
assert p["cost"]["total_cents"] == 0, p["cost"]
'
expect_exit 0 "--json of an mturk experiment says so" \
	"$INTOFOCUS" check --json "$TOP/examples/exp1.yaml"
expect_stdout "... platform mturk" '"platform": "mturk"'

study 150 | sed 's/study_id: 6571f0aa/study_id: "bad id"/' >badid.yaml
expect_exit 2 "a study id that is not an id" "$INTOFOCUS" check badid.yaml
expect_stderr "names the key and the value" \
	"recruitment.study_id: \"bad id\" may use only A-Z, a-z, 0-9, '_' and '-'"
study 150 | grep -v completion_code >nocode.yaml
expect_exit 2 "the completion code is required" "$INTOFOCUS" check nocode.yaml
expect_stderr "... and named" "recruitment.completion_code: required with platform prolific"
{ study 150; echo "  api_url: http://example.com"; } >http.yaml
expect_exit 2 "the API over plain http off loopback" "$INTOFOCUS" check http.yaml
expect_stderr "... is refused" "recruitment.api_url: \"http://example.com\" must use https://"
# A study paid in GBP: its amounts cannot be held to budget_usd.
{ study 150; echo "  currency: GBP"; } >gbp.yaml
expect_exit 2 "a study paid in GBP is refused" "$INTOFOCUS" check gbp.yaml
expect_stderr "... naming the file, the line and the key" \
	"gbp.yaml:17:13: recruitment.currency: a study paid in GBP cannot be priced"
{ study 150; echo "  currency: USD"; } >usd.yaml
expect_exit 0 "one in USD, said so, is priced" "$INTOFOCUS" check usd.yaml
done_testing
