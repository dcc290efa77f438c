/*
 * mturk/errors.c - every remote failure becomes one struct mturk_error, and
 * one function decides whether retrying can help (spec section 5: "throttling,
 * 5xx and network errors are retried").
 *
 * The service declares two errors, RequestError (the caller's fault) and
 * ServiceFault ("try your call again"), but the AWS front end adds its own
 * throttling and signature errors and a proxy may answer 502/503 with HTML.
 * The body is decoded the way botocore does it: __type loses any
 * "namespace#" prefix and ":..." suffix, Message may be spelt message, and
 * x-amzn-ErrorType stands in for a missing __type.
 */
#include "mturk/mturk.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>
#include <strings.h>

#define TURK_PREFIX "AWS.MechanicalTurk."

/* botocore retries/standard.py and special cases of other SDKs. */
static const char *const throttle_codes[] = {
	"Throttling",
	"ThrottlingException",
	"ThrottledException",
	"RequestThrottledException",
	"TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException",
	"RequestLimitExceeded",
	"BandwidthLimitExceeded",
	"LimitExceededException",
	"RequestThrottled",
	"SlowDown",
	"PriorRequestNotComplete",
	"EC2ThrottledException",
};

static const char *const skew_codes[] = {
	"RequestTimeTooSkewed",
	"RequestExpired",
	"RequestInTheFuture",
};

/* Signature errors that are about time only when their text says so. */
static const char *const signature_codes[] = {
	"InvalidSignatureException",
	"SignatureDoesNotMatch",
	"AuthFailure",
};

/*
 * What the service says only in words.  For these it gives no error code
 * of its own (or a generic one such as RequestError or a signature code),
 * so this is the one place that reads a human sentence: the phrases are
 * those the service and the AWS front end use (mturk-facts 1.4 and 5,
 * botocore), matched ignoring case unless exact_case is set.  Every
 * decision on a message goes through message_says().
 */
enum message_fact {
	SAYS_RATE_EXCEEDED,	  /* the front end's throttle */
	SAYS_INSUFFICIENT_FUNDS,  /* a RequestError about the balance */
	SAYS_SIGNATURE_EXPIRED,	  /* clock skew without a skew code */
	SAYS_SIGNATURE_NOT_YET,
	SAYS_EXPIRED,		  /* in a signature error: about time */
	SAYS_TIME,
	SAYS_DATE,
	SAYS_ALREADY,		  /* a name already used */
	SAYS_IDEMPOTENCY_TOKEN,	  /* UpdateExpirationForHIT's repeat */
	SAYS_ALREADY_PROCESSED,
	SAYS_QUALIFICATION,	  /* a refusal about a qualification */
};

static const struct {
	const char *phrase;
	bool exact_case;
} message_facts[] = {
	[SAYS_RATE_EXCEEDED] = {"Rate exceeded", true},
	[SAYS_INSUFFICIENT_FUNDS] = {"insufficient funds", false},
	[SAYS_SIGNATURE_EXPIRED] = {"signature expired", false},
	[SAYS_SIGNATURE_NOT_YET] = {"signature not yet current", false},
	[SAYS_EXPIRED] = {"expired", false},
	[SAYS_TIME] = {"time", false},
	[SAYS_DATE] = {"date", false},
	[SAYS_ALREADY] = {"already", false},
	[SAYS_IDEMPOTENCY_TOKEN] = {"idempotency token", false},
	[SAYS_ALREADY_PROCESSED] = {"already been processed", false},
	[SAYS_QUALIFICATION] = {"Qualification", true},
};

static bool contains_nocase(const char *hay, const char *needle);

static bool
message_says(const struct mturk_error *e, enum message_fact f)
{
	if (message_facts[f].exact_case)
		return strstr(e->message, message_facts[f].phrase) != NULL;
	return contains_nocase(e->message, message_facts[f].phrase);
}

void
mturk_error_clear(struct mturk_error *e)
{
	memset(e, 0, sizeof(*e));
}

static void
copy_str(char *dst, size_t dstsz, const char *src)
{
	snprintf(dst, dstsz, "%s", src != NULL ? src : "");
}

/* botocore's _do_error_parse: "ns#Code:http://..." -> "Code". */
static void
set_type(struct mturk_error *e, const char *raw)
{
	char tmp[sizeof(e->type)];
	const char *hash;
	char *colon;

	copy_str(tmp, sizeof(tmp), raw);
	colon = strchr(tmp, ':');
	if (colon != NULL)
		*colon = '\0';
	hash = strrchr(tmp, '#');
	copy_str(e->type, sizeof(e->type), hash != NULL ? hash + 1 : tmp);
}

