/*
 * tests/support/fake_prolific.c - the fake Prolific API of
 * fake_prolific.h, after docs/prolific-api.md.
 *
 * State lives in small arrays behind one mutex; a test study has a few
 * dozen submissions at most.  Pay calls are never deduplicated: the
 * reference says a repeated pay call pays again, and the fake must let a
 * client that repeats one be caught.
 */
#define _DEFAULT_SOURCE
#include "tests/support/fake_prolific.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_SUBS 256
#define MAX_BULKS 512
#define MAX_BONUS 64
#define MAX_FAULTS 256
#define MAX_LINES 16
#define MAX_PAGE_SIZE 200
#define FEE_BP 4280

struct sub {
	char id[65];
	char participant[65];
	char status[32];
	int64_t bonus[MAX_BONUS];
	size_t n_bonus;
	int approvals, approve_calls, reject_calls, pay_calls;
};

struct bulk {
	char id[32];
	size_t sub[MAX_LINES];
	int64_t cents[MAX_LINES];
	size_t n;
};

struct fault {
	char method[8];	  /* "" = any */
	char prefix[128]; /* "" = any */
	enum fake_prolific_fault kind;
	int times;
};

struct fake_prolific {
	struct MHD_Daemon *d;
	char url[64];
	char auth[160];
	char study[65];
	pthread_mutex_t mu;
	struct sub subs[MAX_SUBS];
	size_t n_subs;
	struct bulk bulks[MAX_BULKS];
	size_t n_bulks;
	size_t pending[MAX_BULKS * 4]; /* bulk index per pay not landed */
	size_t n_pending;
	struct fault faults[MAX_FAULTS];
	size_t n_faults;
	bool async;
	size_t requests, unauthorized;
};

struct pending_body {
	char *data;
	size_t len;
};

static void
copy(char *dst, size_t dstsz, const char *src)
{
	snprintf(dst, dstsz, "%s", src != NULL ? src : "");
}

static struct sub *
find_sub(struct fake_prolific *f, const char *id)
{
	for (size_t i = 0; i < f->n_subs; i++)
		if (strcmp(f->subs[i].id, id) == 0)
			return &f->subs[i];
	return NULL;
}

/* A reply: status and a JSON body (owned, freed here). */
struct reply {
	int status;
	char *body;
	bool drop;
};

static void
reply_json(struct reply *r, int status, json_t *body)
{
	r->status = status;
	r->body = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (r->body == NULL)
		abort();
}

/* The error shape Prolific's own client decodes (docs/prolific-api.md). */
static void
reply_error(struct reply *r, int status, int code, const char *title,
	    const char *detail)
{
	reply_json(r, status,
		   json_pack("{s:{s:i,s:i,s:s,s:s}}", "error", "status",
			     status, "error_code", code, "title", title,
			     "detail", detail));
}

static json_t *
sub_json(const struct sub *s, const char *study, bool element)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", s->id, "study_id",
			      study, "status", s->status, "started_at",
			      "2026-12-07T10:00:00Z");
	json_t *b;

	/* The list names the participant participant_id, the element
	 * participant (docs/prolific-api.md). */
	json_object_set_new(o, element ? "participant" : "participant_id",
			    json_string(s->participant));
	if (strcmp(s->status, "AWAITING REVIEW") == 0 ||
	    strcmp(s->status, "APPROVED") == 0 ||
	    strcmp(s->status, "REJECTED") == 0)
		json_object_set_new(o, "completed_at",
				    json_string("2026-12-07T10:20:00Z"));
	else
		json_object_set_new(o, "completed_at", json_null());
	if (element) {
		b = json_array();
		for (size_t i = 0; i < s->n_bonus; i++)
			json_array_append_new(b,
					      json_real((double)s->bonus[i]));
		json_object_set_new(o, "bonus_payments", b);
	}
	return o;
}

static long
query_long(struct MHD_Connection *conn, const char *key, long dflt)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						    key);
	char *end;
	long n;

	if (v == NULL)
		return dflt;
	n = strtol(v, &end, 10);
	return *v != '\0' && *end == '\0' ? n : -1;
}

static void
do_list(struct fake_prolific *f, struct MHD_Connection *conn,
	struct reply *r)
{
	const char *study = MHD_lookup_connection_value(
		conn, MHD_GET_ARGUMENT_KIND, "study");
	const char *status = MHD_lookup_connection_value(
		conn, MHD_GET_ARGUMENT_KIND, "status");
	long page = query_long(conn, "page", 1);
	long size = query_long(conn, "page_size", 20);
	json_t *results = json_array(), *next;
	size_t first, i, k = 0;
	char href[512], norm[32];

