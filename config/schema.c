/*
 * config/schema.c - every key of the experiment file, declared once, and
 * the one walker that checks a document against them (spec section 3;
 * style.md 9.7).
 *
 * A key's row says its name, type, bounds, default (as YAML text, read by
 * the same code as the file, so the documented default is the applied
 * one), whether it is required, where it lives in struct experiment and
 * what a SIGHUP reload may do with it (diff.c reads the same rows).  The
 * walker never stops at the first problem: it reports each one with its
 * position and carries on, so that `check` lists them all.  Lists whose
 * items have their own keys (images, qualifications) are walked with
 * their own tables; the few values that are not a plain type (stages,
 * keywords, boxes, qualification values) have custom parsers here.
 * Checks that span several keys live in experiment.c.
 */
#include "config/config_private.h"
#include "mturk/mturk.h"
#include "prolific/prolific.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OFF(field) offsetof(struct experiment, field)
#define NNAMES(a) (sizeof(a) / sizeof((a)[0]))

static const char *const env_names[] = {"simulator", "sandbox", "production"};
static const char *const agg_names[] = {"union", "first", "majority",
					"majority-weighted"};
static const char *const approve_names[] = {"auto", "manual"};
static const char *const host_names[] = {"simulator", "s3", "local"};
static const char *const style_names[] = {"fill", "median", "pixelate"};
static const char *const cmp_names[] = {
	"LessThan",	"LessThanOrEqualTo", "GreaterThan",
	"GreaterThanOrEqualTo", "EqualTo", "NotEqualTo",
	"Exists",	"DoesNotExist",	     "In",
	"NotIn",
};
static const char *const platform_names[] = {"mturk", "prolific"};
static const char *const fee_names[] = {"corporate", "academic"};
static const char *const currency_names[] = {"USD", "GBP"};
static const char *const guard_names[] = {
	NULL, "Accept", "PreviewAndAccept", "DiscoverPreviewAndAccept"};

/* ---- string checks ------------------------------------------------------ */

static int
check_name(const char *s, char *why, size_t len)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-') {
			snprintf(why, len,
				 "\"%s\" may use only a-z, 0-9 and '-' (it "
				 "names the state and the qualification types)",
				 s);
			return -1;
		}
	}
	if (s[0] == '-' || s[n - 1] == '-') {
		snprintf(why, len, "\"%s\" must start and end with a letter or "
				   "digit", s);
		return -1;
	}
	return 0;
}

static int
check_image_id(const char *s, char *why, size_t len)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		int c = (unsigned char)s[i];

		if (isalnum(c) || (i > 0 && (c == '_' || c == '-' || c == '.')))
			continue;
		snprintf(why, len,
			 "\"%s\" may use only A-Z, a-z, 0-9 and (after the "
			 "first character) '_', '-', '.'",
			 s);
		return -1;
	}
	return 0;
}

static int
check_qual_id(const char *s, char *why, size_t len)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (!isupper((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i])) {
			snprintf(why, len,
				 "\"%s\" is not a QualificationTypeId "
				 "(A-Z and 0-9 only)",
				 s);
			return -1;
		}
	}
	return 0;
}

static int
check_region(const char *s, char *why, size_t len)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-') {
			snprintf(why, len, "\"%s\" is not an AWS region name "
					   "like us-east-1", s);
			return -1;
		}
	}
	return 0;
}

static int
check_bucket(const char *s, char *why, size_t len)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.') {
			snprintf(why, len,
				 "\"%s\" is not an S3 bucket name (3-63 of "
				 "a-z, 0-9, '.', '-')",
				 s);
			return -1;
		}
	}
	if (n < 3) {
		snprintf(why, len, "\"%s\" is not an S3 bucket name (3-63 of "
				   "a-z, 0-9, '.', '-')", s);
		return -1;
	}
	return 0;
}

/* A Prolific id or code: safe in a URL path and a CSV line. */
static int
check_prolific_id(const char *s, char *why, size_t len)
{
	if (prolific_id_valid(s))
		return 0;
	snprintf(why, len,
		 "\"%s\" may use only A-Z, a-z, 0-9, '_' and '-' (1-64 "
		 "characters)",
		 s);
	return -1;
}

/* ---- custom values ------------------------------------------------------- */

static void
type_error(struct cfg_walk *w, yaml_node_t *n, const char *name,
	   const char *want)
{
	const char *s = ynode_scalar(n);

	if (s != NULL && !ynode_null(n) && !ynode_plain(n))
		cfg_node_error(w->d, n,
			       "%s%s: expected %s, found the quoted string "
			       "\"%s\"",
			       w->prefix, name, want, s);
	else if (s != NULL && !ynode_null(n))
		cfg_node_error(w->d, n, "%s%s: expected %s, found \"%s\"",
			       w->prefix, name, want, s);
	else
		cfg_node_error(w->d, n, "%s%s: expected %s, found %s",
			       w->prefix, name, want, ynode_kind(n));
}

/* A plain integer scalar within [min, max]; 0, or -1 after reporting. */
static int
node_int(struct cfg_walk *w, yaml_node_t *n, const char *name, int64_t min,
	 int64_t max, int64_t *out)
{
	const char *s = ynode_scalar(n);

	if (s == NULL || !ynode_plain(n) || ynode_null(n) ||
	    parse_int64(s, INT64_MIN, INT64_MAX, out) != 0) {
		type_error(w, n, name, "an integer");
		return -1;
	}
	if (*out < min || *out > max) {
		cfg_node_error(w->d, n, "%s%s: %s is out of range %lld..%lld",
			       w->prefix, name, s, (long long)min,
			       (long long)max);
		return -1;
	}
	return 0;
}

/*
 * A schedule of windows: whole pixels (odd, >= 3) or percentages of the
 * image's shorter side, resolved per image by experiment.c.  Pixels must
 * strictly decrease among themselves, and so must percentages; a pixel
 * window and a relative one are compared once resolved.
 */
static void
parse_schedule(struct cfg_walk *w, yaml_node_t *n, const char *name,
	       struct exp_length *specs, size_t *nspecs)
{
	yaml_node_item_t *it;
	size_t count = 0;
	int prev_px = 0, prev_bp = 0;

	*nspecs = 0;
	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(w, n, name, "a list of odd window widths like "
				       "[41, 27, 21, 17, 13]");
		return;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, count++) {
		yaml_node_t *item = ydoc_node(w->y, *it);
		const char *s = ynode_scalar(item);
		struct exp_length l = {0};
		char text[16], prev[16];
		int64_t v;

		if (count >= EXP_STAGES_MAX) {
			cfg_node_error(w->d, item, "%s%s: more than %d stages",
				       w->prefix, name, EXP_STAGES_MAX);
			break;
		}
		if (s != NULL && strchr(s, '%') != NULL) {
			if (cfg_parse_percent(s, &l.bp) != 0) {
				cfg_node_error(w->d, item,
					       "%s%s: \"%s\" is not a share "
					       "of the image like 3%% or "
					       "2.5%% (above 0, at most 100%%)",
					       w->prefix, name, s);
				continue;
			}
			cfg_format_percent(l.bp, text, sizeof(text));
			cfg_format_percent(prev_bp, prev, sizeof(prev));
			if (prev_bp != 0 && l.bp >= prev_bp)
				cfg_node_error(w->d, item,
					       "%s%s: window %s after %s: "
					       "windows must strictly "
					       "decrease, from the heaviest "
					       "blur to the lightest",
					       w->prefix, name, text, prev);
			prev_bp = l.bp;
			specs[(*nspecs)++] = l;
			continue;
		}
		if (node_int(w, item, name, 1, EXP_WINDOW_MAX, &v) != 0)
			continue;
		if (v < 3 || v % 2 == 0) {
			cfg_node_error(w->d, item,
				       "%s%s: window %lld must be odd and at "
				       "least 3 (the median filter is centred "
				       "on a pixel)",
				       w->prefix, name, (long long)v);
		} else if (prev_px != 0 && v >= prev_px) {
			cfg_node_error(w->d, item,
				       "%s%s: window %lld after %d: windows "
				       "must strictly decrease, from the "
				       "heaviest blur to the lightest (a "
				       "typo?)",
				       w->prefix, name, (long long)v, prev_px);
		}
		prev_px = (int)v;
		l.px = (int)v;
		specs[(*nspecs)++] = l;
	}
	if (count == 0)
		cfg_node_error(w->d, n, "%s%s: needs at least one window, "
					"e.g. [41, 27, 21, 17, 13]",
			       w->prefix, name);
}

