/*
 * mturk/answer.c - QuestionFormAnswers XML in and out (spec sections 5
 * and 7).  This file owns libxml2.
 *
 * An answer is outside input written by anyone who can post to
 * externalSubmit, so the parser assumes hostility:
 *   - the size is checked before libxml2 sees a byte (ANSWER_MAX_XML);
 *   - the text must be ASCII-compatible (no NUL byte, '<' first), and is
 *     read as UTF-8 whatever it declares: ASCII, which MTurk declares, is a
 *     subset, and no declared encoding (UTF-7, UTF-16, EBCDIC) can then
 *     hide markup from the DOCTYPE scan below;
 *   - a DOCTYPE is refused before parsing (billion laughs, external
 *     entities) and again after, should one have slipped past the scan;
 *   - libxml2 runs with XML_PARSE_NONET and never with XML_PARSE_NOENT or
 *     XML_PARSE_DTDLOAD, so nothing is fetched and no entity is expanded.
 * A bad answer is an enum answer_error plus a message naming the field
 * and, for boxes, the index; the output is all or nothing.
 *
 * The formatter writes what MTurk writes (one line, ASCII, the 2005-10-01
 * namespace, one <Answer> per field in form order, character references
 * for everything beyond ASCII), so the simulator's answers go through the
 * same parser as the real service's.
 */
#include "mturk/mturk.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

/* Coordinates beyond this are nonsense and would overflow x + w. */
#define BOX_COORD_LIMIT (1 << 24)

const char *
answer_error_str(enum answer_error e)
{
	switch (e) {
	case ANSWER_OK:
		return "ok";
	case ANSWER_TOO_LARGE:
		return "too_large";
	case ANSWER_NOT_XML:
		return "not_xml";
	case ANSWER_DTD:
		return "dtd";
	case ANSWER_BAD_SHAPE:
		return "bad_shape";
	case ANSWER_MISSING_FIELD:
		return "missing_field";
	case ANSWER_DUPLICATE_FIELD:
		return "duplicate_field";
	case ANSWER_BAD_BOXES:
		return "bad_boxes";
	case ANSWER_TOO_MANY_BOXES:
		return "too_many_boxes";
	case ANSWER_BAD_FACE_FOUND:
		return "bad_face_found";
	case ANSWER_BAD_CONFIDENCE:
		return "bad_confidence";
	}
	return "unknown";
}

void
answer_init(struct answer *a)
{
	memset(a, 0, sizeof(*a));
}

void
answer_cleanup(struct answer *a)
{
	if (a == NULL)
		return;
	free(a->boxes);
	free(a->feedback);
	free(a->confidence);
	memset(a, 0, sizeof(*a));
}

/* Records why and the message; returns IF_EINPUT. */
static int
bad(enum answer_error *why, enum answer_error e, struct errbuf *eb,
    const char *fmt, ...) IF_PRINTF(4, 5);

static int
bad(enum answer_error *why, enum answer_error e, struct errbuf *eb,
    const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*why = e;
	return err_set(eb, IF_EINPUT, "answer: %s", msg);
}

/* Case-insensitive search for needle in s[0..len). */
static bool
contains_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++) {
		size_t j = 0;

		while (j < n && (s[i + j] | 0x20) == (needle[j] | 0x20))
			j++;
		if (j == n)
			return true;
	}
	return false;
}

/* ---- boxes ------------------------------------------------------------ */

static bool
in_range(json_t *v, json_int_t lo, json_int_t hi, json_int_t *out)
{
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return *out >= lo && *out <= hi;
}

/*
 * The confidence field: a JSON array of exactly nboxes integers 0..100 or
 * nulls (-1), into *out (nboxes + 1 ints).  It is checked as strictly as
 * the boxes: a box's confidence that cannot be read is a bad answer.
 */
static int
parse_confidence(const char *text, size_t nboxes, int **out,
		 enum answer_error *why, struct errbuf *eb)
{
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	int rc = IF_OK;

