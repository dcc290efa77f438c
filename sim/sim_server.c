/*
 * sim/sim_server.c - the simulator's HTTP front (spec section 6).
 *
 * One libmicrohttpd daemon on a loopback address serves three things:
 *   - the MTurk API: POST / with X-Amz-Target MTurkRequesterServiceV20170117.Op
 *     and an AWS JSON 1.1 body, SigV4-signed for mturk-requester/us-east-1;
 *   - S3-compatible image hosting, path style: PUT /bucket/key signed with
 *     x-amz-content-sha256, and GET /bucket/key with a presigned query,
 *     both verified (expiry included) - so the daemon's S3 code path is
 *     the one exercised;
 *   - lab mode (sim_lab.c): GET /, /lab/..., POST /mturk/externalSubmit.
 *
 * Every API and S3 request's signature is checked with sigv4_verify()
 * against the one configured key pair; refusals use the error types AWS
 * uses, so that botocore raises a proper ClientError.
 *
 * Refusals (--refuse OP[:TEXT]=ERROR) answer every request of one API
 * operation, or those whose body contains TEXT, with an error that does not
 * pass: refused credentials, no funds, an invalid parameter.  They come
 * before faults, so that a test of the daemon's reaction is exact.
 *
 * Faults (--faults RATE) apply to API requests only.  Each request draws
 * from a stream seeded by the seed and the request's number, so a run with
 * the same requests sees the same faults.  Kinds: ThrottlingException
 * (400), ServiceFault (500), ServiceUnavailable (503), a connection closed
 * with no reply, a slow reply (fault_slow_ms), and for CreateHIT* "created
 * but the reply was lost" (the HIT is made, then a 500 or a closed
 * connection).  MHD runs a thread per connection so that a slow reply
 * delays nobody else; the store has its own lock.
 *
 * The URL and query reach us raw (an identity unescape callback), because
 * the signature covers the bytes as sent; lab pages decode what they use.
 */
#include "sim/sim_private.h"
#include "mturk/mturk.h"
#include "sim/sim_addr.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SIM_BODY_MAX (16 * 1024 * 1024) /* request body cap (S3 images) */
#define SIM_API_BODY_MAX (1024 * 1024)
#define SIM_MAX_HEADERS 64
#define SIM_PUSH_WAITERS 16 /* push waiters at once, in all */

/* One --refuse rule. */
struct refusal {
	char op[64];
	char text[128]; /* "" = every request of op */
	int kind;	/* index into refusal_kinds */
};

#define SIM_REFUSALS_MAX 8

/* The errors a refusal can answer with, as the real service words them. */
static const struct {
	const char *name;
	int http;
	const char *type;
	const char *turk; /* TurkErrorCode, or "" */
	const char *message;
} refusal_kinds[] = {
	{"UnrecognizedClientException", 400, "UnrecognizedClientException", "",
	 "The security token included in the request is invalid."},
	{"AccessDeniedException", 400, "AccessDeniedException", "",
	 "User is not authorized to perform this operation (refused by "
	 "--refuse)."},
	{"ExpiredTokenException", 400, "ExpiredTokenException", "",
	 "The security token included in the request is expired"},
	{"InsufficientFunds", 400, "RequestError", "",
	 "This Requester has insufficient funds in their account to complete "
	 "this transaction. Please visit https://requester.mturk.com/"
	 "prepayments/new to purchase Prepaid HITs."},
	{"ParameterValidationError", 400, "RequestError",
	 "AWS.MechanicalTurk.ParameterValidationError",
	 "The request is invalid (refused by --refuse)."},
	{"QualificationTypeDoesNotExist", 400, "RequestError",
	 "AWS.MechanicalTurk.QualificationTypeDoesNotExist",
	 "A QualificationTypeId in QualificationRequirements does not exist."},
	{"ServiceUnavailable", 503, "ServiceUnavailable", "",
	 "Service Unavailable"},
};

struct sim_server {
	struct MHD_Daemon *mhd;
	struct refusal refusals[SIM_REFUSALS_MAX];
	size_t nrefusals;
	struct sim_store *store;
	unsigned port;
	char base[64]; /* http://127.0.0.1:PORT */
	char *access_key_id;
	char *secret_access_key;
	char *session_token; /* NULL: requests must carry none */
	double fault_rate;
	int64_t fault_slow_ms;
	int64_t call_latency_ms; /* each API and S3 request, like a remote */
	atomic_uint_fast64_t latency_waits; /* sim_latency_waits() */
	uint64_t seed;
	pthread_mutex_t mu; /* guards nreq */
	uint64_t nreq;
	bool people_mode;	   /* "intofocus serve" */
	struct sim_people *people; /* its pages, once the port is known */
	/*
	 * "intofocus serve" only: connections per peer address, and
	 * requests under way per client when a trusted proxy names them.
	 */
	struct sim_addr_counts *conns, *clients;
	unsigned per_ip, proxy_conns;
	bool has_proxy;
	struct sim_addr proxy;
	struct sim_push *push;	   /* the long poll; NULL: not offered */
	struct sim_hold *hold;	   /* the test hook of sim_hold.c */
};

/* Per-connection request state across MHD's calls of the handler. */
struct request {
	struct buf body;
	bool too_big;
	bool answered; /* a reply was queued before the body was read */
	bool client_held; /* counted in sim->clients for client */
	struct sim_addr client;
	bool waiting;  /* a push wait was begun (sim_push.c) */
	struct sim_push_wait wait;
};

/*
 * The most body each route takes, checked against Content-Length before a
 * byte is read and enforced while reading (chunked bodies).  A task's
 * answer is small: boxes and a feedback of at most SIM_FEEDBACK_MAX
 * characters; what the daemon then reads back stays far below its 8 MB
 * cap on a ListAssignmentsForHIT page of 100 answers.
 */
#define SIM_SUBMIT_BODY_MAX (32 * 1024)
#define SIM_FORM_BODY_MAX (4 * 1024)

enum fault {
	FAULT_NONE = 0,
	FAULT_THROTTLE,
	FAULT_500,
	FAULT_503,
	FAULT_DROP,
	FAULT_SLOW,
	FAULT_LOST, /* CreateHIT* only */
};

static bool
is_loopback(const char *host, struct sockaddr_storage *ss, socklen_t *sslen,
	    bool *v6)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	*v6 = false;
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		*sslen = sizeof(*in4);
		return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		*sslen = sizeof(*in6);
		*v6 = true;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

/* ---- replies ------------------------------------------------------------ */

/*
 * Every reply's policy: nothing loads, runs or frames it unless the page
 * says so (the task page's own script and style, its image).
 */
#define SIM_CSP_NONE                                                      \
	"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "   \
	"form-action 'none'"