static int
parse_stages(struct cfg_walk *w, yaml_node_t *n, const struct cfg_key *k,
	     void *base)
{
	struct experiment *e = base;

	parse_schedule(w, n, k->name, e->stage_specs, &e->nstages);
	/* Relative windows are resolved with the images (experiment.c). */
	for (size_t i = 0; i < e->nstages; i++)
		e->stages[i] = e->stage_specs[i].px;
	return 0;
}

static int
cmp_stages(const void *a, const void *b)
{
	const struct experiment *x = a, *y = b;

	if (x->nstages != y->nstages)
		return 1;
	return memcmp(x->stage_specs, y->stage_specs,
		      x->nstages * sizeof(x->stage_specs[0]));
}

static int
parse_image_windows(struct cfg_walk *w, yaml_node_t *n,
		    const struct cfg_key *k, void *base)
{
	struct exp_image *im = base;

	parse_schedule(w, n, k->name, im->window_specs, &im->nwindow_specs);
	return 0;
}

static int
cmp_image_windows(const void *a, const void *b)
{
	const struct exp_image *x = a, *y = b;

	if (x->nwindow_specs != y->nwindow_specs)
		return 1;
	return memcmp(x->window_specs, y->window_specs,
		      x->nwindow_specs * sizeof(x->window_specs[0]));
}

/* Cascade names ("frontalface_alt2") or paths, 1 to FACE_CASCADES_MAX. */
static int
parse_cascades(struct cfg_walk *w, yaml_node_t *n, const struct cfg_key *k,
	       void *base)
{
	struct experiment *e = base;
	yaml_node_item_t *it;
	size_t cap;
	char **v;

	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(w, n, k->name, "a list of cascades like "
					  "[frontalface_alt2, profileface]");
		return 0;
	}
	cap = (size_t)(n->data.sequence.items.top -
		       n->data.sequence.items.start);
	if (cap == 0 || cap > FACE_CASCADES_MAX) {
		cfg_node_error(w->d, n, "%s%s: 1 to %d cascades", w->prefix,
			       k->name, FACE_CASCADES_MAX);
		return 0;
	}
	if ((v = calloc(cap, sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < e->detector.ncascades; i++)
		free(e->detector.cascades[i]);
	free(e->detector.cascades);
	e->detector.cascades = v;
	e->detector.ncascades = 0;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = ydoc_node(w->y, *it);
		const char *s = ynode_scalar(item);

		if (s == NULL || ynode_null(item) || s[0] == '\0' ||
		    strlen(s) > 1024) {
			type_error(w, item, k->name,
				   "a cascade name or path");
			continue;
		}
		if ((v[e->detector.ncascades] = strdup(s)) == NULL)
			return -1;
		e->detector.ncascades++;
	}
	return 0;
}

static int
cmp_cascades(const void *a, const void *b)
{
	const struct experiment *ea = a, *eb = b;
	const struct exp_detector *x = &ea->detector, *y = &eb->detector;

	if (x->ncascades != y->ncascades)
		return 1;
	for (size_t i = 0; i < x->ncascades; i++)
		if (strcmp(x->cascades[i], y->cascades[i]) != 0)
			return 1;
	return 0;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
parse_keywords(struct cfg_walk *w, yaml_node_t *n, const struct cfg_key *k,
	       void *base)
{
	struct experiment *e = base;
	yaml_node_item_t *it;
	size_t total = 0, cap;
	char **v;

	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(w, n, k->name, "a list of words like [image, "
					  "privacy]");
		return 0;
	}
	strv_free(e->hit.keywords, e->hit.nkeywords);
	e->hit.keywords = NULL;
	e->hit.nkeywords = 0;
	cap = (size_t)(n->data.sequence.items.top -
		       n->data.sequence.items.start);
	if (cap == 0)
		return 0;
	v = calloc(cap, sizeof(*v));
	if (v == NULL)
		return -1;
	e->hit.keywords = v;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = ydoc_node(w->y, *it);
		const char *s = ynode_scalar(item);

		if (s == NULL || ynode_null(item) || s[0] == '\0') {
			type_error(w, item, "keywords", "a word");
			continue;
		}
		if (strchr(s, ',') != NULL) {
			cfg_node_error(w->d, item,
				       "hit.keywords: \"%s\" contains a comma "
				       "(MTurk separates keywords with commas)",
				       s);
			continue;
		}
		total += strlen(s) + (total > 0 ? 2 : 0);
		if ((v[e->hit.nkeywords] = strdup(s)) == NULL)
			return -1;
		e->hit.nkeywords++;
	}
	if (total > EXP_KEYWORDS_MAX)
		cfg_node_error(w->d, n,
			       "hit.keywords: %zu characters joined, MTurk "
			       "allows %d",
			       total, EXP_KEYWORDS_MAX);
	return 0;
}

static int
cmp_keywords(const void *a, const void *b)
{
	const struct experiment *x = a, *y = b;

	if (x->hit.nkeywords != y->hit.nkeywords)
		return 1;
	for (size_t i = 0; i < x->hit.nkeywords; i++)
		if (strcmp(x->hit.keywords[i], y->hit.keywords[i]) != 0)
			return 1;
	return 0;
}

static int
parse_qual_integer(struct cfg_walk *w, yaml_node_t *n,
		   const struct cfg_key *k, void *base)
{
	struct exp_qual *q = base;
	yaml_node_item_t *it;
	size_t cap = 1;
	int64_t v;

	(void)k;
	free(q->integers);
	q->integers = NULL;
	q->nintegers = 0;
	if (n->type == YAML_SEQUENCE_NODE)
		cap = (size_t)(n->data.sequence.items.top -
			       n->data.sequence.items.start);
	if (cap == 0 || cap > EXP_QUAL_INTS_MAX) {
		cfg_node_error(w->d, n, "%sinteger: 1 to %d values", w->prefix,
			       EXP_QUAL_INTS_MAX);
		return 0;
	}
	if ((q->integers = calloc(cap, sizeof(*q->integers))) == NULL)
		return -1;
	if (n->type != YAML_SEQUENCE_NODE) {
		if (node_int(w, n, "integer", INT32_MIN, INT32_MAX, &v) == 0)
			q->integers[q->nintegers++] = (int32_t)v;
		return 0;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++)
		if (node_int(w, ydoc_node(w->y, *it), "integer", INT32_MIN,
			     INT32_MAX, &v) == 0)
			q->integers[q->nintegers++] = (int32_t)v;
	return 0;
}