	*out = NULL;
	if (root == NULL || !json_is_array(root)) {
		rc = bad(why, ANSWER_BAD_CONFIDENCE, eb,
			 "confidence: not a JSON array");
		goto cleanup;
	}
	if (json_array_size(root) != nboxes) {
		rc = bad(why, ANSWER_BAD_CONFIDENCE, eb,
			 "confidence: %zu values for %zu boxes",
			 json_array_size(root), nboxes);
		goto cleanup;
	}
	if ((*out = calloc(nboxes + 1, sizeof(**out))) == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "answer: out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < nboxes; i++) {
		json_t *v = json_array_get(root, i);
		json_int_t c;

		if (json_is_null(v)) {
			(*out)[i] = -1;
			continue;
		}
		if (!in_range(v, 0, 100, &c)) {
			rc = bad(why, ANSWER_BAD_CONFIDENCE, eb,
				 "confidence[%zu]: not an integer 0..100 or "
				 "null",
				 i);
			goto cleanup;
		}
		(*out)[i] = (int)c;
	}
cleanup:
	if (rc != IF_OK) {
		free(*out);
		*out = NULL;
	}
	json_decref(root);
	return rc;
}

/*
 * The number of entries of the boxes array, or -1 when it is not one
 * that parse_boxes() accepts the size of (it says why then).
 */
static long
boxes_given(const char *text)
{
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	long n = json_is_array(root) &&
				 json_array_size(root) <= ANSWER_MAX_BOXES
			 ? (long)json_array_size(root)
			 : -1;

	json_decref(root);
	return n;
}

/* conf: the parsed confidence field (one per box given), or NULL. */
static int
parse_boxes(const char *text, const int *conf, int img_w, int img_h,
	    struct answer *a, enum answer_error *why, struct errbuf *eb)
{
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	size_t n;
	int rc;

	if (root == NULL) {
		rc = bad(why, ANSWER_BAD_BOXES, eb,
			 "boxes: not JSON (column %d: %s)", jerr.column,
			 jerr.text);
		goto cleanup;
	}
	if (!json_is_array(root)) {
		rc = bad(why, ANSWER_BAD_BOXES, eb,
			 "boxes: not a JSON array of [x, y, w, h]");
		goto cleanup;
	}
	n = json_array_size(root);
	if (n > ANSWER_MAX_BOXES) {
		rc = bad(why, ANSWER_TOO_MANY_BOXES, eb,
			 "boxes: %zu boxes, at most %d allowed", n,
			 ANSWER_MAX_BOXES);
		goto cleanup;
	}
	if (n > 0 && (a->boxes = calloc(n, sizeof(*a->boxes))) == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "answer: out of memory");
		goto cleanup;
	}
	if (conf != NULL &&
	    (a->confidence = calloc(n + 1, sizeof(*a->confidence))) == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "answer: out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *b = json_array_get(root, i);
		json_int_t v[4];
		struct box bx;

		if (!json_is_array(b) || json_array_size(b) != 4) {
			rc = bad(why, ANSWER_BAD_BOXES, eb,
				 "boxes[%zu]: not an array of 4 integers "
				 "[x, y, w, h]",
				 i);
			goto cleanup;
		}
		for (size_t k = 0; k < 4; k++) {
			json_int_t lo = k < 2 ? -BOX_COORD_LIMIT : 0;

			if (!in_range(json_array_get(b, k), lo,
				      BOX_COORD_LIMIT, &v[k])) {
				rc = bad(why, ANSWER_BAD_BOXES, eb,
					 "boxes[%zu][%zu]: %s", i, k,
					 !json_is_integer(json_array_get(b, k))
						 ? "not an integer"
					 : k >= 2 && v[k] < 0
						 ? "negative size"
						 : "out of range");
				goto cleanup;
			}
		}
		bx = (struct box){(int)v[0], (int)v[1], (int)v[2], (int)v[3]};
		if (!box_clip(&bx, img_w, img_h)) {
			a->ndropped++;
			continue;
		}
		if (conf != NULL)
			a->confidence[a->nboxes] = conf[i];
		a->boxes[a->nboxes++] = bx;
	}
	rc = IF_OK;
