/*
 * sim/sim_plan.c - the simulated workers of a new HIT (spec section 6),
 * and the answer XML MTurk writes from a task page's form.
 *
 * Simulated assignments are planned once, when a HIT is created (the
 * workers, their answers and their accept and submit times), and appear as
 * the injected clock passes their submit time.  Planning at creation is
 * what the daemon's exclusive_stages flow needs: it grants qualifications
 * before it posts the next stage's HIT.  What each worker answers is
 * sim_crowd.c's; this file finds what the crowd knows of the HIT (the
 * image, the stage, what earlier stages redacted, combined as the daemon
 * combines them) and records the answers.
 */
#include "sim/sim_private.h"
#include "imaging/imaging.h"
#include "mturk/mturk.h"

#include <stdlib.h>
#include <string.h>

char *
sim_answer_xml(const char *const *names, const char *const *values, size_t n)
{
	struct answer_field *f = calloc(n + 1, sizeof(*f));
	struct buf b;
	struct errbuf eb;
	char *out = NULL;
	size_t len;

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		f[i].name = names[i];
		f[i].value = values[i];
	}
	err_init(&eb);
	buf_init(&b, 0);
	if (answer_format(f, n, &b, &eb) == IF_OK)
		out = buf_steal(&b, &len);
	buf_cleanup(&b);
	free(f);
	return out;
}

/*
 * Orders assignments as the daemon's state does ("first" is its first):
 * by submission time in whole seconds (SubmitTime as the daemon keeps
 * it), then assignment id, then worker id.
 */
static int
asg_submit_cmp(const void *x, const void *y)
{
	const struct asg *a = *(const struct asg *const *)x;
	const struct asg *b = *(const struct asg *const *)y;
	int64_t sa = a->submit_ms / 1000, sb = b->submit_ms / 1000;
	int c;

	if (sa != sb)
		return sa < sb ? -1 : 1;
	if ((c = strcmp(a->id, b->id)) != 0)
		return c;
	return strcmp(a->worker_id, b->worker_id);
}

/* Appends n boxes to *all (count *nall); 0 or -1. */
static int
faces_append(struct sim_face **all, size_t *nall, const struct sim_face *b,
	     size_t n)
{
	struct sim_face *grown;

	if (n == 0)
		return 0;
	grown = realloc(*all, (*nall + n) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	memcpy(grown + *nall, b, n * sizeof(*grown));
	*all = grown;
	*nall += n;
	return 0;
}

/*
 * What the daemon redacts of one stage's answers (daemon/aggregate.c),
 * appended to *all: every box (union), the first answer's (first), or
 * the pixels more than half of the answers boxed (majority, imaging's
 * pixel vote; without the image's size, the union stands in).
 */
static int
served_redaction(const struct sim_image *im, enum sim_aggregate rule,
		 struct asg *const *group, size_t n, struct sim_face **all,
		 size_t *nall)
{
	const struct box **sets;
	size_t *counts, nout = 0;
	struct box *out = NULL;
	struct errbuf eb = {0};
	int rc = 0;

	if (rule == SIM_AGG_FIRST)
		return faces_append(all, nall, group[0]->boxes,
				    group[0]->nboxes);
	if (rule != SIM_AGG_MAJORITY || im->width <= 0 || im->height <= 0) {
		for (size_t i = 0; i < n; i++)
			if (faces_append(all, nall, group[i]->boxes,
					 group[i]->nboxes) != 0)
				return -1;
		return 0;
	}
	sets = calloc(n, sizeof(*sets));
	counts = calloc(n, sizeof(*counts));
	if (sets == NULL || counts == NULL) {
		free(sets);
		free(counts);
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct box *b = calloc(group[i]->nboxes + 1, sizeof(*b));

		if (b == NULL)
			rc = -1;
		for (size_t k = 0; b != NULL && k < group[i]->nboxes; k++) {
			const struct sim_face *f = &group[i]->boxes[k];

			b[k] = (struct box){f->x, f->y, f->w, f->h};
		}
		sets[i] = b;
		counts[i] = group[i]->nboxes;
	}
	if (rc == 0 && boxes_vote(sets, counts, n, n / 2, im->width,
				  im->height, &out, &nout, &eb) != IF_OK)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < nout; i++) {
		struct sim_face f = {out[i].x, out[i].y, out[i].w, out[i].h};

		rc = faces_append(all, nall, &f, 1);
	}
	free(out);
	for (size_t i = 0; i < n; i++)
		free((void *)(uintptr_t)sets[i]);
	free(sets);
	free(counts);
	return rc;
}