static int
locale_parse(const char *s, struct exp_locale *out)
{
	size_t n = strlen(s);

	memset(out, 0, sizeof(*out));
	if (n != 2 && (n < 4 || n > 6 || s[2] != '-'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (i == 2)
			continue;
		if (!isupper((unsigned char)s[i]) &&
		    !(i > 2 && isdigit((unsigned char)s[i])))
			return -1;
	}
	memcpy(out->country, s, 2);
	if (n > 2)
		memcpy(out->subdivision, s + 3, n - 3);
	return 0;
}

static void
locale_one(struct cfg_walk *w, yaml_node_t *n, struct exp_qual *q)
{
	const char *s = ynode_scalar(n);

	if (s == NULL || ynode_null(n)) {
		type_error(w, n, "locale", "a country code like \"US\" or "
					   "\"US-NY\"");
		return;
	}
	if (locale_parse(s, &q->locales[q->nlocales]) != 0) {
		cfg_node_error(w->d, n,
			       "%slocale: \"%s\" is not an ISO 3166 country "
			       "code like \"US\" or \"US-NY\"",
			       w->prefix, s);
		return;
	}
	q->nlocales++;
}

static int
parse_qual_locale(struct cfg_walk *w, yaml_node_t *n,
		  const struct cfg_key *k, void *base)
{
	struct exp_qual *q = base;
	yaml_node_item_t *it;
	size_t cap = 1;

	(void)k;
	free(q->locales);
	q->locales = NULL;
	q->nlocales = 0;
	if (n->type == YAML_SEQUENCE_NODE)
		cap = (size_t)(n->data.sequence.items.top -
			       n->data.sequence.items.start);
	if (cap == 0 || cap > EXP_QUAL_LOCALES_MAX) {
		cfg_node_error(w->d, n, "%slocale: 1 to %d values", w->prefix,
			       EXP_QUAL_LOCALES_MAX);
		return 0;
	}
	if ((q->locales = calloc(cap, sizeof(*q->locales))) == NULL)
		return -1;
	if (n->type != YAML_SEQUENCE_NODE) {
		locale_one(w, n, q);
		return 0;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++)
		locale_one(w, ydoc_node(w->y, *it), q);
	return 0;
}

/* The values a comparator takes, checked once the whole item is read. */
static void
qual_check(struct cfg_walk *w, yaml_node_t *item, const struct exp_qual *q,
	   const struct cfg_seen *seen)
{
	size_t nv = q->nintegers + q->nlocales;
	bool has_int = seen->line[2] != 0, has_loc = seen->line[3] != 0;
	const char *c = cmp_names[q->comparator];

	if (seen->line[1] == 0 || seen->line[0] == 0)
		return; /* reported as missing */
	if (has_int && has_loc) {
		cfg_node_error(w->d, item,
			       "%s: give integer or locale, not both",
			       w->prefix);
		return;
	}
	switch (q->comparator) {
	case EXP_CMP_EXISTS:
	case EXP_CMP_DOES_NOT_EXIST:
		if (has_int || has_loc)
			cfg_node_error(w->d, item,
				       "%s: comparator %s takes no value",
				       w->prefix, c);
		break;
	case EXP_CMP_IN:
	case EXP_CMP_NOT_IN:
		if (!has_int && !has_loc)
			cfg_node_error(w->d, item,
				       "%s: comparator %s needs integer or "
				       "locale values",
				       w->prefix, c);
		break;
	case EXP_CMP_EQUAL_TO:
	case EXP_CMP_NOT_EQUAL_TO:
		if (!has_int && !has_loc)
			cfg_node_error(w->d, item,
				       "%s: comparator %s needs an integer or "
				       "a locale",
				       w->prefix, c);
		else if (nv > 1)
			cfg_node_error(w->d, item,
				       "%s: comparator %s takes one value "
				       "(use In for several)",
				       w->prefix, c);
		break;
	default:
		if (has_loc || !has_int)
			cfg_node_error(w->d, item,
				       "%s: comparator %s needs one integer",
				       w->prefix, c);
		else if (nv > 1)
			cfg_node_error(w->d, item,
				       "%s: comparator %s takes one value",
				       w->prefix, c);
		break;
	}
}

static int
parse_quals(struct cfg_walk *w, yaml_node_t *n, const struct cfg_key *k,
	    void *base)
{
	struct experiment *e = base;
	yaml_node_item_t *it;
	char saved[sizeof(w->prefix)];
	size_t cap, i = 0;

	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(w, n, k->name, "a list of {id, comparator, ...}");
		return 0;
	}
	cap = (size_t)(n->data.sequence.items.top -
		       n->data.sequence.items.start);
	if (cap > EXP_QUALS_MAX) {
		cfg_node_error(w->d, n,
			       "hit.qualifications: %zu requirements, MTurk "
			       "allows at most %d",
			       cap, EXP_QUALS_MAX);
		return 0;
	}
	if (cap == 0)
		return 0;
	if ((e->hit.quals = calloc(cap, sizeof(*e->hit.quals))) == NULL)
		return -1;
	memcpy(saved, w->prefix, sizeof(saved));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *item = ydoc_node(w->y, *it);
		struct exp_qual *q = &e->hit.quals[e->hit.nquals++];
		struct cfg_seen seen;
		size_t before = w->d->count;

		snprintf(w->prefix, sizeof(w->prefix),
			 "hit.qualifications[%zu].", i + 1);
		if (cfg_walk_map(w, item, cfg_qual_keys, q, &seen) != 0)
			return -1;
		/* Trim the trailing '.' for whole-item messages. */
		w->prefix[strlen(w->prefix) - 1] = '\0';
		/* Values are judged against a comparator read without error. */
		if (item->type == YAML_MAPPING_NODE && w->d->count == before)
			qual_check(w, item, q, &seen);
	}
	memcpy(w->prefix, saved, sizeof(saved));
	return 0;
}

static int
cmp_quals(const void *a, const void *b)
{
	const struct exp_hit *x = &((const struct experiment *)a)->hit;
	const struct exp_hit *y = &((const struct experiment *)b)->hit;

	if (x->nquals != y->nquals)
		return 1;
	for (size_t i = 0; i < x->nquals; i++) {
		const struct exp_qual *p = &x->quals[i], *q = &y->quals[i];

		if (strcmp(p->id, q->id) != 0 ||
		    p->comparator != q->comparator ||
		    p->guard != q->guard || p->nintegers != q->nintegers ||
		    p->nlocales != q->nlocales)
			return 1;
		if (p->nintegers > 0 &&
		    memcmp(p->integers, q->integers,
			   p->nintegers * sizeof(*p->integers)) != 0)
			return 1;
		if (p->nlocales > 0 &&
		    memcmp(p->locales, q->locales,
			   p->nlocales * sizeof(*p->locales)) != 0)
			return 1;
	}
	return 0;
}

/*
 * A list of [x, y, w, h] boxes (ground_truth, boxes) into *out; boxes the
 * walker refuses are reported and left out.
 */
static int
parse_box_list(struct cfg_walk *w, yaml_node_t *n, const char *name,
	       struct box **out, size_t *nout)
{
	yaml_node_item_t *it;
	size_t cap;

	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(w, n, name, "a list of [x, y, w, h] boxes");
		return 0;
	}
	cap = (size_t)(n->data.sequence.items.top -
		       n->data.sequence.items.start);
	if (cap == 0)
		return 0;
	free(*out);
	*nout = 0;
	if ((*out = calloc(cap, sizeof(**out))) == NULL)
		return -1;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *bn = ydoc_node(w->y, *it);
		yaml_node_item_t *c;
		int64_t v[4];
		int bad = 0, j = 0;

		if (bn->type != YAML_SEQUENCE_NODE ||
		    bn->data.sequence.items.top -
			    bn->data.sequence.items.start != 4) {
			cfg_node_error(w->d, bn,
				       "%s%s: a box is [x, y, w, h], "
				       "four integers",
				       w->prefix, name);
			continue;
		}
		for (c = bn->data.sequence.items.start;
		     c < bn->data.sequence.items.top; c++, j++)
			bad |= node_int(w, ydoc_node(w->y, *c), name,
					j < 2 ? 0 : 1, INT32_MAX, &v[j]);
		if (bad)
			continue;
		(*out)[(*nout)++] = (struct box){(int)v[0], (int)v[1],
						 (int)v[2], (int)v[3]};
	}
	return 0;
}

static int
parse_ground_truth(struct cfg_walk *w, yaml_node_t *n,
		   const struct cfg_key *k, void *base)
{
	struct exp_image *im = base;

	(void)k;
	im->has_ground_truth = true;
	return parse_box_list(w, n, "ground_truth", &im->ground_truth,
			      &im->nground_truth);
}

/* images[].boxes: starting boxes of the image's own (stage 0). */
static int
parse_image_boxes(struct cfg_walk *w, yaml_node_t *n,
		  const struct cfg_key *k, void *base)
{
	struct exp_image *im = base;

	(void)k;
	return parse_box_list(w, n, "boxes", &im->boxes, &im->nboxes);
}

static int
cmp_image_boxes(const void *a, const void *b)
{
	const struct exp_image *x = a, *y = b;

	if (x->nboxes != y->nboxes)
		return 1;
	return x->nboxes > 0 &&
	       memcmp(x->boxes, y->boxes, x->nboxes * sizeof(*x->boxes)) != 0;
}

