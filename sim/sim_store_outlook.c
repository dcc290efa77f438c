/*
 * sim/sim_store_outlook.c - whether a task can still come for a
 * participant of "intofocus serve" who has none to take now, from what
 * the server knows: the experiments it was given (images, stages, HIT
 * lifetime and extensions, exclusive stages), the HITs it holds and
 * their expiry, and the participant's qualifications.
 *
 * A task can come from
 *   - a HIT held now that they have not worked on, open (not deleted,
 *     not expired), with answers missing, and not closed to them for
 *     good: its assignments held by others may come back, and a
 *     qualification they lack may be granted; a DoesNotExist requirement
 *     on a type they hold is for good (the daemon never takes a grant
 *     back).  It lasts until its expiry and, for a known experiment,
 *     max_extensions x lifetime more (an extension gives at most
 *     lifetime from near the expiry);
 *   - a stage not posted yet of a known experiment's image: a stage
 *     after the image's newest HIT, unless they hold the slot of another
 *     stage of its exclusivity group (the daemon grants each stage's
 *     slot to those who answered, and every HIT keeps out the holders of
 *     the other slots); an experiment the server was not given counts as
 *     having every stage to come;
 * so long as the experiment has not stopped: no HIT of it open and none
 * posted for sim_outlook_quiet_ms() (a daemon stopped for good, images
 * failed or paused on the budget).  Otherwise they are done.
 *
 * Each image's newest stage is learned once per HIT, in the order of
 * creation, from the HIT index (a cursor), so that a look reads only the
 * HITs created since the last one; what it keeps is a byte per image of
 * the experiments given, as the experiment files themselves are held.
 */
#include "sim/sim_outlook.h"

#include <stdlib.h>
#include <string.h>

#define OUTLOOK_PAGE 256
#define OUTLOOK_STAGES_MAX 16
/* The experiment keys' defaults, for HITs of an experiment not given. */
#define OUTLOOK_DEFAULT_LIFETIME_S 86400
#define OUTLOOK_DEFAULT_EXTENSIONS 3
#define OUTLOOK_DEFAULT_POLL_S 30
#define OUTLOOK_RENDER_MARGIN_MS (3600LL * 1000)

struct outlook_study {
	char *name;
	size_t name_len;
	char **ids;		/* sorted */
	unsigned char *stages;	/* of ids[i] */
	unsigned char *newest;	/* the newest stage posted of ids[i] */
	size_t nimages;
	/* Images with at least s stages whose newest stage is below s. */
	size_t to_post[OUTLOOK_STAGES_MAX + 1];
	int64_t lifetime_ms, extend_ms, quiet_ms;
	char **slot_names;
	size_t nslots;
	int stage_slot[OUTLOOK_STAGES_MAX];
	int64_t last_created_ms; /* 0: none seen */
};

struct sim_outlook {
	struct outlook_study *studies;
	size_t nstudies;
	/* The HIT index read up to here (its seq). */
	int64_t cursor;
	/* A HIT of an experiment not given was seen (or none is given). */
	bool unknown_seen;
	int64_t unknown_last_created_ms;
	/* The first look, the sign of life of a study with no HIT yet. */
	int64_t first_look_ms;
};

int64_t
sim_outlook_quiet_ms(int64_t lifetime_s, int max_extensions,
		     int64_t poll_interval_s)
{
	return lifetime_s * 1000 * (1 + (int64_t)max_extensions) +
	       2 * poll_interval_s * 1000 + OUTLOOK_RENDER_MARGIN_MS;
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
study_cleanup(struct outlook_study *s)
{
	for (size_t i = 0; s->ids != NULL && i < s->nimages; i++)
		free(s->ids[i]);
	for (size_t i = 0; s->slot_names != NULL && i < s->nslots; i++)
		free(s->slot_names[i]);
	free(s->ids);
	free(s->stages);
	free(s->newest);
	free(s->slot_names);
	free(s->name);
}

void
sim_outlook_free(struct sim_outlook *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->nstudies; i++)
		study_cleanup(&o->studies[i]);
	free(o->studies);
	free(o);
}