static enum MHD_Result
send_reply_full(struct sim_server *sim, struct MHD_Connection *c, int status,
		const char *ctype, const char *body, size_t len,
		const char *location, const char *error_type, const char *csp,
		const char *cookie)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char rid[40];
	unsigned char rnd[16];

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
					       MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (ctype != NULL)
		MHD_add_response_header(resp, "Content-Type", ctype);
	if (location != NULL && location[0] != '\0')
		MHD_add_response_header(resp, "Location", location);
	if (error_type != NULL)
		MHD_add_response_header(resp, "x-amzn-ErrorType", error_type);
	/* Request ids are for correlation only, never part of a result. */
	if (random_bytes(rnd, sizeof(rnd)) == 0) {
		hex_encode(rnd, sizeof(rnd), rid);
		MHD_add_response_header(resp, "x-amzn-RequestId", rid);
	}
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Content-Security-Policy",
				csp != NULL && csp[0] != '\0' ? csp
							     : SIM_CSP_NONE);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	/*
	 * Not no-referrer: under it Chromium sends "Origin: null" with the
	 * pages' own form posts, which the Origin check must then refuse.
	 * Nothing leaves for another site.
	 */
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy",
				"same-origin");
	if (cookie != NULL && cookie[0] != '\0')
		MHD_add_response_header(resp, "Set-Cookie", cookie);
	/* Every API answer offers the push, when there is one. */
	if (sim->push != NULL && ctype != NULL &&
	    strcmp(ctype, "application/x-amz-json-1.1") == 0)
		MHD_add_response_header(resp, MTURK_PUSH_HEADER, "1");
	/*
	 * Date from the simulator's own clock (the one the verifier uses), so
	 * that a client correcting its clock skew from Date agrees with it.
	 */
	{
		time_t t = (time_t)(sim_store_now_ms(sim->store) / 1000);
		struct tm tm;
		char date[64];

		if (gmtime_r(&t, &tm) != NULL &&
		    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT",
			     &tm) > 0)
			MHD_add_response_header(resp, "Date", date);
	}
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
send_reply(struct sim_server *sim, struct MHD_Connection *c, int status,
	   const char *ctype, const char *body, size_t len,
	   const char *location, const char *error_type)
{
	return send_reply_full(sim, c, status, ctype, body, len, location,
			       error_type, NULL, NULL);
}

static enum MHD_Result
send_api_error(struct sim_server *sim, struct MHD_Connection *c,
	       const struct sim_err *e)
{
	json_t *o = json_object();
	char *text;
	enum MHD_Result ret;

	json_object_set_new(o, "__type", json_string(e->type));
	json_object_set_new(o, "Message", json_string(e->message));
	if (e->turk[0] != '\0')
		json_object_set_new(o, "TurkErrorCode", json_string(e->turk));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return MHD_NO;
	ret = send_reply(sim, c, e->http, "application/x-amz-json-1.1", text,
			 strlen(text), NULL, e->type);
	free(text);
	return ret;
}

/* Text for XML content: markup characters and controls escaped. */
static void
xml_escaped(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '&')
			buf_append_str(b, "&amp;");
		else if (ch == '<')
			buf_append_str(b, "&lt;");
		else if (ch == '>')
			buf_append_str(b, "&gt;");
		else if (ch == '"')
			buf_append_str(b, "&quot;");
		else if (ch == '\'')
			buf_append_str(b, "&apos;");
		else if (ch < 0x20 || ch == 0x7f)
			buf_append_str(b, "?");
		else
			buf_append(b, s, 1);
	}
}

static enum MHD_Result
send_s3_error(struct sim_server *sim, struct MHD_Connection *c, int status,
	      const char *code, const char *msg)
{
	struct buf b;
	enum MHD_Result ret;

	buf_init(&b, 0);
	/*
	 * The verifier's messages quote the request (a signed header's name
	 * comes from the URL): escaped, so that a crafted link cannot put
	 * markup, and with it script, on this origin.
	 */
	buf_append_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			   "<Error><Code>");
	xml_escaped(&b, code);
	buf_append_str(&b, "</Code><Message>");
	xml_escaped(&b, msg);
	buf_append_str(&b, "</Message></Error>");
	ret = send_reply(sim, c, status, "application/xml",
			 b.data != NULL ? b.data : "", b.len, NULL, NULL);
	buf_cleanup(&b);
	return ret;
}

/* ---- signatures --------------------------------------------------------- */

struct header_list {
	struct sigv4_header h[SIM_MAX_HEADERS];
	size_t n;
};

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
	       const char *value)
{
	struct header_list *l = cls;

	(void)kind;
	if (l->n < SIM_MAX_HEADERS) {
		l->h[l->n].name = key;
		l->h[l->n].value = value != NULL ? value : "";
		l->n++;
	}
	return MHD_YES;
}

struct query_build {
	struct buf *b;
};

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
	    const char *value)
{
	struct query_build *q = cls;

	(void)kind;
	/* Raw (never unescaped) key and value, rejoined as they were sent. */
	buf_printf(q->b, "%s%s%s%s", q->b->len > 0 ? "&" : "", key,
		   value != NULL ? "=" : "", value != NULL ? value : "");
	return MHD_YES;
}

/* What secret_for() needs: the service, and the token the request sent. */
struct verify_arg {
	struct sim_server *sim;
	const char *sent_token;
};

static const char *
secret_for(void *arg, const char *access_key_id, const char **token)
{
	struct verify_arg *va = arg;
	struct sim_server *sim = va->sim;

	*token = NULL;
	if (strcmp(access_key_id, sim->access_key_id) != 0)
		return NULL;
	/*
	 * With a configured token, requests must carry exactly it.  Without
	 * one, whatever token the request signed is accepted: a caller that
	 * embeds the simulator with a key pair from the chain need not know
	 * that the chain also found a session token.
	 */
	*token = sim->session_token != NULL ? sim->session_token
					    : va->sent_token;
	return sim->secret_access_key;
}

/*
 * Verifies the request's signature for service.  0 when valid; otherwise
 * *verdict and msg say why.
 */
static int
verify(struct sim_server *sim, struct MHD_Connection *c, const char *method,
       const char *url, const struct buf *body, const char *service, bool s3,
       bool defer_payload, enum sigv4_verdict *verdict, char *msg,
       size_t msglen)
{
	struct header_list hl;
	struct buf query;
	struct query_build qb;
	struct sigv4_request req;
	struct sigv4_expect x;
	struct verify_arg va;
	struct errbuf eb;
	int rc;

	memset(&hl, 0, sizeof(hl));
	memset(&req, 0, sizeof(req));
	memset(&x, 0, sizeof(x));
	err_init(&eb);
	buf_init(&query, 64 * 1024);
	qb.b = &query;
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hl);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &qb);
	req.method = method;
	req.path = url;
	req.query = query.data != NULL ? query.data : "";
	req.headers = hl.h;
	req.nheaders = hl.n;
	req.body = body->data;
	req.body_len = body->len;
	x.region = MTURK_REGION;
	x.service = service;
	x.s3 = s3;
	x.s3_defer_payload = defer_payload;
	x.now = (time_t)(sim_store_now_ms(sim->store) / 1000);
	x.secret_for = secret_for;
	va.sim = sim;
	va.sent_token = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    "X-Amz-Security-Token");
	if (va.sent_token == NULL)
		va.sent_token = MHD_lookup_connection_value(
			c, MHD_GET_ARGUMENT_KIND, "X-Amz-Security-Token");
	x.arg = &va;
	rc = sigv4_verify(&req, &x, verdict, &eb);
	if (rc != IF_OK && *verdict == SIGV4_VALID)
		*verdict = SIGV4_MISMATCH; /* out of memory: refuse */
	snprintf(msg, msglen, "%s", eb.msg);
	buf_cleanup(&query);
	return rc == IF_OK ? 0 : -1;
}

