/*
 * intofocus mturk: one MTurk API call for operators (spec section 2).
 *
 *   intofocus mturk OPERATION [JSON|-] [--endpoint URL | --sandbox |
 *                   --production] [--experiment FILE] [--profile NAME]
 *                   [--region R] [--attempts N] [--verbose]
 *
 * The request body is passed through as given (any operation of the
 * 2017-01-17 model, checked against its list so that a typo is a usage
 * error and not a request), signed with the credentials of the chain, and
 * the answer printed as indented JSON.  It goes through mturk_call(), so the
 * retries and the clock-skew correction are the daemon's own.  The sandbox
 * is the default; production must be asked for, by flag or by the
 * experiment file.
 *
 * Exit status: 0 answered; 1 the service refused (TurkErrorCode: message on
 * stderr); 2 bad arguments, bad JSON, unknown operation, no credentials;
 * 75 the service could not be reached or stayed unavailable.
 */
#include "config/config.h"
#include "daemon/daemon.h"
#include "mturk/mturk.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_JSON_ARG ((size_t)1 << 20)

static void
mturk_usage(FILE *fp)
{
	const char *const *ops = mturk_operation_names();

	fprintf(fp,
		"usage: intofocus mturk OPERATION [JSON|-] [options]\n"
		"\n"
		"Calls one MTurk requester API operation and prints its answer "
		"as JSON.\n"
		"JSON is the request body (default {}); - reads it from "
		"stdin.\n"
		"Example: intofocus mturk ListHITs '{\"MaxResults\":10}'\n"
		"\n"
		"  -e, --endpoint URL     API endpoint (https://, or "
		"http:// on a loopback address)\n"
		"      --sandbox          the sandbox endpoint [default]\n"
		"      --production       the production endpoint "
		"(real money)\n"
		"  -x, --experiment FILE  take environment, endpoint, "
		"region, profile and CA file from FILE\n"
		"      --ca-file PEM      verify the endpoint's TLS "
		"certificate against these CAs only\n"
		"  -p, --profile NAME     credentials profile [default: "
		"AWS_PROFILE, else default]\n"
		"  -r, --region R         signing region [default: us-east-1]\n"
		"      --attempts N       tries for retryable failures "
		"[default: 5]\n"
		"  -v, --verbose          trace the HTTP exchange (secrets "
		"redacted)\n"
		"\nCredentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
		"(+AWS_SESSION_TOKEN), then the shared\n"
		"credentials file, then $CREDENTIALS_DIRECTORY/aws.\n"
		"\noperations:\n");
	for (size_t i = 0; ops[i] != NULL; i++)
		fprintf(fp, "  %s\n", ops[i]);
	fprintf(fp, "\nexit status: 0 answered, 1 the service refused, "
		    "2 bad arguments or JSON,\n75 the service could not be "
		    "reached\n");
}

struct mturk_opts {
	const char *operation;
	const char *json;
	const char *endpoint;
	const char *experiment;
	const char *profile;
	const char *region;
	const char *ca_file;
	int env; /* 0 unset, 1 sandbox, 2 production */
	int attempts; /* 0 = the client's default */
	bool verbose;
};

