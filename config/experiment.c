/*
 * config/experiment.c - exp_load() and exp_free() (spec sections 3 and 5).
 *
 * Loading is three passes, each reporting every problem it finds:
 *   1. yaml_doc.c turns bytes into a node tree (or says why it cannot);
 *   2. schema.c walks the tree against the key table into the struct,
 *      starting from the table's defaults;
 *   3. the cross-field rules below: production needs a budget and is never
 *      a default; endpoints are https:// unless on loopback (spec 5);
 *      image hosting settings complete and of one kind; presigned URLs
 *      within S3's 7 days; image ids unique; image files readable JPEG or
 *      PNG (header only), with ground truth inside the displayed frame.
 * Paths in the file (images, output_dir, images_host.dir) are relative to
 * the file's directory, so an experiment can be run from anywhere.
 */
#include "config/config_private.h"
#include "prolific/prolific.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const default_keywords[] = {"image", "privacy", "faces"};
static const int default_stages[] = {41, 27, 21, 17, 13};
static const char *const default_cascades[] = {"frontalface_alt2",
					       "profileface"};

const char *
exp_env_str(enum exp_env env)
{
	switch (env) {
	case EXP_ENV_SIMULATOR:
		return "simulator";
	case EXP_ENV_SANDBOX:
		return "sandbox";
	case EXP_ENV_PRODUCTION:
		return "production";
	}
	return "?";
}

const char *
exp_aggregate_str(enum exp_aggregate agg)
{
	switch (agg) {
	case EXP_AGG_UNION:
		return "union";
	case EXP_AGG_FIRST:
		return "first";
	case EXP_AGG_MAJORITY:
		return "majority";
	case EXP_AGG_MAJORITY_WEIGHTED:
		return "majority-weighted";
	}
	return "?";
}

const char *
exp_approve_str(enum exp_approve ap)
{
	return ap == EXP_APPROVE_MANUAL ? "manual" : "auto";
}

const char *
exp_host_kind_str(enum exp_host_kind kind)
{
	switch (kind) {
	case EXP_HOST_SIMULATOR:
		return "simulator";
	case EXP_HOST_S3:
		return "s3";
	case EXP_HOST_LOCAL:
		return "local";
	}
	return "?";
}

const char *
exp_comparator_str(enum exp_comparator cmp)
{
	static const char *const names[] = {
		"LessThan",	"LessThanOrEqualTo", "GreaterThan",
		"GreaterThanOrEqualTo", "EqualTo", "NotEqualTo",
		"Exists",	"DoesNotExist",	     "In",
		"NotIn",
	};

	return (size_t)cmp < sizeof(names) / sizeof(names[0]) ? names[cmp]
							      : "?";
}

const char *
exp_guard_str(enum exp_guard guard)
{
	switch (guard) {
	case EXP_GUARD_ACCEPT:
		return "Accept";
	case EXP_GUARD_PREVIEW_AND_ACCEPT:
		return "PreviewAndAccept";
	case EXP_GUARD_DISCOVER_PREVIEW_AND_ACCEPT:
		return "DiscoverPreviewAndAccept";
	default:
		return NULL;
	}
}

const char *
exp_redact_style_str(enum redact_style style)
{
	switch (style) {
	case REDACT_FILL:
		return "fill";
	case REDACT_MEDIAN:
		return "median";
	case REDACT_PIXELATE:
		return "pixelate";
	}
	return "?";
}

const struct exp_image *
exp_image_find(const struct experiment *exp, const char *id)
{
	for (size_t i = 0; i < exp->nimages; i++)
		if (exp->images[i].id != NULL &&
		    strcmp(exp->images[i].id, id) == 0)
			return &exp->images[i];
	return NULL;
}

int
exp_window(const struct experiment *exp, const char *image_id, size_t stage)
{
	const struct exp_image *im = exp_image_find(exp, image_id);

	if (stage < 1 || stage > exp->nstages)
		return 0;
	return im != NULL ? im->windows[stage - 1] : exp->stages[stage - 1];
}

int
exp_qual_slots(const struct experiment *exp)
{
	return exp->hit.group.name != NULL ? exp->hit.group.stages
					   : (int)exp->nstages;
}

int
exp_qual_slot(const struct experiment *exp, int stage)
{
	return exp->hit.group.name != NULL
		       ? exp->hit.group.first_stage + stage - 1
		       : stage;
}

void
exp_qual_slot_name(const struct experiment *exp, int slot, char *out,
		   size_t len)
{
	/* A group name cannot take a space, so the two forms never meet. */
	if (exp->hit.group.name != NULL)
		snprintf(out, len, "intofocus group %s stage %d",
			 exp->hit.group.name, slot);
	else
		snprintf(out, len, "intofocus %s stage %d", exp->name, slot);
}

