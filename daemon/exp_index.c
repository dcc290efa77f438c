/*
 * daemon/exp_index.c - the experiment's images by id, for the steps
 * (issue 15).
 *
 * exp_image_find (config/) walks the experiment's images in file order,
 * and a step looks its image up several times (the stage's window, the
 * render, the answers, the final record): work per image that grew with
 * the study, a tenth of a millisecond per lookup at 10,000 images.  The
 * run keeps the images sorted by id, built when the experiment is loaded
 * or reloaded (single-threaded points of engine.c, before any step), and
 * looks them up by bisection.  A context whose experiment was not indexed
 * (the tests' rigs, report) falls back on exp_image_find.
 */
#include "daemon/daemon.h"
#include "config/config.h"

#include <stdlib.h>
#include <string.h>

static int
by_id(const void *a, const void *b)
{
	const struct exp_image *const *x = a, *const *y = b;

	return strcmp((*x)->id, (*y)->id);
}

void
run_images_unindex(struct run_ctx *ctx)
{
	free(ctx->images_by_id);
	ctx->images_by_id = NULL;
	ctx->nimages_by_id = 0;
	ctx->indexed_exp = NULL;
}

/* bsearch's: the id sought against an image of the index. */
static int
id_vs_image(const void *key, const void *elem)
{
	const struct exp_image *const *im = elem;

	return strcmp(key, (*im)->id);
}

int
run_images_index(struct run_ctx *ctx, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	size_t n = 0;

	run_images_unindex(ctx);
	if (exp == NULL)
		return IF_OK;
	ctx->images_by_id = calloc(exp->nimages + 1,
				   sizeof(*ctx->images_by_id));
	if (ctx->images_by_id == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	for (size_t i = 0; i < exp->nimages; i++)
		if (exp->images[i].id != NULL)
			ctx->images_by_id[n++] = &exp->images[i];
	qsort(ctx->images_by_id, n, sizeof(*ctx->images_by_id), by_id);
	ctx->nimages_by_id = n;
	ctx->indexed_exp = exp;
	return IF_OK;
}

const struct exp_image *
run_exp_image(const struct run_ctx *ctx, const char *id)
{
	const struct exp_image *const *found;

	if (ctx->indexed_exp != ctx->exp || ctx->images_by_id == NULL)
		return exp_image_find(ctx->exp, id);
	found = bsearch(id, ctx->images_by_id, ctx->nimages_by_id,
			sizeof(*ctx->images_by_id), id_vs_image);
	/* Ids are unique (exp_load checks), as exp_image_find assumes. */
	return found != NULL ? *found : NULL;
}

int
run_exp_window(const struct run_ctx *ctx, const char *id, size_t stage)
{
	const struct exp_image *im;

	if (stage < 1 || stage > ctx->exp->nstages)
		return 0;
	im = run_exp_image(ctx, id);
	return im != NULL ? im->windows[stage - 1]
			  : ctx->exp->stages[stage - 1];
}