/* The __type AWS JSON services give each refusal. */
static const char *
api_auth_type(enum sigv4_verdict v)
{
	switch (v) {
	case SIGV4_MISSING:
		return "MissingAuthenticationTokenException";
	case SIGV4_INCOMPLETE:
		return "IncompleteSignatureException";
	case SIGV4_UNKNOWN_KEY:
	case SIGV4_BAD_TOKEN:
		return "UnrecognizedClientException";
	default:
		return "InvalidSignatureException";
	}
}

/* ---- faults ------------------------------------------------------------- */

/*
 * Draws the fault of the next API request; *drop_lost says how a lost
 * CreateHIT reply is lost (closed connection, else a 500).
 */
static enum fault
draw_fault(struct sim_server *sim, bool create, bool *drop_lost)
{
	struct sim_rng r;
	uint64_t n;

	*drop_lost = false;
	if (sim->fault_rate <= 0.0)
		return FAULT_NONE;
	pthread_mutex_lock(&sim->mu);
	n = sim->nreq++;
	pthread_mutex_unlock(&sim->mu);
	sim_rng_init(&r, sim_hash(sim_hash_str(sim->seed, "fault"), &n,
				  sizeof(n)));
	if (sim_rng_unit(&r) >= sim->fault_rate)
		return FAULT_NONE;
	*drop_lost = sim_rng_unit(&r) < 0.5;
	return (enum fault)(FAULT_THROTTLE +
			    sim_rng_range(&r, 0, create ? 5 : 4));
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* A request's one trip to a remote service and back (call_latency_ms). */
static void
latency_wait(struct sim_server *sim)
{
	if (sim->call_latency_ms <= 0)
		return;
	atomic_fetch_add(&sim->latency_waits, 1);
	sleep_ms(sim->call_latency_ms);
}

static int
fault_error(struct sim_server *sim, enum fault f, struct sim_err *e)
{
	int64_t now = sim_store_now_ms(sim->store);

	memset(e, 0, sizeof(*e));
	switch (f) {
	case FAULT_THROTTLE:
		e->http = 400;
		snprintf(e->type, sizeof(e->type), "ThrottlingException");
		snprintf(e->message, sizeof(e->message), "Rate exceeded");
		return 1;
	case FAULT_500:
	case FAULT_LOST:
		e->http = 500;
		snprintf(e->type, sizeof(e->type), "ServiceFault");
		snprintf(e->turk, sizeof(e->turk),
			 "AWS.MechanicalTurk.ServiceFault");
		snprintf(e->message, sizeof(e->message),
			 "We are temporarily unable to process your request. "
			 "Try your call again. (%lld)", (long long)now);
		return 1;
	case FAULT_503:
		e->http = 503;
		snprintf(e->type, sizeof(e->type), "ServiceUnavailable");
		snprintf(e->message, sizeof(e->message),
			 "Service Unavailable (%lld)", (long long)now);
		return 1;
	default:
		return 0;
	}
}

/* ---- refusals ---------------------------------------------------------- */

const char *const *
sim_refusal_names(void)
{
	static const char *names[sizeof(refusal_kinds) /
				 sizeof(refusal_kinds[0]) + 1];

	for (size_t i = 0; i < sizeof(refusal_kinds) / sizeof(refusal_kinds[0]);
	     i++)
		names[i] = refusal_kinds[i].name;
	return names;
}

/* "OP[:TEXT]=ERROR" into r; IF_EINPUT naming the rule. */
static int
refusal_parse(const char *rule, struct refusal *r, struct errbuf *eb)
{
	const char *eq = strrchr(rule, '='), *colon;
	size_t oplen;

	memset(r, 0, sizeof(*r));
	r->kind = -1;
	if (eq == NULL)
		return err_set(eb, IF_EINPUT,
			       "--refuse \"%s\": expected "
			       "OPERATION[:TEXT]=ERROR", rule);
	colon = memchr(rule, ':', (size_t)(eq - rule));
	oplen = (size_t)((colon != NULL ? colon : eq) - rule);
	if (oplen == 0 || oplen >= sizeof(r->op))
		return err_set(eb, IF_EINPUT,
			       "--refuse \"%s\": no operation before \"=\"",
			       rule);
	memcpy(r->op, rule, oplen);
	if (!mturk_operation_known(r->op))
		return err_set(eb, IF_EINPUT,
			       "--refuse \"%s\": \"%s\" is not an MTurk "
			       "operation",
			       rule, r->op);
	if (colon != NULL) {
		size_t n = (size_t)(eq - colon - 1);
		if (n == 0 || n >= sizeof(r->text))
			return err_set(eb, IF_EINPUT,
				       "--refuse \"%s\": TEXT must be 1 to %zu "
				       "characters",
				       rule, sizeof(r->text) - 1);
		memcpy(r->text, colon + 1, n);
	}
	for (size_t i = 0; i < sizeof(refusal_kinds) / sizeof(refusal_kinds[0]);
	     i++)
		if (strcmp(eq + 1, refusal_kinds[i].name) == 0)
			r->kind = (int)i;
	if (r->kind < 0) {
		struct buf names;
		const char *const *n = sim_refusal_names();
		int rc;
		buf_init(&names, 0);
		for (size_t i = 0; n[i] != NULL; i++)
			buf_printf(&names, "%s%s", i > 0 ? ", " : "", n[i]);
		rc = err_set(eb, IF_EINPUT,
			     "--refuse \"%s\": unknown error \"%s\" "
			     "(one of %s)",
			     rule, eq + 1,
			     names.data != NULL ? names.data : "?");
		buf_cleanup(&names);
		return rc;
	}
	return IF_OK;
}

static bool
body_contains(const struct buf *body, const char *text)
{
	size_t n = strlen(text);

	if (body->data == NULL || body->len < n)
		return false;
	for (size_t i = 0; i + n <= body->len; i++)
		if (memcmp(body->data + i, text, n) == 0)
			return true;
	return false;
}

/* The refusal that applies to this request, filled into e; 0 if none. */
static int
refusal_match(const struct sim_server *sim, const char *op,
	      const struct buf *body, struct sim_err *e)
{
	for (size_t i = 0; i < sim->nrefusals; i++) {
		const struct refusal *r = &sim->refusals[i];
		if (strcmp(r->op, op) != 0)
			continue;
		if (r->text[0] != '\0' && !body_contains(body, r->text))
			continue;
		memset(e, 0, sizeof(*e));
		e->http = refusal_kinds[r->kind].http;
		snprintf(e->type, sizeof(e->type), "%s",
			 refusal_kinds[r->kind].type);
		snprintf(e->turk, sizeof(e->turk), "%s",
			 refusal_kinds[r->kind].turk);
		snprintf(e->message, sizeof(e->message), "%s (%lld)",
			 refusal_kinds[r->kind].message,
			 (long long)sim_store_now_ms(sim->store));
		return 1;
	}
	return 0;
}

/* ---- the MTurk API ------------------------------------------------------ */

static enum MHD_Result
handle_api(struct sim_server *sim, struct MHD_Connection *c, const char *url,
	   struct request *rq, const char *target)
{
	struct sim_err e;
	enum sigv4_verdict v = SIGV4_VALID;
	char msg[1024];
	const char *op;
	json_t *req = NULL, *resp = NULL;
	json_error_t jerr;
	enum fault f;
	enum MHD_Result ret;
	char *text;
	bool drop_lost;
	int rc;

	memset(&e, 0, sizeof(e));
	if (verify(sim, c, "POST", url, &rq->body, MTURK_SERVICE, false, false,
		   &v, msg, sizeof(msg)) != 0) {
		e.http = 400;
		snprintf(e.type, sizeof(e.type), "%s", api_auth_type(v));
		snprintf(e.message, sizeof(e.message), "%s", msg);
		return send_api_error(sim, c, &e);
	}
	if (strncmp(target, MTURK_TARGET_PREFIX,
		    strlen(MTURK_TARGET_PREFIX)) != 0) {
		e.http = 400;
		snprintf(e.type, sizeof(e.type), "UnknownOperationException");
		snprintf(e.message, sizeof(e.message), "Unknown target %.200s",
			 target);
		return send_api_error(sim, c, &e);
	}
	op = target + strlen(MTURK_TARGET_PREFIX);
	if (refusal_match(sim, op, &rq->body, &e)) {
		log_debug("sim: %s -> refused (%s)", op, e.type);
		return send_api_error(sim, c, &e);
	}
	f = draw_fault(sim, strncmp(op, "CreateHIT", 9) == 0 &&
				    strcmp(op, "CreateHITType") != 0,
		       &drop_lost);
	if (f == FAULT_DROP)
		return MHD_NO; /* MHD closes the connection: no reply at all */
	if (f == FAULT_SLOW)
		sleep_ms(sim->fault_slow_ms);
	if (fault_error(sim, f, &e) && f != FAULT_LOST)
		return send_api_error(sim, c, &e);
	req = json_loadb(rq->body.data != NULL ? rq->body.data : "",
			 rq->body.len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		e.http = 400;
		snprintf(e.type, sizeof(e.type), "SerializationException");
		snprintf(e.message, sizeof(e.message),
			 "The request body is not JSON: %s", jerr.text);
		return send_api_error(sim, c, &e);
	}
	rc = sim_store_call(sim->store, op, req, &resp, &e);
	json_decref(req);
	log_debug("sim: %s -> %s%s%s", op, rc == 0 ? "OK" : e.type,
		  rc == 0 || e.turk[0] == '\0' ? "" : " ",
		  rc == 0 ? "" : e.turk);
	if (f == FAULT_LOST) {
		/* The HIT exists now; the caller just never hears of it. */
		json_decref(resp);
		if (drop_lost)
			return MHD_NO;
		fault_error(sim, FAULT_500, &e);
		return send_api_error(sim, c, &e);
	}
	if (rc != 0)
		return send_api_error(sim, c, &e);
	text = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (text == NULL)
		return MHD_NO;
	ret = send_reply(sim, c, 200, "application/x-amz-json-1.1", text,
			 strlen(text), NULL, NULL);
	free(text);
	return ret;
}

/* ---- the push (sim_push.c) ---------------------------------------------- */

static enum MHD_Result
push_error(struct sim_server *sim, struct MHD_Connection *c, int http,
	   const char *type, const char *message)
{
	struct sim_err e;

	latency_wait(sim);
	memset(&e, 0, sizeof(e));
	e.http = http;
	snprintf(e.type, sizeof(e.type), "%s", type);
	snprintf(e.message, sizeof(e.message), "%s", message);
	return send_api_error(sim, c, &e);
}

static enum MHD_Result
push_answer(struct sim_server *sim, struct MHD_Connection *c, char *answer)
{
	enum MHD_Result ret;

	if (answer == NULL)
		return push_error(sim, c, 500, "ServiceFault",
				  "out of memory");
	/*
	 * The push's one latency, paid when it answers, not when it begins
	 * to wait: what the client learns of an event comes one trip later.
	 */
	latency_wait(sim);
	ret = send_reply(sim, c, 200, "application/x-amz-json-1.1", answer,
			 strlen(answer), NULL, NULL);
	free(answer);
	return ret;
}

/*
 * WaitForReviewableHITs: signed like every API request, then answered at
 * once, or left waiting: suspended in the epoll mode, on its own thread
 * otherwise.  Called again after a resume, with rq->waiting set.
 */
static enum MHD_Result
handle_push(struct sim_server *sim, struct MHD_Connection *c, const char *url,
	    struct request *rq)
{
	enum sigv4_verdict v = SIGV4_VALID;
	char msg[1024];
	json_t *req, *since, *wait;
	json_int_t since_ms, wait_ms;
	int rc;

	if (rq->waiting)
		return push_answer(sim, c, sim_push_take(sim->push, &rq->wait,
							 false));
	if (verify(sim, c, "POST", url, &rq->body, MTURK_SERVICE, false, false,
		   &v, msg, sizeof(msg)) != 0)
		return push_error(sim, c, 400, api_auth_type(v), msg);
	req = json_loadb(rq->body.data != NULL ? rq->body.data : "",
			 rq->body.len, JSON_REJECT_DUPLICATES, NULL);
	since = json_object_get(req, "Since");
	wait = json_object_get(req, "WaitMs");
	if (!json_is_integer(since) || !json_is_integer(wait) ||
	    (since_ms = json_integer_value(since)) < 0 ||
	    (wait_ms = json_integer_value(wait)) < 0) {
		json_decref(req);
		return push_error(sim, c, 400, "ValidationException",
				  "expected {\"Since\": ms, \"WaitMs\": ms}, "
				  "both whole numbers from 0");
	}
	json_decref(req);
	rc = sim_push_begin(sim->push, &rq->wait, sim->people_mode ? c : NULL,
			    (int64_t)since_ms, (int64_t)wait_ms);
	if (rc == SIM_PUSH_BUSY)
		return push_error(sim, c, 400, "ThrottlingException",
				  "Rate exceeded (too many waiting)");
	if (rc < 0)
		return push_error(sim, c, 500, "ServiceFault",
				  "out of memory");
	rq->waiting = true;
	if (rc == SIM_PUSH_WAITING && sim->people_mode)
		return MHD_YES; /* suspended: the hub resumes it */
	return push_answer(sim, c,
			   sim_push_take(sim->push, &rq->wait, true));
}

/* ---- S3 ----------------------------------------------------------------- */

/* S3's own words for its 500 InternalError, which clients retry. */
#define S3_INTERNAL_ERROR "We encountered an internal error. Please try again."

static enum MHD_Result
handle_s3(struct sim_server *sim, struct MHD_Connection *c, const char *method,
	  const char *url, struct request *rq)
{
	enum sigv4_verdict v = SIGV4_VALID;
	char msg[1024], ctype[128];
	const char *sha, *ct;
	char *data = NULL;
	size_t len = 0;
	bool found = false;
	enum MHD_Result ret;

	if (strlen(url) < 4 || strchr(url + 1, '/') == NULL)
		return send_s3_error(sim, c, 400, "InvalidRequest",
				     "Path-style /bucket/key requests only.");
	if (verify(sim, c, method, url, &rq->body, "s3", true, false, &v, msg,
		   sizeof(msg)) != 0) {
		const char *code = sigv4_verdict_code(v);
		return send_s3_error(sim, c, 403,
				     code[0] != '\0' ? code : "AccessDenied",
				     msg);
	}
	if (strcmp(method, "PUT") == 0) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		char hex[2 * EVP_MAX_MD_SIZE + 1];

		sha = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						  "x-amz-content-sha256");
		if (sha == NULL)
			return send_s3_error(sim, c, 400, "InvalidRequest",
					     "Missing x-amz-content-sha256.");
		if (strcmp(sha, SIGV4_UNSIGNED_PAYLOAD) != 0) {
			if (EVP_Digest(rq->body.data != NULL ? rq->body.data
							      : "",
				       rq->body.len, md, &mdlen, EVP_sha256(),
				       NULL) != 1)
				return send_s3_error(sim, c, 500,
						     "InternalError",
						     "SHA-256 failed.");
			hex_encode(md, mdlen, hex);
			if (strcmp(hex, sha) != 0)
				return send_s3_error(
					sim, c, 400,
					"XAmzContentSHA256Mismatch",
					"The provided 'x-amz-content-sha256' "
					"header does not match what was "
					"computed.");
		}
		ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						 "Content-Type");
		if (sim_store_put_object(sim->store, url + 1, rq->body.data,
					 rq->body.len, ct) != 0)
			return send_s3_error(sim, c, 500, "InternalError",
					     S3_INTERNAL_ERROR);
		return send_reply(sim, c, 200, NULL, "", 0, NULL, NULL);
	}
	/* A store that cannot read is S3's own failure (retryable). */
	if (sim_store_get_object(sim->store, url + 1, &data, &len, ctype,
				 sizeof(ctype), &found) != 0)
		return send_s3_error(sim, c, 500, "InternalError",
				     S3_INTERNAL_ERROR);
	if (!found)
		return send_s3_error(sim, c, 404, "NoSuchKey",
				     "The specified key does not exist.");
	/* Browsers on the task page fetch cross-origin, as from S3 + CORS. */
	ret = send_reply(sim, c, 200, ctype, data, len, NULL, NULL);
	free(data);
	return ret;
}