void
exp_free(struct experiment *exp)
{
	if (exp == NULL)
		return;
	cfg_free_fields(cfg_root_keys, exp);
	for (size_t i = 0; i < exp->hit.nkeywords; i++)
		free(exp->hit.keywords[i]);
	free(exp->hit.keywords);
	for (size_t i = 0; i < exp->hit.nquals; i++) {
		cfg_free_fields(cfg_qual_keys, &exp->hit.quals[i]);
		free(exp->hit.quals[i].integers);
		free(exp->hit.quals[i].locales);
	}
	free(exp->hit.quals);
	for (size_t i = 0; i < exp->detector.ncascades; i++)
		free(exp->detector.cascades[i]);
	free(exp->detector.cascades);
	for (size_t i = 0; i < exp->nimages; i++) {
		cfg_free_fields(cfg_image_keys, &exp->images[i]);
		free(exp->images[i].path);
		free(exp->images[i].ground_truth);
		free(exp->images[i].boxes);
		free(exp->images[i].boxes_file_path);
		free(exp->images[i].file_boxes);
	}
	free(exp->images);
	free(exp->source);
	free(exp);
}

const char *
exp_platform_str(enum exp_platform p)
{
	return p == EXP_PLATFORM_PROLIFIC ? "prolific" : "mturk";
}

const char *
exp_fee_str(enum exp_fee f)
{
	return f == EXP_FEE_ACADEMIC ? "academic" : "corporate";
}

/* ---- helpers for the cross-field rules ----------------------------------- */

/* The value node of key name in mapping m, and its key node; NULL if none. */
static yaml_node_t *
map_get(struct ydoc *y, yaml_node_t *m, const char *name, yaml_node_t **keyn)
{
	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = ydoc_node(y, p->key);
		const char *s = ynode_scalar(kn);

		if (s != NULL && strcmp(s, name) == 0) {
			if (keyn != NULL)
				*keyn = kn;
			return ydoc_node(y, p->value);
		}
	}
	return NULL;
}

/*
 * Spec section 5: plain http only to loopback.  The URL is taken apart by
 * libcurl, the library that will fetch it, so both agree on the host.
 */
static int
check_url(const char *url, char *why, size_t len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	if (u == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, len, "\"%s\" is not a URL like https://host/",
			 url);
		goto cleanup;
	}
	if (strcasecmp(scheme, "https") == 0) {
		rc = 0;
	} else if (strcasecmp(scheme, "http") == 0) {
		struct in_addr a4;
		bool loop = strcasecmp(host, "localhost") == 0 ||
			    strcmp(host, "[::1]") == 0 ||
			    (inet_pton(AF_INET, host, &a4) == 1 &&
			     (ntohl(a4.s_addr) >> 24) == 127);

		if (loop)
			rc = 0;
		else
			snprintf(why, len,
				 "\"%s\" must use https:// (plain http:// is "
				 "allowed only on a loopback address such as "
				 "127.0.0.1)",
				 url);
	} else {
		snprintf(why, len, "\"%s\" must use https://", url);
	}
cleanup:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* dir of the experiment file joined with a relative path; NULL on OOM. */
static char *
resolve(const char *dir, const char *file)
{
	if (file[0] == '/' || strcmp(dir, ".") == 0)
		return strdup(file);
	return path_join(dir, file);
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	if ((d = strndup(path, (size_t)(slash - path))) == NULL)
		return NULL;
	return d;
}

struct cross {
	struct ydoc *y;
	struct cfg_diag *d;
	struct experiment *e;
	yaml_node_t *root;
	const char *dir;
};

static void
url_rule(struct cross *c, yaml_node_t *section, const char *key,
	 const char *prefix, const char *url)
{
	yaml_node_t *n;
	char why[512];

	if (url == NULL || check_url(url, why, sizeof(why)) == 0)
		return;
	n = map_get(c->y, section, key, NULL);
	cfg_node_error(c->d, n != NULL ? n : c->root, "%s%s: %s", prefix, key,
		       why);
}

/*
 * The CA file is read by libcurl at the first request: a missing one must
 * show in check, not as a TLS failure of a running daemon.
 */
static int
ca_file_rule(struct cross *c, yaml_node_t *section)
{
	struct exp_mturk *m = &c->e->mturk;
	yaml_node_t *n = map_get(c->y, section, "ca_file", NULL);
	char *r;

	if (m->ca_file == NULL)
		return 0;
	if ((r = resolve(c->dir, m->ca_file)) == NULL)
		return -1;
	free(m->ca_file);
	m->ca_file = r;
	if (access(r, R_OK) != 0)
		cfg_node_error(c->d, n != NULL ? n : c->root,
			       "mturk.ca_file: %s: %s", r, strerror(errno));
	return 0;
}