	if (study == NULL || strcmp(study, f->study) != 0 || page < 1 ||
	    size < 1) {
		json_decref(results);
		reply_error(r, 400, 140100, "Bad request",
			    "study, page and page_size must be valid");
		return;
	}
	if (size > MAX_PAGE_SIZE)
		size = MAX_PAGE_SIZE;
	first = (size_t)((page - 1) * size);
	/* The status filter: "underscore normalization" of the status. */
	for (i = 0; i < f->n_subs; i++) {
		copy(norm, sizeof(norm), f->subs[i].status);
		for (char *p = norm; *p != '\0'; p++)
			if (*p == ' ' || *p == '-')
				*p = '_';
		if (status != NULL && strcmp(norm, status) != 0)
			continue;
		if (k >= first && k < first + (size_t)size)
			json_array_append_new(results, sub_json(&f->subs[i],
								f->study,
								false));
		k++;
	}
	if (first + (size_t)size < k) {
		snprintf(href, sizeof(href),
			 "%s/api/v1/submissions/?study=%s%s%s&page=%ld&"
			 "page_size=%ld", f->url, f->study,
			 status != NULL ? "&status=" : "",
			 status != NULL ? status : "", page + 1, size);
		next = json_string(href);
	} else {
		next = json_null();
	}
	reply_json(r, 200,
		   json_pack("{s:o,s:{s:{s:o,s:s}},s:{s:i}}", "results",
			     results, "_links", "next", "href", next, "title",
			     "Next", "meta", "count", (int)k));
}

static void
do_transition(struct fake_prolific *f, struct sub *s, const char *body,
	      struct reply *r)
{
	json_t *in = json_loads(body != NULL ? body : "", 0, NULL);
	const char *action = json_string_value(json_object_get(in, "action"));
	const char *msg = json_string_value(json_object_get(in, "message"));
	const char *cat = json_string_value(
		json_object_get(in, "rejection_category"));

	if (action == NULL) {
		reply_error(r, 400, 140101, "Bad request",
			    "action is required");
	} else if (strcmp(action, "APPROVE") == 0) {
		s->approve_calls++;
		if (strcmp(s->status, "AWAITING REVIEW") == 0) {
			copy(s->status, sizeof(s->status), "APPROVED");
			s->approvals++;
		}
		/* A second APPROVE is ignored (documented idempotent). */
		if (strcmp(s->status, "APPROVED") == 0)
			reply_json(r, 200, sub_json(s, f->study, true));
		else
			reply_error(r, 400, 140102, "Bad request",
				    "the submission cannot be approved");
	} else if (strcmp(action, "REJECT") == 0) {
		s->reject_calls++;
		if (msg == NULL || strlen(msg) < 100 || cat == NULL) {
			reply_error(r, 400, 140103, "Bad request",
				    "message (100 characters) and "
				    "rejection_category are required");
		} else {
			if (strcmp(s->status, "AWAITING REVIEW") == 0)
				copy(s->status, sizeof(s->status),
				     "REJECTED");
			if (strcmp(s->status, "REJECTED") == 0)
				reply_json(r, 200, sub_json(s, f->study, true));
			else
				reply_error(r, 400, 140104, "Bad request",
					    "the submission cannot be "
					    "rejected");
		}
	} else {
		reply_error(r, 400, 140105, "Bad request", "unknown action");
	}
	json_decref(in);
}

/* "12.34" or "12" in the study currency to cents; -1 if not that. */
static int64_t
parse_amount(const char *s, size_t len)
{
	int64_t whole = 0, frac = 0;
	size_t i = 0, nf = 0;

	if (len == 0)
		return -1;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		whole = whole * 10 + (s[i] - '0');
	if (i == 0)
		return -1;
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9' && nf < 2;
		     i++, nf++)
			frac = frac * 10 + (s[i] - '0');
		if (nf == 0)
			return -1;
		if (nf == 1)
			frac *= 10;
	}
	return i == len ? whole * 100 + frac : -1;
}