/* ---- lab mode ----------------------------------------------------------- */

/* A decoded copy of query argument name ("" when absent). */
static void
arg_decoded(struct MHD_Connection *c, const char *name, char *out, size_t n)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
						    name);

	snprintf(out, n, "%s", v != NULL ? v : "");
	for (char *p = out; *p != '\0'; p++)
		if (*p == '+')
			*p = ' ';
	MHD_http_unescape(out);
}

static enum MHD_Result
handle_lab(struct sim_server *sim, struct MHD_Connection *c, const char *method,
	   const char *url, struct request *rq)
{
	struct sim_reply r;
	char worker[256], id[128];
	enum MHD_Result ret;

	sim_reply_init(&r);
	arg_decoded(c, "workerId", worker, sizeof(worker));
	if (strcmp(method, "POST") == 0 &&
	    strcmp(url, "/mturk/externalSubmit") == 0) {
		sim_lab_submit(sim->store, sim->base, rq->body.data,
			       rq->body.len, &r);
	} else if (strcmp(method, "GET") == 0 && strcmp(url, "/") == 0) {
		sim_lab_index(sim->store, sim->base, worker, &r);
	} else if (strcmp(method, "GET") == 0 &&
		   strncmp(url, "/lab/accept/", 12) == 0) {
		snprintf(id, sizeof(id), "%s", url + 12);
		sim_lab_start(sim->store, sim->base, id, worker, false, &r);
	} else if (strcmp(method, "GET") == 0 &&
		   strncmp(url, "/lab/preview/", 13) == 0) {
		snprintf(id, sizeof(id), "%s", url + 13);
		sim_lab_start(sim->store, sim->base, id, worker, true, &r);
	} else if (strcmp(method, "GET") == 0 &&
		   strncmp(url, "/lab/task/", 10) == 0) {
		snprintf(id, sizeof(id), "%s", url + 10);
		sim_lab_task(sim->store, id, &r);
	} else {
		r.status = 404;
		snprintf(r.content_type, sizeof(r.content_type),
			 "text/plain; charset=utf-8");
		buf_append_str(&r.body, "Not found.\n");
	}
	ret = send_reply_full(sim, c, r.status, r.content_type,
			      r.body.data != NULL ? r.body.data : "",
			      r.body.len, r.location, NULL, r.csp, r.cookie);
	sim_reply_cleanup(&r);
	return ret;
}