static int
mturk_rules(struct cross *c)
{
	yaml_node_t *m = map_get(c->y, c->root, "mturk", NULL);
	yaml_node_t *env = map_get(c->y, m, "environment", NULL);

	url_rule(c, m, "endpoint", "mturk.", c->e->mturk.endpoint);
	if (ca_file_rule(c, m) != 0)
		return -1;
	if (c->e->mturk.environment == EXP_ENV_PRODUCTION &&
	    c->e->budget_cents < 0)
		cfg_node_error(c->d, env,
			       "mturk.environment: production spends real "
			       "money: set budget_usd to cap it");
	return 0;
}

/*
 * recruitment: (issue 16).  With mturk only the platform may be written;
 * with prolific the study, its code, the reward and the places are
 * required (check prices them, run approves against them), and so is a
 * budget: Prolific pays real money whatever mturk.environment says.
 */
static void
recruitment_rules(struct cross *c)
{
	struct exp_recruitment *r = &c->e->recruitment;
	yaml_node_t *rn = map_get(c->y, c->root, "recruitment", NULL);
	yaml_node_t *pn = map_get(c->y, rn, "platform", NULL);
	yaml_node_t *fn = map_get(c->y, rn, "fee", NULL);
	yaml_node_t *fpn = map_get(c->y, rn, "fee_percent", NULL);
	static const char *const needed[] = {"study_id", "completion_code",
					     "reward_usd", "places"};
	yaml_node_t *at = rn != NULL ? rn : c->root;

	if (rn == NULL || rn->type != YAML_MAPPING_NODE)
		return;
	if (r->platform != EXP_PLATFORM_PROLIFIC) {
		for (yaml_node_pair_t *p = rn->data.mapping.pairs.start;
		     p < rn->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = ydoc_node(c->y, p->key);
			const char *name = ynode_scalar(kn);

			if (name != NULL && strcmp(name, "platform") != 0)
				cfg_node_error(c->d, kn,
					       "recruitment.%s: only with "
					       "platform prolific",
					       name);
		}
		return;
	}
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (map_get(c->y, rn, needed[i], NULL) == NULL)
			cfg_node_error(c->d, at,
				       "recruitment.%s: required with platform "
				       "prolific",
				       needed[i]);
	if (fn != NULL && fpn != NULL)
		cfg_node_error(c->d, fpn,
			       "recruitment.fee_percent: give either fee or "
			       "fee_percent, not both");
	r->fee_bp = r->fee_percent_bp >= 0 ? r->fee_percent_bp
		    : r->fee == EXP_FEE_ACADEMIC ? PROLIFIC_FEE_ACADEMIC_BP
						 : PROLIFIC_FEE_CORPORATE_BP;
	if (r->bonus_per_task_cents > 0 && r->tasks_per_participant < 1)
		cfg_node_error(c->d,
			       map_get(c->y, rn, "bonus_per_task_usd", NULL),
			       "recruitment.bonus_per_task_usd: needs "
			       "recruitment.tasks_per_participant (the most "
			       "bonuses one submission can earn)");
	url_rule(c, rn, "api_url", "recruitment.", r->api_url);
	if (r->currency != EXP_CURRENCY_USD)
		cfg_node_error(c->d, map_get(c->y, rn, "currency", NULL),
			       "recruitment.currency: a study paid in GBP "
			       "cannot be priced: reward_usd, "
			       "bonus_per_task_usd and budget_usd are USD "
			       "amounts and no exchange rate is known; "
			       "create the study in USD on Prolific");
	if (c->e->budget_cents < 0)
		cfg_node_error(c->d, pn != NULL ? pn : at,
			       "recruitment.platform: prolific pays real "
			       "money: set budget_usd to cap it");
}

/* Weights that no page asks for would all be 100: plain majority. */
static void
aggregate_rules(struct cross *c)
{
	yaml_node_t *a = map_get(c->y, c->root, "aggregate", NULL);

	if (c->e->aggregate == EXP_AGG_MAJORITY_WEIGHTED &&
	    !c->e->task.confidence)
		cfg_node_error(c->d, a != NULL ? a : c->root,
			       "aggregate: majority-weighted weighs votes by "
			       "the workers' confidences: set "
			       "task.confidence: true");
}

/*
 * With exclusive stages every HIT also requires that its worker holds none
 * of the other stage slots' qualifications (the other stages, or with an
 * exclusivity group every other slot of the group), and those count
 * against MTurk's ten requirements per HIT: a file that passes here must
 * not stop `run` at its first CreateHIT.
 */