/* The image index of id in s, or -1. */
static long
study_image(const struct outlook_study *s, const char *id, size_t len)
{
	size_t lo = 0, hi = s->nimages;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(s->ids[mid], id, len);

		if (c == 0 && s->ids[mid][len] != '\0')
			c = 1;
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int
study_copy(struct outlook_study *d, const struct sim_people_study *s)
{
	int64_t lifetime_s = s->lifetime_s > 0 ? s->lifetime_s
					       : OUTLOOK_DEFAULT_LIFETIME_S;
	int ext = s->max_extensions >= 0 ? s->max_extensions : 0;

	d->name = strdup(s->name != NULL ? s->name : "");
	d->ids = calloc(s->nimages + 1, sizeof(*d->ids));
	d->stages = calloc(s->nimages + 1, 1);
	d->newest = calloc(s->nimages + 1, 1);
	d->slot_names = calloc(s->nslots + 1, sizeof(*d->slot_names));
	if (d->name == NULL || d->ids == NULL || d->stages == NULL ||
	    d->newest == NULL || d->slot_names == NULL)
		return -1;
	d->name_len = strlen(d->name);
	d->nimages = s->nimages;
	for (size_t i = 0; i < s->nimages; i++)
		if ((d->ids[i] = strdup(s->image_ids[i])) == NULL)
			return -1;
	/* Sorted ids, each with its stages (found again after the sort). */
	qsort(d->ids, d->nimages, sizeof(*d->ids), id_cmp);
	for (size_t i = 0; i < s->nimages; i++) {
		long k = study_image(d, s->image_ids[i],
				     strlen(s->image_ids[i]));
		int n = s->image_stages[i];

		if (n < 1)
			n = 1;
		if (n > OUTLOOK_STAGES_MAX)
			n = OUTLOOK_STAGES_MAX;
		d->stages[k] = (unsigned char)n;
	}
	for (size_t i = 0; i < d->nimages; i++)
		for (int st = 1; st <= d->stages[i]; st++)
			d->to_post[st]++;
	d->nslots = s->nslots;
	for (size_t i = 0; i < s->nslots; i++)
		if ((d->slot_names[i] = strdup(s->slot_names[i])) == NULL)
			return -1;
	/* A stage past those given has no slot: nobody holding one sees it. */
	for (size_t k = 0; k < OUTLOOK_STAGES_MAX; k++)
		d->stage_slot[k] = s->nslots > 0 && k < s->nstages
					   ? s->stage_slot[k]
					   : -1;
	d->lifetime_ms = lifetime_s * 1000;
	d->extend_ms = d->lifetime_ms * ext;
	d->quiet_ms = sim_outlook_quiet_ms(lifetime_s, ext,
					   s->poll_interval_s > 0
						   ? s->poll_interval_s
						   : OUTLOOK_DEFAULT_POLL_S);
	return 0;
}

struct sim_outlook *
sim_outlook_new(const struct sim_people_study *studies, size_t n,
		struct errbuf *eb)
{
	struct sim_outlook *o = calloc(1, sizeof(*o));

	if (o == NULL || (n > 0 && (o->studies = calloc(n, sizeof(
					    *o->studies))) == NULL))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		o->nstudies++;
		if (study_copy(&o->studies[i], &studies[i]) != 0)
			goto oom;
	}
	/* With no study given, every HIT is of an experiment not known. */
	o->unknown_seen = n == 0;
	return o;
oom:
	sim_outlook_free(o);
	err_set(eb, IF_ERUNTIME, "out of memory");
	return NULL;
}

/*
 * The study of annotation ann ("<name>/<image>/<stage>"), with the image
 * and stage; NULL when it is not one of theirs.
 */
static struct outlook_study *
study_of(struct sim_outlook *o, const char *ann, long *image, int *stage)
{
	const char *img, *slash;
	char *end;
	long k;

	*image = -1;
	*stage = 0;
	if (ann == NULL)
		return NULL;
	img = strchr(ann, '/');
	if (img == NULL)
		return NULL;
	for (size_t i = 0; i < o->nstudies; i++) {
		struct outlook_study *s = &o->studies[i];

		if ((size_t)(img - ann) != s->name_len ||
		    memcmp(ann, s->name, s->name_len) != 0)
			continue;
		slash = strrchr(img + 1, '/');
		if (slash != NULL) {
			k = strtol(slash + 1, &end, 10);
			if (*end == '\0' && k >= 1 && k <= OUTLOOK_STAGES_MAX) {
				*image = study_image(s, img + 1,
						     (size_t)(slash - img - 1));
				*stage = (int)k;
			}
		}
		return s;
	}
	return NULL;
}

