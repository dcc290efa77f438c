/*
 * config/plan.c - the plan of an experiment and what it costs (spec
 * sections 1-3; mturk-facts.md 1.8).
 *
 * Every image goes through every stage: one HIT per image and stage, with
 * `workers` assignments each.  Each assignment pays the reward plus MTurk's
 * commission: 20%, 40% when the HIT has 10 or more assignments, 5% more
 * with a Masters requirement; rounded half up to the cent and never below
 * one cent.  All of it in integer cents: a budget is compared with sums
 * of exact numbers, never with a floating-point approximation.
 * Extending a HIT's expiration costs nothing, so extensions do not count.
 * With recruitment on Prolific the HITs are the task server's and cost
 * nothing: Prolific's price is prolific_price_study()'s (daemon/).
 */
#include "config/config.h"

#include <string.h>

int64_t
plan_fee_cents(int64_t reward_cents, int workers, bool masters)
{
	int64_t percent = workers >= 10 ? 40 : 20, fee;

	if (masters)
		percent += 5;
	fee = cfg_div_half_up(reward_cents * percent, 100);
	return fee < 1 ? 1 : fee;
}

bool
plan_uses_masters(const struct experiment *exp)
{
	for (size_t i = 0; i < exp->hit.nquals; i++) {
		const char *id = exp->hit.quals[i].id;

		if (id != NULL &&
		    (strcmp(id, EXP_QUAL_MASTERS_PRODUCTION) == 0 ||
		     strcmp(id, EXP_QUAL_MASTERS_SANDBOX) == 0) &&
		    exp->hit.quals[i].comparator != EXP_CMP_DOES_NOT_EXIST)
			return true;
	}
	return false;
}

int64_t
plan_assignment_cents(const struct experiment *exp)
{
	int64_t reward = exp->hit.reward_cents;

	/* Prolific pays the participants; the task server's HITs are free. */
	if (exp->recruitment.platform == EXP_PLATFORM_PROLIFIC)
		return 0;
	return reward + plan_fee_cents(reward, exp->hit.workers,
				       plan_uses_masters(exp));
}

int64_t
plan_hit_cents(const struct experiment *exp)
{
	return (int64_t)exp->hit.workers * plan_assignment_cents(exp);
}

void
plan_compute(const struct experiment *exp, struct exp_plan *p)
{
	bool masters = plan_uses_masters(exp);

	memset(p, 0, sizeof(*p));
	p->nimages = exp->nimages;
	p->nstages = exp->nstages;
	p->workers = exp->hit.workers;
	p->hits = (int64_t)exp->nimages * (int64_t)exp->nstages;
	p->assignments = p->hits * exp->hit.workers;
	p->fee_percent = (exp->hit.workers >= 10 ? 40 : 20) + (masters ? 5 : 0);
	if (exp->recruitment.platform != EXP_PLATFORM_PROLIFIC) {
		p->reward_cents = exp->hit.reward_cents;
		p->fee_cents = plan_fee_cents(p->reward_cents, p->workers,
					      masters);
	}
	p->hit_cents = p->workers * (p->reward_cents + p->fee_cents);
	p->image_cents = (int64_t)exp->nstages * p->hit_cents;
	p->rewards_cents = p->assignments * p->reward_cents;
	p->fees_cents = p->assignments * p->fee_cents;
	p->total_cents = p->rewards_cents + p->fees_cents;
	p->has_budget = exp->budget_cents >= 0;
	p->budget_cents = exp->budget_cents;
	p->images_affordable = exp->nimages;
	if (p->has_budget) {
		p->budget_left_cents = p->budget_cents - p->total_cents;
		p->over_budget = p->budget_left_cents < 0;
		if (p->image_cents > 0 &&
		    (uint64_t)(p->budget_cents / p->image_cents) <
			    (uint64_t)exp->nimages)
			p->images_affordable =
				(size_t)(p->budget_cents / p->image_cents);
	}
}