static int
parse_images(struct cfg_walk *w, yaml_node_t *n, const struct cfg_key *k,
	     void *base)
{
	struct experiment *e = base;
	yaml_node_item_t *it;
	char saved[sizeof(w->prefix)];
	size_t cap, i = 0;

	if (n->type != YAML_SEQUENCE_NODE) {
		type_error(w, n, k->name, "a list of {id, file, ground_truth}");
		return 0;
	}
	cap = (size_t)(n->data.sequence.items.top -
		       n->data.sequence.items.start);
	if (cap > EXP_IMAGES_MAX) {
		cfg_node_error(w->d, n, "images: %zu images, at most %d", cap,
			       EXP_IMAGES_MAX);
		return 0;
	}
	if (cap == 0)
		return 0;
	if ((e->images = calloc(cap, sizeof(*e->images))) == NULL)
		return -1;
	memcpy(saved, w->prefix, sizeof(saved));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *item = ydoc_node(w->y, *it);
		struct exp_image *im = &e->images[e->nimages++];

		im->line = ynode_line(item);
		snprintf(w->prefix, sizeof(w->prefix), "images[%zu].", i + 1);
		if (cfg_walk_map(w, item, cfg_image_keys, im, NULL) != 0)
			return -1;
	}
	memcpy(w->prefix, saved, sizeof(saved));
	return 0;
}

/*
 * A rate in percent with at most two decimals, "%" optional ("42.8",
 * "20%", "0"), within the key's min..max basis points, into an int.
 */
static int
parse_rate(struct cfg_walk *w, yaml_node_t *n, const struct cfg_key *k,
	   void *base)
{
	const char *s = ynode_scalar(n);
	char text[32];
	int bp = 0;

	if (s == NULL || ynode_null(n)) {
		type_error(w, n, k->name, "a percentage like 20 or 42.8");
		return 0;
	}
	snprintf(text, sizeof(text), "%s%s", s,
		 s[0] != '\0' && s[strlen(s) - 1] == '%' ? "" : "%");
	if (strlen(s) + 2 > sizeof(text) ||
	    (strcmp(text, "0%") != 0 && cfg_parse_percent(text, &bp) != 0)) {
		cfg_node_error(w->d, n,
			       "%s%s: \"%s\" is not a percentage like 20 or "
			       "42.8 (0 to 100, at most two decimals)",
			       w->prefix, k->name, s);
		return 0;
	}
	if (bp < k->min || bp > k->max) {
		cfg_node_error(w->d, n, "%s%s: %s is out of range %lld..%lld",
			       w->prefix, k->name, s, (long long)k->min / 100,
			       (long long)k->max / 100);
		return 0;
	}
	*(int *)((char *)base + k->off) = bp;
	return 0;
}

static int
cmp_fee_rate(const void *a, const void *b)
{
	const struct experiment *x = a, *y = b;

	return x->recruitment.fee_percent_bp != y->recruitment.fee_percent_bp;
}

static int
cmp_vat_rate(const void *a, const void *b)
{
	const struct experiment *x = a, *y = b;

	return x->recruitment.vat_bp != y->recruitment.vat_bp;
}

/* ---- the tables ---------------------------------------------------------- */

static const struct cfg_key mturk_keys[] = {
	{.name = "environment", .type = CFG_ENUM,
	 .off = OFF(mturk.environment), .def = "sandbox",
	 .reload = CFG_RELOAD_NEVER, .names = env_names,
	 .nnames = NNAMES(env_names),
	 .doc = "which service; production only when written here"},
	{.name = "endpoint", .type = CFG_STR, .off = OFF(mturk.endpoint),
	 .min = 1, .max = 2048, .service = true,
	 .doc = "API endpoint override: https://, or http:// on loopback"},
	{.name = "region", .type = CFG_STR, .off = OFF(mturk.region), .min = 1,
	 .max = 64, .def = "us-east-1", .check = check_region,
	 .service = true, .doc = "signing region"},
	{.name = "profile", .type = CFG_STR, .off = OFF(mturk.profile),
	 .min = 1, .max = 128, .service = true,
	 .doc = "credentials profile"},
	{.name = "poll_interval", .type = CFG_DURATION,
	 .off = OFF(mturk.poll_interval), .min = EXP_POLL_MIN,
	 .max = EXP_POLL_MAX, .def = "30s",
	 .doc = "how often open HITs are polled"},
	{.name = "ca_file", .type = CFG_STR, .off = OFF(mturk.ca_file),
	 .min = 1, .max = 4096, .service = true,
	 .doc = "PEM CA certificates for the endpoint's TLS [default: the "
		"system's]"},
	{0},
};

/* hit.exclusivity_group: stage slots shared by linked experiments. */
static const struct cfg_key group_keys[] = {
	{.name = "name", .type = CFG_STR, .off = OFF(hit.group.name),
	 .min = 1, .max = EXP_NAME_MAX, .check = check_name,
	 .doc = "[a-z0-9-]; names the shared qualification types "
		"\"intofocus group NAME stage N\""},
	{.name = "stages", .type = CFG_INT, .off = OFF(hit.group.stages),
	 .min = 1, .max = EXP_STAGES_MAX,
	 .doc = "stage slots of all the group's experiments together"},
	{.name = "first_stage", .type = CFG_INT,
	 .off = OFF(hit.group.first_stage), .min = 1, .max = EXP_STAGES_MAX,
	 .def = "1", .doc = "the slot of this experiment's stage 1"},
	{0},
};

static const struct cfg_key hit_keys[] = {
	{.name = "title", .type = CFG_STR, .off = OFF(hit.title), .min = 1,
	 .max = EXP_TITLE_MAX,
	 .def = "Box anything that could identify a person",
	 .doc = "HIT title workers see"},
	{.name = "description", .type = CFG_STR, .off = OFF(hit.description),
	 .min = 1, .max = EXP_DESCRIPTION_MAX,
	 .def = "Draw a box around every face and anything else that could "
		"identify a person (documents, screens, number plates) in a "
		"blurred photo.",
	 .doc = "HIT description"},
	{.name = "keywords", .type = CFG_CUSTOM, .off = OFF(hit.keywords),
	 .parse = parse_keywords, .cmp = cmp_keywords,
	 .doc = "list of words [default: image, privacy, faces]"},
	{.name = "reward", .type = CFG_MONEY, .off = OFF(hit.reward_cents),
	 .min = 1, .max = INT64_MAX, .flags = CFG_REQUIRED,
	 .doc = "USD per assignment, e.g. \"0.15\""},
	{.name = "workers", .type = CFG_INT, .off = OFF(hit.workers), .min = 1,
	 .max = EXP_WORKERS_MAX, .def = "3",
	 .doc = "assignments per HIT"},
	{.name = "assignment_duration", .type = CFG_DURATION,
	 .off = OFF(hit.assignment_duration), .min = EXP_DURATION_MIN,
	 .max = EXP_DURATION_MAX, .def = "5m",
	 .doc = "time a worker has for one assignment"},
	{.name = "lifetime", .type = CFG_DURATION, .off = OFF(hit.lifetime),
	 .min = EXP_DURATION_MIN, .max = EXP_DURATION_MAX, .def = "1d",
	 .doc = "time a HIT stays available"},
	{.name = "auto_approval_delay", .type = CFG_DURATION,
	 .off = OFF(hit.auto_approval_delay), .min = 0,
	 .max = EXP_AUTO_APPROVAL_MAX, .def = "3d",
	 .doc = "MTurk approves by itself after this"},
	{.name = "approve", .type = CFG_ENUM, .off = OFF(hit.approve),
	 .def = "auto", .names = approve_names,
	 .nnames = NNAMES(approve_names),
	 .doc = "auto: approve each valid answer at once; manual: the "
		"operator does"},
	{.name = "exclusive_stages", .type = CFG_BOOL,
	 .off = OFF(hit.exclusive_stages), .def = "true",
	 .doc = "a worker may work in one stage only"},
	{.name = "max_extensions", .type = CFG_INT,
	 .off = OFF(hit.max_extensions), .min = 0, .max = 100, .def = "3",
	 .doc = "extensions of a HIT that lacks answers"},
	{.name = "qualifications", .type = CFG_CUSTOM, .off = OFF(hit.quals),
	 .parse = parse_quals, .cmp = cmp_quals,
	 .doc = "QualificationRequirements, passed as they are"},
	{.name = "exclusivity_group", .type = CFG_MAP, .sub = group_keys},
	{0},
};

