/*
 * sim/sim_lab.c - lab mode's pages: people do the simulator's HITs in a
 * browser (spec section 6).
 *
 * GET / lists the open HITs.  A participant's worker id comes from the
 * link (/?workerId=P17) so that people recruited elsewhere can be told
 * apart; ids are made MTurk-shaped (^A[A-Z0-9]+$) by upper-casing, dropping
 * other characters and prefixing "A" when needed, and a participant who
 * comes without one is given a random id and redirected to a URL that
 * carries it (bookmark it to come back as the same worker).
 *
 * Accepting a HIT redirects to /lab/task/<HITId> with assignmentId, hitId,
 * turkSubmitTo and workerId in the query, as MTurk appends them, and that
 * URL serves the HIT's own HTMLQuestion content: the real task page.  The
 * preview link passes assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE.  The page's
 * POST to /mturk/externalSubmit becomes a Submitted assignment whose Answer
 * is the QuestionFormAnswers XML of every form field but assignmentId, in
 * the order posted, written as MTurk writes it (sim_answer_xml(), in
 * sim_plan.c).  The pages call the store (sim_store_lab.c), never the
 * reverse.
 *
 * The Question XML is parsed with libxml2 with no network and no entity
 * substitution; only HTMLQuestion is served (the daemon's kind).
 */
#include "sim/sim_outlook.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LAB_FORM_MAX_FIELDS 32

void
sim_reply_init(struct sim_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	snprintf(r->content_type, sizeof(r->content_type),
		 "text/html; charset=utf-8");
	snprintf(r->csp, sizeof(r->csp), "%s", SIM_CSP_PAGE);
	buf_init(&r->body, 0);
}

void
sim_reply_cleanup(struct sim_reply *r)
{
	if (r == NULL)
		return;
	buf_cleanup(&r->body);
}

static void
html_escaped(struct buf *b, const char *s)
{
	(void)buf_append_html(b, s, strlen(s));
}

