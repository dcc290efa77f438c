/*
 * prolific/money.c - what a Prolific study can cost.
 *
 * Pure arithmetic in integer cents of the study currency.  The service fee
 * is Prolific's published percentage (docs/prolific-api.md) and is charged
 * on bonuses as on rewards; VAT, when it applies, is on the fee.  Prolific
 * does not publish how it rounds, so each payment's fee and VAT are
 * rounded up to the cent: the price can only be overstated, never under.
 */
#include "prolific/prolific.h"

#include <stdint.h>

/* ceil(amount * bp / 10000) for non-negative values; -1 on overflow. */
static int64_t
part_up(int64_t amount, int bp)
{
	if (amount < 0 || bp < 0)
		return -1;
	if (bp != 0 && amount > INT64_MAX / bp)
		return -1;
	return (amount * bp + 9999) / 10000;
}

static bool
add_ok(int64_t a, int64_t b, int64_t *sum)
{
	if (a < 0 || b < 0 || a > INT64_MAX - b)
		return false;
	*sum = a + b;
	return true;
}

static bool
mul_ok(int64_t a, int64_t b, int64_t *prod)
{
	if (a < 0 || b < 0 || (a != 0 && b > INT64_MAX / a))
		return false;
	*prod = a * b;
	return true;
}

int64_t
prolific_payment_cost_cents(int64_t amount_cents, int fee_bp, int vat_bp)
{
	int64_t fee = part_up(amount_cents, fee_bp);
	int64_t vat = fee < 0 ? -1 : part_up(fee, vat_bp);
	int64_t total;

	if (fee < 0 || vat < 0 || !add_ok(amount_cents, fee, &total) ||
	    !add_ok(total, vat, &total))
		return -1;
	return total;
}

int
prolific_price_study(const struct prolific_price_input *in,
		     struct prolific_price *out, struct errbuf *eb)
{
	int64_t bonus_each, fee_r, fee_b, vat_r, vat_b, x;

	*out = (struct prolific_price){0};
	if (in->reward_cents < 0)
		return err_set(eb, IF_EINPUT, "prolific reward: negative");
	if (in->places < 0)
		return err_set(eb, IF_EINPUT, "prolific places: negative");
	if (in->bonus_per_task_cents < 0 || in->tasks_per_submission < 0)
		return err_set(eb, IF_EINPUT, "prolific bonus: negative");
	if (in->fee_bp < 0 || in->fee_bp > 100000)
		return err_set(eb, IF_EINPUT,
			       "prolific fee: %d basis points is not a rate",
			       in->fee_bp);
	if (in->vat_bp < 0 || in->vat_bp > 10000)
		return err_set(eb, IF_EINPUT,
			       "prolific vat: %d basis points is not a rate",
			       in->vat_bp);
	if (!mul_ok(in->bonus_per_task_cents, in->tasks_per_submission,
		    &bonus_each))
		return err_set(eb, IF_EINPUT, "prolific bonus: too large");
	fee_r = part_up(in->reward_cents, in->fee_bp);
	fee_b = part_up(bonus_each, in->fee_bp);
	vat_r = fee_r < 0 ? -1 : part_up(fee_r, in->vat_bp);
	vat_b = fee_b < 0 ? -1 : part_up(fee_b, in->vat_bp);
	if (fee_r < 0 || fee_b < 0 || vat_r < 0 || vat_b < 0 ||
	    !mul_ok(in->reward_cents, in->places, &out->rewards_cents) ||
	    !mul_ok(bonus_each, in->places, &out->bonuses_cents) ||
	    !add_ok(fee_r, fee_b, &x) ||
	    !mul_ok(x, in->places, &out->fees_cents) ||
	    !add_ok(vat_r, vat_b, &x) ||
	    !mul_ok(x, in->places, &out->vat_cents) ||
	    !add_ok(out->rewards_cents, out->bonuses_cents, &x) ||
	    !add_ok(x, out->fees_cents, &x) ||
	    !add_ok(x, out->vat_cents, &out->total_cents)) {
		*out = (struct prolific_price){0};
		return err_set(eb, IF_EINPUT, "prolific price: too large");
	}
	return IF_OK;
}

int
prolific_budget_check(const struct prolific_price *p, int64_t budget_cents,
		      struct errbuf *eb)
{
	if (p->total_cents <= budget_cents)
		return IF_OK;
	return err_set(eb, IF_EINPUT,
		       "the Prolific study can cost %lld.%02lld (rewards "
		       "%lld.%02lld, bonuses %lld.%02lld, service fee "
		       "%lld.%02lld, VAT %lld.%02lld), over budget_usd "
		       "%lld.%02lld",
		       (long long)(p->total_cents / 100),
		       (long long)(p->total_cents % 100),
		       (long long)(p->rewards_cents / 100),
		       (long long)(p->rewards_cents % 100),
		       (long long)(p->bonuses_cents / 100),
		       (long long)(p->bonuses_cents % 100),
		       (long long)(p->fees_cents / 100),
		       (long long)(p->fees_cents % 100),
		       (long long)(p->vat_cents / 100),
		       (long long)(p->vat_cents % 100),
		       (long long)(budget_cents / 100),
		       (long long)(budget_cents % 100));
}

bool
prolific_budget_allows(int64_t committed_cents, int64_t next_cents,
		       int64_t budget_cents)
{
	int64_t total;

	return add_ok(committed_cents, next_cents, &total) &&
	       total <= budget_cents;
}