static const struct cfg_key redact_keys[] = {
	{.name = "style", .type = CFG_ENUM, .off = OFF(redact.style),
	 .def = "fill", .names = style_names, .nnames = NNAMES(style_names),
	 .doc = "how selected regions are hidden"},
	{.name = "color", .type = CFG_COLOR, .off = OFF(redact.color),
	 .def = "#000000", .doc = "\"#rrggbb\" for fill"},
	{0},
};

static const struct cfg_key detector_keys[] = {
	{.name = "enabled", .type = CFG_BOOL, .off = OFF(detector.enabled),
	 .def = "false",
	 .doc = "find faces with OpenCV's cascades before any worker looks"},
	{.name = "cascades", .type = CFG_CUSTOM, .off = OFF(detector.cascades),
	 .parse = parse_cascades, .cmp = cmp_cascades,
	 .doc = "opencv-data cascade names or .xml paths [default: "
		"frontalface_alt2, profileface]"},
	{.name = "min_face", .type = CFG_LENGTH, .off = OFF(detector.min_face),
	 .min = 1, .max = 100000, .def = "20",
	 .doc = "smallest face side looked for: pixels, or a share of the "
		"image's shorter side like 2%"},
	{.name = "margin", .type = CFG_PERCENT, .off = OFF(detector.margin_bp),
	 .min = 0, .max = 10000, .def = "10%",
	 .doc = "each edge of a found face moves out by this share of its "
		"side"},
	{0},
};

/* Bounds of CFG_REAL keys are in millionths. */
static const struct cfg_key simulator_keys[] = {
	{.name = "crowd_k", .type = CFG_REAL, .off = OFF(sim_crowd.k),
	 .min = 1000, .max = 100000000, .def = "3",
	 .doc = "steepness k of the simulated crowd's detection curve"},
	{.name = "crowd_x0", .type = CFG_REAL, .off = OFF(sim_crowd.x0),
	 .min = 0, .max = 100000000, .def = "1",
	 .doc = "side/window ratio a simulated worker finds half of the time"},
	{.name = "spurious_rate", .type = CFG_REAL,
	 .off = OFF(sim_crowd.spurious), .min = 0, .max = 1000000,
	 .def = "0.1", .doc = "chance that a worker adds one spurious box"},
	{.name = "jitter", .type = CFG_REAL, .off = OFF(sim_crowd.jitter),
	 .min = 0, .max = 1000000, .def = "0.1",
	 .doc = "each edge of a worker's box moves up to this share of the "
		"face's side"},
	{0},
};

static const struct cfg_key start_from_keys[] = {
	/* Both are required when the section is there (experiment.c). */
	{.name = "state_dir", .type = CFG_STR, .off = OFF(start_from.state_dir),
	 .min = 1, .max = 1024,
	 .doc = "another experiment's state directory, relative to the file; "
		"its images' boxes become this one's starting boxes"},
	{.name = "stage", .type = CFG_INT, .off = OFF(start_from.stage),
	 .min = 1, .max = EXP_STAGES_MAX,
	 .doc = "its stage, finished for every image the two share; the "
		"boxes of its stages 0 to this one are taken"},
	{0},
};

static const struct cfg_key task_keys[] = {
	{.name = "title", .type = CFG_STR, .off = OFF(task.title), .min = 1,
	 .max = 200, .def = TASK_TEXT_TITLE,
	 .doc = "the task page's heading"},
	{.name = "instructions", .type = CFG_STR, .off = OFF(task.instructions),
	 .min = 1, .max = 8000, .def = TASK_TEXT_INSTRUCTIONS,
	 .doc = "plain text above the image; a blank line starts a paragraph"},
	{.name = "face_question", .type = CFG_STR,
	 .off = OFF(task.face_question), .min = 1, .max = 300,
	 .def = TASK_TEXT_FACE_QUESTION,
	 .doc = "the yes/no question under the image"},
	{.name = "confidence", .type = CFG_BOOL, .off = OFF(task.confidence),
	 .def = "false",
	 .doc = "a slider per box: how sure the worker is (answer field "
		"confidence, 0-100 per box)"},
	{.name = "confidence_label", .type = CFG_STR,
	 .off = OFF(task.confidence_label), .min = 1, .max = 200,
	 .def = TASK_TEXT_CONFIDENCE, .doc = "the slider's label"},
	{0},
};

static const struct cfg_key host_keys[] = {
	{.name = "kind", .type = CFG_ENUM, .off = OFF(images_host.kind),
	 .names = host_names, .nnames = NNAMES(host_names), .service = true,
	 .doc = "where workers fetch stage images; required unless the "
		"environment is simulator"},
	{.name = "bucket", .type = CFG_STR, .off = OFF(images_host.bucket),
	 .min = 3, .max = 63, .flags = CFG_S3, .check = check_bucket,
	 .service = true,
	 .doc = "s3: the bucket"},
	{.name = "region", .type = CFG_STR, .off = OFF(images_host.region),
	 .min = 1, .max = 64, .def = "us-east-1", .flags = CFG_S3,
	 .check = check_region, .service = true,
	 .doc = "s3: the bucket's region"},
	{.name = "prefix", .type = CFG_STR, .off = OFF(images_host.prefix),
	 .min = 0, .max = 512, .def = "", .flags = CFG_S3,
	 .service = true,
	 .doc = "s3: object name prefix"},
	{.name = "endpoint", .type = CFG_STR, .off = OFF(images_host.endpoint),
	 .min = 1, .max = 2048, .flags = CFG_S3,
	 .service = true,
	 .doc = "s3: endpoint override (https://, or loopback)"},
	{.name = "url_expiry", .type = CFG_DURATION,
	 .off = OFF(images_host.url_expiry), .min = 1,
	 .max = EXP_URL_EXPIRY_MAX, .flags = CFG_S3,
	 .doc = "s3: presigned URL lifetime, <= 7d [default: lifetime + "
		"assignment_duration]"},
	{.name = "dir", .type = CFG_STR, .off = OFF(images_host.dir), .min = 1,
	 .max = 1024, .flags = CFG_LOCAL,
	 .service = true,
	 .doc = "local: directory a web server publishes"},
	{.name = "base_url", .type = CFG_STR, .off = OFF(images_host.base_url),
	 .min = 1, .max = 2048, .flags = CFG_LOCAL,
	 .service = true,
	 .doc = "local: the URL of that directory"},
	{0},
};