static void
hit_rules(struct cross *c)
{
	const struct experiment *e = c->e;
	const struct exp_group *g = &e->hit.group;
	yaml_node_t *hn = map_get(c->y, c->root, "hit", NULL);
	yaml_node_t *xn = map_get(c->y, hn, "exclusive_stages", NULL);
	yaml_node_t *gn = map_get(c->y, hn, "exclusivity_group", NULL);
	yaml_node_t *sn = map_get(c->y, c->root, "stages", NULL);
	yaml_node_t *at = xn != NULL ? xn : hn != NULL ? hn : c->root;
	size_t need, slots;

	/* A key given but refused is reported already. */
	if (gn != NULL && g->name == NULL) {
		if (map_get(c->y, gn, "name", NULL) == NULL)
			cfg_node_error(c->d, gn,
				       "hit.exclusivity_group: missing key "
				       "\"name\" (it names the shared "
				       "qualification types)");
		return;
	}
	if (g->name != NULL) {
		if (!e->hit.exclusive_stages) {
			cfg_node_error(c->d, gn,
				       "hit.exclusivity_group: needs "
				       "hit.exclusive_stages: true");
			return;
		}
		if (g->stages == 0) {
			if (map_get(c->y, gn, "stages", NULL) != NULL)
				return;
			cfg_node_error(c->d, gn,
				       "hit.exclusivity_group: missing key "
				       "\"stages\" (the stage slots of every "
				       "experiment of the group together)");
			return;
		}
		if ((size_t)g->first_stage + e->nstages - 1 >
		    (size_t)g->stages) {
			cfg_node_error(c->d, gn,
				       "hit.exclusivity_group: %zu stages "
				       "from slot %d pass the group's %d",
				       e->nstages, g->first_stage, g->stages);
			return;
		}
		at = gn;
	}
	slots = (size_t)exp_qual_slots(e);
	if (!e->hit.exclusive_stages || slots < 2)
		return;
	/* A schedule refused already (too long, say) would only repeat it. */
	if (sn != NULL &&
	    (sn->type != YAML_SEQUENCE_NODE ||
	     (size_t)(sn->data.sequence.items.top -
		      sn->data.sequence.items.start) != e->nstages))
		return;
	need = e->hit.nquals + slots - 1;
	if (need > EXP_QUALS_MAX && g->name != NULL)
		cfg_node_error(c->d, at,
			       "hit.exclusivity_group: %zu stage slots and "
			       "%zu hit.qualifications make %zu requirements "
			       "per HIT, MTurk allows at most %d",
			       slots, e->hit.nquals, need, EXP_QUALS_MAX);
	else if (need > EXP_QUALS_MAX)
		cfg_node_error(c->d, at,
			       "hit.exclusive_stages: %zu stages and %zu "
			       "hit.qualifications make %zu requirements per "
			       "HIT, MTurk allows at most %d",
			       e->nstages, e->hit.nquals, need, EXP_QUALS_MAX);
}

static void
host_rules(struct cross *c)
{
	struct experiment *e = c->e;
	struct exp_host *h = &e->images_host;
	yaml_node_t *hn = map_get(c->y, c->root, "images_host", NULL);
	yaml_node_t *kind = map_get(c->y, hn, "kind", NULL);
	yaml_node_t *mn = map_get(c->y, c->root, "mturk", NULL);
	yaml_node_t *at = hn != NULL ? hn : c->root;
	const struct cfg_key *keys = NULL;
	int64_t need;

	for (size_t i = 0; cfg_root_keys[i].name != NULL; i++)
		if (strcmp(cfg_root_keys[i].name, "images_host") == 0)
			keys = cfg_root_keys[i].sub;
	if (kind == NULL) {
		/*
		 * A broken section is reported already; its default would
		 * mislead.
		 */
		if ((hn != NULL && hn->type != YAML_MAPPING_NODE) ||
		    (mn != NULL && mn->type != YAML_MAPPING_NODE))
			return;
		if (e->mturk.environment != EXP_ENV_SIMULATOR) {
			cfg_node_error(c->d, at,
				       "images_host.kind: required with "
				       "environment %s: use s3 or local (the "
				       "simulator serves only its own workers)",
				       exp_env_str(e->mturk.environment));
			return;
		}
		h->kind = EXP_HOST_SIMULATOR;
	} else if (h->kind == EXP_HOST_SIMULATOR &&
		   e->mturk.environment != EXP_ENV_SIMULATOR &&
		   e->mturk.endpoint == NULL) {
		cfg_node_error(c->d, kind,
			       "images_host.kind: simulator hosting serves "
			       "only the simulator's workers; with "
			       "environment %s use s3 or local",
			       exp_env_str(e->mturk.environment));
	}
	/* Keys of another kind: a sign the operator mixed two setups. */
	for (yaml_node_pair_t *p = hn != NULL && hn->type == YAML_MAPPING_NODE
					   ? hn->data.mapping.pairs.start
					   : NULL;
	     p != NULL && p < hn->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = ydoc_node(c->y, p->key);
		const char *name = ynode_scalar(kn);
		int i = name != NULL ? cfg_key_index(keys, name) : -1;
		unsigned want = h->kind == EXP_HOST_S3	  ? CFG_S3
				: h->kind == EXP_HOST_LOCAL ? CFG_LOCAL
							    : 0;

		if (i < 0 || keys[i].flags == 0 || (keys[i].flags & want))
			continue;
		cfg_node_error(c->d, kn,
			       "images_host.%s: only for kind %s, not %s",
			       name, keys[i].flags & CFG_S3 ? "s3" : "local",
			       exp_host_kind_str(h->kind));
	}
	if (h->kind == EXP_HOST_S3) {
		if (h->bucket == NULL)
			cfg_node_error(c->d, at,
				       "images_host: kind s3 needs \"bucket\"");
		url_rule(c, hn, "endpoint", "images_host.", h->endpoint);
		need = e->hit.lifetime + e->hit.assignment_duration;
		if (h->url_expiry == 0 && need > EXP_URL_EXPIRY_MAX)
			cfg_node_error(c->d, at,
				       "images_host: hit.lifetime + "
				       "hit.assignment_duration is over 7d, "
				       "the longest an S3 presigned URL lives: "
				       "shorten the lifetime");
		else if (h->url_expiry != 0 && h->url_expiry < need)
			cfg_node_error(c->d,
				       map_get(c->y, hn, "url_expiry", NULL),
				       "images_host.url_expiry: shorter than "
				       "hit.lifetime + "
				       "hit.assignment_duration: late workers "
				       "would see no image");
	} else if (h->kind == EXP_HOST_LOCAL) {
		if (h->dir == NULL)
			cfg_node_error(c->d, at,
				       "images_host: kind local needs \"dir\"");
		if (h->base_url == NULL)
			cfg_node_error(c->d, at,
				       "images_host: kind local needs "
				       "\"base_url\"");
		url_rule(c, hn, "base_url", "images_host.", h->base_url);
	}
}