static void
do_bonus_setup(struct fake_prolific *f, const char *body, struct reply *r)
{
	json_t *in = json_loads(body != NULL ? body : "", 0, NULL);
	const char *study = json_string_value(json_object_get(in, "study_id"));
	const char *csv = json_string_value(json_object_get(in, "csv_bonuses"));
	struct bulk b = {0};
	int64_t amount = 0, fees = 0;
	const char *p, *nl, *comma;
	char id[65];

	if (study == NULL || csv == NULL || strcmp(study, f->study) != 0 ||
	    f->n_bulks == MAX_BULKS) {
		reply_error(r, 400, 140110, "Bad request",
			    "study_id and csv_bonuses are required");
		json_decref(in);
		return;
	}
	for (p = csv; *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		size_t idlen, alen;
		int64_t cents;
		struct sub *s = NULL;

		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (nl == p)
			continue;
		comma = memchr(p, ',', (size_t)(nl - p));
		idlen = comma != NULL ? (size_t)(comma - p) : 0;
		alen = comma != NULL ? (size_t)(nl - comma - 1) : 0;
		if (idlen > 0 && idlen < sizeof(id)) {
			memcpy(id, p, idlen);
			id[idlen] = '\0';
			s = find_sub(f, id);
			for (size_t i = 0; s == NULL && i < f->n_subs; i++)
				if (strcmp(f->subs[i].participant, id) == 0)
					s = &f->subs[i];
		}
		cents = comma != NULL ? parse_amount(comma + 1, alen) : -1;
		if (s == NULL || cents <= 0 || b.n == MAX_LINES) {
			reply_error(r, 400, 140111, "Bad request",
				    "an id did not take part in the study");
			json_decref(in);
			return;
		}
		b.sub[b.n] = (size_t)(s - f->subs);
		b.cents[b.n++] = cents;
		amount += cents;
		fees += (cents * FEE_BP + 9999) / 10000;
	}
	json_decref(in);
	if (b.n == 0) {
		reply_error(r, 400, 140112, "Bad request", "no bonuses");
		return;
	}
	snprintf(b.id, sizeof(b.id), "bb%022zu", f->n_bulks + 1);
	f->bulks[f->n_bulks++] = b;
	reply_json(r, 201,
		   json_pack("{s:s,s:s,s:f,s:f,s:f}", "id", b.id, "study",
			     f->study, "amount", (double)amount, "fees",
			     (double)fees, "total_amount",
			     (double)(amount + fees)));
}

static void
land(struct fake_prolific *f, const struct bulk *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct sub *s = &f->subs[b->sub[i]];
		if (s->n_bonus < MAX_BONUS)
			s->bonus[s->n_bonus++] = b->cents[i];
	}
}

static void
do_pay(struct fake_prolific *f, const char *bulk_id, struct reply *r)
{
	size_t i;

	for (i = 0; i < f->n_bulks; i++)
		if (strcmp(f->bulks[i].id, bulk_id) == 0)
			break;
	if (i == f->n_bulks) {
		reply_error(r, 404, 140120, "Not found", "no such bulk bonus");
		return;
	}
	/* Not idempotent: every call pays (docs/prolific-api.md). */
	for (size_t k = 0; k < f->bulks[i].n; k++)
		f->subs[f->bulks[i].sub[k]].pay_calls++;
	if (f->async &&
	    f->n_pending < sizeof(f->pending) / sizeof(f->pending[0]))
		f->pending[f->n_pending++] = i;
	else
		land(f, &f->bulks[i]);
	reply_json(r, 202, json_object());
}

/* The path segment after prefix, up to the next '/' (which must end it
 * or be followed by rest). */
static bool
segment(const char *path, const char *prefix, const char *rest, char *id,
	size_t idsz)
{
	size_t n = strlen(prefix);
	const char *slash;

	if (strncmp(path, prefix, n) != 0)
		return false;
	path += n;
	slash = strchr(path, '/');
	if (slash == NULL || slash == path || (size_t)(slash - path) >= idsz)
		return false;
	if (strcmp(slash + 1, rest) != 0)
		return false;
	memcpy(id, path, (size_t)(slash - path));
	id[slash - path] = '\0';
	return true;
}