/* Issue 16.  Cross rules (prolific needs its keys) in experiment.c. */
static const struct cfg_key recruitment_keys[] = {
	{.name = "platform", .type = CFG_ENUM,
	 .off = OFF(recruitment.platform), .def = "mturk",
	 .reload = CFG_RELOAD_NEVER, .names = platform_names,
	 .nnames = NNAMES(platform_names),
	 .doc = "who recruits and pays: mturk, or prolific (the task server "
		"faces Prolific's participants)"},
	{.name = "study_id", .type = CFG_STR, .off = OFF(recruitment.study_id),
	 .min = 1, .max = PROLIFIC_ID_MAX - 1, .reload = CFG_RELOAD_NEVER,
	 .check = check_prolific_id,
	 .doc = "prolific: the study's id (required)"},
	{.name = "completion_code", .type = CFG_STR,
	 .off = OFF(recruitment.completion_code), .min = 1,
	 .max = PROLIFIC_ID_MAX - 1, .check = check_prolific_id,
	 .doc = "prolific: the completion code whose action is manual review "
		"(required)"},
	{.name = "currency", .type = CFG_ENUM,
	 .off = OFF(recruitment.currency), .def = "USD",
	 .reload = CFG_RELOAD_NEVER, .names = currency_names,
	 .nnames = NNAMES(currency_names),
	 .doc = "prolific: the study's currency as Prolific shows it; only "
		"USD can be priced against budget_usd (GBP is refused)"},
	{.name = "reward_usd", .type = CFG_MONEY,
	 .off = OFF(recruitment.reward_cents), .min = 0, .max = INT64_MAX,
	 .doc = "prolific: USD paid per submission on approval (required)"},
	{.name = "places", .type = CFG_INT, .off = OFF(recruitment.places),
	 .min = 1, .max = 1000000,
	 .doc = "prolific: submissions the study pays (required; pricing)"},
	{.name = "tasks_per_participant", .type = CFG_INT,
	 .off = OFF(recruitment.tasks_per_participant), .min = 1,
	 .max = 1000000,
	 .doc = "prolific: tasks one participant does at most (required "
		"with bonuses: their price)"},
	{.name = "bonus_per_task_usd", .type = CFG_MONEY,
	 .off = OFF(recruitment.bonus_per_task_cents), .min = 0,
	 .max = INT64_MAX, .def = "0",
	 .doc = "prolific: USD per valid task, paid once per submission"},
	{.name = "fee", .type = CFG_ENUM, .off = OFF(recruitment.fee),
	 .def = "corporate", .names = fee_names, .nnames = NNAMES(fee_names),
	 .doc = "prolific: the published service fee, corporate (42.8%) or "
		"academic (33.3%)"},
	{.name = "fee_percent", .type = CFG_CUSTOM,
	 .off = OFF(recruitment.fee_percent_bp), .min = 0, .max = 10000,
	 .parse = parse_rate, .cmp = cmp_fee_rate,
	 .doc = "prolific: the service fee in percent, instead of fee"},
	{.name = "vat_percent", .type = CFG_CUSTOM,
	 .off = OFF(recruitment.vat_bp), .min = 0, .max = 10000,
	 .parse = parse_rate, .cmp = cmp_vat_rate,
	 .doc = "prolific: VAT on the service fee in percent [default: 0]"},
	{.name = "api_url", .type = CFG_STR, .off = OFF(recruitment.api_url),
	 .min = 1, .max = 2048, .service = true,
	 .doc = "prolific: API base URL override: https://, or http:// on "
		"loopback [default: https://api.prolific.com]"},
	{0},
};

const struct cfg_key cfg_root_keys[] = {
	{.name = "name", .type = CFG_STR, .off = OFF(name), .min = 1,
	 .max = EXP_NAME_MAX, .flags = CFG_REQUIRED,
	 .reload = CFG_RELOAD_NEVER, .check = check_name,
	 .doc = "[a-z0-9-]; names the state and the qualifications"},
	{.name = "mturk", .type = CFG_MAP, .sub = mturk_keys},
	{.name = "hit", .type = CFG_MAP, .sub = hit_keys},
	{.name = "stages", .type = CFG_CUSTOM, .off = OFF(stages),
	 .parse = parse_stages, .cmp = cmp_stages,
	 .doc = "median windows, odd pixels or shares of the image's "
		"shorter side like 3%, decreasing [default: 41, 27, 21, 17, "
		"13]"},
	{.name = "aggregate", .type = CFG_ENUM, .off = OFF(aggregate),
	 .def = "union", .names = agg_names, .nnames = NNAMES(agg_names),
	 .doc = "how the boxes of a stage's workers combine; "
		"majority-weighted weighs each vote by the box's confidence"},
	{.name = "task", .type = CFG_MAP, .sub = task_keys},
	{.name = "redact", .type = CFG_MAP, .sub = redact_keys},
	{.name = "detector", .type = CFG_MAP, .sub = detector_keys},
	{.name = "simulator", .type = CFG_MAP, .sub = simulator_keys},
	{.name = "start_from", .type = CFG_MAP, .sub = start_from_keys},
	{.name = "images_host", .type = CFG_MAP, .sub = host_keys},
	{.name = "recruitment", .type = CFG_MAP, .sub = recruitment_keys},
	{.name = "budget_usd", .type = CFG_MONEY, .off = OFF(budget_cents),
	 .min = 0, .max = INT64_MAX, .reload = CFG_RELOAD_ANY,
	 .doc = "USD the experiment may commit (required for production)"},
	{.name = "output_dir", .type = CFG_STR, .off = OFF(output_dir),
	 .min = 1, .max = 1024, .def = "out",
	 .doc = "where final images go, relative to the file"},
	{.name = "images", .type = CFG_CUSTOM, .off = OFF(images),
	 .flags = CFG_REQUIRED, .reload = CFG_RELOAD_ANY,
	 .parse = parse_images,
	 .doc = "list of {id, file, ground_truth}; may be []"},
	{0},
};

#define QOFF(field) offsetof(struct exp_qual, field)
const struct cfg_key cfg_qual_keys[] = {
	{.name = "id", .type = CFG_STR, .off = QOFF(id), .min = 1, .max = 64,
	 .flags = CFG_REQUIRED, .check = check_qual_id,
	 .doc = "QualificationTypeId, e.g. 000000000000000000L0"},
	{.name = "comparator", .type = CFG_ENUM, .off = QOFF(comparator),
	 .flags = CFG_REQUIRED, .names = cmp_names,
	 .nnames = NNAMES(cmp_names)},
	{.name = "integer", .type = CFG_CUSTOM, .off = QOFF(integers),
	 .parse = parse_qual_integer,
	 .doc = "N or [N, ...] (In/NotIn: up to 15)"},
	{.name = "locale", .type = CFG_CUSTOM, .off = QOFF(locales),
	 .parse = parse_qual_locale,
	 .doc = "\"US\", \"US-NY\" or a list (In/NotIn: up to 30)"},
	{.name = "actions_guarded", .type = CFG_ENUM, .off = QOFF(guard),
	 .names = guard_names, .nnames = NNAMES(guard_names),
	 .doc = "left out: MTurk's default (Accept)"},
	{0},
};

#define IOFF(field) offsetof(struct exp_image, field)
const struct cfg_key cfg_image_keys[] = {
	{.name = "id", .type = CFG_STR, .off = IOFF(id), .min = 1,
	 .max = EXP_IMAGE_ID_MAX, .flags = CFG_REQUIRED,
	 .check = check_image_id,
	 .doc = "unique; A-Z a-z 0-9 and (not first) _ - ."},
	{.name = "file", .type = CFG_STR, .off = IOFF(file), .min = 1,
	 .max = 1024, .flags = CFG_REQUIRED,
	 .doc = "JPEG or PNG, relative to the experiment file"},
	{.name = "ground_truth", .type = CFG_CUSTOM, .off = IOFF(ground_truth),
	 .parse = parse_ground_truth,
	 .doc = "faces as [[x, y, w, h], ...] inside the displayed image"},
	{.name = "windows", .type = CFG_CUSTOM, .off = IOFF(window_specs),
	 .parse = parse_image_windows, .cmp = cmp_image_windows,
	 .doc = "this image's own schedule, as many windows as stages"},
	{.name = "boxes", .type = CFG_CUSTOM, .off = IOFF(boxes),
	 .parse = parse_image_boxes, .cmp = cmp_image_boxes,
	 .doc = "starting boxes (stage 0) as [[x, y, w, h], ...], redacted "
		"from the first stage on"},
	{.name = "boxes_file", .type = CFG_STR, .off = IOFF(boxes_file),
	 .min = 1, .max = 1024,
	 .doc = "starting boxes from a JSON file of [[x, y, w, h], ...], "
		"relative to the experiment file"},
	{0},
};

/* ---- the walker ---------------------------------------------------------- */

size_t
cfg_keys_count(const struct cfg_key *keys)
{
	size_t n = 0;

	while (keys[n].name != NULL)
		n++;
	return n;
}

int
cfg_key_index(const struct cfg_key *keys, const char *name)
{
	for (int i = 0; keys[i].name != NULL; i++)
		if (strcmp(keys[i].name, name) == 0)
			return i;
	return -1;
}

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int
enum_index(const struct cfg_key *k, const char *s)
{
	for (size_t i = 0; i < k->nnames; i++)
		if (k->names[i] != NULL && strcmp(k->names[i], s) == 0)
			return (int)i;
	return -1;
}

static void
enum_list(const struct cfg_key *k, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < k->nnames && used < len; i++) {
		if (k->names[i] == NULL)
			continue;
		used += (size_t)snprintf(out + used, len - used, "%s%s",
					 used > 0 ? ", " : "", k->names[i]);
	}
}

