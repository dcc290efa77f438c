/*
 * config/config.h - experiment files (spec sections 1-3): the one public
 * header of config/.
 *
 * An experiment file is YAML, one experiment per file.  exp_load() reads it
 * strictly: every key is declared once in a table (schema.c) with its type,
 * bounds, default and whether a SIGHUP reload may change it; one walker
 * checks the whole file and reports every problem as "FILE:LINE:COLUMN:
 * message", not just the first.  The result is a fully typed struct
 * experiment: money in integer cents (never floating point), durations in
 * seconds, enums for every closed set, image paths resolved relative to the
 * experiment file and image sizes probed from the files' headers.
 *
 * Nothing in config/ touches the network or a clock.
 *
 *   yaml_doc.c    libyaml boundary: bytes -> node tree with 1-based marks;
 *                 empty file, non-UTF-8 bytes, tabs, syntax errors, aliases
 *   schema.c      the key table and the walker (unknown keys with "did you
 *                 mean", duplicates, types, bounds, defaults)
 *   units.c       durations, money, colours: text <-> numbers
 *   experiment.c  exp_load/exp_free: cross-field checks, images, paths
 *   plan.c        the plan and its cost (rewards + MTurk fees) in cents
 *   diff.c        what a SIGHUP reload may change
 */
#ifndef INTOFOCUS_CONFIG_H
#define INTOFOCUS_CONFIG_H

#include "common/common.h"
#include "imaging/imaging.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ------------------------------------------------------------- */

/*
 * The experiment name: [a-z0-9-], starting and ending with a letter or
 * digit.  It names the state, the stage qualification types and the first
 * part of every HIT's RequesterAnnotation "<name>/<image-id>/<stage>"
 * (MTurk caps that at 255 characters), hence the short cap.
 */
#define EXP_NAME_MAX 40
/* Image ids: [A-Za-z0-9][A-Za-z0-9_.-]*, no '/' (annotation separator). */
#define EXP_IMAGE_ID_MAX 64
#define EXP_STAGES_MAX 16    /* median windows per experiment */
#define EXP_WINDOW_MAX 1001  /* widest median window accepted */
#define EXP_QUALS_MAX 10     /* MTurk: 0-10 QualificationRequirements */
#define EXP_QUAL_INTS_MAX 15 /* MTurk: IntegerValues for In/NotIn */
#define EXP_QUAL_LOCALES_MAX 30
#define EXP_TITLE_MAX 128	/* MTurk limits, in characters */
#define EXP_DESCRIPTION_MAX 2000
#define EXP_KEYWORDS_MAX 1000 /* keywords joined with ", " */
#define EXP_WORKERS_MAX 100
#define EXP_FILE_MAX (1024 * 1024) /* bytes of YAML read at most */
#define EXP_ERRORS_MAX 200	   /* messages kept; the rest are counted */
/* Cap on the images of one experiment (each is a set of HITs). */
#define EXP_IMAGES_MAX 10000

/* MTurk's bounds, in seconds (mturk-facts.md section 1.2). */
#define EXP_DURATION_MIN 30
#define EXP_DURATION_MAX (365LL * 86400)   /* assignment_duration, lifetime */
#define EXP_AUTO_APPROVAL_MAX (30LL * 86400) /* auto_approval_delay */
#define EXP_URL_EXPIRY_MAX (7LL * 86400)     /* an S3 presigned URL */
#define EXP_POLL_MIN 1
#define EXP_POLL_MAX 3600

/* System qualification ids that make MTurk charge the Masters fee (+5%). */
#define EXP_QUAL_MASTERS_PRODUCTION "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH"
#define EXP_QUAL_MASTERS_SANDBOX "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6"

/* ---- the experiment ----------------------------------------------------- */

enum exp_env {
	EXP_ENV_SIMULATOR = 0, /* the embedded simulator (or mturk.endpoint) */
	EXP_ENV_SANDBOX,       /* the default: never real money */
	EXP_ENV_PRODUCTION,    /* only when written in the file */
};