/* Learns what the HITs created since the last look posted; lock held. */
static int
outlook_catch_up(struct sim_store *st, struct sim_outlook *o, int64_t now)
{
	struct sim_db_hit_ref refs[OUTLOOK_PAGE];
	struct sim_db_hits_args args;
	size_t got;

	memset(&args, 0, sizeof(args));
	args.now_ms = now;
	args.limit = OUTLOOK_PAGE;
	do {
		args.after_seq = o->cursor;
		if (sim_store_hits(st, SIM_DB_LIVE, &args, refs, &got) != 0)
			return -1;
		for (size_t i = 0; i < got; i++) {
			struct hit *h;
			struct outlook_study *s;
			long img;
			int stage;

			if (sim_find_hit(st, refs[i].id, &h) != 0)
				return -1;
			o->cursor = refs[i].seq;
			if (h == NULL)
				continue;
			s = study_of(o, h->ann, &img, &stage);
			if (s == NULL) {
				o->unknown_seen = true;
				if (h->created_ms > o->unknown_last_created_ms)
					o->unknown_last_created_ms =
						h->created_ms;
				continue;
			}
			if (h->created_ms > s->last_created_ms)
				s->last_created_ms = h->created_ms;
			if (img < 0 || stage <= s->newest[img])
				continue;
			for (int k = s->newest[img] + 1; k <= stage; k++)
				if (k <= s->stages[img])
					s->to_post[k]--;
			s->newest[img] = (unsigned char)stage;
		}
		sim_store_trim(st);
	} while (got == OUTLOOK_PAGE);
	return 0;
}

/*
 * Whether a requirement of h keeps worker out for good: 1 if so, 0 if
 * not, -1 when the grants cannot be read.
 */
static int
closed_for_good(struct sim_store *st, const struct hit *h,
		const char *worker)
{
	size_t i;
	json_t *r;

	json_array_foreach(h->quals, i, r) {
		const char *qid = json_string_value(
			json_object_get(r, "QualificationTypeId"));
		const char *cmp =
			json_string_value(json_object_get(r, "Comparator"));
		struct grant *g = NULL;

		if (qid == NULL || cmp == NULL ||
		    strcmp(cmp, "DoesNotExist") != 0 ||
		    sim_find_qtype(st, qid) == NULL)
			continue;
		if (sim_find_grant(st, qid, worker, &g) != 0)
			return -1;
		if (g != NULL)
			return 1;
	}
	return 0;
}

/*
 * The latest a held HIT can give worker a task: its end, or 0 when none
 * can; *unbounded when its experiment (and so its extensions) is not
 * known.  Lock held.
 */
static int
held_hits(struct sim_store *st, struct sim_outlook *o, const char *worker,
	  int64_t now, int64_t *until, bool *unbounded)
{
	struct sim_db_hit_ref refs[OUTLOOK_PAGE];
	struct sim_db_hits_args args;
	size_t got;

	*until = 0;
	*unbounded = false;
	memset(&args, 0, sizeof(args));
	args.now_ms = now;
	args.worker_id = worker;
	args.limit = OUTLOOK_PAGE;
	do {
		/* Open, answers missing, not held nor done by worker. */
		if (sim_store_hits(st, SIM_DB_TAKEABLE, &args, refs, &got) !=
		    0)
			return -1;
		for (size_t i = 0; i < got; i++) {
			struct hit *h;
			struct outlook_study *s;
			int64_t end;
			long img;
			int stage, closed;

			args.after_seq = refs[i].seq;
			if (sim_find_hit(st, refs[i].id, &h) != 0)
				return -1;
			if (h == NULL || h->deleted ||
			    now >= h->expiration_ms)
				continue;
			closed = closed_for_good(st, h, worker);
			if (closed < 0)
				return -1;
			if (closed)
				continue;
			s = study_of(o, h->ann, &img, &stage);
			if (s == NULL)
				*unbounded = true;
			end = h->expiration_ms + (s != NULL ? s->extend_ms : 0);
			if (end > *until)
				*until = end;
		}
		sim_store_trim(st);
	} while (got == OUTLOOK_PAGE);
	return 0;
}