/*
 * Sets a scalar field from text: used for the file's values and for the
 * table's defaults alike.  0, or -1 with why filled; -2 out of memory.
 */
static int
set_from_text(const struct cfg_key *k, void *base, const char *s, char *why,
	      size_t len)
{
	char *field = (char *)base + k->off;
	char names[256];
	int64_t v;
	int idx;

	switch (k->type) {
	case CFG_STR: {
		size_t n = utf8_chars(s);
		char *dup;

		if (n < (size_t)k->min) {
			if (k->min == 1)
				snprintf(why, len, "must not be empty");
			else
				snprintf(why, len, "\"%s\" is too short: at "
						   "least %lld characters",
					 s, (long long)k->min);
			return -1;
		}
		if (k->max > 0 && n > (size_t)k->max) {
			snprintf(why, len, "%zu characters, at most %lld", n,
				 (long long)k->max);
			return -1;
		}
		if (k->check != NULL && k->check(s, why, len) != 0)
			return -1;
		if ((dup = strdup(s)) == NULL)
			return -2;
		free(*(char **)field);
		*(char **)field = dup;
		return 0;
	}
	case CFG_INT:
		if (parse_int64(s, INT64_MIN, INT64_MAX, &v) != 0) {
			snprintf(why, len, "expected an integer, found \"%s\"",
				 s);
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(why, len, "%s is out of range %lld..%lld", s,
				 (long long)k->min, (long long)k->max);
			return -1;
		}
		*(int *)field = (int)v;
		return 0;
	case CFG_BOOL:
		if (strcmp(s, "true") == 0)
			*(bool *)field = true;
		else if (strcmp(s, "false") == 0)
			*(bool *)field = false;
		else {
			snprintf(why, len, "expected true or false, found "
					   "\"%s\"", s);
			return -1;
		}
		return 0;
	case CFG_DURATION:
		if (cfg_parse_duration(s, &v) != 0) {
			snprintf(why, len,
				 "\"%s\" is not a duration like 30s, 5m, 3h "
				 "or 2d",
				 s);
			return -1;
		}
		if (v < k->min || v > k->max) {
			char lo[24], hi[24];

			cfg_format_duration(k->min, lo, sizeof(lo));
			cfg_format_duration(k->max, hi, sizeof(hi));
			snprintf(why, len, "%s is out of range %s..%s", s, lo,
				 hi);
			return -1;
		}
		*(int64_t *)field = v;
		return 0;
	case CFG_MONEY:
		if (cfg_parse_money(s, &v) != 0) {
			snprintf(why, len,
				 "\"%s\" is not an amount of USD like "
				 "\"0.15\" (digits, at most 2 decimals, no "
				 "sign or $)",
				 s);
			return -1;
		}
		if (v < k->min) {
			snprintf(why, len, "must be more than $0.00");
			return -1;
		}
		*(int64_t *)field = v;
		return 0;
	case CFG_ENUM:
		if ((idx = enum_index(k, s)) < 0) {
			enum_list(k, names, sizeof(names));
			snprintf(why, len, "\"%s\" is not one of %s", s, names);
			return -1;
		}
		*(int *)field = idx;
		return 0;
	case CFG_LENGTH: {
		struct exp_length l;

		if (cfg_parse_length(s, (int)k->max, &l) != 0) {
			snprintf(why, len,
				 "\"%s\" is not a length: whole pixels "
				 "1..%lld, or a share of the image's shorter "
				 "side like 2%% or 2.5%%",
				 s, (long long)k->max);
			return -1;
		}
		*(struct exp_length *)field = l;
		return 0;
	}
	case CFG_PERCENT: {
		int bp = 0;

		if (strcmp(s, "0%") != 0 && strcmp(s, "0") != 0 &&
		    cfg_parse_percent(s, &bp) != 0) {
			snprintf(why, len,
				 "\"%s\" is not a percentage like 10%% or "
				 "2.5%% (0%% to 100%%)",
				 s);
			return -1;
		}
		if (bp < k->min || bp > k->max) {
			snprintf(why, len, "%s is out of range %lld..%lld%%",
				 s, (long long)k->min / 100,
				 (long long)k->max / 100);
			return -1;
		}
		*(int *)field = bp;
		return 0;
	}
	case CFG_REAL: {
		char *end;
		double d;

		errno = 0;
		d = strtod(s, &end);
		if (s[0] == '\0' || *end != '\0' || errno != 0 ||
		    !isfinite(d) || isspace((unsigned char)s[0])) {
			snprintf(why, len, "expected a number like 0.5, found "
					   "\"%s\"", s);
			return -1;
		}
		if (d * 1e6 < (double)k->min || d * 1e6 > (double)k->max) {
			snprintf(why, len, "%s is out of range %g..%g", s,
				 k->min / 1e6, k->max / 1e6);
			return -1;
		}
		*(double *)field = d;
		return 0;
	}
	case CFG_COLOR: {
		uint32_t rgb;

		if (cfg_parse_color(s, &rgb) != 0) {
			snprintf(why, len,
				 "\"%s\" is not a colour like \"#000000\"", s);
			return -1;
		}
		*(uint32_t *)field = rgb;
		return 0;
	}
	default:
		snprintf(why, len, "internal: not a scalar key");
		return -1;
	}
}

int
cfg_apply_defaults(const struct cfg_key *keys, void *base)
{
	char why[256];

	for (size_t i = 0; keys[i].name != NULL; i++) {
		const struct cfg_key *k = &keys[i];

		if (k->type == CFG_MAP) {
			if (cfg_apply_defaults(k->sub, base) != 0)
				return -1;
		} else if (k->def != NULL &&
			   set_from_text(k, base, k->def, why,
					 sizeof(why)) != 0) {
			return -1;
		}
	}
	return 0;
}

void
cfg_free_fields(const struct cfg_key *keys, void *base)
{
	for (size_t i = 0; keys[i].name != NULL; i++) {
		const struct cfg_key *k = &keys[i];

		if (k->type == CFG_MAP) {
			cfg_free_fields(k->sub, base);
		} else if (k->type == CFG_STR) {
			char **p = (char **)((char *)base + k->off);

			free(*p);
			*p = NULL;
		}
	}
}

/* The key of keys nearest to name, if near enough to be a typo. */
static const char *
suggest(const struct cfg_key *keys, const char *name)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX, limit = strlen(name) / 3;

	if (limit < 2)
		limit = 2;
	for (size_t i = 0; keys[i].name != NULL; i++) {
		size_t dist = cfg_edit_distance(name, keys[i].name);

		if (strcasecmp(name, keys[i].name) == 0)
			dist = 0;
		if (dist < bestd) {
			bestd = dist;
			best = keys[i].name;
		}
	}
	return bestd <= limit ? best : NULL;
}

/* The section of the root table that declares name, for misplaced keys. */
static const char *
home_of(const char *name)
{
	for (size_t i = 0; cfg_root_keys[i].name != NULL; i++) {
		const struct cfg_key *k = &cfg_root_keys[i];

		if (k->type == CFG_MAP && cfg_key_index(k->sub, name) >= 0)
			return k->name;
	}
	return NULL;
}

static void
unknown_key(struct cfg_walk *w, yaml_node_t *kn, const struct cfg_key *keys,
	    const char *name)
{
	const char *near = suggest(keys, name), *home = home_of(name);

	if (near != NULL)
		cfg_node_error(w->d, kn, "unknown key \"%s\" (did you mean "
					 "\"%s\"?)", name, near);
	else if (home != NULL && keys == cfg_root_keys)
		cfg_node_error(w->d, kn, "unknown key \"%s\" (it belongs "
					 "under %s:)", name, home);
	else
		cfg_node_error(w->d, kn, "unknown key \"%s\"", name);
}

