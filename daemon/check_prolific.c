/*
 * daemon/check_prolific.c - `check` of a study recruited on Prolific.
 *
 * The price is prolific/money.c's: every place's reward, one bonus per
 * place of bonus_per_task x tasks_per_participant, each with the service
 * fee and the fee's VAT, rounded up to the cent.  A price over budget_usd
 * makes the file unusable for `run` (which would stop approving half-way
 * through the study), so check refuses it rather than warning.
 */
#include "daemon/recruit.h"

#include <jansson.h>
#include <stdio.h>

int
prolific_plan(const struct experiment *e, struct prolific_price *p,
	      struct errbuf *eb)
{
	const struct exp_recruitment *r = &e->recruitment;
	struct prolific_price_input in = {
		.reward_cents = r->reward_cents,
		.places = r->places,
		.bonus_per_task_cents = r->bonus_per_task_cents,
		.tasks_per_submission = r->tasks_per_participant,
		.fee_bp = r->fee_bp,
		.vat_bp = r->vat_bp,
	};

	return prolific_price_study(&in, p, eb);
}

static void
fee_text(const struct exp_recruitment *r, char *out, size_t outsz)
{
	char pct[16];

	cfg_format_percent(r->fee_bp, pct, sizeof(pct));
	if (r->fee_percent_bp >= 0)
		snprintf(out, outsz, "%s (fee_percent)", pct);
	else
		snprintf(out, outsz, "%s (%s)", pct, exp_fee_str(r->fee));
}

void
prolific_plan_print(const struct experiment *e,
		    const struct prolific_price *p)
{
	const struct exp_recruitment *r = &e->recruitment;
	char a[32], b[32], c[32], d[32], f[32], fee[48], vat[16] = "0%";

	printf("recruitment  prolific, study %s, completion code %s (%s)\n",
	       r->study_id, r->completion_code,
	       r->api_url != NULL ? r->api_url : PROLIFIC_API_DEFAULT);
	cfg_format_money(r->reward_cents, a, sizeof(a));
	cfg_format_money(r->bonus_per_task_cents, b, sizeof(b));
	if (r->bonus_per_task_cents > 0)
		printf("per place    $%s reward + up to %d x $%s bonus; %d "
		       "places\n",
		       a, r->tasks_per_participant, b, r->places);
	else
		printf("per place    $%s reward, no bonus; %d places\n", a,
		       r->places);
	fee_text(r, fee, sizeof(fee));
	if (r->vat_bp > 0)
		cfg_format_percent(r->vat_bp, vat, sizeof(vat));
	printf("fee          %s of every payment, VAT %s on the fee\n", fee,
	       vat);
	cfg_format_money(p->total_cents, a, sizeof(a));
	cfg_format_money(p->rewards_cents, b, sizeof(b));
	cfg_format_money(p->bonuses_cents, c, sizeof(c));
	cfg_format_money(p->fees_cents, d, sizeof(d));
	cfg_format_money(p->vat_cents, f, sizeof(f));
	printf("cost         $%s at most ($%s rewards + $%s bonuses + $%s "
	       "fees + $%s VAT); the task server's HITs cost nothing\n",
	       a, b, c, d, f);
	cfg_format_money(e->budget_cents, a, sizeof(a));
	cfg_format_money(e->budget_cents - p->total_cents >= 0
				 ? e->budget_cents - p->total_cents
				 : p->total_cents - e->budget_cents,
			 b, sizeof(b));
	if (p->total_cents <= e->budget_cents)
		printf("budget       $%s, $%s left after the study\n", a, b);
	else
		printf("budget       $%s: OVER BUDGET by $%s\n", a, b);
}

static json_t *
money(int64_t cents)
{
	char s[32];

	cfg_format_money(cents, s, sizeof(s));
	return json_string(s);
}

json_t *
prolific_plan_json(const struct experiment *e, const struct prolific_price *p)
{
	const struct exp_recruitment *r = &e->recruitment;
	json_t *o = json_object(), *price = json_object();

	json_object_set_new(o, "platform", json_string("prolific"));
	json_object_set_new(o, "study_id", json_string(r->study_id));
	json_object_set_new(o, "completion_code",
			    json_string(r->completion_code));
	json_object_set_new(o, "api_url",
			    json_string(r->api_url != NULL
						? r->api_url
						: PROLIFIC_API_DEFAULT));
	json_object_set_new(o, "reward_usd", money(r->reward_cents));
	json_object_set_new(o, "places", json_integer(r->places));
	json_object_set_new(o, "tasks_per_participant",
			    json_integer(r->tasks_per_participant));
	json_object_set_new(o, "bonus_per_task_usd",
			    money(r->bonus_per_task_cents));
	json_object_set_new(o, "fee_bp", json_integer(r->fee_bp));
	json_object_set_new(o, "vat_bp", json_integer(r->vat_bp));
	json_object_set_new(price, "rewards_usd", money(p->rewards_cents));
	json_object_set_new(price, "bonuses_usd", money(p->bonuses_cents));
	json_object_set_new(price, "fees_usd", money(p->fees_cents));
	json_object_set_new(price, "vat_usd", money(p->vat_cents));
	json_object_set_new(price, "total_usd", money(p->total_cents));
	json_object_set_new(price, "total_cents",
			    json_integer(p->total_cents));
	json_object_set_new(price, "over_budget",
			    json_boolean(p->total_cents > e->budget_cents));
	json_object_set_new(o, "price", price);
	return o;
}