/* ---- people only ("intofocus serve") ------------------------------------ */

static const char *
people_arg(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result
handle_people(struct sim_server *sim, struct MHD_Connection *c,
	      const char *method, const char *url, struct request *rq)
{
	struct sim_people_request pr;
	struct sim_reply r;
	struct sim_people *people;
	enum MHD_Result ret;

	/* Set once the port is known (sim_new); until then, no pages. */
	pthread_mutex_lock(&sim->mu);
	people = sim->people;
	pthread_mutex_unlock(&sim->mu);
	if (people == NULL)
		return send_reply(sim, c, 503, "text/plain; charset=utf-8",
				  "Starting\n", 9, NULL, NULL);
	memset(&pr, 0, sizeof(pr));
	pr.method = method;
	pr.path = url;
	pr.cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie");
	pr.origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	pr.body = rq->body.data != NULL ? rq->body.data : "";
	pr.body_len = rq->body.len;
	pr.arg = people_arg;
	pr.arg_ctx = c;
	sim_reply_init(&r);
	sim_people_handle(people, sim->store, &pr, &r);
	ret = send_reply_full(sim, c, r.status, r.content_type,
			      r.body.data != NULL ? r.body.data : "",
			      r.body.len, r.location, NULL, r.csp, r.cookie);
	sim_reply_cleanup(&r);
	return ret;
}

/* ---- dispatch ----------------------------------------------------------- */

static bool
is_signed(struct MHD_Connection *c)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					   "Authorization") != NULL ||
	       MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
					   "X-Amz-Signature") != NULL ||
	       MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
					   "AWSAccessKeyId") != NULL;
}