static const char *
arg(struct MHD_Connection *conn, const char *key)
{
	return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

static enum fake_prolific_fault
fault_by_name(const char *name)
{
	static const struct {
		const char *name;
		enum fake_prolific_fault fault;
	} names[] = {
		{"429", FAKE_PROLIFIC_429},   {"500", FAKE_PROLIFIC_500},
		{"503", FAKE_PROLIFIC_503},   {"drop", FAKE_PROLIFIC_DROP},
		{"done-drop", FAKE_PROLIFIC_DONE_DROP},
	};

	for (size_t i = 0; name != NULL && i < sizeof(names) / sizeof(names[0]);
	     i++)
		if (strcmp(names[i].name, name) == 0)
			return names[i].fault;
	return 0;
}

static void add_sub_locked(struct fake_prolific *f, const char *id,
			   const char *participant, const char *status);
static void inject_locked(struct fake_prolific *f, const char *method,
			  const char *prefix, enum fake_prolific_fault fault,
			  int times);
static void settle_locked(struct fake_prolific *f);

/*
 * The control surface under /_fake/, for a test that runs the fake in a
 * process of its own (the e2e suites): the same token, never faulted.
 *   GET  /_fake/state                     every submission and counter
 *   POST /_fake/submission?id=&participant=&status=
 *   POST /_fake/status?id=&status=
 *   POST /_fake/inject?method=&prefix=&fault=429|500|503|drop|done-drop
 *        &times=
 *   POST /_fake/settle
 */
static void
control(struct fake_prolific *f, struct MHD_Connection *conn,
	const char *method, const char *path, struct reply *r)
{
	const char *id = arg(conn, "id"), *status = arg(conn, "status");
	bool post = strcmp(method, "POST") == 0;
	struct sub *s;

	if (strcmp(method, "GET") == 0 && strcmp(path, "/_fake/state") == 0) {
		json_t *subs = json_array();
		for (size_t i = 0; i < f->n_subs; i++) {
			struct sub *x = &f->subs[i];
			json_array_append_new(
				subs,
				json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i}",
					  "id", x->id, "participant",
					  x->participant, "status", x->status,
					  "bonus_landed", (int)x->n_bonus,
					  "pay_calls", x->pay_calls,
					  "approvals", x->approvals,
					  "approve_calls", x->approve_calls,
					  "reject_calls", x->reject_calls));
		}
		reply_json(r, 200,
			   json_pack("{s:s,s:o,s:i,s:i,s:i}", "study", f->study,
				     "submissions", subs, "bulks",
				     (int)f->n_bulks, "requests",
				     (int)f->requests, "unauthorized",
				     (int)f->unauthorized));
	} else if (post && strcmp(path, "/_fake/submission") == 0 &&
		   id != NULL && status != NULL && find_sub(f, id) == NULL &&
		   f->n_subs < MAX_SUBS) {
		add_sub_locked(f, id, arg(conn, "participant"), status);
		reply_json(r, 201, json_object());
	} else if (post && strcmp(path, "/_fake/status") == 0 && id != NULL &&
		   status != NULL && (s = find_sub(f, id)) != NULL) {
		copy(s->status, sizeof(s->status), status);
		reply_json(r, 200, json_object());
	} else if (post && strcmp(path, "/_fake/inject") == 0 &&
		   fault_by_name(arg(conn, "fault")) != 0 &&
		   query_long(conn, "times", 1) > 0) {
		inject_locked(f, arg(conn, "method"), arg(conn, "prefix"),
			      fault_by_name(arg(conn, "fault")),
			      (int)query_long(conn, "times", 1));
		reply_json(r, 200, json_object());
	} else if (post && strcmp(path, "/_fake/settle") == 0) {
		settle_locked(f);
		reply_json(r, 200, json_object());
	} else {
		reply_error(r, 400, 140900, "Bad request",
			    "unknown or incomplete control request");
	}
}

static void
route(struct fake_prolific *f, struct MHD_Connection *conn,
      const char *method, const char *path, const char *body,
      struct reply *r)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       "Authorization");
	char id[65];
	struct sub *s;

	if (auth == NULL || strcmp(auth, f->auth) != 0) {
		f->unauthorized++;
		reply_error(r, 401, 140000, "Unauthorized",
			    "Authentication credentials were not provided.");
		return;
	}
	if (strncmp(path, "/_fake/", 7) == 0) {
		control(f, conn, method, path, r);
		return;
	}
	if (strcmp(method, "GET") == 0 &&
	    strcmp(path, "/api/v1/submissions/") == 0) {
		do_list(f, conn, r);
	} else if (strcmp(method, "POST") == 0 &&
		   strcmp(path, "/api/v1/submissions/bonus-payments/") == 0) {
		do_bonus_setup(f, body, r);
	} else if (strcmp(method, "GET") == 0 &&
		   segment(path, "/api/v1/submissions/", "", id, sizeof(id))) {
		if ((s = find_sub(f, id)) == NULL)
			reply_error(r, 404, 140004, "Not found", "Not found.");
		else
			reply_json(r, 200, sub_json(s, f->study, true));
	} else if (strcmp(method, "POST") == 0 &&
		   segment(path, "/api/v1/submissions/", "transition/", id,
			   sizeof(id))) {
		if ((s = find_sub(f, id)) == NULL)
			reply_error(r, 404, 140004, "Not found", "Not found.");
		else
			do_transition(f, s, body, r);
	} else if (strcmp(method, "POST") == 0 &&
		   segment(path, "/api/v1/bulk-bonus-payments/", "pay/", id,
			   sizeof(id))) {
		do_pay(f, id, r);
	} else {
		reply_error(r, 404, 140004, "Not found", "Not found.");
	}
}

