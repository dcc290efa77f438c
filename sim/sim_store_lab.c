/*
 * sim/sim_store_lab.c - the store's side of lab mode (spec section 6): the
 * open HITs a participant may take, accepting one and submitting its
 * answer.  The pages are sim_lab.c's; every change is saved before the
 * page says it is done.
 */
#include "sim/sim_private.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Saves a participant's change before the page says it is done. */
static int
lab_save(struct sim_store *st, char *why, size_t whylen)
{
	struct errbuf eb;

	err_init(&eb);
	if (sim_save_changes(st, &eb) == IF_OK)
		return 0;
	log_warnx("simulator: lab: %s", eb.msg);
	snprintf(why, whylen, "The simulator could not save this; please try "
			      "again.");
	return -1;
}

/* Why a page failed when the database could not be read. */
#define LAB_UNREADABLE                                                     \
	"The server could not read its state; please try again."

/* The HITs listed at once: the index is read in pages of this many. */
#define LAB_PAGE 256

/* Fills l from the open HIT h; the lock held. */
static void
lab_hit_fill(struct sim_store *st, struct hit *h, int64_t now,
	     struct sim_lab_hit *l)
{
	struct hit_counts c = sim_hit_counts(st, h, now);
	const char *s;
	json_t *vals = NULL;

	/*
	 * Title and reward are the HIT type's (in memory): the list reads
	 * no HIT's payload from the database.
	 */
	for (size_t k = 0; k < st->ntypes && vals == NULL; k++)
		if (strcmp(st->types[k]->id, h->type_id) == 0)
			vals = json_incref(st->types[k]->vals);
	if (vals == NULL)
		vals = sim_hit_vals(st, h);
	snprintf(l->hit_id, sizeof(l->hit_id), "%s", h->id);
	s = json_string_value(json_object_get(vals, "Title"));
	snprintf(l->title, sizeof(l->title), "%s", s != NULL ? s : "");
	snprintf(l->annotation, sizeof(l->annotation), "%s",
		 h->ann != NULL ? h->ann : "");
	s = json_string_value(json_object_get(vals, "Reward"));
	snprintf(l->reward, sizeof(l->reward), "%s", s != NULL ? s : "");
	json_decref(vals);
	l->available = c.available;
	l->max = h->max;
	l->expiration_ms = h->expiration_ms;
}