/* The most body this request's route takes. */
static size_t
route_body_max(const char *method, const char *url, bool api)
{
	if (api)
		return SIM_API_BODY_MAX;
	if (strcmp(method, "PUT") == 0)
		return SIM_BODY_MAX;
	if (strcmp(method, "POST") == 0)
		return strcmp(url, "/mturk/externalSubmit") == 0
			       ? SIM_SUBMIT_BODY_MAX
			       : SIM_FORM_BODY_MAX;
	return 1; /* buf limit 0 would mean none */
}

/* ---- limits per address ------------------------------------------------- */

static bool
is_proxy(const struct sim_server *sim, const struct sim_addr *a)
{
	return sim->has_proxy && memcmp(a->b, sim->proxy.b, 16) == 0;
}

/* The connections one peer address may hold at once. */
static unsigned
peer_conn_limit(const struct sim_server *sim, const struct sim_addr *a)
{
	return is_proxy(sim, a) ? sim->proxy_conns : sim->per_ip;
}

/*
 * What a peer's connections count under: the trusted proxy's own address,
 * anyone else's block (an IPv6 peer's /64, sim_addr_block), so that the
 * proxy's allowance is never shared with a neighbour of its block.
 */
static void
peer_key(const struct sim_server *sim, const struct sim_addr *peer,
	 struct sim_addr *key)
{
	if (is_proxy(sim, peer))
		*key = *peer;
	else
		sim_addr_block(peer, key);
}

/*
 * MHD's accept policy: a peer at its limit is turned away before a byte
 * is read.  The count itself moves in on_connection, which MHD calls only
 * for connections it keeps; a few accepts racing on other threads may
 * pass the same check, so a peer can exceed its limit by at most the
 * number of threads.
 */
static enum MHD_Result
on_accept(void *cls, const struct sockaddr *sa, socklen_t salen)
{
	struct sim_server *sim = cls;
	struct sim_addr a, key;

	(void)salen;
	if (sim_addr_from_sockaddr(sa, &a) != 0)
		return MHD_NO;
	peer_key(sim, &a, &key);
	return sim_addr_counts_get(sim->conns, &key) < peer_conn_limit(sim, &a)
		       ? MHD_YES
		       : MHD_NO;
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
	      enum MHD_ConnectionNotificationCode code)
{
	struct sim_server *sim = cls;
	const union MHD_ConnectionInfo *ci;
	struct sim_addr *a = *socket_context, peer;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (a != NULL)
			sim_addr_counts_give(sim->conns, a);
		free(a);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || sim_addr_from_sockaddr(ci->client_addr, &peer) != 0 ||
	    (a = malloc(sizeof(*a))) == NULL)
		return;
	peer_key(sim, &peer, a);
	if (!sim_addr_counts_take(sim->conns, a, 0)) {
		free(a);
		return;
	}
	*socket_context = a;
}

/*
 * A request through the trusted proxy counts for the client the proxy
 * names (an IPv6 client by its /64).  0 when it may go on (counted in
 * rq->client), 400 when the proxy names no address, 429 when that client
 * has per_ip requests under way.  Requests from any other peer: 0, their
 * headers unread.
 */
static int
proxy_client_take(struct sim_server *sim, struct MHD_Connection *c,
		  struct request *rq)
{
	const union MHD_ConnectionInfo *ci;
	struct sim_addr peer, named;
	const char *real_ip, *forwarded;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || sim_addr_from_sockaddr(ci->client_addr, &peer) != 0 ||
	    memcmp(peer.b, sim->proxy.b, 16) != 0)
		return 0;
	real_ip = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Real-IP");
	forwarded = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						"X-Forwarded-For");
	if (real_ip == NULL && forwarded == NULL)
		rq->client = peer; /* the proxy's own request, or a local one */
	else if (sim_addr_from_proxy(real_ip, forwarded, &named) != 0)
		return 400;
	else
		sim_addr_block(&named, &rq->client);
	if (!sim_addr_counts_take(sim->clients, &rq->client, sim->per_ip))
		return 429;
	rq->client_held = true;
	return 0;
}

/*
 * The first call, headers only: refuses a body larger than the route
 * takes, and an S3 PUT whose signature (headers and the declared payload
 * hash) does not check out, before reading any of the body.  MHD_YES
 * with rq->answered when it queued that refusal.
 */
static enum MHD_Result
on_headers(struct sim_server *sim, struct MHD_Connection *c, const char *url,
	   const char *method, struct request *rq)
{
	bool api = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					       "X-Amz-Target") != NULL &&
		   strcmp(method, "POST") == 0;
	size_t max = route_body_max(method, url, api);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     "Content-Length");
	int64_t declared = 0;

	buf_init(&rq->body, max);
	if (sim->has_proxy) {
		int refused = proxy_client_take(sim, c, rq);

		if (refused != 0) {
			const char *msg =
				refused == 400
					? "Bad client address from the proxy\n"
					: "Too many requests from your "
					  "address\n";

			rq->answered = true;
			return send_reply(sim, c, refused,
					  "text/plain; charset=utf-8", msg,
					  strlen(msg), NULL, NULL);
		}
	}
	if (cl != NULL && (parse_int64(cl, 0, INT64_MAX, &declared) != 0 ||
			   (uint64_t)declared > max)) {
		rq->answered = true;
		return send_reply(sim, c, 413, "text/plain; charset=utf-8",
				  "Request too large\n", 18, NULL, NULL);
	}
	if (strcmp(method, "PUT") == 0 && !api) {
		enum sigv4_verdict v = SIGV4_VALID;
		char msg[1024];

		if (verify(sim, c, method, url, &rq->body, "s3", true, true, &v,
			   msg, sizeof(msg)) != 0) {
			const char *code = sigv4_verdict_code(v);

			rq->answered = true;
			return send_s3_error(sim, c, 403,
					     code[0] != '\0' ? code
							     : "AccessDenied",
					     msg);
		}
	}
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
	   const char *method, const char *version, const char *upload,
	   size_t *upload_size, void **con_cls)
{
	struct sim_server *sim = cls;
	struct request *rq = *con_cls;
	const char *target;

	(void)version;
	if (rq == NULL) {
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		*con_cls = rq;
		return on_headers(sim, c, url, method, rq);
	}
	if (rq->answered) {
		/* Refused already: drop whatever body still comes. */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!rq->too_big &&
		    buf_append(&rq->body, upload, *upload_size) != 0) {
			rq->too_big = true;
			buf_cleanup(&rq->body);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		return send_reply(sim, c, 413, "text/plain; charset=utf-8",
				  "Request too large\n", 18, NULL, NULL);
	target = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					     "X-Amz-Target");
	if (target != NULL && strcmp(method, "POST") == 0 &&
	    sim->push != NULL && strcmp(target, MTURK_PUSH_TARGET) == 0) {
		if (rq->body.len > SIM_API_BODY_MAX)
			return send_reply(sim, c, 413,
					  "text/plain; charset=utf-8",
					  "Request too large\n", 18, NULL,
					  NULL);
		return handle_push(sim, c, url, rq);
	}
	if (target != NULL && strcmp(method, "POST") == 0) {
		if (rq->body.len > SIM_API_BODY_MAX)
			return send_reply(sim, c, 413,
					  "text/plain; charset=utf-8",
					  "Request too large\n", 18, NULL,
					  NULL);
		enum MHD_Result ret;

		/* The connection's own thread waits: others go on. */
		sim_hold_wait(sim->hold, strrchr(target, '.') != NULL
						 ? strrchr(target, '.') + 1
						 : target);
		latency_wait(sim);
		ret = handle_api(sim, c, url, rq, target);
		/* A new HIT, an expiry moved: the push looks again. */
		if (strstr(target, ".List") == NULL &&
		    strstr(target, ".Get") == NULL)
			sim_push_notify(sim->push);
		return ret;
	}
	if (strcmp(method, "PUT") == 0 ||
	    (is_signed(c) && (strcmp(method, "GET") == 0 ||
			      strcmp(method, "HEAD") == 0))) {
		if (strcmp(method, "PUT") == 0)
			sim_hold_wait(sim->hold, "PutObject");
		latency_wait(sim);
		return handle_s3(sim, c, method, url, rq);
	}
	{
		enum MHD_Result ret =
			sim->people_mode
				? handle_people(sim, c, method, url, rq)
				: handle_lab(sim, c, method, url, rq);

		/* The submit path: a HIT may be Reviewable now. */
		if (strcmp(method, "POST") == 0)
			sim_push_notify(sim->push);
		return ret;
	}
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct sim_server *sim = cls;
	struct request *rq = *con_cls;

	(void)c;
	(void)toe;
	if (rq == NULL)
		return;
	if (rq->client_held)
		sim_addr_counts_give(sim->clients, &rq->client);
	if (rq->waiting)
		sim_push_cancel(sim->push, &rq->wait);
	buf_cleanup(&rq->body);
	free(rq);
	*con_cls = NULL;
}