enum exp_aggregate {
	EXP_AGG_UNION = 0, /* every box of every assignment [default] */
	EXP_AGG_FIRST,	   /* the boxes of the first assignment submitted */
	EXP_AGG_MAJORITY,  /* pixels boxed by more than half of the workers */
	/*
	 * majority with each worker's vote on a pixel weighted by the
	 * confidence (task.confidence) of the box over it: 100% counts 1, a
	 * box without a confidence 1 too.
	 */
	EXP_AGG_MAJORITY_WEIGHTED,
};

enum exp_approve {
	EXP_APPROVE_AUTO = 0, /* approve each valid answer at once [default] */
	EXP_APPROVE_MANUAL,   /* leave approval to the operator */
};

enum exp_host_kind {
	EXP_HOST_SIMULATOR = 0, /* served by the simulator (simulator only) */
	EXP_HOST_S3,		/* PutObject + presigned GET */
	EXP_HOST_LOCAL,		/* a directory a web server publishes */
};

/* MTurk's Comparator values, in the service model's spelling. */
enum exp_comparator {
	EXP_CMP_LESS_THAN = 0,
	EXP_CMP_LESS_THAN_OR_EQUAL_TO,
	EXP_CMP_GREATER_THAN,
	EXP_CMP_GREATER_THAN_OR_EQUAL_TO,
	EXP_CMP_EQUAL_TO,
	EXP_CMP_NOT_EQUAL_TO,
	EXP_CMP_EXISTS,
	EXP_CMP_DOES_NOT_EXIST,
	EXP_CMP_IN,
	EXP_CMP_NOT_IN,
};

/* MTurk's ActionsGuarded; NONE leaves the field out of the request. */
enum exp_guard {
	EXP_GUARD_NONE = 0, /* [default] MTurk's own default (Accept) */
	EXP_GUARD_ACCEPT,
	EXP_GUARD_PREVIEW_AND_ACCEPT,
	EXP_GUARD_DISCOVER_PREVIEW_AND_ACCEPT,
};

/* A Locale: ISO 3166-1 alpha-2 country, optional ISO 3166-2 subdivision. */
struct exp_locale {
	char country[3];     /* "US" */
	char subdivision[4]; /* "NY", or "" */
};

/*
 * One QualificationRequirement, passed to MTurk as it is.  In YAML:
 *   {id: "000000000000000000L0", comparator: GreaterThanOrEqualTo,
 *    integer: 95}              (integer: N or [N, ...])
 *   {id: "00000000000000000071", comparator: In, locale: [US, "CA-QC"]}
 *   actions_guarded: Accept | PreviewAndAccept | DiscoverPreviewAndAccept
 * Exists/DoesNotExist take no value; In/NotIn take 1-15 integers or 1-30
 * locales; the others exactly one value (locales only with EqualTo or
 * NotEqualTo).
 */
struct exp_qual {
	char *id; /* QualificationTypeId, ^[A-Z0-9]+$, 1-64 chars */
	enum exp_comparator comparator;
	int32_t *integers; /* nintegers values, or NULL */
	size_t nintegers;
	struct exp_locale *locales; /* nlocales values, or NULL */
	size_t nlocales;
	enum exp_guard guard;
};

struct exp_mturk {
	enum exp_env environment; /* [default: sandbox] */
	/*
	 * API endpoint override, or NULL for the environment's own (the
	 * embedded simulator's port for simulator).  Must be https:// unless
	 * the host is loopback (127.0.0.0/8, ::1, localhost).  [default: NULL]
	 */
	char *endpoint;
	char *region;	       /* signing region [default: "us-east-1"] */
	char *profile;	       /* credentials profile, or NULL [default] */
	int64_t poll_interval; /* seconds, 1s..1h [default: 30s] */
	/*
	 * PEM file of the CA certificates the endpoint's TLS certificate is
	 * verified against, instead of the system's (a task server behind a
	 * proxy with its own CA); resolved like image paths, readable when
	 * the file is loaded.  Also used for images_host kind simulator,
	 * which shares the endpoint.  [default: NULL = the system's]
	 */
	char *ca_file;
};