/* Keeps a non-JSON body readable in one log line: printable ASCII only. */
static void
set_message_from_text(struct mturk_error *e, const char *text, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; i < len && j + 1 < sizeof(e->message); i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '\n' || ch == '\r' || ch == '\t')
			ch = ' ';
		if (ch < 0x20 || ch > 0x7e)
			continue;
		if (ch == ' ' && (j == 0 || e->message[j - 1] == ' '))
			continue;
		e->message[j++] = (char)ch;
	}
	e->message[j] = '\0';
	if (j > 200)
		memcpy(e->message + 197, "...", 4);
}

/* The text of root's child element called name, or NULL. */
static xmlChar *
xml_child_text(const xmlNode *root, const char *name)
{
	for (const xmlNode *n = root->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(n->name, (const xmlChar *)name) == 0)
			return xmlNodeGetContent(n);
	return NULL;
}

/*
 * S3 answers <Error><Code>X</Code><Message>Y</Message></Error>.  Parsed by
 * libxml2 without network, DTDs or entity expansion: the body comes from
 * the other end of a connection.
 */
static bool
s3_error_parse(struct mturk_error *e, const char *body, size_t len)
{
	xmlDocPtr doc;
	const xmlNode *root;
	xmlChar *code = NULL, *msg = NULL;
	bool ok = false;

	if (len > 65536 || memchr(body, '<', len) == NULL)
		return false;
	doc = xmlReadMemory(body, (int)len, "s3-error.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	if (doc == NULL)
		return false;
	root = xmlDocGetRootElement(doc);
	if (root != NULL &&
	    xmlStrcmp(root->name, (const xmlChar *)"Error") == 0)
		code = xml_child_text(root, "Code");
	if (code != NULL && code[0] != '\0' &&
	    xmlStrlen(code) < (int)sizeof(e->type)) {
		ok = true;
		for (const xmlChar *c = code; *c != '\0' && ok; c++)
			ok = isalnum(*c) || *c == '.';
	}
	if (ok) {
		set_type(e, (const char *)code);
		msg = xml_child_text(root, "Message");
		if (msg != NULL)
			set_message_from_text(e, (const char *)msg,
					      (size_t)xmlStrlen(msg));
	}
	xmlFree(code);
	xmlFree(msg);
	xmlFreeDoc(doc);
	return ok;
}

void
mturk_error_from_response(struct mturk_error *e,
			  const struct http_response *resp)
{
	json_error_t jerr;
	json_t *root = NULL, *v;

	mturk_error_clear(e);
	e->http_status = resp->status;
	copy_str(e->request_id, sizeof(e->request_id), resp->request_id);
	if (resp->body.len > 0)
		root = json_loadb(resp->body.data, resp->body.len,
				  JSON_REJECT_DUPLICATES, &jerr);
	if (json_is_object(root)) {
		v = json_object_get(root, "__type");
		if (json_is_string(v))
			set_type(e, json_string_value(v));
		v = json_object_get(root, "Message");
		if (!json_is_string(v))
			v = json_object_get(root, "message");
		if (json_is_string(v))
			copy_str(e->message, sizeof(e->message),
				 json_string_value(v));
		v = json_object_get(root, "TurkErrorCode");
		if (json_is_string(v))
			copy_str(e->turk_code, sizeof(e->turk_code),
				 json_string_value(v));
	} else if (resp->body.len > 0 &&
		   !s3_error_parse(e, resp->body.data, resp->body.len)) {
		set_message_from_text(e, resp->body.data, resp->body.len);
	}
	json_decref(root);
	if (e->type[0] == '\0' && resp->error_type[0] != '\0')
		set_type(e, resp->error_type);
	e->retryable = mturk_error_is_retryable(e);
}

void
mturk_error_from_curl(struct mturk_error *e, int curl_code, const char *msg)
{
	mturk_error_clear(e);
	e->curl_code = curl_code;
	copy_str(e->message, sizeof(e->message),
		 msg != NULL && *msg != '\0' ? msg
					     : curl_easy_strerror(curl_code));
	e->retryable = mturk_error_is_retryable(e);
}

static bool
in_list(const char *code, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(code, list[i]) == 0)
			return true;
	return false;
}

/* Transport failures that a later attempt may not meet. */
static bool
curl_code_is_transient(int code)
{
	switch (code) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		/*
		 * Certificate failures, refused protocols and our own body
		 * cap (CURLE_WRITE_ERROR) give the same answer every time.
		 */
		return false;
	}
}