/* The first injected fault matching this request, used up by one. */
static enum fake_prolific_fault
take_fault(struct fake_prolific *f, const char *method, const char *path)
{
	for (size_t i = 0; i < f->n_faults; i++) {
		struct fault *x = &f->faults[i];
		if (x->times <= 0)
			continue;
		if (x->method[0] != '\0' && strcmp(x->method, method) != 0)
			continue;
		if (strncmp(path, x->prefix, strlen(x->prefix)) != 0)
			continue;
		x->times--;
		return x->kind;
	}
	return 0;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
	const char *method, const char *version, const char *upload_data,
	size_t *upload_data_size, void **con_cls)
{
	struct fake_prolific *f = cls;
	struct pending_body *p = *con_cls;
	struct reply r = {0};
	struct MHD_Response *resp;
	enum fake_prolific_fault fault;
	enum MHD_Result ret;

	(void)version;
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			abort();
		*con_cls = p;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		char *b = realloc(p->data, p->len + *upload_data_size + 1);
		if (b == NULL)
			abort();
		memcpy(b + p->len, upload_data, *upload_data_size);
		p->len += *upload_data_size;
		b[p->len] = '\0';
		p->data = b;
		*upload_data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&f->mu);
	f->requests++;
	fault = strncmp(url, "/_fake/", 7) == 0 ? 0
						 : take_fault(f, method, url);
	switch (fault) {
	case FAKE_PROLIFIC_429:
		reply_error(&r, 429, 140429, "Too many requests",
			    "Request was throttled.");
		break;
	case FAKE_PROLIFIC_500:
		reply_error(&r, 500, 140500, "Server error", "injected");
		break;
	case FAKE_PROLIFIC_503:
		reply_error(&r, 503, 140503, "Unavailable", "injected");
		break;
	case FAKE_PROLIFIC_DROP:
		r.drop = true;
		break;
	case FAKE_PROLIFIC_DONE_DROP:
		route(f, conn, method, url, p->data, &r);
		r.drop = true;
		break;
	default:
		route(f, conn, method, url, p->data, &r);
		break;
	}
	pthread_mutex_unlock(&f->mu);
	if (r.drop) {
		free(r.body);
		return MHD_NO; /* MHD closes the connection unanswered */
	}
	resp = MHD_create_response_from_buffer(strlen(r.body), r.body,
					       MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, (unsigned)r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	  enum MHD_RequestTerminationCode toe)
{
	struct pending_body *p = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (p != NULL) {
		free(p->data);
		free(p);
		*con_cls = NULL;
	}
}

struct fake_prolific *
fake_prolific_start(const char *token, const char *study_id)
{
	struct fake_prolific *f = calloc(1, sizeof(*f));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	if (f == NULL)
		return NULL;
	if (pthread_mutex_init(&f->mu, NULL) != 0) {
		free(f);
		return NULL;
	}
	snprintf(f->auth, sizeof(f->auth), "Token %s", token);
	copy(f->study, sizeof(f->study), study_id);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
				handler, f, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&sa,
				MHD_OPTION_NOTIFY_COMPLETED, completed, f,
				MHD_OPTION_END);
	if (f->d == NULL) {
		fake_prolific_stop(f);
		return NULL;
	}
	info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0) {
		fake_prolific_stop(f);
		return NULL;
	}
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u",
		 (unsigned)info->port);
	return f;
}