/*
 * hit.exclusivity_group: stage qualification types shared by linked
 * experiments.  The group has `stages` stage slots, each with a type named
 * "intofocus group <name> stage <slot>"; this experiment's stage k is slot
 * first_stage + k - 1, and each of its HITs keeps out every worker holding
 * another slot's type, whichever experiment granted it.  Without a name,
 * the experiment is a group of its own: its stages are the slots and the
 * types are named "intofocus <experiment> stage <k>".
 */
struct exp_group {
	char *name;	 /* [a-z0-9-], 1-40, or NULL [default: NULL] */
	int stages;	 /* slots of the whole group, 1-16 */
	int first_stage; /* this experiment's first slot [default: 1] */
};

struct exp_hit {
	/* [default: "Box anything that could identify a person"] */
	char *title;
	char *description; /* [default: a two-sentence task description] */
	/* [default: image, privacy, faces]; no commas inside one keyword */
	char **keywords;
	size_t nkeywords;
	int64_t reward_cents;	     /* per assignment, > 0; required */
	int workers;		     /* per HIT, 1-100 [default: 3] */
	int64_t assignment_duration; /* seconds, 30s..365d [default: 5m] */
	int64_t lifetime;	     /* seconds, 30s..365d [default: 1d] */
	int64_t auto_approval_delay; /* seconds, 0..30d [default: 3d] */
	enum exp_approve approve;    /* [default: auto] */
	bool exclusive_stages;	     /* [default: true] */
	int max_extensions;	     /* 0-100 [default: 3] */
	struct exp_qual *quals;	     /* 0-10 [default: none] */
	size_t nquals;
	struct exp_group group;	     /* exclusivity_group */
};

/*
 * What the worker task page says (task: in the file).  Plain text, HTML-
 * escaped on the page; a blank line in the instructions starts a new
 * paragraph.  Defaults: the TASK_TEXT_* of mturk/mturk.h.
 */
struct exp_task {
	char *title;		/* the page's heading and <title> */
	char *instructions;	/* above the image */
	char *face_question;	/* the yes/no question */
	bool confidence;	/* a slider per box [default: false] */
	char *confidence_label; /* the slider's label */
};

struct exp_redact {
	enum redact_style style; /* [default: fill] */
	uint32_t color;		 /* 0xRRGGBB, for fill [default: 0x000000] */
};

/*
 * Where workers fetch stage images.  Only the fields of the kind are set;
 * the walker refuses keys of another kind (no "bucket" under local).
 */
struct exp_host {
	/* [default: simulator with environment simulator; else required] */
	enum exp_host_kind kind;
	/* s3 */
	char *bucket;	    /* required for s3 */
	char *region;	    /* [default: "us-east-1"] */
	char *prefix;	    /* object name prefix [default: ""] */
	char *endpoint;	    /* https:// or loopback; NULL = AWS [default] */
	/*
	 * Seconds a presigned URL lives, <= 7d.  0 = lifetime +
	 * assignment_duration (spec section 5), which must then be <= 7d.
	 * [default: 0]
	 */
	int64_t url_expiry;
	/* local */
	char *dir;	/* required for local; resolved like image paths */
	char *base_url; /* required for local; https:// or loopback */
};

/*
 * A length written in pixels ("41") or relative to an image's shorter side
 * ("3%", "2.5%"): bp > 0 is that share in hundredths of a percent (basis
 * points: "2.5%" is 250) and px is unused; bp == 0 means px pixels.
 */
struct exp_length {
	int px;
	int bp;
};