cleanup:
	json_decref(root);
	return rc;
}

/* ---- XML -------------------------------------------------------------- */

static bool
is_element(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	       xmlStrcmp(n->name, (const xmlChar *)name) == 0;
}

/* True when a node holds only white space (text between elements). */
static bool
is_blank(const xmlNode *n)
{
	return (n->type == XML_TEXT_NODE && xmlIsBlankNode(n)) ||
	       n->type == XML_COMMENT_NODE;
}

/* The fields we know, as found (owned xmlChar strings). */
struct found {
	xmlChar *boxes, *face_found, *feedback, *confidence;
};

static int
read_answers(const xmlNode *root, struct found *fd, enum answer_error *why,
	     struct errbuf *eb)
{
	for (const xmlNode *n = root->children; n != NULL; n = n->next) {
		const xmlNode *qid = NULL, *val = NULL;
		xmlChar *name, *text;
		xmlChar **slot = NULL;
		const char *s;

		if (is_blank(n))
			continue;
		if (!is_element(n, "Answer"))
			return bad(why, ANSWER_BAD_SHAPE, eb,
				   "unexpected <%s> in QuestionFormAnswers",
				   n->name != NULL ? (const char *)n->name
						   : "?");
		for (const xmlNode *c = n->children; c != NULL; c = c->next) {
			if (is_blank(c))
				continue;
			if (is_element(c, "QuestionIdentifier") && qid == NULL)
				qid = c;
			else if (c->type == XML_ELEMENT_NODE && val == NULL)
				val = c;
			else
				return bad(why, ANSWER_BAD_SHAPE, eb,
					   "an <Answer> holds more than a "
					   "QuestionIdentifier and one value");
		}
		if (qid == NULL)
			return bad(why, ANSWER_BAD_SHAPE, eb,
				   "an <Answer> without QuestionIdentifier");
		if ((name = xmlNodeGetContent(qid)) == NULL)
			return err_set(eb, IF_ERUNTIME,
				       "answer: out of memory");
		s = (const char *)name;
		if (strcmp(s, "boxes") == 0)
			slot = &fd->boxes;
		else if (strcmp(s, "face_found") == 0)
			slot = &fd->face_found;
		else if (strcmp(s, "feedback") == 0)
			slot = &fd->feedback;
		else if (strcmp(s, "confidence") == 0)
			slot = &fd->confidence;
		if (slot == NULL) {
			/* Someone else's field: ignorable. */
			xmlFree(name);
			continue;
		}
		if (*slot != NULL) {
			int rc = bad(why, ANSWER_DUPLICATE_FIELD, eb,
				     "field %s given twice", s);

			xmlFree(name);
			return rc;
		}
		if (val != NULL && !is_element(val, "FreeText")) {
			int rc = bad(why, ANSWER_BAD_SHAPE, eb,
				     "field %s is <%s>, not <FreeText>", s,
				     (const char *)val->name);

			xmlFree(name);
			return rc;
		}
		xmlFree(name);
		/* An empty field may come as <FreeText/> or no value. */
		text = val != NULL ? xmlNodeGetContent(val)
				   : xmlStrdup((const xmlChar *)"");
		if (text == NULL)
			text = xmlStrdup((const xmlChar *)"");
		if (text == NULL)
			return err_set(eb, IF_ERUNTIME,
				       "answer: out of memory");
		*slot = text;
	}
	return IF_OK;
}

/* face_found: yes or no, any case, white space around allowed. */
static int
parse_face_found(const char *s, bool *out)
{
	size_t len;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
			   s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	if (len == 3 && strncasecmp(s, "yes", 3) == 0)
		*out = true;
	else if (len == 2 && strncasecmp(s, "no", 2) == 0)
		*out = false;
	else
		return -1;
	return 0;
}