/*
 * Whether an open HIT belongs to study s (NULL: to an experiment not
 * given).  Read only once the study has been quiet long enough.
 */
static int
any_open(struct sim_store *st, struct sim_outlook *o,
	 const struct outlook_study *s, int64_t now, bool *open)
{
	struct sim_db_hit_ref refs[OUTLOOK_PAGE];
	struct sim_db_hits_args args;
	size_t got;

	*open = false;
	memset(&args, 0, sizeof(args));
	args.now_ms = now;
	args.limit = OUTLOOK_PAGE;
	do {
		if (sim_store_hits(st, SIM_DB_OPEN, &args, refs, &got) != 0)
			return -1;
		for (size_t i = 0; i < got && !*open; i++) {
			struct hit *h;
			long img;
			int stage;

			args.after_seq = refs[i].seq;
			if (sim_find_hit(st, refs[i].id, &h) != 0)
				return -1;
			if (h != NULL && !h->deleted &&
			    now < h->expiration_ms &&
			    study_of(o, h->ann, &img, &stage) == s)
				*open = true;
		}
		sim_store_trim(st);
	} while (got == OUTLOOK_PAGE && !*open);
	return 0;
}

/* Whether study s (NULL: the experiments not given) has stopped. */
static int
stopped(struct sim_store *st, struct sim_outlook *o,
	const struct outlook_study *s, int64_t now, bool *out)
{
	int64_t last = s != NULL ? s->last_created_ms
				 : o->unknown_last_created_ms;
	int64_t quiet = s != NULL ? s->quiet_ms
				  : sim_outlook_quiet_ms(
					    OUTLOOK_DEFAULT_LIFETIME_S,
					    OUTLOOK_DEFAULT_EXTENSIONS,
					    OUTLOOK_DEFAULT_POLL_S);
	bool open;

	*out = false;
	if (last < o->first_look_ms)
		last = o->first_look_ms;
	if (now < last + quiet)
		return 0;
	if (any_open(st, o, s, now, &open) != 0)
		return -1;
	*out = !open;
	return 0;
}

/*
 * Whether worker may still be given a stage of s not posted yet (*out):
 * one whose slot is the only one they hold of its group; -1 when the
 * grants cannot be read.
 */
static int
stage_to_come(struct sim_store *st, const struct outlook_study *s,
	      const char *worker, bool *out)
{
	bool held[OUTLOOK_STAGES_MAX] = {false};
	size_t nheld = 0;

	*out = false;
	for (size_t j = 0; j < s->nslots && j < OUTLOOK_STAGES_MAX; j++)
		for (size_t q = 0; q < st->nqtypes; q++) {
			const char *name = json_string_value(json_object_get(
				st->qtypes[q]->obj, "Name"));
			struct grant *g = NULL;

			if (name == NULL ||
			    strcmp(name, s->slot_names[j]) != 0)
				continue;
			if (sim_find_grant(st, st->qtypes[q]->id, worker,
					   &g) != 0)
				return -1;
			if (g != NULL) {
				held[j] = true;
				nheld++;
				break;
			}
		}
	for (int k = 1; k <= OUTLOOK_STAGES_MAX; k++) {
		int slot = s->nslots > 0 ? s->stage_slot[k - 1] : -1;

		if (s->to_post[k] == 0)
			continue;
		if (nheld == 0 ||
		    (slot >= 0 && slot < OUTLOOK_STAGES_MAX && held[slot] &&
		     nheld == 1)) {
			*out = true;
			return 0;
		}
	}
	return 0;
}

int
sim_store_people_outlook(struct sim_store *st, struct sim_outlook *o,
			 const char *worker_id,
			 struct sim_outlook_verdict *out)
{
	int64_t now, until;
	bool unbounded, to_come = false, quiet;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->mu);
	now = sim_store_now_ms(st);
	out->now_ms = now;
	if (o->first_look_ms == 0)
		o->first_look_ms = now;
	if (outlook_catch_up(st, o, now) != 0 ||
	    held_hits(st, o, worker_id, now, &until, &unbounded) != 0)
		goto out;
	for (size_t i = 0; i < o->nstudies && !to_come; i++) {
		struct outlook_study *s = &o->studies[i];
		bool may_come;

		if (stage_to_come(st, s, worker_id, &may_come) != 0)
			goto out;
		if (!may_come)
			continue;
		if (stopped(st, o, s, now, &quiet) != 0)
			goto out;
		to_come = !quiet;
	}
	if (!to_come && o->unknown_seen) {
		if (stopped(st, o, NULL, now, &quiet) != 0)
			goto out;
		to_come = !quiet;
	}
	if (to_come || unbounded)
		out->until_ms = 0;
	else
		out->until_ms = until;
	out->done = !to_come && until == 0;
	rc = 0;
