/*
 * daemon/sim_view.c - a loaded experiment as the simulator learns it:
 * its windows and each image's size and ground truth, for the simulator
 * that "intofocus run" embeds and for "intofocus sim --experiment".
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"

#include <stdlib.h>
#include <string.h>

int
sim_view_init(struct sim_view *v, const struct experiment *exp,
	      struct errbuf *eb)
{
	memset(v, 0, sizeof(*v));
	v->images = calloc(exp->nimages + 1, sizeof(*v->images));
	v->faces = calloc(exp->nimages + 1, sizeof(*v->faces));
	v->hidden = calloc(exp->nimages + 1, sizeof(*v->hidden));
	if (v->images == NULL || v->faces == NULL || v->hidden == NULL)
		goto nomem;
	/* Now, not at the end: sim_view_cleanup frees as far as this. */
	v->nimages = exp->nimages;
	for (size_t i = 0; i < exp->nimages; i++) {
		const struct exp_image *im = &exp->images[i];
		struct sim_face *f = calloc(im->nground_truth + 1, sizeof(*f));

		if (f == NULL)
			goto nomem;
		v->faces[i] = f;
		for (size_t k = 0; k < im->nground_truth; k++) {
			f[k].x = im->ground_truth[k].x;
			f[k].y = im->ground_truth[k].y;
			f[k].w = im->ground_truth[k].w;
			f[k].h = im->ground_truth[k].h;
		}
		v->images[i].id = im->id;
		v->images[i].width = im->width;
		v->images[i].height = im->height;
		v->images[i].faces = f;
		v->images[i].nfaces = im->nground_truth;
		/*
		 * Stage 0 as far as the file tells (its own boxes and
		 * boxes_file); the embedding daemon adds start_from's and
		 * the detector's with sim_set_hidden() once it records them.
		 */
		v->hidden[i] = calloc(im->nboxes + im->nfile_boxes + 1,
				      sizeof(*v->hidden[i]));
		if (v->hidden[i] == NULL)
			goto nomem;
		for (size_t k = 0; k < im->nboxes; k++)
			v->hidden[i][k] = (struct sim_face){
				im->boxes[k].x, im->boxes[k].y,
				im->boxes[k].w, im->boxes[k].h};
		for (size_t k = 0; k < im->nfile_boxes; k++)
			v->hidden[i][im->nboxes + k] = (struct sim_face){
				im->file_boxes[k].x, im->file_boxes[k].y,
				im->file_boxes[k].w, im->file_boxes[k].h};
		v->images[i].hidden = v->hidden[i];
		v->images[i].nhidden = im->nboxes + im->nfile_boxes;
		/* Windows fitted to the image (issue 17). */
		v->images[i].windows = im->windows;
		v->images[i].nwindows = exp->nstages;
	}
	v->exp.name = exp->name;
	v->exp.windows = exp->stages;
	v->exp.nwindows = exp->nstages;
	v->exp.images = v->images;
	v->exp.nimages = exp->nimages;
	/*
	 * The crowd judges what the daemon serves: it combines the same way.
	 * majority-weighted counts as majority: the crowd gives no
	 * confidences, so each box weighs 1.
	 */
	v->exp.aggregate = exp->aggregate == EXP_AGG_FIRST ? SIM_AGG_FIRST
			   : exp->aggregate == EXP_AGG_MAJORITY ||
					   exp->aggregate ==
						   EXP_AGG_MAJORITY_WEIGHTED
				   ? SIM_AGG_MAJORITY
				   : SIM_AGG_UNION;
	v->crowd.k = exp->sim_crowd.k;
	v->crowd.x0 = exp->sim_crowd.x0;
	v->crowd.spurious = exp->sim_crowd.spurious;
	v->crowd.jitter = exp->sim_crowd.jitter;
	v->exp.crowd = &v->crowd;
	return IF_OK;
nomem:
	sim_view_cleanup(v);
	return err_set(eb, IF_ERUNTIME, "%s: out of memory", exp->source);
}

void
sim_view_cleanup(struct sim_view *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v->faces != NULL && i <= v->nimages; i++)
		free(v->faces[i]);
	free(v->faces);
	for (size_t i = 0; v->hidden != NULL && i <= v->nimages; i++)
		free(v->hidden[i]);
	free(v->hidden);
	free(v->images);
	memset(v, 0, sizeof(*v));
}