int
answer_parse(const char *xml, size_t len, int img_w, int img_h,
	     struct answer *a, enum answer_error *why, struct errbuf *eb)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	const xmlNode *root;
	struct found fd = {0};
	int *conf = NULL;
	long given;
	size_t i = 0;
	int rc;

	answer_init(a);
	*why = ANSWER_OK;
	/* Before libxml2 sees a byte. */
	if (len > ANSWER_MAX_XML) {
		rc = bad(why, ANSWER_TOO_LARGE, eb,
			 "%zu bytes, at most %d accepted", len,
			 ANSWER_MAX_XML);
		goto cleanup;
	}
	if (xml == NULL || len == 0) {
		rc = bad(why, ANSWER_MISSING_FIELD, eb,
			 "empty answer: no form fields submitted");
		goto cleanup;
	}
	if (memchr(xml, '\0', len) != NULL) {
		rc = bad(why, ANSWER_NOT_XML, eb,
			 "NUL byte: not ASCII or UTF-8 text");
		goto cleanup;
	}
	if (len >= 3 && memcmp(xml, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && (xml[i] == ' ' || xml[i] == '\t' || xml[i] == '\r' ||
			   xml[i] == '\n'))
		i++;
	if (i == len || xml[i] != '<') {
		rc = bad(why, ANSWER_NOT_XML, eb, "does not start with '<'");
		goto cleanup;
	}
	if (contains_ci(xml, len, "<!DOCTYPE") ||
	    contains_ci(xml, len, "<!ENTITY")) {
		rc = bad(why, ANSWER_DTD, eb,
			 "a DOCTYPE or ENTITY declaration is refused");
		goto cleanup;
	}
	xmlInitParser();
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "answer: out of memory");
		goto cleanup;
	}
	/* Never XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_HUGE. */
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "answer.xml", "UTF-8",
				XML_PARSE_NONET | XML_PARSE_NOERROR |
					XML_PARSE_NOWARNING |
					XML_PARSE_NOCDATA);
	if (doc == NULL) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[300] = "not well-formed";

		if (e != NULL && e->message != NULL) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		rc = bad(why, ANSWER_NOT_XML, eb, "line %d: %s",
			 e != NULL ? e->line : 0, msg);
		goto cleanup;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		rc = bad(why, ANSWER_DTD, eb, "a DTD is refused");
		goto cleanup;
	}
	root = xmlDocGetRootElement(doc);
	if (!is_element(root, "QuestionFormAnswers") ||
	    (root->ns != NULL &&
	     xmlStrcmp(root->ns->href, (const xmlChar *)ANSWER_NAMESPACE) !=
		     0)) {
		rc = bad(why, ANSWER_BAD_SHAPE, eb,
			 "root is not QuestionFormAnswers of the 2005-10-01 "
			 "namespace");
		goto cleanup;
	}
	if ((rc = read_answers(root, &fd, why, eb)) != IF_OK)
		goto cleanup;
	if (fd.boxes == NULL || fd.face_found == NULL) {
		rc = bad(why, ANSWER_MISSING_FIELD, eb, "field %s missing",
			 fd.boxes == NULL ? "boxes" : "face_found");
		goto cleanup;
	}
	if (parse_face_found((const char *)fd.face_found, &a->face_found) <
	    0) {
		rc = bad(why, ANSWER_BAD_FACE_FOUND, eb,
			 "face_found is neither yes nor no");
		goto cleanup;
	}
	/* Checked against the boxes as given, before any is dropped. */
	if (fd.confidence != NULL &&
	    (given = boxes_given((const char *)fd.boxes)) >= 0 &&
	    (rc = parse_confidence((const char *)fd.confidence,
				   (size_t)given, &conf, why, eb)) != IF_OK)
		goto cleanup;
	if ((rc = parse_boxes((const char *)fd.boxes, conf, img_w, img_h, a,
			      why, eb)) != IF_OK)
		goto cleanup;
	a->feedback = strdup(fd.feedback != NULL ? (const char *)fd.feedback
						 : "");
	if (a->feedback == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "answer: out of memory");
		goto cleanup;
	}
	rc = IF_OK;
