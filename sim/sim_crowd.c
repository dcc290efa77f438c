/*
 * sim/sim_crowd.c - the simulated workers (spec section 6).
 *
 * A worker's answer is a pure function of (seed, HIT annotation, attempt,
 * worker id) and what the crowd knows of the image, never of the wall
 * clock or of request order, so that a run is reproducible.
 *
 * The model, deliberately simple and stated in the README; its numbers
 * are an experiment's settings (struct sim_crowd_model, "simulator:" in
 * the experiment file), so that a crowd fitted by `intofocus calibrate`
 * can be replayed:
 *   - each visible ground-truth face is found with probability
 *     p = 1 / (1 + exp(-k * (side / window - x0))), side being the face's
 *     smaller side and window the stage's median window; by default
 *     k = 3, x0 = 1: a face as wide as the window is found half of the
 *     time, one twice as wide 95% of the time, one half as wide 18% of
 *     the time;
 *   - a found face is boxed with each edge moved by up to jitter (10%)
 *     of its side;
 *   - with probability spurious (0.1) the worker adds one spurious box
 *     somewhere in the image (only when the image size is known);
 *   - face_found is "yes" when the worker boxed at least one real face;
 *   - a worker whose page shows an image hosted by the simulator that
 *     does not exist boxes nothing, answers "no" and says the image did
 *     not load: the daemon's image hosting is part of what is tested;
 *   - a face that the image served hides for at least half of its area
 *     is neither found nor missed.  The crowd learns what is hidden from
 *     the assignments of earlier stages the simulator itself holds,
 *     combined stage by stage as the daemon combines them (union, first
 *     or majority: sim_store.c), so that a face boxed by a second worker
 *     under "first" stays visible.
 */
#include "sim/sim_private.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char id_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

