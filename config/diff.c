/*
 * config/diff.c - what a SIGHUP reload may change (spec section 3).
 *
 * The daemon rereads the file and asks exp_diff() whether the new version
 * may replace the running one.  The rule of the spec: new images start; a
 * changed budget applies; any other change to an image already started is
 * refused (the daemon logs the reason and the old plan continues).  Which
 * settings count as "a change to a started image" is read from the key
 * table's reload column, so a key added to the table is covered without
 * touching this file: name and environment can never change (they name the
 * state and the money), budget_usd always may, and every other setting is
 * shared by all images and so may change only while none has started.
 * A key that says where the state's HITs and images live (the table's
 * service column: endpoints, region, CAs, profile, image host) is
 * refused with that reason and the way out: the study finished as it is,
 * or the new setting in a new state directory.
 */
#include "config/config_private.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static bool
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* True when key k's value differs between the two experiments. */
static bool
key_differs(const struct cfg_key *k, const void *a, const void *b)
{
	const char *x = (const char *)a + k->off, *y = (const char *)b + k->off;

	switch (k->type) {
	case CFG_STR:
		return str_differs(*(char *const *)x, *(char *const *)y);
	case CFG_INT:
	case CFG_ENUM:
		return *(const int *)x != *(const int *)y;
	case CFG_BOOL:
		return *(const bool *)x != *(const bool *)y;
	case CFG_DURATION:
	case CFG_MONEY:
		return *(const int64_t *)x != *(const int64_t *)y;
	case CFG_COLOR:
		return *(const uint32_t *)x != *(const uint32_t *)y;
	case CFG_LENGTH:
		return memcmp(x, y, sizeof(struct exp_length)) != 0;
	case CFG_PERCENT:
		return *(const int *)x != *(const int *)y;
	case CFG_REAL:
		return *(const double *)x != *(const double *)y;
	case CFG_CUSTOM:
		return k->cmp != NULL && k->cmp(a, b) != 0;
	default:
		return false;
	}
}

/* The first differing key of keys (recursing into sections), or NULL. */
static const struct cfg_key *
first_change(const struct cfg_key *keys, const void *a, const void *b,
	     enum cfg_reload reload, char *path, size_t len, const char *prefix)
{
	for (size_t i = 0; keys[i].name != NULL; i++) {
		const struct cfg_key *k = &keys[i], *r;

		if (k->type == CFG_MAP) {
			char sub[64];

			snprintf(sub, sizeof(sub), "%s%s.", prefix, k->name);
			r = first_change(k->sub, a, b, reload, path, len, sub);
			if (r != NULL)
				return r;
			continue;
		}
		if (k->reload != reload || !key_differs(k, a, b))
			continue;
		snprintf(path, len, "%s%s", prefix, k->name);
		return k;
	}
	return NULL;
}

static bool
is_started(const char *id, const char *const *started, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(started[i], id) == 0)
			return true;
	return false;
}

static bool
boxes_differ(const struct box *a, size_t na, const struct box *b, size_t nb)
{
	return na != nb ||
	       (na > 0 && memcmp(a, b, na * sizeof(struct box)) != 0);
}

/* Starting boxes: those of boxes_file count by what the file holds. */
static bool
start_boxes_differ(const struct exp_image *a, const struct exp_image *b)
{
	return boxes_differ(a->boxes, a->nboxes, b->boxes, b->nboxes) ||
	       boxes_differ(a->file_boxes, a->nfile_boxes, b->file_boxes,
			    b->nfile_boxes);
}

static bool
file_or_truth_differs(const struct exp_image *a, const struct exp_image *b)
{
	return str_differs(a->path, b->path) ||
	       a->has_ground_truth != b->has_ground_truth ||
	       boxes_differ(a->ground_truth, a->nground_truth,
			    b->ground_truth, b->nground_truth);
}

static bool
image_differs(const struct exp_image *a, const struct exp_image *b)
{
	return file_or_truth_differs(a, b) || start_boxes_differ(a, b);
}

static const char *
what_differs(const struct exp_image *a, const struct exp_image *b)
{
	return file_or_truth_differs(a, b) ? "file or ground truth"
					   : "its starting boxes";
}