/* The HITs of an image that the database did not give (logged). */
static int
fail_unreadable_plan(const struct sim_store *st, struct sim_err *err)
{
	return sim_fail(st, err, 500, "ServiceFault", NULL,
			"The simulator could not read its state; try again.");
}

/*
 * Resolves "<experiment>/<image-id>/<stage>" against the known experiments;
 * -1 (logged) when the store cannot read the earlier stages' answers.
 */
static int
crowd_task(struct sim_store *st, const char *annotation, const struct hit *self,
	   struct sim_crowd_task *task, struct sim_face **covered)
{
	char exp[256];
	const char *s1, *s2;
	int64_t stage = 0;
	size_t nfound = 0;
	struct asg **found = NULL;
	struct hit **same = NULL;
	size_t nsame = 0;
	int *stage_of = NULL;
	enum sim_aggregate rule = SIM_AGG_UNION;
	int rc = -1;

	memset(task, 0, sizeof(*task));
	*covered = NULL;
	if (annotation == NULL || (s1 = strchr(annotation, '/')) == NULL ||
	    (s2 = strrchr(annotation, '/')) == s1 ||
	    parse_int64(s2 + 1, 1, 1000, &stage) != 0 ||
	    (size_t)(s1 - annotation) >= sizeof(exp) ||
	    (size_t)(s2 - s1 - 1) >= 256)
		return 0;
	memcpy(exp, annotation, (size_t)(s1 - annotation));
	exp[s1 - annotation] = '\0';
	for (size_t e = 0; e < st->nexps; e++) {
		struct exp_copy *x = &st->exps[e];
		const struct sim_image *im;

		if (strcmp(x->name, exp) != 0)
			continue;
		im = sim_strmap_get(&x->images_by_id, s1 + 1,
				(size_t)(s2 - s1 - 1));
		if (im != NULL) {
			task->image = im;
			task->model = &x->crowd;
			rule = x->aggregate;
		}
		if (im != NULL && im->windows != NULL &&
		    (size_t)stage <= im->nwindows)
			task->window = im->windows[stage - 1];
		else if ((size_t)stage <= x->nwindows)
			task->window = x->windows[stage - 1];
	}
	task->stage = (int)stage;
	if (task->image == NULL)
		return 0;
	/* Stage 0: hidden in every stage image, whoever found it. */
	if (faces_append(covered, &task->ncovered, task->image->hidden,
			 task->image->nhidden) != 0)
		goto out;
	/*
	 * Answers of earlier stages of this image, each with its stage: what
	 * is redacted now is each stage's answers combined by the rule.  The
	 * candidates are the assignments of the HITs with this annotation
	 * key (the newest SIM_ANN_HITS_MAX: a study's stages and reposts of
	 * one image); an answer without boxes counts too (it votes, or
	 * comes first).
	 */
	if (sim_find_hits_by_ann(st, annotation, (size_t)(s2 - annotation),
				 SIM_ANN_HITS_MAX, &same, &nsame) != 0)
		goto out;
	for (size_t j = 0; j < nsame; j++) {
		struct hit *h = same[j];

		if (h == self)
			continue;
		for (size_t i = 0; i < h->nasgs; i++) {
			struct asg *a = h->asgs[i];
			const char *ann = h->ann;
			const char *slash;
			int64_t hs = 0;

			if (ann == NULL ||
			    (slash = strrchr(ann, '/')) == NULL ||
			    (size_t)(slash - ann) !=
				    (size_t)(s2 - annotation) ||
			    strncmp(ann, annotation,
				    (size_t)(s2 - annotation)) != 0 ||
			    parse_int64(slash + 1, 1, 1000, &hs) != 0 ||
			    hs >= stage)
				continue;
			{
				enum asg_state s = sim_asg_state_at(
					st, a, h, sim_store_now_ms(st));
				if (!sim_asg_listed(s) || s == ASG_REJECTED)
					continue;
			}
			/* Its boxes, from the database (until saved). */
			if (sim_asg_load(st, a) != 0 ||
			    sim_vec_push(&found, &nfound, a) != 0)
				goto out;
			{
				int *grown = realloc(stage_of,
						     nfound * sizeof(int));

				if (grown == NULL)
					goto out;
				stage_of = grown;
				stage_of[nfound - 1] = (int)hs;
			}
		}
	}
	rc = 0;
	if (nfound == 0)
		goto out;
	rc = -1;
	/* Stage by stage, each in submission order. */
	for (int s = 1; s < stage; s++) {
		struct asg **group = NULL;
		size_t ngroup = 0;

		for (size_t i = 0; i < nfound; i++)
			if (stage_of[i] == s &&
			    sim_vec_push(&group, &ngroup, found[i]) != 0) {
				free(group);
				goto out;
			}
		qsort(group, ngroup, sizeof(*group), asg_submit_cmp);
		if (ngroup > 0 &&
		    served_redaction(task->image, rule, group, ngroup, covered,
				     &task->ncovered) != 0) {
			free(group);
			goto out;
		}
		free(group);
	}
	rc = 0;
out:
	task->covered = *covered;
	free(same);
	free(found);
	free(stage_of);
	return rc;
}