void
fake_prolific_stop(struct fake_prolific *f)
{
	if (f == NULL)
		return;
	if (f->d != NULL)
		MHD_stop_daemon(f->d);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

const char *
fake_prolific_url(const struct fake_prolific *f)
{
	return f->url;
}

static void
add_sub_locked(struct fake_prolific *f, const char *id,
	       const char *participant, const char *status)
{
	struct sub *s;

	if (f->n_subs == MAX_SUBS)
		abort();
	s = &f->subs[f->n_subs++];
	memset(s, 0, sizeof(*s));
	copy(s->id, sizeof(s->id), id);
	copy(s->participant, sizeof(s->participant), participant);
	copy(s->status, sizeof(s->status), status);
}

void
fake_prolific_add_submission(struct fake_prolific *f, const char *id,
			     const char *participant_id, const char *status)
{
	pthread_mutex_lock(&f->mu);
	add_sub_locked(f, id, participant_id, status);
	pthread_mutex_unlock(&f->mu);
}

void
fake_prolific_set_status(struct fake_prolific *f, const char *id,
			 const char *status)
{
	struct sub *s;

	pthread_mutex_lock(&f->mu);
	if ((s = find_sub(f, id)) != NULL)
		copy(s->status, sizeof(s->status), status);
	pthread_mutex_unlock(&f->mu);
}

void
fake_prolific_status(struct fake_prolific *f, const char *id, char *out,
		     size_t outsz)
{
	struct sub *s;

	pthread_mutex_lock(&f->mu);
	s = find_sub(f, id);
	copy(out, outsz, s != NULL ? s->status : "");
	pthread_mutex_unlock(&f->mu);
}

void
fake_prolific_inject(struct fake_prolific *f, const char *method,
		     const char *path_prefix, enum fake_prolific_fault fault,
		     int times)
{
	pthread_mutex_lock(&f->mu);
	inject_locked(f, method, path_prefix, fault, times);
	pthread_mutex_unlock(&f->mu);
}

static void
inject_locked(struct fake_prolific *f, const char *method, const char *prefix,
	      enum fake_prolific_fault fault, int times)
{
	struct fault *x;

	/* Used-up faults leave room; order among live ones is kept. */
	if (f->n_faults == MAX_FAULTS) {
		size_t k = 0;
		for (size_t i = 0; i < f->n_faults; i++)
			if (f->faults[i].times > 0)
				f->faults[k++] = f->faults[i];
		f->n_faults = k;
	}
	if (f->n_faults == MAX_FAULTS)
		abort();
	x = &f->faults[f->n_faults++];
	copy(x->method, sizeof(x->method), method);
	copy(x->prefix, sizeof(x->prefix), prefix);
	x->kind = fault;
	x->times = times;
}

void
fake_prolific_set_async(struct fake_prolific *f, bool async)
{
	pthread_mutex_lock(&f->mu);
	f->async = async;
	pthread_mutex_unlock(&f->mu);
}

static void
settle_locked(struct fake_prolific *f)
{
	for (size_t i = 0; i < f->n_pending; i++)
		land(f, &f->bulks[f->pending[i]]);
	f->n_pending = 0;
}

void
fake_prolific_settle(struct fake_prolific *f)
{
	pthread_mutex_lock(&f->mu);
	settle_locked(f);
	pthread_mutex_unlock(&f->mu);
}

/* A per-submission counter, read under the lock. */
static int
sub_count(struct fake_prolific *f, const char *id, int which)
{
	struct sub *s;
	int n = 0;

	pthread_mutex_lock(&f->mu);
	if ((s = find_sub(f, id)) != NULL) {
		switch (which) {
		case 0:
			n = (int)s->n_bonus;
			break;
		case 1:
			n = s->pay_calls;
			break;
		case 2:
			n = s->approvals;
			break;
		case 3:
			n = s->approve_calls;
			break;
		default:
			n = s->reject_calls;
			break;
		}
	}
	pthread_mutex_unlock(&f->mu);
	return n;
}

int
fake_prolific_bonus_landed(struct fake_prolific *f, const char *id)
{
	return sub_count(f, id, 0);
}

int
fake_prolific_pay_calls(struct fake_prolific *f, const char *id)
{
	return sub_count(f, id, 1);
}

int
fake_prolific_approvals(struct fake_prolific *f, const char *id)
{
	return sub_count(f, id, 2);
}

int
fake_prolific_approve_calls(struct fake_prolific *f, const char *id)
{
	return sub_count(f, id, 3);
}

int
fake_prolific_reject_calls(struct fake_prolific *f, const char *id)
{
	return sub_count(f, id, 4);
}

size_t
fake_prolific_bulks(struct fake_prolific *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->n_bulks;
	pthread_mutex_unlock(&f->mu);
	return n;
}

size_t
fake_prolific_requests(struct fake_prolific *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->requests;
	pthread_mutex_unlock(&f->mu);
	return n;
}

size_t
fake_prolific_unauthorized(struct fake_prolific *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->unauthorized;
	pthread_mutex_unlock(&f->mu);
	return n;
}