/*
 * An image's windows in pixels: its own schedule or the experiment's,
 * each relative length resolved against its displayed size.  Windows
 * that no longer strictly decrease once resolved (3% and 2.5% of a small
 * image can both be 5 px) are an error at the schedule that made them.
 */
static void
resolve_windows(struct cross *c, yaml_node_t *item, size_t i)
{
	struct experiment *e = c->e;
	struct exp_image *im = &e->images[i];
	const struct exp_length *specs = e->stage_specs;
	yaml_node_t *at = map_get(c->y, item, "windows", NULL);
	char list[EXP_STAGES_MAX * 8] = "";
	size_t used = 0;
	bool bad = false, relative = false;

	if (im->nwindow_specs > 0) {
		if (im->nwindow_specs != e->nstages) {
			cfg_node_error(c->d, at,
				       "images[%zu].windows: %zu windows for "
				       "%zu stages: an image's schedule has "
				       "as many stages as the experiment's",
				       i + 1, im->nwindow_specs, e->nstages);
			return;
		}
		specs = im->window_specs;
	} else {
		at = map_get(c->y, c->root, "stages", NULL);
	}
	for (size_t k = 0; k < e->nstages; k++) {
		im->windows[k] = exp_window_resolve(&specs[k], im->width,
						    im->height);
		relative |= specs[k].bp > 0;
		if (k > 0 && im->windows[k] >= im->windows[k - 1])
			bad = true;
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%d", k > 0 ? ", " : "",
					 im->windows[k]);
	}
	/* Pixels alone were compared by the walker already. */
	if (bad && relative)
		cfg_node_error(c->d, at != NULL ? at : item,
			       "images[%zu]: its windows resolve to [%s] on "
			       "the %dx%d image: they must strictly decrease "
			       "(write larger shares, or pixels, or give "
			       "the image its own windows)",
			       i + 1, list, im->width, im->height);
}

/*
 * The experiment's stages[] for a relative window: the widest window any
 * image resolves it to, so that a reader of stages[] errs towards more
 * blur, never less.
 */
static void
widest_windows(struct experiment *e)
{
	for (size_t k = 0; k < e->nstages; k++) {
		if (e->stage_specs[k].bp == 0)
			continue;
		e->stages[k] = exp_window_resolve(&e->stage_specs[k], 0, 0);
		for (size_t i = 0; i < e->nimages; i++)
			if (e->images[i].nwindow_specs == 0 &&
			    e->images[i].windows[k] > e->stages[k])
				e->stages[k] = e->images[i].windows[k];
	}
}

/*
 * Each box of a list (ground_truth, boxes) must lie inside the image as
 * displayed.  at is the list's node, or the image's when absent.
 */
static void
boxes_inside(struct cross *c, yaml_node_t *at, size_t i, const char *key,
	     const struct box *boxes, size_t n)
{
	const struct exp_image *im = &c->e->images[i];

	for (size_t b = 0; b < n; b++) {
		const struct box *x = &boxes[b];
		yaml_node_t *bn = at;

		/*
		 * Boxes the walker refused are not stored, so the b-th box
		 * is the b-th node only when none was refused (and then its
		 * position is exact).
		 */
		if (at->type == YAML_SEQUENCE_NODE &&
		    (size_t)(at->data.sequence.items.top -
			     at->data.sequence.items.start) == n)
			bn = ydoc_node(c->y, at->data.sequence.items.start[b]);

		/* 64-bit sums: the walker allows up to INT32_MAX. */
		if ((int64_t)x->x + x->w > im->width ||
		    (int64_t)x->y + x->h > im->height)
			cfg_node_error(c->d, bn,
				       "images[%zu].%s: box [%d, %d, %d, %d] "
				       "is not inside the %dx%d image",
				       i + 1, key, x->x, x->y, x->w, x->h,
				       im->width, im->height);
	}
}