/*
 * Whether the Question shows an image URL of this service whose object does
 * not exist (*missing).  Pages that show images hosted elsewhere count as
 * fine.  -1 when the store cannot read an object.
 */
static int
question_image_missing(struct sim_store *st, const char *q, bool *missing)
{
	struct object *o;
	size_t blen;
	const char *p;

	*missing = false;
	if (st->base == NULL || q == NULL)
		return 0;
	blen = strlen(st->base);
	for (p = strstr(q, st->base); p != NULL; p = strstr(p + 1, st->base)) {
		const char *path = p + blen + 1, *end;

		if (p[blen] != '/')
			continue;
		end = path + strcspn(path, "?\"'& <>#");
		if (end == path || (size_t)(end - path) >= 1024 ||
		    memchr(path, '/', (size_t)(end - path)) == NULL)
			continue; /* not /bucket/key: a lab page, say */
		if (sim_find_object(st, path, (size_t)(end - path), &o) != 0)
			return -1;
		if (o == NULL) {
			*missing = true;
			return 0;
		}
	}
	return 0;
}

struct plan_ctx {
	struct sim_store *st;
	json_t *reqs;
	bool failed; /* a grant could not be read */
};

/* Whether a simulated worker may take the HIT being planned. */
static bool
plan_eligible(void *ctx, const char *worker)
{
	struct plan_ctx *p = ctx;
	bool eligible = false;

	if (sim_worker_eligible(p->st, p->reqs, worker, &eligible) != 0)
		p->failed = true;
	return eligible;
}

