/*
 * daemon/turk.c - what the stage machine asks of MTurk beyond one call:
 * the stage qualification types and HIT types (spec section 5,
 * exclusive_stages), the task page of a HIT, an answer turned into a
 * record, and what to do when a HIT has vanished.
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"

#include <stdlib.h>
#include <string.h>

/* The meta key naming the group the state's qualification types are of. */
#define META_QUAL_GROUP "qual_group"

/* "group NAME", or "the experiment's own" for none (NULL or ""). */
static void
qual_group_describe(const char *group, char *out, size_t len)
{
	if (group != NULL && group[0] != '\0')
		snprintf(out, len, "group %s", group);
	else
		snprintf(out, len, "the experiment's own");
}

int
run_quals_check(struct run_ctx *ctx, struct errbuf *eb)
{
	const char *want = ctx->exp->hit.group.name;
	char *had = NULL, id[ID_MAX], was[64], asked[64];
	bool any = false;
	int rc = IF_OK;

	if (state_meta_get(ctx->st, META_QUAL_GROUP, &had, eb) != IF_OK)
		return eb->code;
	/* A state from before groups: its types, if any, are its own. */
	for (int slot = 1; had == NULL && !any && slot <= EXP_STAGES_MAX;
	     slot++)
		if (store_qual_get(ctx->st, slot, id, sizeof(id), &any, eb) !=
		    IF_OK)
			return eb->code;
	if (had == NULL && !any)
		return IF_OK;
	if (strcmp(had != NULL ? had : "", want != NULL ? want : "") != 0) {
		qual_group_describe(had, was, sizeof(was));
		qual_group_describe(want, asked, sizeof(asked));
		rc = err_set(eb, IF_EINPUT,
			     "the state's stage qualification types are %s, "
			     "the file asks for %s: a worker's earlier stages "
			     "would be forgotten (keep hit.exclusivity_group "
			     "as it was, or start a new state)",
			     was, asked);
	}
	free(had);
	return rc;
}

/*
 * Creates (or finds, by name) the qualification type of every stage slot,
 * so that each HIT can require that its worker holds none of the others:
 * the experiment's stages, or with hit.exclusivity_group every slot of the
 * group, whichever experiment works in it.  Names are unique per requester
 * at MTurk, so the experiments of a group meet on the same types.  Stored
 * in the state so that a restart does not depend on name lookups.  A
 * remote failure fills cause, one of the state eb.
 */
static int
ensure_qual_types(struct run_ctx *ctx, struct errbuf *cause,
		  struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	const char *group = exp->hit.group.name;
	int slots = exp_qual_slots(exp);

	for (int k = 1; k <= slots; k++) {
		char name[128], desc[256];
		bool found = false;
		int rc;

		if (ctx->qual_type[k - 1][0] != '\0')
			continue;
		if (store_qual_get(ctx->st, k, ctx->qual_type[k - 1],
				   sizeof(ctx->qual_type[k - 1]), &found,
				   eb) != IF_OK)
			return eb->code;
		if (found)
			continue;
		exp_qual_slot_name(exp, k, name, sizeof(name));
		if (group != NULL)
			snprintf(desc, sizeof(desc),
				 "Worked on stage %d of the IntoFocus "
				 "experiments of group %s; keeps one worker "
				 "out of the group's other stages.",
				 k, group);
		else
			snprintf(desc, sizeof(desc),
				 "Worked on stage %d of IntoFocus experiment "
				 "%s; keeps one worker out of the "
				 "experiment's other stages.",
				 k, exp->name);
		ctx->api_calls++;
		rc = mturk_create_qualification_type(run_client(ctx), name,
						     desc,
						     ctx->qual_type[k - 1],
						     cause);
		if (rc != IF_OK) {
			ctx->qual_type[k - 1][0] = '\0';
			return rc;
		}
		if (state_meta_set(ctx->st, META_QUAL_GROUP,
				   group != NULL ? group : "", eb) != IF_OK ||
		    store_qual_put(ctx->st, k, ctx->qual_type[k - 1], eb) !=
			    IF_OK) {
			/* Made at MTurk; found again by its name next time. */
			ctx->qual_type[k - 1][0] = '\0';
			return eb->code;
		}
		log_info("%s: stage %d qualification type %s (\"%s\")",
			 exp->name, k, ctx->qual_type[k - 1], name);
	}
	return IF_OK;
}

static const char *
comparator_name(enum exp_comparator c)
{
	return exp_comparator_str(c);
}