uint64_t
sim_hash(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	/* FNV-1a: order-sensitive and stable across platforms. */
	if (h == 0)
		h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t
sim_hash_str(uint64_t h, const char *s)
{
	/* The terminator is hashed too, so ("ab","c") != ("a","bc"). */
	return sim_hash(h, s, strlen(s) + 1);
}

void
sim_rng_init(struct sim_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t
sim_rng_next(struct sim_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double
sim_rng_unit(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int64_t
sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi)
{
	uint64_t span;

	if (hi <= lo)
		return lo;
	span = (uint64_t)(hi - lo) + 1;
	return lo + (int64_t)(sim_rng_next(r) % span);
}

void
sim_rng_id(struct sim_rng *r, char *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = id_alphabet[sim_rng_next(r) % 36];
	out[n] = '\0';
}

void
sim_worker_id(uint64_t seed, size_t i, char out[SIM_WORKER_ID_LEN + 1])
{
	struct sim_rng r;
	uint64_t idx = i;

	sim_rng_init(&r, sim_hash(sim_hash_str(seed ^ 0x5157ULL, "worker"),
				  &idx, sizeof(idx)));
	out[0] = 'A';
	sim_rng_id(&r, out + 1, SIM_WORKER_ID_LEN - 1);
}

static const struct sim_crowd_model default_model =
	SIM_CROWD_MODEL_DEFAULT;

double
sim_crowd_p_find_model(const struct sim_crowd_model *m, int side,
		       int window)
{
	double ratio;

	if (m == NULL)
		m = &default_model;
	if (side <= 0)
		return 0.0;
	if (window <= 0)
		return 1.0; /* an unfiltered image: every face is plain */
	ratio = (double)side / (double)window;
	return 1.0 / (1.0 + exp(-m->k * (ratio - m->x0)));
}

double
sim_crowd_p_find(int side, int window)
{
	return sim_crowd_p_find_model(NULL, side, window);
}

void
sim_crowd_answer_cleanup(struct sim_crowd_answer *a)
{
	if (a == NULL)
		return;
	free(a->boxes);
	a->boxes = NULL;
	a->nboxes = 0;
}

double
sim_coverage(const struct sim_face *f, const struct sim_face *boxes, size_t n)
{
	/* A grid of at most 32x32 samples bounds the cost for huge faces. */
	int gx = f->w < 32 ? f->w : 32, gy = f->h < 32 ? f->h : 32;
	long in = 0, total = 0;

	if (f->w <= 0 || f->h <= 0 || n == 0)
		return 0.0;
	for (int j = 0; j < gy; j++) {
		double py = f->y + ((double)j + 0.5) * f->h / gy;
		for (int i = 0; i < gx; i++) {
			double px = f->x + ((double)i + 0.5) * f->w / gx;
			total++;
			for (size_t k = 0; k < n; k++) {
				const struct sim_face *b = &boxes[k];
				if (px >= b->x && px < b->x + b->w &&
				    py >= b->y && py < b->y + b->h) {
					in++;
					break;
				}
			}
		}
	}
	return (double)in / (double)total;
}

static int
clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static struct sim_face
jitter(struct sim_rng *r, const struct sim_face *f, int width, int height,
       double share)
{
	int side = f->w < f->h ? f->w : f->h;
	int j = (int)(side * share);
	int x0 = f->x + (int)sim_rng_range(r, -j, j);
	int y0 = f->y + (int)sim_rng_range(r, -j, j);
	int x1 = f->x + f->w + (int)sim_rng_range(r, -j, j);
	int y1 = f->y + f->h + (int)sim_rng_range(r, -j, j);
	struct sim_face b;

	if (width > 0 && height > 0) {
		x0 = clampi(x0, 0, width - 1);
		y0 = clampi(y0, 0, height - 1);
		x1 = clampi(x1, x0 + 1, width);
		y1 = clampi(y1, y0 + 1, height);
	} else {
		x0 = x0 < 0 ? 0 : x0;
		y0 = y0 < 0 ? 0 : y0;
		x1 = x1 <= x0 ? x0 + 1 : x1;
		y1 = y1 <= y0 ? y0 + 1 : y1;
	}
	b.x = x0;
	b.y = y0;
	b.w = x1 - x0;
	b.h = y1 - y0;
	return b;
}

int
sim_crowd_answer(uint64_t seed, const char *annotation, int attempt,
		 const char *worker_id, const struct sim_crowd_task *task,
		 struct sim_crowd_answer *out, struct errbuf *eb)
{
	const struct sim_image *im = task->image;
	const struct sim_crowd_model *m =
		task->model != NULL ? task->model : &default_model;
	size_t cap = (im != NULL ? im->nfaces : 0) + 1;
	struct sim_rng r;
	uint64_t h, att = (uint64_t)attempt;
	bool found_real = false;

	memset(out, 0, sizeof(*out));
	h = sim_hash_str(seed, "crowd");
	h = sim_hash_str(h, annotation != NULL ? annotation : "");
	h = sim_hash(h, &att, sizeof(att));
	h = sim_hash_str(h, worker_id);
	sim_rng_init(&r, h);
	out->boxes = calloc(cap, sizeof(*out->boxes));
	if (out->boxes == NULL)
		return err_set(eb, IF_ERUNTIME,
			       "simulated crowd: out of memory");
	if (task->image_missing) {
		snprintf(out->feedback, sizeof(out->feedback),
			 "The image did not load.");
		return IF_OK;
	}
	for (size_t i = 0; im != NULL && i < im->nfaces; i++) {
		const struct sim_face *f = &im->faces[i];
		int side = f->w < f->h ? f->w : f->h;
		/* Draw for every face, seen or not, so that one face's fate
		 * does not shift the random stream of the others. */
		double u = sim_rng_unit(&r);
		struct sim_face b = jitter(&r, f, im->width, im->height,
					   m->jitter);

		if (sim_coverage(f, task->covered, task->ncovered) >= 0.5)
			continue;
		if (u < sim_crowd_p_find_model(m, side, task->window)) {
			out->boxes[out->nboxes++] = b;
			found_real = true;
		}
	}
	if (sim_rng_unit(&r) < m->spurious && im != NULL &&
	    im->width > 8 && im->height > 8) {
		int w = task->window > 0 ? task->window : 32;
		struct sim_face b;

		w = (int)sim_rng_range(&r, w, 3 * w);
		b.w = w < im->width ? w : im->width;
		b.h = w < im->height ? w : im->height;
		b.x = (int)sim_rng_range(&r, 0, im->width - b.w);
		b.y = (int)sim_rng_range(&r, 0, im->height - b.h);
		out->boxes[out->nboxes++] = b;
	}
	out->face_found = found_real;
	snprintf(out->feedback, sizeof(out->feedback), "%s",
		 sim_rng_unit(&r) < 0.2 ? "The image was very blurry." : "");
	return IF_OK;
}

char *
sim_boxes_json(const struct sim_face *boxes, size_t n)
{
	struct buf b;
	size_t len;

	buf_init(&b, 0);
	buf_append_str(&b, "[");
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s[%d,%d,%d,%d]", i > 0 ? "," : "", boxes[i].x,
			   boxes[i].y, boxes[i].w, boxes[i].h);
	if (buf_append_str(&b, "]") != 0) {
		buf_cleanup(&b);
		return NULL;
	}
	return buf_steal(&b, &len);
}

void
sim_boxes_parse(const char *json, struct sim_face **boxes, size_t *n)
{
	json_t *root;
	size_t count = 0;

	*boxes = NULL;
	*n = 0;
	if (json == NULL)
		return;
	root = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(root) || json_array_size(root) == 0 ||
	    json_array_size(root) > 10000)
		goto out;
	*boxes = calloc(json_array_size(root), sizeof(**boxes));
	if (*boxes == NULL)
		goto out;
	for (size_t i = 0; i < json_array_size(root); i++) {
		json_t *b = json_array_get(root, i);
		int v[4];
		bool ok = json_is_array(b) && json_array_size(b) == 4;

		for (size_t k = 0; ok && k < 4; k++) {
			json_t *e = json_array_get(b, k);
			ok = json_is_number(e) &&
			    fabs(json_number_value(e)) < 1e7;
			v[k] = ok ? (int)json_number_value(e) : 0;
		}
		if (!ok || v[2] <= 0 || v[3] <= 0)
			continue;
		(*boxes)[count].x = v[0];
		(*boxes)[count].y = v[1];
		(*boxes)[count].w = v[2];
		(*boxes)[count].h = v[3];
		count++;
	}
	*n = count;
out:
	json_decref(root);
}

/*
 * Who takes a HIT.  The crowd is workers 0, 1, 2, ... of the seed (ids
 * from sim_worker_id()); the first `batch` are there from the start and
 * the rest arrive `batch` at a time, when a HIT finds too few of those
 * present who may take it.  That is what exclusive_stages needs: every
 * worker who answers in stage k is kept out of the other stages, so a
 * large experiment uses up any fixed pool, where a marketplace has
 * thousands of workers.  A run whose HITs all fill from the first batch
 * picks exactly as a fixed pool of `batch` workers did.
 *
 * The order is a seeded Fisher-Yates shuffle of the workers present, then
 * of each batch that arrives for this HIT, from one stream seeded by
 * (seed, key, attempt): reproducible from the seed and the requests.
 */
int
sim_crowd_pick(uint64_t seed, const char *key, int attempt, size_t *size,
	       size_t batch, size_t want,
	       bool (*eligible)(void *ctx, const char *worker_id), void *ctx,
	       size_t *out)
{
	struct sim_rng pick;
	size_t *order = NULL, from = 0, n = 0, cap;
	char worker[SIM_WORKER_ID_LEN + 1];

	if (batch == 0)
		batch = 1;
	if (*size < batch)
		*size = batch;
	if (want > SIM_CROWD_MAX)
		want = SIM_CROWD_MAX;
	sim_rng_init(&pick,
		     sim_hash(sim_hash_str(sim_hash_str(seed, "pick"), key),
			      &attempt, sizeof(attempt)));
	cap = *size;
	order = calloc(cap, sizeof(*order));
	if (order == NULL)
		return -1;
	for (;;) {
		/* Shuffle [from, *size) and take who may, in that order. */
		for (size_t i = from; i < *size; i++)
			order[i] = i;
		for (size_t i = *size; i > from + 1; i--) {
			size_t j = from +
			    (size_t)(sim_rng_next(&pick) % (i - from));
			size_t t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		size_t before = n;

		for (size_t i = from; i < *size && n < want; i++) {
			sim_worker_id(seed, order[i], worker);
			if (eligible(ctx, worker))
				out[n++] = order[i];
		}
		/*
		 * Newcomers hold no qualification: when a batch of them
		 * brought nobody, this HIT wants what none of them has.
		 */
		if (n == want || *size >= SIM_CROWD_MAX ||
		    (from > 0 && n == before))
			break;
		/* Too few could take it: the next workers arrive. */
		from = *size;
		*size += batch;
		if (*size > SIM_CROWD_MAX)
			*size = SIM_CROWD_MAX;
		if (*size > cap) {
			size_t *grown;

			cap = *size > cap * 2 ? *size : cap * 2;
			grown = realloc(order, cap * sizeof(*order));
			if (grown == NULL) {
				free(order);
				return -1;
			}
			order = grown;
		}
	}
	free(order);
	return (int)n;
}