/* Plans the simulated workers of a new HIT (see the note at the top). */
int
sim_plan_crowd(struct sim_store *st, struct hit *h, struct sim_err *err)
{
	const char *ann = h->ann;
	json_t *reqs = h->quals;
	json_t *hit_vals;
	struct sim_crowd_task task;
	struct sim_face *covered = NULL;
	struct plan_ctx elig;
	size_t npicked, *picked = NULL;
	int attempt = 0, taken = 0, rc = 0, n;
	struct errbuf eb;

	if (st->cfg.crowd_off)
		return 0;
	err_init(&eb);
	/* Attempt: how many other HITs have this annotation. */
	if (ann != NULL) {
		struct hit **same = NULL;
		size_t nsame = 0;

		/*
		 * Counted among the newest SIM_ANN_HITS_MAX of its key: a
		 * study's reposts are far fewer, and a client giving
		 * thousands of HITs one annotation does not make each new
		 * one read them all.
		 */
		if (sim_find_hits_by_ann(st, ann, h->ann_key_len,
					 SIM_ANN_HITS_MAX, &same, &nsame) != 0)
			return fail_unreadable_plan(st, err);
		for (size_t i = 0; i < nsame; i++)
			if (same[i] != h && strcmp(same[i]->ann, ann) == 0)
				attempt++;
		free(same);
	}
	if (crowd_task(st, ann, h, &task, &covered) != 0) {
		free(covered);
		return fail_unreadable_plan(st, err);
	}
	hit_vals = sim_hit_vals(st, h);
	rc = question_image_missing(
		st, json_string_value(json_object_get(hit_vals, "Question")),
		&task.image_missing);
	json_decref(hit_vals);
	if (rc != 0) {
		free(covered);
		return fail_unreadable_plan(st, err);
	}
	npicked =
		(size_t)h->max < SIM_CROWD_MAX ? (size_t)h->max : SIM_CROWD_MAX;
	picked = calloc(npicked, sizeof(*picked));
	elig.st = st;
	elig.reqs = reqs;
	elig.failed = false;
	n = picked == NULL
		    ? -1
		    : sim_crowd_pick(st->cfg.seed, ann != NULL ? ann : h->id,
				     attempt, &st->crowd_size,
				     st->cfg.worker_pool, npicked,
				     plan_eligible, &elig, picked);
	if (n < 0 || elig.failed) {
		free(picked);
		free(covered);
		if (elig.failed)
			return fail_unreadable_plan(st, err);
		return sim_fail(st, err, 500, "ServiceFault", NULL,
				"out of memory");
	}
	for (int i = 0; i < n; i++) {
		struct sim_crowd_answer ans;
		struct asg *a;
		char worker[SIM_WORKER_ID_LEN + 1];
		char *boxes_json = NULL;
		int64_t delay = st->cfg.crowd_delay_ms;

		sim_worker_id(st->cfg.seed, picked[i], worker);
		if (sim_crowd_answer(st->cfg.seed, ann != NULL ? ann : h->id,
				     attempt, worker, &task, &ans,
				     &eb) != IF_OK) {
			rc = sim_fail(st, err, 500, "ServiceFault", NULL, "%s",
				      eb.msg);
			break;
		}
		a = calloc(1, sizeof(*a));
		boxes_json = sim_boxes_json(ans.boxes, ans.nboxes);
		if (a != NULL) {
			sim_new_id(st, a->id);
			snprintf(a->hit_id, sizeof(a->hit_id), "%s", h->id);
			a->worker_id = strdup(worker);
		}
		if (a == NULL || boxes_json == NULL || a->worker_id == NULL ||
		    sim_asg_add(st, h, a) != 0) {
			if (a != NULL)
				free(a->worker_id);
			free(a);
			free(boxes_json);
			sim_crowd_answer_cleanup(&ans);
			rc = sim_fail(st, err, 500, "ServiceFault", NULL,
				      "out of memory");
			break;
		}

		a->simulated = true;
		a->state = ASG_SUBMITTED;
		a->accept_ms = h->created_ms + delay * taken;
		a->submit_ms = a->accept_ms + delay;
		if (a->submit_ms > a->accept_ms + h->duration_s * 1000 - 1000)
			a->submit_ms =
				a->accept_ms + h->duration_s * 1000 - 1000;
		a->boxes = ans.boxes;
		a->nboxes = ans.nboxes;
		ans.boxes = NULL;
		{
			const char *names[] = {"boxes", "face_found",
					       "feedback"};
			const char *vals[] = {boxes_json,
					      ans.face_found ? "yes" : "no",
					      ans.feedback};
			char *big = NULL;

			if (taken == 0 && st->test_answer_bytes > 0 &&
			    (big = malloc(st->test_answer_bytes + 1)) != NULL) {
				memset(big, 'x', st->test_answer_bytes);
				big[st->test_answer_bytes] = '\0';
				vals[2] = big;
			}
			a->answer = sim_answer_xml(names, vals, 3);
			free(big);
		}
		free(boxes_json);
		sim_crowd_answer_cleanup(&ans);
		if (a->answer == NULL) {
			rc = sim_fail(st, err, 500, "ServiceFault", NULL,
				      "out of memory");
			break;
		}
		taken++;
	}
	free(picked);
	free(covered);
	return rc;
}