static void
missing_keys(struct cfg_walk *w, yaml_node_t *at, const struct cfg_key *keys,
	     const char *prefix, const struct cfg_seen *seen)
{
	for (size_t i = 0; keys[i].name != NULL; i++) {
		const struct cfg_key *k = &keys[i];

		if (seen != NULL && seen->line[i] != 0)
			continue;
		if (k->flags & CFG_REQUIRED)
			cfg_node_error(w->d, at, "missing key \"%s%s\"", prefix,
				       k->name);
		else if (k->type == CFG_MAP) {
			char sub[160];

			snprintf(sub, sizeof(sub), "%s%s.", prefix, k->name);
			missing_keys(w, at, k->sub, sub, NULL);
		}
	}
}

static int
walk_value(struct cfg_walk *w, yaml_node_t *n, const struct cfg_key *k,
	   void *base)
{
	const char *s = ynode_scalar(n);
	char why[512];
	int rc;

	switch (k->type) {
	case CFG_MAP: {
		char saved[sizeof(w->prefix)];
		size_t l = strlen(w->prefix);

		if (n->type != YAML_MAPPING_NODE) {
			type_error(w, n, k->name, "a mapping of keys");
			return 0;
		}
		memcpy(saved, w->prefix, sizeof(saved));
		snprintf(w->prefix + l, sizeof(w->prefix) - l, "%s.", k->name);
		rc = cfg_walk_map(w, n, k->sub, base, NULL);
		memcpy(w->prefix, saved, sizeof(saved));
		return rc;
	}
	case CFG_CUSTOM:
		return k->parse(w, n, k, base);
	case CFG_COLOR:
		if (ynode_null(n)) {
			cfg_node_error(w->d, n,
				       "%s%s: no value; quote the colour "
				       "(\"#000000\"): a bare # starts a YAML "
				       "comment",
				       w->prefix, k->name);
			return 0;
		}
		break;
	case CFG_INT:
	case CFG_BOOL:
	case CFG_REAL:
		if (s != NULL && !ynode_plain(n)) {
			type_error(w, n, k->name,
				   k->type == CFG_INT	 ? "an integer"
				   : k->type == CFG_REAL ? "a number"
							 : "true or false");
			return 0;
		}
		break;
	default:
		break;
	}
	if (s == NULL || ynode_null(n)) {
		type_error(w, n, k->name,
			   k->type == CFG_STR	     ? "a string"
			   : k->type == CFG_INT	     ? "an integer"
			   : k->type == CFG_BOOL     ? "true or false"
			   : k->type == CFG_DURATION ? "a duration like 5m"
			   : k->type == CFG_MONEY    ? "an amount like \"0.15\""
			   : k->type == CFG_REAL     ? "a number"
			   : k->type == CFG_LENGTH   ? "pixels or a share"
			   : k->type == CFG_PERCENT  ? "a percentage like 10%"
						     : "a value");
		return 0;
	}
	rc = set_from_text(k, base, s, why, sizeof(why));
	if (rc == -2)
		return -1;
	if (rc != 0)
		cfg_node_error(w->d, n, "%s%s: %s", w->prefix, k->name, why);
	return 0;
}

int
cfg_walk_map(struct cfg_walk *w, yaml_node_t *n, const struct cfg_key *keys,
	     void *base, struct cfg_seen *seen)
{
	struct cfg_seen local;
	yaml_node_pair_t *p;

	if (seen == NULL)
		seen = &local;
	memset(seen, 0, sizeof(*seen));
	if (n->type != YAML_MAPPING_NODE) {
		cfg_node_error(w->d, n, "%s: expected a mapping of keys, found "
					"%s",
			       w->prefix[0] != '\0' ? w->prefix : "(top)",
			       ynode_kind(n));
		return 0;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = ydoc_node(w->y, p->key);
		yaml_node_t *vn = ydoc_node(w->y, p->value);
		const char *name = ynode_scalar(kn);
		int i;

		if (name == NULL) {
			cfg_node_error(w->d, kn, "a key must be a word, not %s",
				       ynode_kind(kn));
			continue;
		}
		if ((i = cfg_key_index(keys, name)) < 0) {
			unknown_key(w, kn, keys, name);
			continue;
		}
		if (seen->line[i] != 0) {
			cfg_node_error(w->d, kn,
				       "duplicate key \"%s\" (first at line "
				       "%d)",
				       name, seen->line[i]);
			continue;
		}
		seen->line[i] = ynode_line(kn);
		seen->col[i] = ynode_col(kn);
		seen->node[i] = vn;
		if (walk_value(w, vn, &keys[i], base) != 0)
			return -1;
	}
	missing_keys(w, n, keys, w->prefix, seen);
	return 0;
}

/* ---- the table as text (check --keys) ------------------------------------ */

static void
describe_type(const struct cfg_key *k, struct buf *out)
{
	char lo[24], hi[24];

	switch (k->type) {
	case CFG_STR:
		if (k->max > 0)
			buf_printf(out, "string, %lld-%lld characters",
				   (long long)k->min, (long long)k->max);
		else
			buf_printf(out, "string");
		break;
	case CFG_INT:
		buf_printf(out, "integer %lld..%lld", (long long)k->min,
			   (long long)k->max);
		break;
	case CFG_BOOL:
		buf_printf(out, "true | false");
		break;
	case CFG_DURATION:
		cfg_format_duration(k->min, lo, sizeof(lo));
		cfg_format_duration(k->max, hi, sizeof(hi));
		buf_printf(out, "duration %s..%s", lo, hi);
		break;
	case CFG_MONEY:
		buf_printf(out, "USD amount, e.g. \"0.15\"");
		break;
	case CFG_ENUM:
		for (size_t i = 0, first = 1; i < k->nnames; i++) {
			if (k->names[i] == NULL)
				continue;
			buf_printf(out, "%s%s", first ? "" : " | ",
				   k->names[i]);
			first = 0;
		}
		break;
	case CFG_COLOR:
		buf_printf(out, "colour \"#rrggbb\"");
		break;
	case CFG_LENGTH:
		buf_printf(out, "pixels 1..%lld or a share of the shorter "
				"side like \"2%%\"",
			   (long long)k->max);
		break;
	case CFG_PERCENT:
		buf_printf(out, "percentage %lld%%..%lld%%",
			   (long long)k->min / 100, (long long)k->max / 100);
		break;
	case CFG_REAL:
		buf_printf(out, "number %g..%g", k->min / 1e6, k->max / 1e6);
		break;
	default:
		buf_printf(out, "list");
		break;
	}
}

static void
describe(const struct cfg_key *keys, const char *prefix, struct buf *out)
{
	static const char *const reload[] = {
		"before any image starts", "any time", "never"};

	for (size_t i = 0; keys[i].name != NULL; i++) {
		const struct cfg_key *k = &keys[i];
		char sub[96];

		if (k->type == CFG_MAP) {
			snprintf(sub, sizeof(sub), "%s%s.", prefix, k->name);
			describe(k->sub, sub, out);
			continue;
		}
		buf_printf(out, "%s%s: ", prefix, k->name);
		describe_type(k, out);
		if (k->flags & CFG_REQUIRED)
			buf_printf(out, ", required");
		else if (k->def != NULL && strchr(k->def, '\n') != NULL)
			buf_printf(out, " [default: in intofocus.yaml(5)]");
		else if (k->def != NULL)
			buf_printf(out, " [default: %s]",
				   k->def[0] != '\0' ? k->def : "\"\"");
		if (k->flags & (CFG_S3 | CFG_LOCAL))
			buf_printf(out, " (kind %s)",
				   k->flags & CFG_S3 ? "s3" : "local");
		/* Keys of list items follow their list's reload rule. */
		if (strchr(prefix, '[') != NULL)
			buf_printf(out, "\n");
		else if (strcmp(k->name, "images") == 0)
			buf_printf(out, "; SIGHUP: new images start, started "
					"ones may not change\n");
		else
			buf_printf(out, "; SIGHUP: %s\n", reload[k->reload]);
		if (k->doc != NULL)
			buf_printf(out, "    %s\n", k->doc);
		if (strcmp(k->name, "qualifications") == 0)
			describe(cfg_qual_keys, "hit.qualifications[].", out);
		else if (strcmp(k->name, "images") == 0)
			describe(cfg_image_keys, "images[].", out);
	}
}

int
exp_keys_format(struct buf *out)
{
	describe(cfg_root_keys, "", out);
	return out->data != NULL ? IF_OK : IF_ERUNTIME;
}
