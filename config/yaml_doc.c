/*
 * config/yaml_doc.c - the libyaml boundary (spec section 3; style.md 12).
 *
 * The only file that calls libyaml.  It turns the bytes of an experiment
 * file into a node tree whose marks the walker reports as 1-based
 * LINE:COLUMN (libyaml counts from 0).  Before the tree is built, a scan
 * of the event stream catches what a tree would hide or what would make
 * libyaml's own message cryptic:
 *   - bytes that are not UTF-8 (the parser is told the encoding, so a
 *     UTF-16 file is refused too), at the first bad byte;
 *   - tabs in indentation, which YAML forbids, one message per line;
 *   - aliases: a document tree shares aliased nodes, and a walker over
 *     shared nodes can be made to do exponential work ("billion laughs"),
 *     so experiment files have none;
 *   - a second document in the same file;
 *   - nesting deeper than any experiment needs (see YDOC_DEPTH_MAX).
 * libyaml's reader errors give a byte offset, not a mark; offset_pos()
 * turns it into a position.
 */
#include "config/config_private.h"

#include <stdlib.h>
#include <string.h>

/*
 * An experiment nests four levels at most.  libyaml's scanner does work
 * proportional to the flow depth for every token, so a file of nested
 * brackets would take quadratic time; the event scan stops early instead.
 */
#define YDOC_DEPTH_MAX 16

static void
diag_add(struct cfg_diag *d, char *msg)
{
	struct exp_errors *e = d->errs;
	char **v;

	d->count++;
	if (e == NULL) {
		free(msg);
		return;
	}
	e->n++;
	if (msg == NULL) {
		d->oom = true;
		return;
	}
	if (e->nmsgs >= EXP_ERRORS_MAX) {
		free(msg);
		return;
	}
	v = realloc(e->msgs, (e->nmsgs + 1) * sizeof(*v));
	if (v == NULL) {
		d->oom = true;
		free(msg);
		return;
	}
	e->msgs = v;
	e->msgs[e->nmsgs++] = msg;
}

static void
diag_vadd(struct cfg_diag *d, int line, int col, const char *fmt, va_list ap)
{
	struct buf b;

	buf_init(&b, 4096);
	if (line > 0)
		buf_printf(&b, "%s:%d:%d: ", d->file, line, col);
	else
		buf_printf(&b, "%s: ", d->file);
	buf_vprintf(&b, fmt, ap);
	diag_add(d, buf_steal(&b, NULL));
}

void
cfg_error(struct cfg_diag *d, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, line, col, fmt, ap);
	va_end(ap);
}

void
cfg_node_error(struct cfg_diag *d, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, n != NULL ? ynode_line(n) : 0,
		  n != NULL ? ynode_col(n) : 0, fmt, ap);
	va_end(ap);
}

void
exp_errors_cleanup(struct exp_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->nmsgs; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	memset(errs, 0, sizeof(*errs));
}