/* The face detector's settings (issue 17), under "detector:". */
struct exp_detector {
	bool enabled;	  /* [default: false] */
	char **cascades;  /* names or paths [default: frontalface_alt2, */
	size_t ncascades; /*   profileface] */
	/* The smallest face looked for [default: 20 px]. */
	struct exp_length min_face;
	int margin_bp; /* each edge moves out by this share [default: 10%] */
};

/*
 * The simulated crowd's model (issue 17), under "simulator:", so that a
 * crowd fitted by `intofocus calibrate` can be replayed.  A worker finds
 * a face it can see with p = 1 / (1 + exp(-k * (side / window - x0))).
 */
struct exp_sim_crowd {
	double k;	 /* steepness [default: 3] */
	double x0;	 /* side/window found half of the time [default: 1] */
	double spurious; /* chance of one spurious box [default: 0.1] */
	double jitter;	 /* each edge moves up to this share [default: 0.1] */
};

/* Who recruits and pays the crowd (issue 16), under "recruitment:". */
enum exp_platform {
	EXP_PLATFORM_MTURK = 0, /* [default] MTurk pays (today's behaviour) */
	EXP_PLATFORM_PROLIFIC,	/* Prolific recruits and pays; the task */
				/* server's HITs cost nothing */
};

/* Prolific's service fee as published (docs/prolific-api.md). */
enum exp_fee {
	EXP_FEE_CORPORATE = 0, /* [default] 42.8%: never understates */
	EXP_FEE_ACADEMIC,      /* 33.3%, academic and non-profit */
};

/*
 * The currency the Prolific study pays in (Prolific's studies pay in GBP
 * or USD).  Only USD passes the rules: every amount of the file is USD
 * (reward_usd, bonus_per_task_usd, budget_usd) and no exchange rate is
 * known, so a GBP study is refused rather than priced wrongly.
 */
enum exp_currency {
	EXP_CURRENCY_USD = 0, /* [default] */
	EXP_CURRENCY_GBP,     /* refused (config/experiment.c) */
};

/*
 * Only platform is set with mturk; the rest is Prolific's (refused with
 * mturk).  Money in cents of the study currency (USD, compared with
 * budget_usd), rates in basis points (hundredths of a percent).  The API
 * token is never here: prolific_token_load()'s chain.
 */
struct exp_recruitment {
	enum exp_platform platform;
	enum exp_currency currency;    /* USD [default]; GBP is refused */
	char *study_id;		       /* prolific: required */
	char *completion_code;	       /* prolific: required (manual review) */
	int64_t reward_cents;	       /* per submission; prolific: required */
	int places;		       /* submissions paid; required too */
	int tasks_per_participant;     /* at most; 0 = not stated [default] */
	int64_t bonus_per_task_cents;  /* per valid task [default: 0] */
	enum exp_fee fee;	       /* [default: corporate] */
	int fee_percent_bp;	       /* fee_percent, or -1 [default] */
	int fee_bp;		       /* applied: fee_percent, or fee's */
	int vat_bp;		       /* VAT on the fee [default: 0] */
	char *api_url;		       /* NULL = https://api.prolific.com */
};