out:
	sim_store_unlock(st);
	return rc;
}

/* ---- lab mode ("intofocus sim"): the study over for everyone ---------- */

/* Whether every HIT held is of an experiment in st->exps; lock held. */
static int
lab_all_known(struct sim_store *st, int64_t now, bool *known)
{
	struct sim_db_hit_ref refs[OUTLOOK_PAGE];
	struct sim_db_hits_args args;
	size_t got;

	*known = true;
	memset(&args, 0, sizeof(args));
	args.now_ms = now;
	args.limit = OUTLOOK_PAGE;
	do {
		if (sim_store_hits(st, SIM_DB_LIVE, &args, refs, &got) != 0)
			return -1;
		for (size_t i = 0; i < got && *known; i++) {
			struct hit *h;
			const char *slash;
			bool mine = false;

			args.after_seq = refs[i].seq;
			if (sim_find_hit(st, refs[i].id, &h) != 0)
				return -1;
			if (h == NULL)
				continue;
			slash = h->ann != NULL ? strchr(h->ann, '/') : NULL;
			for (size_t e = 0; slash != NULL && e < st->nexps; e++)
				if (strlen(st->exps[e].name) ==
					    (size_t)(slash - h->ann) &&
				    memcmp(st->exps[e].name, h->ann,
					   (size_t)(slash - h->ann)) == 0)
					mine = true;
			*known = mine;
		}
		sim_store_trim(st);
	} while (got == OUTLOOK_PAGE && *known);
	return 0;
}

/* Whether image im of e has a HIT of its last stage; lock held. */
static int
lab_image_final(struct sim_store *st, const struct exp_copy *e,
		const struct sim_image *im, bool *final)
{
	size_t last = im->nwindows > 0 ? im->nwindows : e->nwindows;
	char key[512];
	struct hit **same = NULL;
	size_t n = 0;
	int len;

	*final = false;
	len = snprintf(key, sizeof(key), "%s/%s", e->name, im->id);
	if (len < 0 || (size_t)len >= sizeof(key))
		return 0;
	/* Newest first: its stage is the image's newest. */
	if (sim_find_hits_by_ann(st, key, (size_t)len, 1, &same, &n) != 0)
		return -1;
	if (n > 0 && same[0]->ann != NULL) {
		const char *s = strrchr(same[0]->ann, '/');
		char *end;
		long k = s != NULL ? strtol(s + 1, &end, 10) : 0;

		*final = s != NULL && *end == '\0' && k >= (long)last;
	}
	free(same);
	return 0;
}

int
sim_store_lab_over(struct sim_store *st, bool *over)
{
	struct sim_db_hit_ref ref;
	struct sim_db_hits_args args;
	size_t got = 0;
	int64_t now;
	bool final = true;
	int rc = -1;

	*over = false;
	pthread_mutex_lock(&st->mu);
	now = sim_store_now_ms(st);
	if (st->nexps == 0) {
		rc = 0;
		goto out;
	}
	memset(&args, 0, sizeof(args));
	args.now_ms = now;
	args.limit = 1;
	if (sim_store_hits(st, SIM_DB_OPEN, &args, &ref, &got) != 0)
		goto out;
	for (size_t e = 0; got == 0 && final && e < st->nexps; e++)
		for (size_t i = 0; final && i < st->exps[e].nimages; i++) {
			if (lab_image_final(st, &st->exps[e],
					    &st->exps[e].images[i],
					    &final) != 0)
				goto out;
			sim_store_trim(st);
		}
	if (got == 0 && final && lab_all_known(st, now, over) != 0)
		goto out;
	rc = 0;
out:
	sim_store_unlock(st);
	return rc;
}