bool
mturk_error_is_retryable(const struct mturk_error *e)
{
	if (e->curl_code != 0)
		return curl_code_is_transient(e->curl_code);
	if (strcmp(e->type, "RequestError") == 0)
		return false;
	if (strcmp(e->type, "ServiceFault") == 0)
		return true;
	if (in_list(e->type, throttle_codes,
		    sizeof(throttle_codes) / sizeof(throttle_codes[0])))
		return true;
	if (message_says(e, SAYS_RATE_EXCEEDED))
		return true;
	switch (e->http_status) {
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		return true;
	default:
		return false;
	}
}

static bool
contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

bool
mturk_error_is_clock_skew(const struct mturk_error *e)
{
	if (e->curl_code != 0)
		return false;
	if (in_list(e->type, skew_codes,
		    sizeof(skew_codes) / sizeof(skew_codes[0])))
		return true;
	if (message_says(e, SAYS_SIGNATURE_EXPIRED) ||
	    message_says(e, SAYS_SIGNATURE_NOT_YET))
		return true;
	if (in_list(e->type, signature_codes,
		    sizeof(signature_codes) / sizeof(signature_codes[0])))
		return message_says(e, SAYS_EXPIRED) ||
		       message_says(e, SAYS_TIME) || message_says(e, SAYS_DATE);
	return false;
}

/*
 * Refusals of who we are or what we may do, from the AWS front end (JSON
 * services), S3, STS and IAM: the same for every request until an operator
 * changes the keys, the token or the policy.
 */
static const char *const credential_codes[] = {
	"UnrecognizedClientException",
	"InvalidSignatureException",
	"SignatureDoesNotMatch",
	"IncompleteSignature",
	"IncompleteSignatureException",
	"MissingAuthenticationToken",
	"MissingAuthenticationTokenException",
	"InvalidClientTokenId",
	"InvalidAccessKeyId",
	"InvalidToken",
	"ExpiredToken",
	"ExpiredTokenException",
	"TokenRefreshRequired",
	"AccessDenied",
	"AccessDeniedException",
	"AuthFailure",
	"NotAuthorized",
	"UnauthorizedOperation",
	"OptInRequired",
	"AccountProblem",
	"AllAccessDisabled",
	"InvalidAccountException",
};

/* A passing hint in a RequestError: eventual consistency after a submit. */
static const char *const passing_turk_codes[] = {
	"InvalidAssignmentState",
	"ServiceFault",
	"ServiceUnavailable",
};

/* Transport failures that will repeat on every request to this endpoint. */
static bool
curl_code_is_endpoint(int code)
{
	switch (code) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ISSUER_ERROR:
		return true;
	default:
		return false;
	}
}

static bool turk_code_in(const struct mturk_error *e, const char *const *list,
			 size_t n);

enum mturk_fault
mturk_error_fault(const struct mturk_error *e)
{
	if (e->curl_code == 0 && e->http_status == 0 && e->type[0] == '\0' &&
	    e->message[0] == '\0')
		return MTURK_FAULT_NONE;
	if (e->curl_code != 0) {
		if (curl_code_is_transient(e->curl_code))
			return MTURK_FAULT_PASSING;
		return curl_code_is_endpoint(e->curl_code)
			       ? MTURK_FAULT_SERVICE
			       : MTURK_FAULT_REQUEST;
	}
	/* Money first: MTurk says so in a RequestError. */
	if (mturk_error_is(e, "InsufficientFunds") ||
	    message_says(e, SAYS_INSUFFICIENT_FUNDS))
		return MTURK_FAULT_FUNDS;
	if (mturk_error_is_retryable(e) || mturk_error_is_clock_skew(e))
		return MTURK_FAULT_PASSING;
	if (turk_code_in(e, passing_turk_codes,
			 sizeof(passing_turk_codes) /
				 sizeof(passing_turk_codes[0])))
		return MTURK_FAULT_PASSING;
	if (in_list(e->type, credential_codes,
		    sizeof(credential_codes) / sizeof(credential_codes[0])) ||
	    turk_code_in(e, credential_codes,
			 sizeof(credential_codes) /
				 sizeof(credential_codes[0])))
		return MTURK_FAULT_CREDENTIALS;
	/* A bare 401/403 from the front end or a proxy: who we are. */
	if (e->type[0] == '\0' &&
	    (e->http_status == 401 || e->http_status == 403))
		return MTURK_FAULT_CREDENTIALS;
	return MTURK_FAULT_REQUEST;
}