/* The most a boxes_file may hold: far more boxes than a photo needs. */
#define BOXES_FILE_MAX (1024 * 1024)

/*
 * images[].boxes_file: a JSON list of [x, y, w, h] (the shape of
 * images[].boxes), read now so that `check` shows the boxes and `run`
 * never finds a broken file later.  Problems are reported at the key.
 */
static int
boxes_file_rules(struct cross *c, yaml_node_t *at, size_t i)
{
	struct exp_image *im = &c->e->images[i];
	struct errbuf eb = {0};
	json_error_t jerr;
	json_t *root = NULL, *v;
	struct buf b;
	size_t k;
	int rc = 0;

	if ((im->boxes_file_path = resolve(c->dir, im->boxes_file)) == NULL)
		return -1;
	buf_init(&b, BOXES_FILE_MAX);
	if (read_file(im->boxes_file_path, &b, &eb) != IF_OK) {
		if (eb.code == IF_ERUNTIME)
			rc = -1;
		else
			cfg_node_error(c->d, at, "images[%zu].boxes_file: %s",
				       i + 1, eb.msg);
		goto done;
	}
	if (b.len == 0) {
		cfg_node_error(c->d, at, "images[%zu].boxes_file: %s: empty",
			       i + 1, im->boxes_file_path);
		goto done;
	}
	root = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		cfg_node_error(c->d, at,
			       "images[%zu].boxes_file: %s:%d:%d: %s", i + 1,
			       im->boxes_file_path, jerr.line, jerr.column,
			       jerr.text);
		goto done;
	}
	if (!json_is_array(root)) {
		cfg_node_error(c->d, at,
			       "images[%zu].boxes_file: %s: expected a list "
			       "of [x, y, w, h] boxes",
			       i + 1, im->boxes_file_path);
		goto done;
	}
	if (json_array_size(root) > 0 &&
	    (im->file_boxes = calloc(json_array_size(root),
				     sizeof(*im->file_boxes))) == NULL) {
		rc = -1;
		goto done;
	}
	json_array_foreach(root, k, v) {
		json_int_t n[4];
		bool ok = json_is_array(v) && json_array_size(v) == 4;
		struct box x;

		for (size_t j = 0; ok && j < 4; j++) {
			json_t *e = json_array_get(v, j);

			ok = json_is_integer(e);
			n[j] = ok ? json_integer_value(e) : 0;
			ok = ok && n[j] >= (j < 2 ? 0 : 1) && n[j] <= INT32_MAX;
		}
		if (!ok) {
			cfg_node_error(c->d, at,
				       "images[%zu].boxes_file: %s: box %zu: "
				       "a box is [x, y, w, h], four integers "
				       "(x, y >= 0; w, h >= 1)",
				       i + 1, im->boxes_file_path, k + 1);
			continue;
		}
		x = (struct box){(int)n[0], (int)n[1], (int)n[2], (int)n[3]};
		if ((int64_t)x.x + x.w > im->width ||
		    (int64_t)x.y + x.h > im->height) {
			cfg_node_error(c->d, at,
				       "images[%zu].boxes_file: %s: box %zu "
				       "[%d, %d, %d, %d] is not inside the "
				       "%dx%d image",
				       i + 1, im->boxes_file_path, k + 1, x.x,
				       x.y, x.w, x.h, im->width, im->height);
			continue;
		}
		im->file_boxes[im->nfile_boxes++] = x;
	}
done:
	json_decref(root);
	buf_cleanup(&b);
	return rc;
}