/* Percent-encodes s for a query value. */
static void
url_encoded(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			buf_append(b, s, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			buf_append(b, e, 3);
		}
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes an application/x-www-form-urlencoded piece in place. */
static void
form_decode(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		int hi, lo;
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && s[1] != '\0' && s[2] != '\0' &&
			   (hi = hexval(s[1])) >= 0 &&
			   (lo = hexval(s[2])) >= 0) {
			*o++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* The MTurk-shaped worker id for what a participant's link says. */
static void
worker_normalise(const char *in, char *out, size_t n)
{
	size_t k = 0;

	if (n < 3) {
		out[0] = '\0';
		return;
	}
	out[k++] = 'A';
	for (const char *p = in; *p != '\0' && k + 1 < n && k < 64; p++) {
		char c = *p;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			continue;
		if (k == 1 && c == 'A' && in[0] != '\0' &&
		    (in[0] == 'A' || in[0] == 'a') && p == in)
			continue; /* already starts with A */
		out[k++] = c;
	}
	out[k] = '\0';
	if (k == 1)
		out[0] = '\0'; /* nothing usable */
}

static void
page_start(struct buf *b, const char *title, bool refresh)
{
	buf_append_str(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
			  "<meta charset=\"utf-8\"><meta name=\"viewport\" "
			  "content=\"width=device-width, initial-scale=1\">");
	/* The list reloads itself: the next stage's HITs appear as the
	 * daemon posts them, with no participant pressing reload. */
	if (refresh)
		buf_append_str(b, "<meta http-equiv=\"refresh\" "
				  "content=\"15\">");
	buf_append_str(b, "<title>");
	html_escaped(b, title);
	buf_append_str(b, "</title><style>body{font:16px/1.4 system-ui,"
			  "sans-serif;margin:2em;color:#222}table{border-"
			  "collapse:collapse}td,th{padding:.3em .8em;border-"
			  "bottom:1px solid #ddd;text-align:left}</style>"
			  "</head><body>\n");
}

static void
redirect(struct sim_reply *r, struct buf *target)
{
	r->status = 303;
	snprintf(r->location, sizeof(r->location), "%s",
		 target->data != NULL ? target->data : "/");
	buf_reset(&r->body);
	buf_append_str(&r->body, "See other.\n");
}

/* The way back to the list, as the same worker when we know who. */
static void
back_link(struct buf *b, const char *worker)
{
	buf_append_str(b, "<p><a href=\"/");
	if (worker != NULL && worker[0] != '\0') {
		buf_append_str(b, "?workerId=");
		url_encoded(b, worker);
	}
	buf_append_str(b, "\">Back to the list of HITs</a></p>");
}

static void
error_page(struct sim_reply *r, int status, const char *what,
	   const char *worker)
{
	buf_reset(&r->body);
	r->status = status;
	page_start(&r->body, "IntoFocus lab", false);
	buf_append_str(&r->body, "<h1>Sorry</h1><p>");
	html_escaped(&r->body, what);
	buf_append_str(&r->body, "</p>");
	back_link(&r->body, worker);
	buf_append_str(&r->body, "</body></html>\n");
}

void
sim_lab_index(struct sim_store *st, const char *base, const char *worker_id,
	      struct sim_reply *r)
{
	struct sim_lab_hit *hits = NULL;
	char worker[80];
	size_t n = 0;
	bool over = false;

	(void)base;
	worker_normalise(worker_id, worker, sizeof(worker));
	if (worker[0] == '\0') {
		unsigned char rnd[16];
		struct buf t;

		/* A fresh participant: give them an id they can keep. */
		worker[0] = 'A';
		if (random_bytes(rnd, sizeof(rnd)) != 0)
			memset(rnd, 0, sizeof(rnd));
		for (size_t i = 0; i < 13; i++)
			worker[1 + i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				[rnd[i] % 36];
		worker[14] = '\0';
		buf_init(&t, 0);
		buf_printf(&t, "/?workerId=%s", worker);
		redirect(r, &t);
		buf_cleanup(&t);
		return;
	}
	if (sim_store_lab_list(st, &hits, &n) != 0 ||
	    (n == 0 && sim_store_lab_over(st, &over) != 0)) {
		free(hits);
		error_page(r, 500, "Out of memory.", NULL);
		return;
	}
	/* Over: nothing more will come, so the page stops looking. */
	page_start(&r->body, "IntoFocus lab: open HITs", !over);
	buf_append_str(&r->body, "<h1>Open HITs</h1>\n<p>You are worker <b>");
	html_escaped(&r->body, worker);
	buf_append_str(&r->body, "</b>. Keep this page's address to come back "
				 "as the same worker.</p>\n");
	if (over)
		buf_append_str(&r->body, "<p>The study is over: every image's "
					 "last stage has been posted and no "
					 "HIT is open, so none will come. "
					 "Thank you; you may close this "
					 "page.</p>\n");
	else if (n == 0)
		buf_append_str(&r->body, "<p>No HIT is open right now. This "
					 "page reloads itself every 15 "
					 "seconds.</p>\n");
	else
		buf_append_str(&r->body, "<table><tr><th>HIT</th><th>Title</th>"
					 "<th>Reward</th><th>Available</th>"
					 "<th></th></tr>\n");
	for (size_t i = 0; i < n; i++) {
		const struct sim_lab_hit *h = &hits[i];

		buf_append_str(&r->body, "<tr><td><code>");
		html_escaped(&r->body, h->hit_id);
		buf_append_str(&r->body, "</code><br><small>");
		html_escaped(&r->body, h->annotation);
		buf_append_str(&r->body, "</small></td><td>");
		html_escaped(&r->body, h->title);
		buf_append_str(&r->body, "</td><td>$");
		html_escaped(&r->body, h->reward);
		buf_printf(&r->body, "</td><td>%d of %d</td><td>", h->available,
			   h->max);
		buf_printf(&r->body, "<a href=\"/lab/preview/%s\">Preview</a>",
			   h->hit_id);
		if (h->available > 0)
			buf_printf(&r->body,
				   " | <a href=\"/lab/accept/%s?workerId=%s\">"
				   "Accept and work</a>",
				   h->hit_id, worker);
		buf_append_str(&r->body, "</td></tr>\n");
	}
	if (n > 0)
		buf_append_str(&r->body, "</table>\n");
	buf_append_str(&r->body, "</body></html>\n");
	free(hits);
}

static bool
id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9')))
			return false;
	return true;
}

void
sim_lab_start(struct sim_store *st, const char *base, const char *hit_id,
	      const char *worker_id, bool preview, struct sim_reply *r)
{
	char worker[80], asg[SIM_ID_LEN + 1], why[256];
	struct buf t;
	int rc;

	if (!id_ok(hit_id)) {
		error_page(r, 404, "No such HIT.", NULL);
		return;
	}
	worker_normalise(worker_id, worker, sizeof(worker));
	if (!preview && worker[0] == '\0') {
		error_page(r, 400, "Open the HIT from the list, which carries "
				   "your worker id.", NULL);
		return;
	}
	if (!preview) {
		rc = sim_store_lab_accept(st, hit_id, worker, asg, why,
					  sizeof(why));
		/* Refused (1), or the store failed: try again (-1). */
		if (rc != 0) {
			error_page(r, rc > 0 ? 409 : 500, why, worker);
			return;
		}
	}
	if (!preview)
		log_info("sim lab: worker %s accepted HIT %s (assignment %s)",
			 worker, hit_id, asg);
	buf_init(&t, 0);
	buf_printf(&t, "/lab/task/%s?assignmentId=%s&hitId=%s&turkSubmitTo=",
		   hit_id, preview ? "ASSIGNMENT_ID_NOT_AVAILABLE" : asg,
		   hit_id);
	url_encoded(&t, base);
	if (!preview)
		buf_printf(&t, "&workerId=%s", worker);
	redirect(r, &t);
	buf_cleanup(&t);
}

void
sim_lab_task(struct sim_store *st, const char *hit_id, struct sim_reply *r)
{
	char *q = NULL;
	xmlDocPtr doc = NULL;
	xmlNodePtr root, n;
	xmlChar *html = NULL;

	if (id_ok(hit_id) && sim_store_lab_question(st, hit_id, &q) != 0) {
		error_page(r, 500, "The simulator could not read this HIT; "
				   "please try again.",
			   NULL);
		return;
	}
	if (q == NULL) {
		error_page(r, 404, "No such HIT.", NULL);
		return;
	}
	doc = xmlReadMemory(q, (int)strlen(q), "question.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	if (root == NULL ||
	    xmlStrcmp(root->name, (const xmlChar *)"HTMLQuestion") != 0) {
		error_page(r, 501, "Lab mode shows HTMLQuestion HITs only.",
			   NULL);
		goto out;
	}
	for (n = root->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(n->name, (const xmlChar *)"HTMLContent") == 0)
			html = xmlNodeGetContent(n);
	if (html == NULL) {
		error_page(r, 500, "The HIT's Question has no HTMLContent.",
			   NULL);
		goto out;
	}
	buf_append_str(&r->body, (const char *)html);
	/* The HIT's page runs its own script; its image is hosted here or
	 * wherever the requester put it, as on MTurk. */
	snprintf(r->csp, sizeof(r->csp), "%s", SIM_CSP_TASK_SIM);
out:
	xmlFree(html);
	xmlFreeDoc(doc);
	free(q);
}

/* The number of UTF-8 characters of s (bytes that do not continue one). */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

void
sim_lab_answer_cleanup(struct sim_lab_answer *a)
{
	if (a == NULL)
		return;
	free(a->copy);
	free(a->xml);
	memset(a, 0, sizeof(*a));
}

int
sim_lab_answer_parse(const char *body, size_t len, struct sim_lab_answer *a,
		     char *why, size_t whylen)
{
	const char *names[LAB_FORM_MAX_FIELDS], *values[LAB_FORM_MAX_FIELDS];
	char *save = NULL, *tok;
	size_t n = 0;

	memset(a, 0, sizeof(*a));
	a->copy = malloc(len + 1);
	if (a->copy == NULL) {
		snprintf(why, whylen, "Out of memory.");
		return -1;
	}
	if (len > 0)
		memcpy(a->copy, body, len);
	a->copy[len] = '\0';
	if (memchr(body, '\0', len) != NULL)
		goto nul;
	for (tok = strtok_r(a->copy, "&", &save); tok != NULL;
	     tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');
		/* A field with no '=' has the empty value, in the writable
		 * copy: form_decode() writes its terminator (it wrote into a
		 * string literal, a crash a fuzzer found with "&a&"). */
		char *v = tok + strlen(tok);

		if (eq != NULL) {
			*eq = '\0';
			v = eq + 1;
		}
		/* A %00 would cut the value short, unseen: refused. */
		if (strstr(tok, "%00") != NULL || strstr(v, "%00") != NULL)
			goto nul;
		form_decode(tok);
		form_decode(v);
		if (strcmp(tok, "assignmentId") == 0) {
			a->assignment_id = v;
			continue;
		}
		if (strcmp(tok, SIM_CSRF_FIELD) == 0) {
			a->csrf = v;
			continue;
		}
		if (n == LAB_FORM_MAX_FIELDS) {
			snprintf(why, whylen, "Too many form fields.");
			return -1;
		}
		if (strcmp(tok, "boxes") == 0)
			a->boxes = v;
		if (strcmp(tok, "feedback") == 0 &&
		    utf8_chars(v) > SIM_FEEDBACK_MAX) {
			snprintf(why, whylen,
				 "The feedback is longer than %d characters.",
				 SIM_FEEDBACK_MAX);
			return -1;
		}
		names[n] = tok;
		values[n] = v;
		n++;
	}
	if (a->assignment_id == NULL ||
	    strcmp(a->assignment_id, "ASSIGNMENT_ID_NOT_AVAILABLE") == 0 ||
	    !id_ok(a->assignment_id)) {
		snprintf(why, whylen, "This HIT was not accepted: accept the "
				      "HIT before submitting.");
		return -1;
	}
	a->xml = sim_answer_xml(names, values, n);
	if (a->xml == NULL) {
		snprintf(why, whylen,
			 "The answer could not be recorded (not UTF-8?).");
		return -1;
	}
	if (strlen(a->xml) > SIM_ANSWER_XML_MAX) {
		snprintf(why, whylen, "The answer is too large.");
		return -1;
	}
	return 0;
nul:
	snprintf(why, whylen, "The answer contains a NUL character.");
	return -1;
}

void
sim_lab_submit(struct sim_store *st, const char *base, const char *body,
	       size_t len, struct sim_reply *r)
{
	struct sim_lab_answer a;
	char why[256], worker[256];
	char *xml;
	int rc;

	(void)base;
	if (sim_lab_answer_parse(body, len, &a, why, sizeof(why)) != 0) {
		error_page(r, 400, why, NULL);
		sim_lab_answer_cleanup(&a);
		return;
	}
	xml = a.xml;
	a.xml = NULL; /* the store's now */
	rc = sim_store_lab_submit(st, a.assignment_id, xml, a.boxes, worker,
				  sizeof(worker), why, sizeof(why));
	if (rc != 0) {
		/* Refused (1), or the store failed: try again (-1). */
		error_page(r, rc > 0 ? 409 : 500, why, NULL);
		sim_lab_answer_cleanup(&a);
		return;
	}
	log_info("sim lab: worker %s submitted assignment %s", worker,
		 a.assignment_id);
	page_start(&r->body, "IntoFocus lab: thank you", false);
	buf_append_str(&r->body, "<h1>Thank you</h1><p>Your answer was "
				 "recorded for assignment <code>");
	html_escaped(&r->body, a.assignment_id);
	buf_append_str(&r->body, "</code>.</p>");
	back_link(&r->body, worker);
	buf_append_str(&r->body, "</body></html>\n");
	sim_lab_answer_cleanup(&a);
}