static int
parse_args(int argc, char **argv, struct mturk_opts *o, struct errbuf *eb)
{
	static const struct option longopts[] = {
		{"endpoint", required_argument, NULL, 'e'},
		{"sandbox", no_argument, NULL, 'S'},
		{"production", no_argument, NULL, 'P'},
		{"experiment", required_argument, NULL, 'x'},
		{"profile", required_argument, NULL, 'p'},
		{"region", required_argument, NULL, 'r'},
		{"verbose", no_argument, NULL, 'v'},
		{"attempts", required_argument, NULL, 'a'},
		{"ca-file", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "e:x:p:r:vh", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'e':
			o->endpoint = optarg;
			break;
		case 'S':
		case 'P':
			if (o->env != 0 && o->env != (ch == 'S' ? 1 : 2))
				return err_set(eb, IF_EINPUT,
					       "--sandbox and --production "
					       "exclude each other");
			o->env = ch == 'S' ? 1 : 2;
			break;
		case 'x':
			o->experiment = optarg;
			break;
		case 'C':
			o->ca_file = optarg;
			break;
		case 'p':
			o->profile = optarg;
			break;
		case 'r':
			o->region = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'a': {
			int64_t v;
			if (parse_int64(optarg, 1, 20, &v) != 0)
				return err_set(eb, IF_EINPUT,
					       "--attempts \"%s\" is not a "
					       "whole number in 1..20",
					       optarg);
			o->attempts = (int)v;
			break;
		}
		case 'h':
			return -1;
		default:
			return err_set(eb, IF_EINPUT,
				       "unknown or incomplete option \"%s\" "
				       "(see intofocus mturk --help)",
				       argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return err_set(eb, IF_EINPUT,
			       "no OPERATION given (see intofocus mturk "
			       "--help for the list)");
	o->operation = argv[optind++];
	if (optind < argc)
		o->json = argv[optind++];
	if (optind < argc)
		return err_set(eb, IF_EINPUT, "unexpected argument \"%s\"",
			       argv[optind]);
	if (o->endpoint != NULL && o->env != 0)
		return err_set(eb, IF_EINPUT,
			       "--endpoint and --%s exclude each other",
			       o->env == 1 ? "sandbox" : "production");
	if (!mturk_operation_known(o->operation))
		return err_set(eb, IF_EINPUT,
			       "\"%s\" is not an MTurk operation (see "
			       "intofocus mturk --help for the list)",
			       o->operation);
	return IF_OK;
}

/* The request body: the argument, stdin for "-", or {}; one JSON object. */
static int
read_body(const char *arg, char **out, struct errbuf *eb)
{
	struct buf in;
	json_error_t jerr;
	json_t *doc;
	char chunk[4096];
	size_t n;
	int rc = IF_OK;

	*out = NULL;
	buf_init(&in, MAX_JSON_ARG);
	if (arg == NULL) {
		buf_append_str(&in, "{}");
	} else if (strcmp(arg, "-") == 0) {
		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			if (buf_append(&in, chunk, n) != 0) {
				rc = err_set(eb, IF_EINPUT,
					     "stdin: request body over %zu "
					     "bytes",
					     MAX_JSON_ARG);
				goto cleanup;
			}
	} else if (buf_append_str(&in, arg) != 0) {
		rc = err_set(eb, IF_EINPUT, "request body over %zu bytes",
			     MAX_JSON_ARG);
		goto cleanup;
	}
	doc = json_loadb(in.data != NULL ? in.data : "", in.len,
			 JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		rc = err_set(eb, IF_EINPUT,
			     "the request body is not JSON: %d:%d: %s",
			     jerr.line, jerr.column, jerr.text);
		goto cleanup;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		rc = err_set(eb, IF_EINPUT,
			     "the request body must be a JSON object, e.g. "
			     "'{\"HITId\":\"...\"}'");
		goto cleanup;
	}
	*out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (*out == NULL)
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
cleanup:
	buf_cleanup(&in);
	return rc;
}

/* Endpoint and friends: flags first, then the experiment file. */
static int
resolve_target(struct mturk_opts *o, struct experiment **exp,
	       const char **endpoint, struct errbuf *eb)
{
	int rc;

	*endpoint = NULL;
	if (o->experiment != NULL) {
		rc = exp_load(o->experiment, exp, NULL, eb);
		if (rc != IF_OK)
			return rc;
		if (o->profile == NULL)
			o->profile = (*exp)->mturk.profile;
		if (o->region == NULL)
			o->region = (*exp)->mturk.region;
		if (o->ca_file == NULL)
			o->ca_file = (*exp)->mturk.ca_file;
		if (o->endpoint == NULL && o->env == 0) {
			o->endpoint = (*exp)->mturk.endpoint;
			if (o->endpoint == NULL) {
				switch ((*exp)->mturk.environment) {
				case EXP_ENV_PRODUCTION:
					o->env = 2;
					break;
				case EXP_ENV_SANDBOX:
					o->env = 1;
					break;
				default:
					return err_set(
						eb, IF_EINPUT,
						"%s: environment simulator "
						"has no fixed endpoint; start "
						"intofocus sim and pass "
						"--endpoint",
						o->experiment);
				}
			}
		}
	}
	if (o->endpoint != NULL)
		*endpoint = o->endpoint;
	else if (o->env == 2)
		*endpoint = MTURK_ENDPOINT_PRODUCTION;
	else
		*endpoint = MTURK_ENDPOINT_SANDBOX;
	return IF_OK;
}

/* Indented JSON when the answer is JSON, the bytes as they came if not. */
static void
print_answer(const struct buf *out)
{
	json_error_t jerr;
	json_t *doc = json_loadb(out->data != NULL ? out->data : "", out->len,
				 JSON_REJECT_DUPLICATES, &jerr);
	char *text = NULL;

	if (doc != NULL)
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					       JSON_ENCODE_ANY);
	if (text != NULL)
		printf("%s\n", text);
	else
		printf("%s\n", out->data != NULL ? out->data : "");
	free(text);
	json_decref(doc);
}

int
cmd_mturk(int argc, char **argv)
{
	struct mturk_opts o;
	struct errbuf eb = {0};
	struct experiment *exp = NULL;
	struct aws_creds_env env;
	struct aws_creds *creds = NULL;
	struct mturk_client_config cfg;
	struct mturk_client *c = NULL;
	struct mturk_error merr;
	struct buf out;
	const char *endpoint = NULL;
	char *body = NULL;
	int rc;

	buf_init(&out, 0);
	rc = parse_args(argc, argv, &o, &eb);
	if (rc == -1) {
		mturk_usage(stdout);
		return IF_OK;
	}
	if (rc != IF_OK)
		goto fail;
	rc = read_body(o.json, &body, &eb);
	if (rc != IF_OK)
		goto fail;
	rc = resolve_target(&o, &exp, &endpoint, &eb);
	if (rc != IF_OK)
		goto fail;
	aws_creds_env_from_process(&env);
	rc = aws_creds_load(&env, o.profile, &creds, &eb);
	if (rc != IF_OK)
		goto fail;
	if (o.verbose)
		log_init(1, false);
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = endpoint;
	cfg.region = o.region;
	cfg.creds = creds;
	cfg.http.trace = o.verbose;
	cfg.http.ca_file = o.ca_file;
	cfg.retry.max_attempts = o.attempts;
	rc = mturk_client_new(&cfg, &c, &eb);
	if (rc != IF_OK)
		goto fail;
	rc = mturk_call(c, o.operation, body, strlen(body), &out, &merr, &eb);
	if (rc != IF_OK)
		goto fail;
	print_answer(&out);
fail:
	if (rc != IF_OK)
		rc = cmd_fail("mturk", &eb);
	mturk_client_free(c);
	aws_creds_free(creds);
	exp_free(exp);
	free(body);
	buf_cleanup(&out);
	return rc;
}