static int
image_rules(struct cross *c)
{
	struct experiment *e = c->e;
	yaml_node_t *seq = map_get(c->y, c->root, "images", NULL);

	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
		return 0;
	for (size_t i = 0; i < e->nimages; i++) {
		struct exp_image *im = &e->images[i];
		yaml_node_t *item =
			ydoc_node(c->y, seq->data.sequence.items.start[i]);
		yaml_node_t *fn = map_get(c->y, item, "file", NULL);
		yaml_node_t *gn = map_get(c->y, item, "ground_truth", NULL);
		yaml_node_t *bxn = map_get(c->y, item, "boxes", NULL);
		struct errbuf eb = {0};

		if (im->id != NULL) {
			for (size_t j = 0; j < i; j++) {
				if (e->images[j].id == NULL ||
				    strcmp(e->images[j].id, im->id) != 0)
					continue;
				cfg_node_error(c->d,
					       map_get(c->y, item, "id", NULL),
					       "images[%zu].id: duplicate "
					       "image id \"%s\" (first at "
					       "line %d)",
					       i + 1, im->id,
					       e->images[j].line);
				break;
			}
		}
		if (im->file == NULL)
			continue;
		if ((im->path = resolve(c->dir, im->file)) == NULL)
			return -1;
		if (img_probe(im->path, &im->width, &im->height, &im->format,
			      &eb) != IF_OK) {
			if (eb.code == IF_ERUNTIME)
				return -1;
			cfg_node_error(c->d, fn, "images[%zu].file: %s", i + 1,
				       eb.msg);
			continue;
		}
		if (im->format != IMG_FORMAT_JPEG &&
		    im->format != IMG_FORMAT_PNG) {
			cfg_node_error(c->d, fn,
				       "images[%zu].file: %s: not a JPEG or "
				       "PNG image",
				       i + 1, im->path);
			continue;
		}
		boxes_inside(c, gn != NULL ? gn : item, i, "ground_truth",
			     im->ground_truth, im->nground_truth);
		boxes_inside(c, bxn != NULL ? bxn : item, i, "boxes",
			     im->boxes, im->nboxes);
		if (im->boxes_file != NULL &&
		    boxes_file_rules(c, map_get(c->y, item, "boxes_file", NULL),
				     i) != 0)
			return -1;
		resolve_windows(c, item, i);
	}
	widest_windows(e);
	return 0;
}

/*
 * start_from names both the other experiment's state and its stage; its
 * state itself is read by `check` and `run` (daemon/), never here.
 */
static void
start_from_rules(struct cross *c)
{
	yaml_node_t *sn = map_get(c->y, c->root, "start_from", NULL);

	if (sn == NULL || sn->type != YAML_MAPPING_NODE)
		return;
	if (map_get(c->y, sn, "state_dir", NULL) == NULL)
		cfg_node_error(c->d, sn,
			       "start_from: missing key \"state_dir\" (the "
			       "other experiment's state directory)");
	if (map_get(c->y, sn, "stage", NULL) == NULL)
		cfg_node_error(c->d, sn,
			       "start_from: missing key \"stage\" (the other "
			       "experiment's finished stage to start from)");
}

/*
 * With the detector on, each cascade must be readable now rather than
 * when the first image starts; a path with a '/' is relative to the file.
 */
static int
detector_rules(struct cross *c)
{
	struct exp_detector *d = &c->e->detector;
	yaml_node_t *dn = map_get(c->y, c->root, "detector", NULL);
	yaml_node_t *cn = map_get(c->y, dn, "cascades", NULL);
	char path[4096];

	if (!d->enabled)
		return 0;
	for (size_t i = 0; i < d->ncascades; i++) {
		yaml_node_t *at = cn != NULL ? cn : dn != NULL ? dn : c->root;

		if (strchr(d->cascades[i], '/') != NULL) {
			char *r = resolve(c->dir, d->cascades[i]);

			if (r == NULL)
				return -1;
			free(d->cascades[i]);
			d->cascades[i] = r;
		}
		if (cn != NULL && cn->type == YAML_SEQUENCE_NODE &&
		    (size_t)(cn->data.sequence.items.top -
			     cn->data.sequence.items.start) == d->ncascades)
			at = ydoc_node(c->y, cn->data.sequence.items.start[i]);
		face_cascade_path(d->cascades[i], path, sizeof(path));
		if (access(path, R_OK) != 0)
			cfg_node_error(c->d, at,
				       "detector.cascades: %s: %s (the "
				       "cascades come with Debian's "
				       "opencv-data)",
				       path, strerror(errno));
	}
	return 0;
}

static int
set_defaults(struct experiment *e)
{
	size_t nk = sizeof(default_keywords) / sizeof(default_keywords[0]);

	e->budget_cents = -1;
	e->recruitment.fee_percent_bp = -1;
	if (cfg_apply_defaults(cfg_root_keys, e) != 0)
		return -1;
	memcpy(e->stages, default_stages, sizeof(default_stages));
	e->nstages = sizeof(default_stages) / sizeof(default_stages[0]);
	for (size_t i = 0; i < e->nstages; i++)
		e->stage_specs[i].px = default_stages[i];
	e->detector.cascades = calloc(2, sizeof(char *));
	if (e->detector.cascades == NULL)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		e->detector.cascades[i] = strdup(default_cascades[i]);
		if (e->detector.cascades[i] == NULL)
			return -1;
		e->detector.ncascades++;
	}
	if ((e->hit.keywords = calloc(nk, sizeof(char *))) == NULL)
		return -1;
	for (size_t i = 0; i < nk; i++) {
		if ((e->hit.keywords[i] = strdup(default_keywords[i])) == NULL)
			return -1;
		e->hit.nkeywords++;
	}
	return 0;
}