struct exp_image {
	char *id;
	char *file; /* as written in the experiment file */
	char *path; /* resolved relative to the experiment file's directory */
	int width, height;	 /* as displayed (after EXIF orientation) */
	enum img_format format;	 /* JPEG or PNG */
	struct box *ground_truth; /* [x, y, w, h] inside the image, or NULL */
	size_t nground_truth;
	bool has_ground_truth; /* the key was present (possibly []) */
	int line;	       /* of the entry in the file, for messages */
	/*
	 * The image's own schedule as written ("windows:", as many as
	 * stages), or nwindow_specs 0 for the experiment's.
	 */
	struct exp_length window_specs[EXP_STAGES_MAX];
	size_t nwindow_specs;
	/*
	 * Starting boxes of its own (issue 17): "boxes:" as written, and
	 * those of "boxes_file:" (a JSON list of [x, y, w, h], read when the
	 * experiment is loaded); all inside the displayed image.  Stage 0.
	 */
	struct box *boxes;
	size_t nboxes;
	char *boxes_file;      /* as written, or NULL */
	char *boxes_file_path; /* resolved like file */
	struct box *file_boxes;
	size_t nfile_boxes;
	/*
	 * The windows this image is filtered with, stage by stage: its own
	 * schedule or the experiment's, relative lengths resolved against
	 * its displayed size to odd pixels >= 3.  Always nstages of them.
	 */
	int windows[EXP_STAGES_MAX];
};

/*
 * "start_from:" (issue 17): another experiment's finished stage, whose
 * aggregated boxes become this experiment's starting boxes (stage 0) for
 * the images the two share.  The state is read when the experiment runs
 * or is checked (daemon/), never here.
 */
struct exp_start_from {
	char *state_dir; /* resolved relative to the file; NULL: none */
	int stage;	 /* 1..EXP_STAGES_MAX */
};

struct experiment {
	char *source; /* the experiment file as given to exp_load() */
	char *name;   /* required; see EXP_NAME_MAX */
	struct exp_mturk mturk;
	struct exp_hit hit;
	/*
	 * The schedule as written: pixels or relative lengths, pixels odd
	 * and >= 3, strictly decreasing where comparable.
	 */
	struct exp_length stage_specs[EXP_STAGES_MAX];
	/*
	 * The windows in pixels.  A relative stage holds the widest window
	 * any image resolves it to (the heaviest blur, never a lighter
	 * one); an image's own windows are in images[].windows, which is
	 * what every stage of that image must use.
	 */
	int stages[EXP_STAGES_MAX];
	size_t nstages; /* [default: 41, 27, 21, 17, 13] */
	enum exp_aggregate aggregate; /* [default: union] */
	struct exp_task task;
	struct exp_redact redact;
	struct exp_detector detector;
	struct exp_sim_crowd sim_crowd;
	struct exp_start_from start_from;
	struct exp_host images_host;
	struct exp_recruitment recruitment;
	/*
	 * The money the experiment may commit, or -1 for no limit.  Optional
	 * for simulator and sandbox, required for production.  [default: -1]
	 */
	int64_t budget_cents;
	char *output_dir; /* resolved like image paths [default: "out"] */
	/*
	 * Required key; may be an empty list ("images: []"): an experiment
	 * with no images yet is valid, images are added later by SIGHUP.
	 */
	struct exp_image *images;
	size_t nimages;
};

/* ---- experiment.c: loading --------------------------------------------- */

/*
 * Every problem found in a file, formatted "FILE:LINE:COLUMN: message"
 * (or "FILE: message" where there is no position).  At most
 * EXP_ERRORS_MAX messages are kept; n counts all of them.  A zeroed struct
 * is ready to use.
 */
struct exp_errors {
	char **msgs;
	size_t nmsgs; /* kept */
	size_t n;     /* found */
};

void exp_errors_cleanup(struct exp_errors *errs);

/*
 * Loads and validates the experiment file at path: syntax, every key,
 * cross-field rules, and each image's header (exists, readable, JPEG or
 * PNG, its displayed size).  On success *out is a new experiment (free it
 * with exp_free()).  On an invalid file, returns IF_EINPUT, leaves *out
 * NULL, appends every problem to errs (may be NULL), in the order of the
 * file, and records the first one in eb, followed by " (N errors in all)"
 * when there are more.  An unreadable file, or one over EXP_FILE_MAX bytes,
 * is IF_EINPUT too; running out of memory IF_ERUNTIME.  Never touches the
 * network; reads only the file and the images' headers.
 */
int exp_load(const char *path, struct experiment **out,
	     struct exp_errors *errs, struct errbuf *eb);

