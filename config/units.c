/*
 * config/units.c - the units of an experiment file (spec section 3):
 * durations ("30s", "5m", "3h", "2d") in seconds, USD amounts in integer
 * cents, "#rrggbb" colours, and the half-up division MTurk rounds fees with.
 *
 * Money never passes through a double: "0.15" is read digit by digit into
 * 15 cents, so that a budget of "20.00" is exactly 2000 and the sum of any
 * number of fees is exact.  The accepted money syntax is MTurk's own
 * CurrencyAmount pattern, so whatever check accepts MTurk accepts too.
 */
#include "config/config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int
cfg_parse_duration(const char *s, int64_t *seconds)
{
	int64_t v = 0, mult;
	size_t i = 0;

	if (s == NULL)
		return -1;
	while (isdigit((unsigned char)s[i])) {
		if (i >= 9)
			return -1;
		v = v * 10 + (s[i] - '0');
		i++;
	}
	if (i == 0 || s[i] == '\0' || s[i + 1] != '\0')
		return -1;
	switch (s[i]) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return -1;
	}
	*seconds = v * mult;
	return 0;
}

void
cfg_format_duration(int64_t seconds, char *buf, size_t len)
{
	if (seconds != 0 && seconds % 86400 == 0)
		snprintf(buf, len, "%" PRId64 "d", seconds / 86400);
	else if (seconds != 0 && seconds % 3600 == 0)
		snprintf(buf, len, "%" PRId64 "h", seconds / 3600);
	else if (seconds != 0 && seconds % 60 == 0)
		snprintf(buf, len, "%" PRId64 "m", seconds / 60);
	else
		snprintf(buf, len, "%" PRId64 "s", seconds);
}

int
cfg_parse_money(const char *s, int64_t *cents)
{
	int64_t whole = 0, frac = 0;
	size_t i = 0, nd = 0, nf = 0;

	if (s == NULL)
		return -1;
	while (isdigit((unsigned char)s[i])) {
		if (++nd > 9)
			return -1;
		whole = whole * 10 + (s[i] - '0');
		i++;
	}
	if (nd == 0)
		return -1;
	if (s[i] == '.') {
		i++;
		while (isdigit((unsigned char)s[i])) {
			if (++nf > 2)
				return -1;
			frac = frac * 10 + (s[i] - '0');
			i++;
		}
		if (nf == 1)
			frac *= 10;
	}
	if (s[i] != '\0')
		return -1;
	*cents = whole * 100 + frac;
	return 0;
}

void
cfg_format_money(int64_t cents, char *buf, size_t len)
{
	const char *sign = cents < 0 ? "-" : "";
	int64_t a = cents < 0 ? -cents : cents;

	snprintf(buf, len, "%s%" PRId64 ".%02" PRId64, sign, a / 100, a % 100);
}

int
cfg_parse_color(const char *s, uint32_t *rgb)
{
	/* One parser for the file and for `render --color`. */
	return parse_rgb_hex(s, rgb);
}

int64_t
cfg_div_half_up(int64_t num, int64_t den)
{
	return (num + den / 2) / den;
}

size_t
cfg_edit_distance(const char *a, const char *b)
{
	/* Two rows of the classic table; keys are short: the cap is ample. */
	size_t prev[65], cur[65];
	size_t la = strlen(a), lb = strlen(b);

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? sub : del;
			if (ins < cur[j])
				cur[j] = ins;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

int
cfg_parse_percent(const char *s, int *bp)
{
	int64_t v = 0;
	size_t i = 0, digits = 0, decimals = 0;

	if (s == NULL)
		return -1;
	for (; isdigit((unsigned char)s[i]); i++, digits++) {
		if (digits >= 3)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (digits == 0)
		return -1;
	v *= 100;
	if (s[i] == '.') {
		int64_t frac = 0;

		for (i++; isdigit((unsigned char)s[i]); i++, decimals++) {
			if (decimals >= 2)
				return -1;
			frac = frac * 10 + (s[i] - '0');
		}
		if (decimals == 0)
			return -1;
		v += decimals == 1 ? frac * 10 : frac;
	}
	if (s[i] != '%' || s[i + 1] != '\0' || v <= 0 || v > 10000)
		return -1;
	*bp = (int)v;
	return 0;
}

void
cfg_format_percent(int bp, char *buf, size_t len)
{
	if (bp % 100 == 0)
		snprintf(buf, len, "%d%%", bp / 100);
	else if (bp % 10 == 0)
		snprintf(buf, len, "%d.%d%%", bp / 100, bp % 100 / 10);
	else
		snprintf(buf, len, "%d.%02d%%", bp / 100, bp % 100);
}

int
cfg_parse_length(const char *s, int max_px, struct exp_length *out)
{
	int64_t px;
	int bp;

	if (s == NULL)
		return -1;
	if (strchr(s, '%') != NULL) {
		if (cfg_parse_percent(s, &bp) != 0)
			return -1;
		out->px = 0;
		out->bp = bp;
		return 0;
	}
	for (size_t i = 0; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	if (parse_int64(s, 1, max_px, &px) != 0)
		return -1;
	out->px = (int)px;
	out->bp = 0;
	return 0;
}

void
cfg_format_length(const struct exp_length *l, char *buf, size_t len)
{
	if (l->bp > 0)
		cfg_format_percent(l->bp, buf, len);
	else
		snprintf(buf, len, "%d", l->px);
}

int
exp_window_resolve(const struct exp_length *l, int w, int h)
{
	int64_t side = w < h ? w : h, v;

	if (l->bp <= 0)
		return l->px;
	/* The odd number nearest to bp/10000 of the side. */
	v = 2 * (side * l->bp / 20000) + 1;
	return v < 3 ? 3 : v > EXP_WINDOW_MAX ? EXP_WINDOW_MAX : (int)v;
}