/* Line and column (characters, 1-based) of a byte offset. */
static void
offset_pos(const char *data, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n') {
			(*line)++;
			*col = 1;
		} else if ((c & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static size_t
scan_tabs(const char *data, size_t len, struct cfg_diag *d)
{
	size_t found = 0, i = 0;
	int line = 1;

	while (i < len) {
		size_t start = i, tab = SIZE_MAX;

		while (i < len && (data[i] == ' ' || data[i] == '\t')) {
			if (data[i] == '\t' && tab == SIZE_MAX)
				tab = i;
			i++;
		}
		/* A tab before content (not a comment or end of line) only. */
		if (tab != SIZE_MAX && i < len && data[i] != '\n' &&
		    data[i] != '\r' && data[i] != '#') {
			cfg_error(d, line, (int)(tab - start) + 1,
				  "tab in indentation: YAML allows only spaces "
				  "there");
			found++;
		}
		while (i < len && data[i] != '\n')
			i++;
		i++;
		line++;
	}
	return found;
}

static void
parser_error(const yaml_parser_t *p, const char *data, size_t len,
	     struct cfg_diag *d)
{
	int line, col;

	if (p->error == YAML_MEMORY_ERROR) {
		d->oom = true;
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		size_t off = p->problem_offset;

		/*
		 * For a bad continuation byte libyaml points at that byte; the
		 * operator's editor shows the character it belongs to, so point
		 * at its leading byte.
		 */
		if (strstr(p->problem, "trailing") != NULL)
			while (off > 0 && off <= len &&
			       ((unsigned char)data[off - 1] & 0xC0) == 0x80)
				off--;
		if (strstr(p->problem, "trailing") != NULL && off > 0)
			off--;
		offset_pos(data, len, off, &line, &col);
		if (off < len && strstr(p->problem, "UTF-8") != NULL)
			cfg_error(d, line, col,
				  "not UTF-8: byte 0x%02X cannot appear here "
				  "(save the file as UTF-8)",
				  (unsigned)(unsigned char)data[off]);
		else
			cfg_error(d, line, col,
				  "%s (save the file as UTF-8 text)",
				  p->problem);
		return;
	}
	if (p->context != NULL)
		cfg_error(d, (int)p->problem_mark.line + 1,
			  (int)p->problem_mark.column + 1,
			  "YAML syntax: %s %s (line %d)", p->problem,
			  p->context, (int)p->context_mark.line + 1);
	else
		cfg_error(d, (int)p->problem_mark.line + 1,
			  (int)p->problem_mark.column + 1, "YAML syntax: %s",
			  p->problem != NULL ? p->problem : "invalid");
}

/* One pass over the events: syntax, aliases, number of documents. */
static int
scan_events(const char *data, size_t len, struct cfg_diag *d)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int ndocs = 0, depth = 0, rc = IF_OK;
	bool done = false;

	if (!yaml_parser_initialize(&p))
		return IF_ERUNTIME;
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			parser_error(&p, data, len, d);
			rc = IF_EINPUT;
			break;
		}
		if (ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > YDOC_DEPTH_MAX) {
				cfg_error(d, (int)ev.start_mark.line + 1,
					  (int)ev.start_mark.column + 1,
					  "nested more than %d levels deep",
					  YDOC_DEPTH_MAX);
				rc = IF_EINPUT;
				done = true;
			}
		} else if (ev.type == YAML_SEQUENCE_END_EVENT ||
			   ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		} else if (ev.type == YAML_ALIAS_EVENT) {
			cfg_error(d, (int)ev.start_mark.line + 1,
				  (int)ev.start_mark.column + 1,
				  "aliases (*%s) are not allowed in an "
				  "experiment file: write the value out",
				  (const char *)ev.data.alias.anchor);
			rc = IF_EINPUT;
		} else if (ev.type == YAML_DOCUMENT_START_EVENT &&
			   ++ndocs == 2) {
			cfg_error(d, (int)ev.start_mark.line + 1,
				  (int)ev.start_mark.column + 1,
				  "a second YAML document: one experiment per "
				  "file");
			rc = IF_EINPUT;
		} else if (ev.type == YAML_STREAM_END_EVENT) {
			done = true;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (rc == IF_OK && ndocs == 0) {
		cfg_error(d, 0, 0,
			  "the file is empty: an experiment needs at least "
			  "name, hit.reward and images");
		rc = IF_EINPUT;
	}
	return d->oom ? IF_ERUNTIME : rc;
}

int
ydoc_parse(const char *data, size_t len, struct ydoc *y, struct cfg_diag *d)
{
	yaml_parser_t p;
	yaml_node_t *root;
	int rc;

	memset(y, 0, sizeof(*y));
	if (scan_tabs(data, len, d) > 0)
		return IF_EINPUT;
	if ((rc = scan_events(data, len, d)) != IF_OK)
		return rc;
	if (!yaml_parser_initialize(&p))
		return IF_ERUNTIME;
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	if (!yaml_parser_load(&p, &y->doc)) {
		parser_error(&p, data, len, d);
		yaml_parser_delete(&p);
		return d->oom ? IF_ERUNTIME : IF_EINPUT;
	}
	yaml_parser_delete(&p);
	y->loaded = true;
	root = ydoc_root(y);
	if (root == NULL || ynode_null(root)) {
		cfg_error(d, 0, 0,
			  "the file is empty: an experiment needs at least "
			  "name, hit.reward and images");
		return IF_EINPUT;
	}
	if (root->type != YAML_MAPPING_NODE) {
		cfg_node_error(d, root,
			       "an experiment is a mapping of keys (name:, "
			       "hit:, images:, ...), not %s",
			       ynode_kind(root));
		return IF_EINPUT;
	}
	return IF_OK;
}

void
ydoc_cleanup(struct ydoc *y)
{
	if (y != NULL && y->loaded)
		yaml_document_delete(&y->doc);
	if (y != NULL)
		y->loaded = false;
}

yaml_node_t *
ydoc_root(struct ydoc *y)
{
	return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

yaml_node_t *
ydoc_node(struct ydoc *y, int id)
{
	return yaml_document_get_node(&y->doc, id);
}

int
ynode_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

int
ynode_col(const yaml_node_t *n)
{
	return (int)n->start_mark.column + 1;
}

const char *
ynode_scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
					   : NULL;
}

bool
ynode_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool
ynode_null(const yaml_node_t *n)
{
	const char *s = ynode_scalar(n);

	if (s == NULL || !ynode_plain(n))
		return false;
	return strcmp(s, "") == 0 || strcmp(s, "~") == 0 ||
	       strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

const char *
ynode_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return ynode_null(n) ? "nothing" : "a string";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}