/* NULL is a no-op. */
void exp_free(struct experiment *exp);

/* The image with this id, or NULL. */
const struct exp_image *exp_image_find(const struct experiment *exp,
				       const char *id);

/*
 * The window of stage (from 1) for the image with this id: its resolved
 * window, or the experiment's stages[] for an id not in the file.  0 past
 * the last stage (the final image is the original).
 */
int exp_window(const struct experiment *exp, const char *image_id,
	       size_t stage);

/*
 * The stage qualification slots (hit.exclusivity_group): how many there
 * are, and the slot of stage (from 1).  Without a group, the stages.
 */
int exp_qual_slots(const struct experiment *exp);
int exp_qual_slot(const struct experiment *exp, int stage);
/*
 * Writes the name of slot's qualification type (MTurk: unique per
 * requester, so the name is what finds the type again).
 */
void exp_qual_slot_name(const struct experiment *exp, int slot, char *out,
			size_t len);

/* Names as written in the file ("sandbox", "union", "GreaterThan", ...). */
const char *exp_env_str(enum exp_env env);
const char *exp_aggregate_str(enum exp_aggregate agg);
const char *exp_approve_str(enum exp_approve ap);
const char *exp_host_kind_str(enum exp_host_kind kind);
const char *exp_comparator_str(enum exp_comparator cmp);
const char *exp_guard_str(enum exp_guard guard); /* NULL for NONE */
const char *exp_redact_style_str(enum redact_style style);
const char *exp_platform_str(enum exp_platform p);
const char *exp_fee_str(enum exp_fee f);

/* ---- schema.c: the keys ------------------------------------------------- */

/*
 * Appends a description of every key, from the one table the loader uses:
 * name, type and bounds, default or "required", what a SIGHUP may do, and
 * a line of help.  For `intofocus check --keys` and the manual.
 */
int exp_keys_format(struct buf *out);

/* ---- units.c: text <-> numbers ----------------------------------------- */

/*
 * "30s", "5m", "3h", "2d": a decimal number of at most 9 digits and one
 * unit, no spaces.  0 or -1.
 */
int cfg_parse_duration(const char *s, int64_t *seconds);
/* The shortest exact form ("90s", "5m", "1d"); buf holds >= 24 bytes. */
void cfg_format_duration(int64_t seconds, char *buf, size_t len);

/*
 * A USD amount as MTurk's CurrencyAmount: ^[0-9]+(\.)?[0-9]{0,2}$ ("5",
 * "5.", "0.15", "101.42"), at most 9 integer digits.  No sign, no "$".
 * Integer cents out; never floating point.  0 or -1.
 */
int cfg_parse_money(const char *s, int64_t *cents);
/* "0.15", "20.00", "-1.05": the CurrencyAmount MTurk expects (cents >= 0). */
void cfg_format_money(int64_t cents, char *buf, size_t len);

/*
 * "3%", "2.5%", "0.25%": a percentage with at most two decimals, more
 * than 0 and at most 100, in hundredths of a percent.  0 or -1.
 */
int cfg_parse_percent(const char *s, int *bp);
/* "2.5%" from 250; buf holds >= 16 bytes. */
void cfg_format_percent(int bp, char *buf, size_t len);
/*
 * A length: whole pixels in 1..max_px ("41"), or a percentage (above).
 * 0 or -1.
 */
int cfg_parse_length(const char *s, int max_px, struct exp_length *out);
/* "41" or "3%"; buf holds >= 16 bytes. */
void cfg_format_length(const struct exp_length *l, char *buf, size_t len);
/*
 * A relative window resolved against a w x h image: the odd number of
 * pixels nearest to bp of the shorter side, at least 3 and at most
 * EXP_WINDOW_MAX; a window in pixels is returned as it is.
 */
int exp_window_resolve(const struct exp_length *l, int w, int h);