int
stage_setup(struct run_ctx *ctx, int stage, struct errbuf *cause,
	    struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	struct mturk_qual_req reqs[EXP_QUALS_MAX + EXP_STAGES_MAX];
	int64_t *ints[EXP_QUALS_MAX] = {0};
	const char **countries[EXP_QUALS_MAX] = {0};
	struct mturk_hit_type t;
	struct buf keywords;
	size_t nreq = 0;
	int rc = IF_OK;

	if (ctx->hit_type[stage - 1][0] != '\0')
		return IF_OK;
	if (exp->hit.exclusive_stages &&
	    (rc = ensure_qual_types(ctx, cause, eb)) != IF_OK)
		return rc;
	for (size_t i = 0; i < exp->hit.nquals; i++) {
		const struct exp_qual *q = &exp->hit.quals[i];
		struct mturk_qual_req *r = &reqs[nreq++];
		memset(r, 0, sizeof(*r));
		r->qualification_type_id = q->id;
		r->comparator = comparator_name(q->comparator);
		if (q->nintegers > 0) {
			ints[i] = calloc(q->nintegers, sizeof(int64_t));
			if (ints[i] == NULL) {
				rc = err_set(cause, IF_ERUNTIME,
					     "out of memory");
				goto done;
			}
			for (size_t j = 0; j < q->nintegers; j++)
				ints[i][j] = q->integers[j];
			r->integer_values = ints[i];
			r->n_integer_values = q->nintegers;
		}
		if (q->nlocales > 0) {
			countries[i] = calloc(q->nlocales, sizeof(char *));
			if (countries[i] == NULL) {
				rc = err_set(cause, IF_ERUNTIME,
					     "out of memory");
				goto done;
			}
			for (size_t j = 0; j < q->nlocales; j++)
				countries[i][j] = q->locales[j].country;
			r->countries = countries[i];
			r->n_countries = q->nlocales;
		}
		r->actions_guarded = exp_guard_str(q->guard);
	}
	if (exp->hit.exclusive_stages)
		for (int k = 1; k <= exp_qual_slots(exp); k++) {
			struct mturk_qual_req *r;

			if (k == exp_qual_slot(exp, stage))
				continue;
			r = &reqs[nreq++];
			memset(r, 0, sizeof(*r));
			r->qualification_type_id = ctx->qual_type[k - 1];
			r->comparator = "DoesNotExist";
			/* Hidden from search too: no worker sees it twice. */
			r->actions_guarded = "DiscoverPreviewAndAccept";
		}
	if (nreq > EXP_QUALS_MAX) {
		rc = err_set(cause, IF_EINPUT,
			     "%zu qualification requirements, MTurk allows %d "
			     "(exclusive_stages adds one per other stage "
			     "slot)",
			     nreq, EXP_QUALS_MAX);
		goto done;
	}
	buf_init(&keywords, 4096);
	for (size_t i = 0; i < exp->hit.nkeywords; i++)
		buf_printf(&keywords, "%s%s", i > 0 ? ", " : "",
			   exp->hit.keywords[i]);
	memset(&t, 0, sizeof(t));
	t.title = exp->hit.title;
	t.description = exp->hit.description;
	t.keywords = keywords.len > 0 ? keywords.data : NULL;
	t.reward_cents = exp->hit.reward_cents;
	t.assignment_duration = exp->hit.assignment_duration;
	t.auto_approval_delay = exp->hit.auto_approval_delay;
	t.quals = reqs;
	t.n_quals = nreq;
	ctx->api_calls++;
	rc = mturk_create_hit_type(run_client(ctx), &t,
				   ctx->hit_type[stage - 1], cause);
	buf_cleanup(&keywords);
	if (rc != IF_OK)
		ctx->hit_type[stage - 1][0] = '\0';
done:
	for (size_t i = 0; i < EXP_QUALS_MAX; i++) {
		free(ints[i]);
		free(countries[i]);
	}
	return rc;
}

int
answer_to_record(const char *xml, int w, int h, struct parsed_answer *pa,
		 struct errbuf *why)
{
	struct answer a;
	enum answer_error err = ANSWER_OK;
	struct errbuf eb = {0};
	int rc;

	memset(pa, 0, sizeof(*pa));
	answer_init(&a);
	rc = answer_parse(xml, strlen(xml), w, h, &a, &err, &eb);
	if (rc != IF_OK) {
		answer_cleanup(&a);
		return err_set(why, IF_EINPUT, "%s: %s", answer_error_str(err),
			       eb.msg);
	}
	rc = boxes_conf_to_json(a.boxes, a.confidence, a.nboxes,
				&pa->boxes_json, why);
	if (rc == IF_OK) {
		struct box image = {0, 0, w, h};

		pa->nboxes = a.nboxes;
		pa->union_share = box_coverage(&image, a.boxes, a.nboxes);
		pa->feedback = strdup(a.feedback != NULL ? a.feedback : "");
		if (pa->feedback == NULL)
			rc = err_set(why, IF_ERUNTIME, "out of memory");
	}
	snprintf(pa->face_found, sizeof(pa->face_found), "%s",
		 a.face_found ? "yes" : "no");
	answer_cleanup(&a);
	if (rc != IF_OK)
		parsed_answer_cleanup(pa);
	return rc;
}

void
parsed_answer_cleanup(struct parsed_answer *pa)
{
	free(pa->boxes_json);
	free(pa->feedback);
	pa->boxes_json = NULL;
	pa->feedback = NULL;
}

int
task_question(struct run_ctx *ctx, const struct image_rec *im,
	      const char *image_url, struct buf *out, struct errbuf *eb)
{
	const struct exp_image *ei = run_exp_image(ctx, im->id);
	struct task_page page;

	if (ei == NULL)
		return err_set(eb, IF_EINPUT, "image %s left the experiment",
			       im->id);
	memset(&page, 0, sizeof(page));
	page.image_url = image_url;
	page.width = ei->width;
	page.height = ei->height;
	page.stage = im->stage;
	page.nstages = (int)ctx->exp->nstages;
	page.title = ctx->exp->task.title;
	page.instructions = ctx->exp->task.instructions;
	page.face_question = ctx->exp->task.face_question;
	page.confidence = ctx->exp->task.confidence;
	page.confidence_label = ctx->exp->task.confidence_label;
	return task_page_question(&page, out, eb);
}