static int
push(size_t **v, size_t *n, size_t value)
{
	size_t *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (nv == NULL)
		return -1;
	nv[(*n)++] = value;
	*v = nv;
	return 0;
}

void
exp_diff_cleanup(struct exp_diff *diff)
{
	if (diff == NULL)
		return;
	free(diff->added);
	free(diff->removed);
	free(diff->changed);
	memset(diff, 0, sizeof(*diff));
}

int
exp_diff(const struct experiment *old, const struct experiment *new_exp,
	 const char *const *started, size_t nstarted, struct exp_diff *diff,
	 struct errbuf *eb)
{
	const struct cfg_key *k;
	char path[96];
	int rc = IF_OK;

	memset(diff, 0, sizeof(*diff));
	k = first_change(cfg_root_keys, old, new_exp, CFG_RELOAD_NEVER, path,
			 sizeof(path), "");
	if (k != NULL) {
		rc = err_set(eb, IF_EINPUT,
			     "%s: %s changed: a reload cannot change it (it "
			     "names the state or decides where money is "
			     "spent); the old plan continues",
			     new_exp->source, path);
		goto cleanup;
	}
	k = first_change(cfg_root_keys, old, new_exp, CFG_RELOAD_UNSTARTED,
			 path, sizeof(path), "");
	if (k != NULL && nstarted > 0 && k->service) {
		rc = err_set(eb, IF_EINPUT,
			     "%s: %s changed, but %zu image%s in the state "
			     "(\"%s\" first): %s HITs and stage images are "
			     "at the service the old value names, and a "
			     "reload cannot move them; the old plan continues "
			     "(finish the study as it is, or start a new "
			     "state directory for the new setting: run "
			     "--state-dir DIR, or a new experiment name)",
			     new_exp->source, path, nstarted,
			     nstarted == 1 ? " is" : "s are", started[0],
			     nstarted == 1 ? "its" : "their");
		goto cleanup;
	}
	if (k != NULL && nstarted > 0) {
		rc = err_set(eb, IF_EINPUT,
			     "%s: %s changed, but %zu image%s started (\"%s\" "
			     "first) and %s uses it; the old plan continues "
			     "(start a new experiment name for new settings)",
			     new_exp->source, path, nstarted,
			     nstarted == 1 ? " has" : "s have", started[0],
			     nstarted == 1 ? "it" : "they");
		goto cleanup;
	}
	for (size_t i = 0; i < old->nimages; i++) {
		const struct exp_image *o = &old->images[i];
		const struct exp_image *n = exp_image_find(new_exp, o->id);
		bool st = is_started(o->id, started, nstarted);

		if (n == NULL && st) {
			rc = err_set(eb, IF_EINPUT,
				     "%s: image \"%s\" was removed, but it has "
				     "started; the old plan continues",
				     new_exp->source, o->id);
			goto cleanup;
		}
		if (n != NULL && st && image_differs(o, n)) {
			rc = err_set(eb, IF_EINPUT,
				     "%s:%d: image \"%s\" changed (%s), "
				     "but it has started; the "
				     "old plan continues (give the new version "
				     "a new id)",
				     new_exp->source, n->line, o->id,
				     what_differs(o, n));
			goto cleanup;
		}
		if (n == NULL && push(&diff->removed, &diff->nremoved, i) != 0)
			goto oom;
		if (n != NULL && !st && image_differs(o, n) &&
		    push(&diff->changed, &diff->nchanged,
			 (size_t)(n - new_exp->images)) != 0)
			goto oom;
	}
	for (size_t i = 0; i < new_exp->nimages; i++)
		if (exp_image_find(old, new_exp->images[i].id) == NULL &&
		    push(&diff->added, &diff->nadded, i) != 0)
			goto oom;
	diff->old_budget_cents = old->budget_cents;
	diff->new_budget_cents = new_exp->budget_cents;
	diff->budget_changed = old->budget_cents != new_exp->budget_cents;
	goto cleanup;
oom:
	rc = err_set(eb, IF_ERUNTIME, "exp_diff: out of memory");
cleanup:
	if (rc != IF_OK)
		exp_diff_cleanup(diff);
	return rc;
}