/* LINE and COLUMN of "FILE:LINE:COLUMN: ..."; 0, 0 without a position. */
static void
msg_pos(const char *msg, size_t flen, long *line, long *col)
{
	char *end;

	*line = 0;
	*col = 0;
	if (strlen(msg) <= flen || msg[flen] != ':')
		return;
	*line = strtol(msg + flen + 1, &end, 10);
	if (*end == ':')
		*col = strtol(end + 1, &end, 10);
	if (*end != ':')
		*line = *col = 0;
}

/*
 * The walker and the cross-field rules find problems in two passes; the
 * operator reads them best in the order of the file.  Stable, so problems
 * at one position keep the order they were found in.
 */
static void
sort_by_position(struct exp_errors *errs, size_t from, const char *file)
{
	size_t flen = strlen(file);

	for (size_t i = from + 1; i < errs->nmsgs; i++) {
		char *m = errs->msgs[i];
		long l, c, pl, pc;
		size_t j = i;

		msg_pos(m, flen, &l, &c);
		while (j > from) {
			msg_pos(errs->msgs[j - 1], flen, &pl, &pc);
			if (pl < l || (pl == l && pc <= c))
				break;
			errs->msgs[j] = errs->msgs[j - 1];
			j--;
		}
		errs->msgs[j] = m;
	}
}

static void
summarise(size_t count, const char *first, const char *path,
	  struct errbuf *eb)
{
	if (first == NULL)
		err_set(eb, IF_EINPUT, "%s: invalid experiment file (%zu "
				       "errors)", path, count);
	else if (count > 1)
		err_set(eb, IF_EINPUT, "%s (%zu errors in all)", first, count);
	else
		err_set(eb, IF_EINPUT, "%s", first);
}

int
exp_load(const char *path, struct experiment **out, struct exp_errors *errs,
	 struct errbuf *eb)
{
	struct exp_errors local = {0};
	struct cfg_diag d = {.file = path, .errs = errs ? errs : &local};
	size_t before = d.errs->nmsgs;
	struct experiment *e = NULL;
	struct ydoc y = {0};
	struct cfg_walk w = {0};
	struct cross c = {0};
	char *dir = NULL;
	struct buf b;
	int rc;

	*out = NULL;
	buf_init(&b, EXP_FILE_MAX);
	if ((rc = read_file(path, &b, eb)) != IF_OK)
		goto cleanup;
	if ((rc = ydoc_parse(b.data, b.len, &y, &d)) != IF_OK)
		goto done;
	if ((e = calloc(1, sizeof(*e))) == NULL || set_defaults(e) != 0 ||
	    (e->source = strdup(path)) == NULL || (dir = dir_of(path)) == NULL)
		goto oom;
	w.y = &y;
	w.d = &d;
	if (cfg_walk_map(&w, ydoc_root(&y), cfg_root_keys, e, NULL) != 0)
		goto oom;
	c = (struct cross){&y, &d, e, ydoc_root(&y), dir};
	if (mturk_rules(&c) != 0)
		goto oom;
	recruitment_rules(&c);
	aggregate_rules(&c);
	hit_rules(&c);
	host_rules(&c);
	start_from_rules(&c);
	if (image_rules(&c) != 0 || detector_rules(&c) != 0)
		goto oom;
	if (e->output_dir != NULL) {
		char *r = resolve(dir, e->output_dir);

		if (r == NULL)
			goto oom;
		free(e->output_dir);
		e->output_dir = r;
	}
	if (e->start_from.state_dir != NULL) {
		/*
		 * Joined to the file's directory, "../state/exp1" would read
		 * "examples/../state/exp1" in every message: normalised by its
		 * text, as the shell's cd does.
		 */
		char *r = resolve(dir, e->start_from.state_dir);
		char *n = r != NULL ? path_normalize(r) : NULL;

		free(r);
		if (n == NULL)
			goto oom;
		free(e->start_from.state_dir);
		e->start_from.state_dir = n;
	}
	if (e->images_host.dir != NULL) {
		char *r = resolve(dir, e->images_host.dir);

		if (r == NULL)
			goto oom;
		free(e->images_host.dir);
		e->images_host.dir = r;
	}
	rc = d.count > 0 ? IF_EINPUT : IF_OK;
done:
	if (d.oom)
		goto oom;
	if (rc == IF_EINPUT)
		sort_by_position(d.errs, before, path);
	if (rc == IF_EINPUT)
		summarise(d.count,
			  d.errs->nmsgs > before ? d.errs->msgs[before] : NULL,
			  path, eb);
	else if (rc != IF_OK)
		err_set(eb, rc, "%s: cannot parse", path);
	goto cleanup;
oom:
	rc = err_set(eb, IF_ERUNTIME, "%s: out of memory", path);
cleanup:
	if (rc == IF_OK)
		*out = e;
	else
		exp_free(e);
	ydoc_cleanup(&y);
	buf_cleanup(&b);
	free(dir);
	exp_errors_cleanup(&local);
	return rc;
}