const char *
mturk_fault_str(enum mturk_fault f)
{
	switch (f) {
	case MTURK_FAULT_NONE:
		return "none";
	case MTURK_FAULT_PASSING:
		return "passing";
	case MTURK_FAULT_REQUEST:
		return "request";
	case MTURK_FAULT_CREDENTIALS:
		return "credentials";
	case MTURK_FAULT_FUNDS:
		return "funds";
	case MTURK_FAULT_SERVICE:
		return "service";
	}
	return "?";
}

bool
mturk_fault_is_account_wide(enum mturk_fault f)
{
	return f == MTURK_FAULT_CREDENTIALS || f == MTURK_FAULT_FUNDS ||
	       f == MTURK_FAULT_SERVICE;
}

static const char *
strip_turk_prefix(const char *s)
{
	size_t n = strlen(TURK_PREFIX);

	return strncasecmp(s, TURK_PREFIX, n) == 0 ? s + n : s;
}

bool
mturk_error_is(const struct mturk_error *e, const char *code)
{
	const char *want = strip_turk_prefix(code);

	if (e->turk_code[0] != '\0' &&
	    strcasecmp(strip_turk_prefix(e->turk_code), want) == 0)
		return true;
	return e->type[0] != '\0' && strcasecmp(e->type, want) == 0;
}

static bool
turk_code_in(const struct mturk_error *e, const char *const *list, size_t n)
{
	if (e->turk_code[0] == '\0')
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(strip_turk_prefix(e->turk_code), list[i]) == 0)
			return true;
	return false;
}

/*
 * The service names the HITId that the token made only in the message of
 * HitAlreadyExists (mturk-facts 1.2): the other reading of message text,
 * which takes an id out of it; the decision is the code's.
 */
int
mturk_error_recover_hit_id(const struct mturk_error *e, const char *token,
			   char *out, size_t outsz)
{
	const char *p = e->message;

	/* HITAlreadyExists (legacy) and HitAlreadyExists differ in case. */
	if (!mturk_error_is(e, "HitAlreadyExists"))
		return -1;
	while (*p != '\0') {
		size_t n = 0;
		while (isupper((unsigned char)p[n]) ||
		       isdigit((unsigned char)p[n]))
			n++;
		/* A whole word: not the tail of a longer mixed-case one. */
		if (n >= 20 && n < outsz &&
		    (p == e->message || !isalnum((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[n]) &&
		    (token == NULL || strlen(token) != n ||
		     strncmp(p, token, n) != 0)) {
			memcpy(out, p, n);
			out[n] = '\0';
			return 0;
		}
		p += n > 0 ? n : 1;
	}
	return -1;
}

void
mturk_error_format(const struct mturk_error *e, char *out, size_t outsz)
{
	const char *code = e->turk_code[0] != '\0' ? e->turk_code : e->type;

	if (e->curl_code != 0)
		snprintf(out, outsz, "network error: %s", e->message);
	else if (code[0] != '\0' && e->message[0] != '\0')
		snprintf(out, outsz, "%s: %s", code, e->message);
	else if (code[0] != '\0')
		snprintf(out, outsz, "%s (HTTP %ld)", code, e->http_status);
	else if (e->message[0] != '\0')
		snprintf(out, outsz, "HTTP %ld: %s", e->http_status,
			 e->message);
	else
		snprintf(out, outsz, "HTTP %ld", e->http_status);
}

bool
mturk_error_is_request_error(const struct mturk_error *e)
{
	return strcmp(e->type, "RequestError") == 0;
}

bool
mturk_error_is_hit_gone(const struct mturk_error *e)
{
	return e->curl_code == 0 && mturk_error_is(e, "HITDoesNotExist");
}

bool
mturk_error_is_response_over_cap(const struct mturk_error *e)
{
	return e->response_over_cap;
}

bool
mturk_error_is_qualification_refusal(const struct mturk_error *e)
{
	if (e->curl_code != 0 || mturk_error_fault(e) != MTURK_FAULT_REQUEST)
		return false;
	/* A code naming one (QualificationTypeDoesNotExist, ...), or words. */
	return strstr(e->turk_code, "Qualification") != NULL ||
	       strstr(e->type, "Qualification") != NULL ||
	       message_says(e, SAYS_QUALIFICATION);
}

bool
mturk_error_is_name_taken(const struct mturk_error *e)
{
	return mturk_error_is_request_error(e) &&
	       (message_says(e, SAYS_ALREADY) ||
		contains_nocase(e->turk_code, "AlreadyExists"));
}

bool
mturk_error_is_processed_repeat(const struct mturk_error *e)
{
	return mturk_error_is_request_error(e) &&
	       message_says(e, SAYS_IDEMPOTENCY_TOKEN) &&
	       message_says(e, SAYS_ALREADY_PROCESSED);
}