/* Keeps URL and arguments exactly as sent (see the note at the top). */
static size_t
identity_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

/* ---- lifecycle ---------------------------------------------------------- */

/*
 * The limits per address of "intofocus serve": per_ip for each peer and,
 * with a trusted proxy, for each client it names; the proxy's own
 * connections up to the limit in all less per_ip, so that the daemon and
 * other local clients always find room.
 */
static int
people_limits(struct sim_server *sim, const struct sim_people_config *pc,
	      unsigned limit, struct errbuf *eb)
{
	sim->per_ip = pc->per_ip_limit > 0 ? pc->per_ip_limit : 64;
	sim->proxy_conns = limit > 2 * sim->per_ip ? limit - sim->per_ip
						   : limit / 2;
	if (pc->trusted_proxy != NULL) {
		if (sim_addr_parse(pc->trusted_proxy, &sim->proxy) != 0 ||
		    !sim_addr_is_loopback(&sim->proxy))
			return err_set(eb, IF_EINPUT,
				       "task server: trusted proxy \"%s\" is "
				       "not a loopback address (the proxy "
				       "runs on this machine: 127.0.0.1, "
				       "127.0.0.2, ::1, ...)",
				       pc->trusted_proxy);
		sim->has_proxy = true;
	}
	/* An entry per connection at most, and a few racing accepts. */
	sim->conns = sim_addr_counts_new((size_t)limit + 64);
	sim->clients = sim_addr_counts_new((size_t)limit + 64);
	if (sim->conns == NULL || sim->clients == NULL)
		return err_set(eb, IF_ERUNTIME, "task server: out of memory");
	return IF_OK;
}

