/*
 * config/config_private.h - shared by the files of config/ only.
 *
 * The YAML document (yaml_doc.c), the diagnostics collector and the key
 * table with its walker (schema.c).
 */
#ifndef INTOFOCUS_CONFIG_PRIVATE_H
#define INTOFOCUS_CONFIG_PRIVATE_H

#include "config/config.h"

#include <yaml.h>

/* ---- diagnostics (yaml_doc.c) ------------------------------------------- */

/* Collects "FILE:LINE:COLUMN: message" lines into a struct exp_errors. */
struct cfg_diag {
	const char *file; /* as the user named it */
	struct exp_errors *errs;
	size_t count; /* errors reported through this collector */
	bool oom;     /* a message could not be stored */
};

/* line 0: no position ("FILE: message"). */
void cfg_error(struct cfg_diag *d, int line, int col, const char *fmt, ...)
	IF_PRINTF(4, 5);
void cfg_node_error(struct cfg_diag *d, const yaml_node_t *n,
		    const char *fmt, ...) IF_PRINTF(3, 4);

/* ---- yaml_doc.c: the libyaml boundary ----------------------------------- */

struct ydoc {
	yaml_document_t doc;
	bool loaded;
};

/*
 * Parses data (len bytes of the file named in d) into one YAML document.
 * Refuses, with positions: an empty file, bytes that are not UTF-8, tabs in
 * indentation, syntax errors, aliases, more than one document.  IF_OK, or
 * IF_EINPUT with the problems reported to d, or IF_ERUNTIME.
 */
int ydoc_parse(const char *data, size_t len, struct ydoc *y,
	       struct cfg_diag *d);
void ydoc_cleanup(struct ydoc *y);
yaml_node_t *ydoc_root(struct ydoc *y);
yaml_node_t *ydoc_node(struct ydoc *y, int id);
/* 1-based position of a node. */
int ynode_line(const yaml_node_t *n);
int ynode_col(const yaml_node_t *n);
/* A scalar's text (NUL-terminated by libyaml), or NULL for other nodes. */
const char *ynode_scalar(const yaml_node_t *n);
/* True for a plain (unquoted) scalar. */
bool ynode_plain(const yaml_node_t *n);
/* True for a plain "", "~", "null" or "Null": YAML's empty value. */
bool ynode_null(const yaml_node_t *n);
/* "a string", "a list", "a mapping", "nothing" for messages. */
const char *ynode_kind(const yaml_node_t *n);

/* ---- schema.c: the key table and its walker ----------------------------- */

enum cfg_type {
	CFG_STR = 0,
	CFG_INT,
	CFG_BOOL,
	CFG_DURATION,
	CFG_MONEY,
	CFG_ENUM,
	CFG_COLOR,
	CFG_LENGTH,  /* struct exp_length; max bounds the pixels */
	CFG_PERCENT, /* int, hundredths of a percent; min/max likewise */
	CFG_REAL,    /* double; min/max in millionths */
	CFG_MAP,    /* a section: sub is its table */
	CFG_CUSTOM, /* parse does the work */
};

/* What a SIGHUP reload may do with a key (diff.c). */
enum cfg_reload {
	CFG_RELOAD_UNSTARTED = 0, /* only while no image has started */
	CFG_RELOAD_ANY,		  /* applies at once (budget_usd) */
	CFG_RELOAD_NEVER,	  /* refused (name, environment) */
};

#define CFG_REQUIRED 0x01u
#define CFG_S3 0x02u	/* images_host key of kind s3 */
#define CFG_LOCAL 0x04u /* images_host key of kind local */

struct cfg_walk;
struct cfg_key;

typedef int (*cfg_parse_fn)(struct cfg_walk *w, yaml_node_t *n,
			    const struct cfg_key *k, void *base);
/* Checks a string value; on refusal writes why (a sentence) and returns -1. */
typedef int (*cfg_check_fn)(const char *s, char *why, size_t len);
/* Compares a custom value of two structs (diff.c): 0 when equal. */
typedef int (*cfg_cmp_fn)(const void *a, const void *b);

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off; /* offset in the base struct */
	int64_t min, max; /* numbers; strings: max length in characters */
	const char *def;  /* default, as YAML text, or NULL */
	unsigned flags;
	enum cfg_reload reload;
	/*
	 * The key says where the state's HITs, stage images or study live
	 * (an endpoint, the signing region, the CAs, the account's profile,
	 * the image host): refused while images are in the state with
	 * that reason (diff.c), and followed at once before (engine.c).
	 */
	bool service;
	const char *const *names; /* CFG_ENUM: names in enum order */
	size_t nnames;
	const struct cfg_key *sub; /* CFG_MAP */
	cfg_parse_fn parse;	   /* CFG_CUSTOM */
	cfg_check_fn check;	   /* CFG_STR, optional */
	cfg_cmp_fn cmp;		   /* CFG_CUSTOM, for diff.c */
	const char *doc;	   /* one line for --help-keys */
};

/* Where each key of one mapping was found (line 0 = absent). */
struct cfg_seen {
	int line[32];
	int col[32];
	yaml_node_t *node[32];
};

struct cfg_walk {
	struct ydoc *y;
	struct cfg_diag *d;
	bool oom;
	char prefix[128]; /* "hit." while walking hit */
};

/* The root table (keys of struct experiment). */
extern const struct cfg_key cfg_root_keys[];
extern const struct cfg_key cfg_image_keys[];
extern const struct cfg_key cfg_qual_keys[];
size_t cfg_keys_count(const struct cfg_key *keys);

/* Fills base's fields from every key's default (recursing into sections). */
int cfg_apply_defaults(const struct cfg_key *keys, void *base);
/*
 * Walks mapping n against keys into base: unknown and duplicate keys,
 * types, bounds, missing required keys.  Records where keys were in seen
 * (may be NULL).  Every problem goes to w->d; returns -1 only when memory
 * runs out.
 */
int cfg_walk_map(struct cfg_walk *w, yaml_node_t *n,
		 const struct cfg_key *keys, void *base, struct cfg_seen *seen);
/* Frees what the table's string and list fields of base own. */
void cfg_free_fields(const struct cfg_key *keys, void *base);
/* The index of name in keys, or -1. */
int cfg_key_index(const struct cfg_key *keys, const char *name);

#endif /* INTOFOCUS_CONFIG_PRIVATE_H */