/* The open HITs (not deleted, not expired), from the index. */
int
sim_store_lab_list(struct sim_store *st, struct sim_lab_hit **out, size_t *n)
{
	struct sim_db_hit_ref *refs = calloc(LAB_PAGE, sizeof(*refs));
	struct sim_db_hits_args args;
	size_t got, cap = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (refs == NULL)
		return -1;
	memset(&args, 0, sizeof(args));
	args.limit = LAB_PAGE;
	pthread_mutex_lock(&st->mu);
	args.now_ms = sim_store_now_ms(st);
	do {
		if (sim_store_hits(st, SIM_DB_OPEN, &args, refs, &got) != 0) {
			rc = -1;
			break;
		}
		if (*n + got + 1 > cap) {
			struct sim_lab_hit *grown;

			cap = (*n + got + 1) * 2;
			grown = realloc(*out, cap * sizeof(*grown));
			if (grown == NULL) {
				rc = -1;
				break;
			}
			*out = grown;
		}
		for (size_t i = 0; rc == 0 && i < got; i++) {
			struct hit *h;

			args.after_seq = refs[i].seq;
			if (sim_find_hit(st, refs[i].id, &h) != 0) {
				rc = -1;
				break;
			}
			if (h == NULL)
				continue;
			memset(&(*out)[*n], 0, sizeof(**out));
			lab_hit_fill(st, h, args.now_ms, &(*out)[(*n)++]);
		}
		/* Every open HIT is read: a page at a time in memory. */
		sim_store_trim(st);
	} while (rc == 0 && got == LAB_PAGE);
	sim_store_unlock(st);
	free(refs);
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int
sim_store_lab_question(struct sim_store *st, const char *hit_id,
		       char **question)
{
	struct hit *h;
	const char *q;
	json_t *vals = NULL;
	int rc = -1;

	*question = NULL;
	pthread_mutex_lock(&st->mu);
	if (sim_find_hit(st, hit_id, &h) != 0)
		goto out;
	rc = 0;
	if (h == NULL || h->deleted)
		goto out;
	/* Its values are there (written with it): none is a failure. */
	vals = sim_hit_vals(st, h);
	q = json_string_value(json_object_get(vals, "Question"));
	if (q == NULL || (*question = strdup(q)) == NULL)
		rc = -1;
out:
	json_decref(vals);
	sim_store_unlock(st);
	return rc;
}

int
sim_store_lab_accept(struct sim_store *st, const char *hit_id,
		     const char *worker_id, char assignment_id[SIM_ID_LEN + 1],
		     char *why, size_t whylen)
{
	struct hit *h;
	struct hit_counts c;
	struct asg *a;
	int64_t now;
	bool eligible;
	int rc;

	pthread_mutex_lock(&st->mu);
	now = sim_store_now_ms(st);
	if (sim_find_hit(st, hit_id, &h) != 0) {
		snprintf(why, whylen, LAB_UNREADABLE);
		rc = -1;
		goto out;
	}
	rc = 1;
	if (h == NULL || h->deleted) {
		snprintf(why, whylen, "This HIT does not exist.");
		goto out;
	}
	/* One assignment per worker per HIT, as on MTurk. */
	for (size_t i = 0; i < h->nasgs; i++) {
		a = h->asgs[i];
		if (strcmp(a->worker_id, worker_id) != 0)
			continue;
		enum asg_state s = sim_asg_settle(st, a, h, now);
		if (s == ASG_ACCEPTED) {
			snprintf(assignment_id, SIM_ID_LEN + 1, "%s", a->id);
			rc = 0;
			goto out;
		}
		if (s != ASG_ABANDONED) {
			snprintf(why, whylen,
				 "You have already worked on this HIT.");
			goto out;
		}
	}
	if (now >= h->expiration_ms) {
		snprintf(why, whylen, "This HIT has expired.");
		goto out;
	}
	if (sim_worker_eligible(st, h->quals, worker_id, &eligible) != 0) {
		snprintf(why, whylen, LAB_UNREADABLE);
		rc = -1;
		goto out;
	}
	if (!eligible) {
		snprintf(why, whylen, "You do not meet the qualification "
				      "requirements of this HIT.");
		goto out;
	}
	c = sim_hit_counts(st, h, now);
	if (c.available <= 0) {
		snprintf(why, whylen, "There are no more assignments available "
				      "for this HIT.");
		goto out;
	}
	a = calloc(1, sizeof(*a));
	if (a != NULL) {
		sim_new_id(st, a->id);
		snprintf(a->hit_id, sizeof(a->hit_id), "%s", h->id);
		a->worker_id = strdup(worker_id);
		a->state = ASG_ACCEPTED;
		a->accept_ms = now;
	}
	if (a == NULL || a->worker_id == NULL || sim_asg_add(st, h, a) != 0) {
		sim_asg_free(a);
		snprintf(why, whylen, "Out of memory.");
		rc = -1;
		goto out;
	}
	snprintf(assignment_id, SIM_ID_LEN + 1, "%s", a->id);
	rc = 0;
out:
	if (lab_save(st, why, whylen) != 0)
		rc = -1;
	sim_store_unlock(st);
	return rc;
}

static int
lab_submit(struct sim_store *st, const char *assignment_id,
	   const char *holder, char *answer_xml, const char *boxes_json,
	   char *worker_id, size_t worker_len, char *why, size_t whylen)
{
	struct asg *a;
	struct hit *h = NULL;
	int rc = -1;
	int64_t now;

	worker_id[0] = '\0';
	pthread_mutex_lock(&st->mu);
	now = sim_store_now_ms(st);
	if (sim_find_asg(st, assignment_id, &a) != 0 ||
	    (a != NULL && sim_find_hit(st, a->hit_id, &h) != 0)) {
		snprintf(why, whylen, LAB_UNREADABLE);
		goto out;
	}
	rc = 1;
	if (a == NULL || h == NULL || a->simulated ||
	    (holder != NULL && strcmp(a->worker_id, holder) != 0)) {
		snprintf(why, whylen, "Unknown assignment.");
		goto out;
	}
	switch (sim_asg_settle(st, a, h, now)) {
	case ASG_ACCEPTED:
		break;
	case ASG_ABANDONED:
		snprintf(why, whylen, "The time allotted for this assignment "
				      "has expired.");
		goto out;
	default:
		snprintf(why, whylen, "This assignment was already submitted.");
		goto out;
	}
	/* Its payload changes: the rest of it is saved with it. */
	if (sim_asg_load(st, a) != 0) {
		snprintf(why, whylen, LAB_UNREADABLE);
		rc = -1;
		goto out;
	}
	free(a->answer);
	free(a->boxes);
	a->boxes = NULL;
	a->nboxes = 0;
	a->state = ASG_SUBMITTED;
	a->submit_ms = now;
	snprintf(worker_id, worker_len, "%s", a->worker_id);
	a->answer = answer_xml;
	answer_xml = NULL;
	sim_boxes_parse(boxes_json, &a->boxes, &a->nboxes);
	sim_touch_asg(st, a);
	rc = 0;
out:
	if (lab_save(st, why, whylen) != 0)
		rc = -1;
	sim_store_unlock(st);
	free(answer_xml);
	return rc;
}

int
sim_store_lab_submit(struct sim_store *st, const char *assignment_id,
		     char *answer_xml, const char *boxes_json, char *worker_id,
		     size_t worker_len, char *why, size_t whylen)
{
	return lab_submit(st, assignment_id, NULL, answer_xml, boxes_json,
			  worker_id, worker_len, why, whylen);
}

/* ---- people only ("intofocus serve"): the participant is the session's - */

int
sim_store_people_submit(struct sim_store *st, const char *worker_id,
			const char *assignment_id, char *answer_xml,
			const char *boxes_json, char *why, size_t whylen)
{
	char holder[256];

	return lab_submit(st, assignment_id, worker_id, answer_xml, boxes_json,
			  holder, sizeof(holder), why, whylen);
}

/*
 * The participant's open assignment (settled now; the newest if there
 * were several) and how many they submitted; the lock held.  Their own
 * assignments only, through the index by worker.
 */
static int
people_standing(struct sim_store *st, const char *worker_id, int64_t now,
		int *submitted, struct asg **openp)
{
	struct asg *open = NULL, **mine = NULL;
	size_t nmine = 0;

	*submitted = 0;
	*openp = NULL;
	if (sim_find_asgs_by_worker(st, worker_id, &mine, &nmine) != 0)
		return -1;
	for (size_t i = 0; i < nmine; i++) {
		struct asg *a = mine[i];
		struct hit *h;
		enum asg_state s;

		if (a->simulated)
			continue;
		if (sim_find_hit(st, a->hit_id, &h) != 0) {
			free(mine);
			return -1;
		}
		if (h == NULL)
			continue;
		s = sim_asg_settle(st, a, h, now);
		if (s == ASG_ACCEPTED && !h->deleted) {
			if (open == NULL)
				open = a;
		} else if (s == ASG_SUBMITTED || s == ASG_APPROVED ||
			 s == ASG_REJECTED)
			(*submitted)++;
	}
	free(mine);
	*openp = open;
	return 0;
}

/* Whether worker_id has an assignment of h, in any state but abandoned. */
static bool
people_worked_on(struct sim_store *st, struct hit *h, const char *worker_id,
		 int64_t now)
{
	for (size_t i = 0; i < h->nasgs; i++) {
		struct asg *a = h->asgs[i];

		if (strcmp(a->worker_id, worker_id) == 0 &&
		    sim_asg_settle(st, a, h, now) != ASG_ABANDONED)
			return true;
	}
	return false;
}

/* The candidates sim_store_people_take() reads from the index at once. */
#define TAKE_PAGE 64

/* The oldest HIT worker_id may take now, or NULL; -1 when unreadable. */
static int
people_pick(struct sim_store *st, const char *worker_id, int64_t now,
	    struct hit **pick)
{
	struct sim_db_hit_ref refs[TAKE_PAGE];
	struct sim_db_hits_args args;
	size_t got;

	*pick = NULL;
	memset(&args, 0, sizeof(args));
	args.now_ms = now;
	args.worker_id = worker_id;
	args.limit = TAKE_PAGE;
	do {
		/*
		 * The last page's HITs are saved (sim_store_hits() saves
		 * first) and none is kept: the working set may be dropped,
		 * so that a participant refused by page after page holds
		 * one page at a time, not every HIT passed over.
		 */
		if (sim_store_hits(st, SIM_DB_TAKEABLE, &args, refs, &got) !=
		    0)
			return -1;
		sim_store_trim(st);
		for (size_t i = 0; i < got; i++) {
			struct hit *h;
			bool eligible = false;

			args.after_seq = refs[i].seq;
			if (sim_find_hit(st, refs[i].id, &h) != 0)
				return -1;
			if (h == NULL || h->deleted ||
			    now >= h->expiration_ms ||
			    sim_hit_counts(st, h, now).available <= 0 ||
			    people_worked_on(st, h, worker_id, now))
				continue;
			if (sim_worker_eligible(st, h->quals, worker_id,
						&eligible) != 0)
				return -1;
			if (!eligible)
				continue;
			*pick = h;
			return 0;
		}
	} while (got == TAKE_PAGE);
	return 0;
}

int
sim_store_people_status(struct sim_store *st, const char *worker_id,
			char open_asg[SIM_ID_LEN + 1], int *submitted)
{
	struct asg *a;
	int rc;

	open_asg[0] = '\0';
	pthread_mutex_lock(&st->mu);
	rc = people_standing(st, worker_id, sim_store_now_ms(st), submitted,
			     &a);
	if (a != NULL)
		snprintf(open_asg, SIM_ID_LEN + 1, "%s", a->id);
	sim_store_unlock(st);
	return rc;
}

int
sim_store_people_take(struct sim_store *st, const char *worker_id,
		      int share, bool peek, char assignment_id[SIM_ID_LEN + 1],
		      char *why, size_t whylen)
{
	struct asg *open, *a;
	struct hit *pick = NULL;
	int64_t now;
	int submitted, rc = 1;

	assignment_id[0] = '\0';
	pthread_mutex_lock(&st->mu);
	now = sim_store_now_ms(st);
	if (people_standing(st, worker_id, now, &submitted, &open) != 0) {
		snprintf(why, whylen, "The server could not read its state; "
				      "please try again.");
		rc = -1;
		goto out;
	}
	if (open != NULL) {
		/* One open assignment at a time: the same one again. */
		snprintf(assignment_id, SIM_ID_LEN + 1, "%s", open->id);
		rc = 0;
		goto out;
	}
	if (share > 0 && submitted >= share)
		goto out;
	/*
	 * The oldest HIT the participant may take: the server chooses.  The
	 * index gives the candidates (open, not full once settled, not
	 * held or done by them); each is checked as before.
	 */
	if (people_pick(st, worker_id, now, &pick) != 0) {
		snprintf(why, whylen, "The server could not read its state; "
				      "please try again.");
		rc = -1;
		goto out;
	}
	if (pick == NULL)
		goto out;
	rc = 0;
	if (peek)
		goto out;
	a = calloc(1, sizeof(*a));
	if (a != NULL) {
		sim_new_id(st, a->id);
		snprintf(a->hit_id, sizeof(a->hit_id), "%s", pick->id);
		a->worker_id = strdup(worker_id);
		a->state = ASG_ACCEPTED;
		a->accept_ms = now;
	}
	if (a == NULL || a->worker_id == NULL ||
	    sim_asg_add(st, pick, a) != 0) {
		sim_asg_free(a);
		snprintf(why, whylen, "Out of memory.");
		rc = -1;
		goto out;
	}
	snprintf(assignment_id, SIM_ID_LEN + 1, "%s", a->id);
	rc = 0;
	if (lab_save(st, why, whylen) != 0)
		rc = -1;
out:
	sim_store_unlock(st);
	return rc;
}

int
sim_store_people_task(struct sim_store *st, const char *worker_id,
		      const char *assignment_id, char **question,
		      char hit_id[SIM_ID_LEN + 1])
{
	struct asg *a;
	struct hit *h = NULL;
	const char *q = NULL;
	json_t *vals = NULL;
	int64_t now;
	int rc = 0;

	*question = NULL;
	pthread_mutex_lock(&st->mu);
	now = sim_store_now_ms(st);
	if (sim_find_asg(st, assignment_id, &a) != 0 ||
	    (a != NULL && sim_find_hit(st, a->hit_id, &h) != 0)) {
		rc = -1;
		goto out;
	}
	if (a == NULL || h == NULL || a->simulated || h->deleted ||
	    strcmp(a->worker_id, worker_id) != 0 ||
	    sim_asg_settle(st, a, h, now) != ASG_ACCEPTED)
		goto out;
	/* Its values are there (written with it): none is a failure. */
	vals = sim_hit_vals(st, h);
	q = json_string_value(json_object_get(vals, "Question"));
	if (q == NULL || (*question = strdup(q)) == NULL)
		rc = -1;
	else
		snprintf(hit_id, SIM_ID_LEN + 1, "%s", h->id);
out:
	json_decref(vals);
	sim_store_unlock(st);
	return rc;
}

int
sim_store_people_object(struct sim_store *st, const char *path, size_t len,
			bool *found)
{
	struct object *o;
	int rc;

	pthread_mutex_lock(&st->mu);
	rc = sim_find_object(st, path, len, &o);
	*found = o != NULL;
	sim_store_unlock(st);
	return rc;
}
