/*
 * daemon/aggregate.c - from a stage's answers to the boxes it redacts
 * (spec section 4), and the boxes' JSON form in the state and outputs.
 *
 *   union     every box of every valid assignment;
 *   first     the boxes of the valid assignment submitted first;
 *   majority  the pixels covered by more than half of the stage's valid
 *             assignments, returned as boxes (imaging's pixel vote);
 *   majority-weighted  the same vote, each worker's vote on a pixel
 *             weighted by the confidence (0-100%) of its box there; a box
 *             without a confidence counts in full.
 *
 * A worker's boxes are stored as [x, y, w, h], or [x, y, w, h, c] with
 * the confidence c (0..100) the worker gave the box on the task page.
 *
 * Assignments arrive in submission order (store_assignments_for), so
 * "first" is simply the first valid one.  Invalid answers never vote.
 */
#include "daemon/daemon.h"
#include "config/config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int
boxes_to_json(const struct box *boxes, size_t n, char **out,
	      struct errbuf *eb)
{
	json_t *arr = json_array();

	*out = NULL;
	if (arr == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *b = json_pack("[iiii]", boxes[i].x, boxes[i].y,
				      boxes[i].w, boxes[i].h);
		if (b == NULL || json_array_append_new(arr, b) != 0) {
			json_decref(arr);
			return err_set(eb, IF_ERUNTIME, "out of memory");
		}
	}
	*out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (*out == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	return IF_OK;
}

int
boxes_conf_to_json(const struct box *boxes, const int *conf, size_t n,
		   char **out, struct errbuf *eb)
{
	json_t *arr = json_array();

	*out = NULL;
	if (arr == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct box *b = &boxes[i];
		json_t *v = conf != NULL && conf[i] >= 0
				    ? json_pack("[iiiii]", b->x, b->y, b->w,
						b->h, conf[i])
				    : json_pack("[iiii]", b->x, b->y, b->w,
						b->h);

		if (v == NULL || json_array_append_new(arr, v) != 0) {
			json_decref(arr);
			return err_set(eb, IF_ERUNTIME, "out of memory");
		}
	}
	*out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (*out == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	return IF_OK;
}

int
boxes_conf_from_json(const char *text, struct box **out, int **conf,
		     size_t *n, struct errbuf *eb)
{
	json_error_t jerr;
	json_t *arr;
	struct box *boxes = NULL;
	int *c = NULL;
	size_t count;

	*out = NULL;
	if (conf != NULL)
		*conf = NULL;
	*n = 0;
	arr = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (arr == NULL || !json_is_array(arr)) {
		json_decref(arr);
		return err_set(eb, IF_ERUNTIME, "stored boxes are not a JSON "
						"array: %s",
			       arr == NULL ? jerr.text : "wrong type");
	}
	count = json_array_size(arr);
	boxes = calloc(count + 1, sizeof(*boxes));
	c = calloc(count + 1, sizeof(*c));
	if (boxes == NULL || c == NULL) {
		free(boxes);
		free(c);
		json_decref(arr);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		json_t *b = json_array_get(arr, i);
		json_int_t v[5] = {0, 0, 0, 0, -1};
		int ok = json_array_size(b) == 4
				 ? json_unpack(b, "[IIII!]", &v[0], &v[1],
					       &v[2], &v[3])
				 : json_unpack(b, "[IIIII!]", &v[0], &v[1],
					       &v[2], &v[3], &v[4]);

		if (ok != 0 || v[4] < -1 || v[4] > 100) {
			free(boxes);
			free(c);
			json_decref(arr);
			return err_set(eb, IF_ERUNTIME,
				       "stored box %zu is not [x,y,w,h] or "
				       "[x,y,w,h,confidence]",
				       i);
		}
		boxes[i] = (struct box){(int)v[0], (int)v[1], (int)v[2],
					(int)v[3]};
		c[i] = (int)v[4];
	}
	json_decref(arr);
	*out = boxes;
	if (conf != NULL)
		*conf = c;
	else
		free(c);
	*n = count;
	return IF_OK;
}

int
boxes_from_json(const char *text, struct box **out, size_t *n,
		struct errbuf *eb)
{
	return boxes_conf_from_json(text, out, NULL, n, eb);
}

/* Appends src[0..n) to *dst (count *ndst). */
static int
append_boxes(struct box **dst, size_t *ndst, const struct box *src, size_t n)
{
	struct box *p;

	if (n == 0)
		return 0;
	p = realloc(*dst, (*ndst + n) * sizeof(*p));
	if (p == NULL)
		return -1;
	memcpy(p + *ndst, src, n * sizeof(*p));
	*dst = p;
	*ndst += n;
	return 0;
}

/* Clips boxes to w x h and drops the empty ones, confidences in step. */
static size_t
clip_with_conf(struct box *b, int *conf, size_t n, int w, int h)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct box x = b[i];

		if (!box_clip(&x, w, h))
			continue;
		conf[k] = conf[i];
		b[k++] = x;
	}
	return k;
}

int
aggregate_boxes(int rule, const struct assignment_rec *a,
		size_t n, int w, int h, struct box **out, size_t *nout,
		struct errbuf *eb)
{
	struct box **sets = NULL;
	int **confs = NULL;
	size_t *counts = NULL, nsets = 0;
	int rc = IF_OK;

	*out = NULL;
	*nout = 0;
	sets = calloc(n + 1, sizeof(*sets));
	confs = calloc(n + 1, sizeof(*confs));
	counts = calloc(n + 1, sizeof(*counts));
	if (sets == NULL || confs == NULL || counts == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (!a[i].valid)
			continue;
		rc = boxes_conf_from_json(a[i].boxes, &sets[nsets],
					  &confs[nsets], &counts[nsets], eb);
		if (rc != IF_OK)
			goto done;
		counts[nsets] = clip_with_conf(sets[nsets], confs[nsets],
					       counts[nsets], w, h);
		nsets++;
		if (rule == EXP_AGG_FIRST)
			break;
	}
	switch ((enum exp_aggregate)rule) {
	case EXP_AGG_UNION:
	case EXP_AGG_FIRST:
		for (size_t i = 0; i < nsets; i++)
			if (append_boxes(out, nout, sets[i], counts[i]) != 0) {
				rc = err_set(eb, IF_ERUNTIME, "out of memory");
				goto done;
			}
		break;
	case EXP_AGG_MAJORITY:
		if (nsets == 0)
			break;
		rc = boxes_vote((const struct box *const *)sets, counts, nsets,
				nsets / 2, w, h, out, nout, eb);
		break;
	case EXP_AGG_MAJORITY_WEIGHTED:
		/* Same threshold; a box without a confidence (-1) weighs 1. */
		if (nsets == 0)
			break;
		rc = boxes_vote_weighted((const struct box *const *)sets,
					 (const int *const *)confs, counts,
					 nsets, nsets / 2, w, h, out, nout,
					 eb);
		break;
	}
done:
	if (rc != IF_OK) {
		free(*out);
		*out = NULL;
		*nout = 0;
	}
	for (size_t i = 0; sets != NULL && i < nsets; i++) {
		free(sets[i]);
		free(confs[i]);
	}
	free(sets);
	free(confs);
	free(counts);
	return rc;
}