struct sim_server *
sim_new(const struct sim_config *cfg, struct errbuf *eb)
{
	struct sim_server *sim = NULL;
	struct sim_store_config scfg;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	bool v6 = false;
	const char *host = cfg->listen_host != NULL ? cfg->listen_host
						    : "127.0.0.1";
	const union MHD_DaemonInfo *info;
	unsigned flags;

	if (!is_loopback(host, &ss, &sslen, &v6)) {
		err_set(eb, IF_EINPUT,
			"simulator: refusing to listen on %s: only loopback "
			"addresses (127.0.0.0/8, ::1, localhost) are allowed; "
			"put a reverse proxy in front to reach it from "
			"elsewhere",
			host);
		return NULL;
	}
	if (cfg->port > 65535) {
		err_set(eb, IF_EINPUT, "simulator: port %u out of range",
			cfg->port);
		return NULL;
	}
	if (cfg->fault_rate < 0.0 || cfg->fault_rate > 1.0) {
		err_set(eb, IF_EINPUT,
			"simulator: fault rate %g is not between 0 and 1",
			cfg->fault_rate);
		return NULL;
	}
	if (cfg->access_key_id == NULL || cfg->secret_access_key == NULL) {
		err_set(eb, IF_EINPUT, "simulator: no credentials to accept");
		return NULL;
	}
	if (cfg->nrefusals > SIM_REFUSALS_MAX) {
		err_set(eb, IF_EINPUT, "simulator: at most %d --refuse rules",
			SIM_REFUSALS_MAX);
		return NULL;
	}
	if (cfg->people != NULL &&
	    (cfg->fault_rate > 0.0 || cfg->nrefusals > 0 || !cfg->crowd_off)) {
		err_set(eb, IF_EINPUT, "task server: no crowd, fault or "
				       "refusal with people");
		return NULL;
	}
	sim = calloc(1, sizeof(*sim));
	if (sim == NULL)
		goto nomem;
	if (pthread_mutex_init(&sim->mu, NULL) != 0) {
		free(sim);
		err_set(eb, IF_ERUNTIME, "simulator: cannot make a mutex");
		return NULL;
	}
	sim->people_mode = cfg->people != NULL;
	for (size_t i = 0; i < cfg->nrefusals; i++)
		if (refusal_parse(cfg->refusals[i], &sim->refusals[i], eb) !=
		    IF_OK)
			goto fail;
	sim->nrefusals = cfg->nrefusals;
	memset(&scfg, 0, sizeof(scfg));
	scfg.seed = cfg->seed;
	scfg.crowd_delay_ms = cfg->crowd_delay_ms;
	scfg.crowd_off = cfg->crowd_off;
	scfg.worker_pool = cfg->worker_pool;
	scfg.clock_ms = cfg->clock_ms;
	scfg.clock_ctx = cfg->clock_ctx;
	scfg.csprng_ids = cfg->people != NULL;
	scfg.people = cfg->people != NULL;
	sim->store = sim_store_new(&scfg);
	sim->access_key_id = strdup(cfg->access_key_id);
	sim->secret_access_key = strdup(cfg->secret_access_key);
	if (cfg->session_token != NULL &&
	    (sim->session_token = strdup(cfg->session_token)) == NULL)
		goto nomem;
	if (sim->store == NULL || sim->access_key_id == NULL ||
	    sim->secret_access_key == NULL)
		goto nomem;
	if (cfg->state_dir != NULL &&
	    sim_store_open(sim->store, cfg->state_dir, eb) != IF_OK)
		goto fail;
	sim->seed = cfg->seed;
	sim->fault_rate = cfg->fault_rate;
	sim->fault_slow_ms = cfg->fault_slow_ms == 0 ? 1500
			     : cfg->fault_slow_ms < 0 ? 0
						      : cfg->fault_slow_ms;
	if (sim->fault_slow_ms > 2000)
		sim->fault_slow_ms = 2000; /* "slow", never a hang */
	sim->call_latency_ms = cfg->call_latency_ms > 0 ? cfg->call_latency_ms
							: 0;
	if (sim->call_latency_ms > 2000)
		sim->call_latency_ms = 2000;
	for (size_t i = 0; i < cfg->nexperiments; i++)
		if (sim_store_add_experiment(sim->store, &cfg->experiments[i],
					     eb) != IF_OK)
			goto fail;
	if (cfg->people == NULL && (sim->hold = sim_hold_new()) == NULL)
		goto nomem;
	/* A few waiters: the daemons of one server's experiments. */
	if (!cfg->push_off &&
	    (sim->push = sim_push_new(sim->store, SIM_PUSH_WAITERS)) == NULL)
		goto nomem;
	if (v6)
		((struct sockaddr_in6 *)&ss)->sin6_port =
		    htons((uint16_t)cfg->port);
	else
		((struct sockaddr_in *)&ss)->sin_port =
		    htons((uint16_t)cfg->port);
	if (cfg->people != NULL) {
		/*
		 * For the internet: a few epoll threads (no thread per
		 * connection for idle ones to pile up), a cap per address and
		 * in all, and idle connections closed.
		 */
		const struct sim_people_config *pc = cfg->people;
		unsigned limit = pc->connection_limit > 0 ? pc->connection_limit
							  : 1024;

		if (people_limits(sim, pc, limit, eb) != IF_OK)
			goto fail;
		flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME |
			(v6 ? MHD_USE_IPv6 : 0);
		sim->mhd = MHD_start_daemon(
			flags, (uint16_t)cfg->port, on_accept, sim, on_request,
			sim, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, sim,
			MHD_OPTION_NOTIFY_CONNECTION, on_connection, sim,
			MHD_OPTION_UNESCAPE_CALLBACK, identity_unescape, sim,
			MHD_OPTION_THREAD_POOL_SIZE,
			(unsigned)(pc->threads > 0 ? pc->threads : 4),
			MHD_OPTION_CONNECTION_LIMIT, limit,
			MHD_OPTION_CONNECTION_TIMEOUT,
			(unsigned)(pc->timeout_s > 0 ? pc->timeout_s : 30),
			MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			(size_t)(64 * 1024), MHD_OPTION_END);
	} else {
		/*
		 * The simulator: a thread per connection, so that a "slow"
		 * fault delays nobody else; loopback only.
		 */
		flags = MHD_USE_INTERNAL_POLLING_THREAD |
			MHD_USE_THREAD_PER_CONNECTION |
			(v6 ? MHD_USE_IPv6 : 0);
		sim->mhd = MHD_start_daemon(
			flags, (uint16_t)cfg->port, NULL, NULL, on_request, sim,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, sim,
			MHD_OPTION_UNESCAPE_CALLBACK, identity_unescape, sim,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			(size_t)(256 * 1024), MHD_OPTION_END);
	}
	if (sim->mhd == NULL) {
		err_set(eb, IF_ERUNTIME,
			"simulator: cannot listen on %s port %u (in use?)",
			host, cfg->port);
		goto fail;
	}
	info = MHD_get_daemon_info(sim->mhd, MHD_DAEMON_INFO_BIND_PORT);
	sim->port = info != NULL ? info->port : cfg->port;
	snprintf(sim->base, sizeof(sim->base), v6 ? "http://[%s]:%u"
						  : "http://%s:%u",
		 strcmp(host, "localhost") == 0 ? "127.0.0.1" : host,
		 sim->port);
	if (sim_store_set_base(sim->store, sim->base) != 0)
		goto nomem;
	if (cfg->people != NULL) {
		struct sim_people *people =
			sim_people_new(cfg->people, cfg->state_dir, sim->base,
				       eb);

		if (people == NULL)
			goto fail;
		pthread_mutex_lock(&sim->mu);
		sim->people = people;
		pthread_mutex_unlock(&sim->mu);
	}
	return sim;
nomem:
	err_set(eb, IF_ERUNTIME, "simulator: out of memory");
fail:
	sim_free(sim);
	return NULL;
}

unsigned
sim_port(const struct sim_server *sim)
{
	return sim->port;
}

int
sim_hold_requests(struct sim_server *sim, const char *operation, int k)
{
	return sim->hold != NULL ? sim_hold_set(sim->hold, operation, k) : -1;
}

bool
sim_hold_met(struct sim_server *sim, const char *operation)
{
	return sim->hold != NULL && sim_hold_was_met(sim->hold, operation);
}

size_t
sim_push_waiting(const struct sim_server *sim)
{
	return sim_push_count(sim->push);
}

uint64_t
sim_latency_waits(const struct sim_server *sim)
{
	return atomic_load(&sim->latency_waits);
}

int
sim_add_experiment(struct sim_server *sim, const struct sim_experiment *exp,
		   struct errbuf *eb)
{
	return sim_store_add_experiment(sim->store, exp, eb);
}

int
sim_set_hidden(struct sim_server *sim, const char *experiment,
	       const char *image_id, const struct sim_face *boxes, size_t n,
	       struct errbuf *eb)
{
	return sim_store_set_hidden(sim->store, experiment, image_id, boxes, n,
				    eb);
}

void
sim_free(struct sim_server *sim)
{
	if (sim == NULL)
		return;
	/* Waiters answered and resumed first: MHD stops none suspended. */
	sim_push_stop(sim->push);
	if (sim->mhd != NULL)
		MHD_stop_daemon(sim->mhd);
	sim_push_free(sim->push);
	sim_hold_free(sim->hold);
	sim_store_free(sim->store);
	sim_people_free(sim->people);
	sim_addr_counts_free(sim->conns);
	sim_addr_counts_free(sim->clients);
	if (sim->secret_access_key != NULL)
		OPENSSL_cleanse(sim->secret_access_key,
				strlen(sim->secret_access_key));
	free(sim->secret_access_key);
	if (sim->session_token != NULL)
		OPENSSL_cleanse(sim->session_token, strlen(sim->session_token));
	free(sim->session_token);
	free(sim->access_key_id);
	pthread_mutex_destroy(&sim->mu);
	free(sim);
}