cleanup:
	if (rc != IF_OK)
		answer_cleanup(a);
	xmlFree(fd.boxes);
	xmlFree(fd.face_found);
	xmlFree(fd.feedback);
	xmlFree(fd.confidence);
	free(conf);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

/* ---- the formatter ---------------------------------------------------- */

/*
 * Decodes one UTF-8 character at s (strict: no overlong forms, no
 * surrogates, at most U+10FFFF); returns its length, or 0 when invalid.
 */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0) {
		n = 2;
		*cp = s[0] & 0x1F;
		min = 0x80;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3;
		*cp = s[0] & 0x0F;
		min = 0x800;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4;
		*cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3F);
	}
	if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return n;
}

/* XML 1.0's Char production. */
static bool
xml_char_ok(uint32_t c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
	       (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

static int
append_escaped(struct buf *out, const char *what, const char *s,
	       struct errbuf *eb)
{
	const unsigned char *p = (const unsigned char *)s;
	int r = 0;

	while (*p != '\0' && r == 0) {
		uint32_t c;
		size_t n = utf8_decode(p, &c);

		if (n == 0 || !xml_char_ok(c))
			return err_set(eb, IF_EINPUT,
				       "answer_format: %s: %s at byte %zu",
				       what,
				       n == 0 ? "invalid UTF-8"
					      : "character not allowed in XML",
				       (size_t)(p - (const unsigned char *)s));
		if (c == '&')
			r = buf_append_str(out, "&amp;");
		else if (c == '<')
			r = buf_append_str(out, "&lt;");
		else if (c == '>')
			r = buf_append_str(out, "&gt;");
		else if (c == '\r') /* would be lost to newline handling */
			r = buf_append_str(out, "&#13;");
		else if (c < 0x80)
			r = buf_append(out, p, 1);
		else
			r = buf_printf(out, "&#%u;", (unsigned)c);
		p += n;
	}
	if (r != 0)
		return err_set(eb, IF_ERUNTIME,
			       "answer_format: %s: output too large", what);
	return IF_OK;
}

int
answer_format(const struct answer_field *fields, size_t n, struct buf *out,
	      struct errbuf *eb)
{
	size_t start = out->len;
	int rc = IF_OK;

	if (buf_append_str(out, "<?xml version=\"1.0\" encoding=\"ASCII\"?>"
				"<QuestionFormAnswers xmlns=\"" ANSWER_NAMESPACE
				"\">") < 0)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		if (fields[i].name == NULL || fields[i].name[0] == '\0') {
			rc = err_set(eb, IF_EINPUT,
				     "answer_format: field %zu has no name", i);
			goto fail;
		}
		if (buf_append_str(out, "<Answer><QuestionIdentifier>") < 0)
			goto nomem;
		if ((rc = append_escaped(out, "field name", fields[i].name,
					 eb)) != IF_OK)
			goto fail;
		if (buf_append_str(out, "</QuestionIdentifier><FreeText>") < 0)
			goto nomem;
		if ((rc = append_escaped(out, fields[i].name,
					 fields[i].value != NULL
						 ? fields[i].value
						 : "",
					 eb)) != IF_OK)
			goto fail;
		if (buf_append_str(out, "</FreeText></Answer>") < 0)
			goto nomem;
	}
	if (buf_append_str(out, "</QuestionFormAnswers>") < 0)
		goto nomem;
	return IF_OK;
nomem:
	rc = err_set(eb, IF_ERUNTIME, "answer_format: output too large");
fail:
	/* Nothing half-written stays behind. */
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return rc;
}