/* "#rrggbb" (either case) -> 0xRRGGBB.  0 or -1. */
int cfg_parse_color(const char *s, uint32_t *rgb);

/*
 * num / den rounded half up (den > 0, num >= 0): MTurk's rounding of fees
 * to the cent ($0.104 -> $0.10, $0.105 -> $0.11).
 */
int64_t cfg_div_half_up(int64_t num, int64_t den);

/* Levenshtein distance of two short strings (for "did you mean"). */
size_t cfg_edit_distance(const char *a, const char *b);

/* ---- plan.c: the plan and its cost -------------------------------------- */

/*
 * MTurk's fee on one assignment of reward_cents (mturk-facts.md 1.8): 20%,
 * 40% when the HIT has 10 or more assignments, plus 5% with a Masters
 * qualification; rounded half up to the cent; at least 1 cent.
 */
int64_t plan_fee_cents(int64_t reward_cents, int workers, bool masters);

/* True when a qualification of exp asks for Masters (the fee is higher). */
bool plan_uses_masters(const struct experiment *exp);

/*
 * What one assignment of exp costs on MTurk: reward + fee; 0 when
 * Prolific recruits (the task server's HITs pay nothing).
 */
int64_t plan_assignment_cents(const struct experiment *exp);
/* What one HIT of exp costs: workers x plan_assignment_cents(). */
int64_t plan_hit_cents(const struct experiment *exp);

struct exp_plan {
	size_t nimages;
	size_t nstages;
	int workers;
	int64_t hits;		/* images x stages */
	int64_t assignments;	/* hits x workers */
	int fee_percent;	/* 20, 40, 25 or 45 */
	int64_t reward_cents;	/* per assignment */
	int64_t fee_cents;	/* per assignment */
	int64_t hit_cents;	/* per HIT: workers x (reward + fee) */
	int64_t image_cents;	/* per image: stages x hit_cents */
	int64_t rewards_cents;	/* all rewards */
	int64_t fees_cents;	/* all fees */
	int64_t total_cents;	/* rewards + fees */
	bool has_budget;
	int64_t budget_cents;	   /* -1 without a budget */
	int64_t budget_left_cents; /* budget - total; negative when over */
	bool over_budget;
	/* Images the budget pays for in full (nimages without a budget). */
	size_t images_affordable;
};

/*
 * The plan of spec section 2 (`check`): every image through every stage,
 * extensions excluded (extending a HIT costs nothing).  Pure arithmetic.
 */
void plan_compute(const struct experiment *exp, struct exp_plan *plan);

/* ---- diff.c: SIGHUP ----------------------------------------------------- */

/*
 * What a reload from old to new_exp changes, when it may (spec section 3):
 * new images start; a changed budget applies; an image not yet started
 * may change or go.  Indices are into new_exp->images (added) and
 * old->images (removed).
 */
struct exp_diff {
	size_t *added;
	size_t nadded;
	size_t *removed;
	size_t nremoved;
	size_t *changed; /* images not yet started whose entry changed */
	size_t nchanged;
	bool budget_changed;
	int64_t old_budget_cents, new_budget_cents;
};

/*
 * Compares old and new_exp.  started lists the ids of the images that have
 * started (nstarted of them).  Returns IF_OK with *diff filled when the
 * reload may apply, or IF_EINPUT with the first reason in eb (and *diff
 * empty) when it must be refused: the name or the environment changed; a
 * started image was removed or changed; or a setting every image uses
 * (stages, reward, workers, ...) changed while an image has started.
 * Every diff must be released with exp_diff_cleanup().
 */
int exp_diff(const struct experiment *old, const struct experiment *new_exp,
	     const char *const *started, size_t nstarted,
	     struct exp_diff *diff, struct errbuf *eb);
void exp_diff_cleanup(struct exp_diff *diff);

#endif /* INTOFOCUS_CONFIG_H */
