/*
 * tests/fuzz/fuzz_sigv4.c - sigv4_verify() (mturk/sigv4.c, spec section
 * 5): the simulator's check of every received request, i.e. parsing of an
 * attacker's Authorization header, X-Amz-* query parameters, credential
 * scope, dates and signed-header lists.
 *
 * Input, as text (the seeds are readable requests):
 *   line 1   the method; "S3 GET" verifies under S3 rules (service s3)
 *   line 2   the path as received
 *   line 3   the raw query
 *   then     "Name: value" header lines up to an empty line
 *   rest     the body
 * The clock is fixed (2026-01-02T03:04:05Z) and two keys are known:
 * AKIDEXAMPLE (no token) and ASIAEXAMPLE (token "fuzztoken").
 */
#include "tests/fuzz/fuzz.h"

#include "mturk/mturk.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define T0 1767323045
#define MAX_HEADERS 64

static const char *
secret_for(void *arg, const char *access_key_id, const char **token)
{
	(void)arg;
	*token = NULL;
	if (strcmp(access_key_id, "AKIDEXAMPLE") == 0)
		return "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	if (strcmp(access_key_id, "ASIAEXAMPLE") == 0) {
		*token = "fuzztoken";
		return "fuzzsecret";
	}
	return NULL;
}

static bool
leaks(const char *msg, const char *secret, const uint8_t *in, size_t len)
{
	size_t n = strlen(secret);

	if (strstr(msg, secret) == NULL)
		return false;
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(in + i, secret, n) == 0)
			return false;
	return true;
}

/* Cuts the next line of *p (NUL-terminating it in place); NULL at the end. */
static char *
next_line(char **p, char *end)
{
	char *line = *p, *nl;

	if (line >= end)
		return NULL;
	nl = memchr(line, '\n', (size_t)(end - line));
	if (nl == NULL) {
		*p = end;
		return line;
	}
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	*p = nl + 1;
	return line;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigv4_header h[MAX_HEADERS];
	struct sigv4_request req;
	struct sigv4_expect x;
	enum sigv4_verdict v;
	struct errbuf eb;
	char *copy, *p, *end, *line, *colon;
	int rc;

	/* One byte more, for the NUL that ends the last line. */
	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	end = copy + size;
	memset(&req, 0, sizeof(req));
	memset(&x, 0, sizeof(x));
	x.region = MTURK_REGION;
	x.service = MTURK_SERVICE;
	x.now = T0;
	x.secret_for = secret_for;
	req.method = next_line(&p, end);
	req.path = next_line(&p, end);
	req.query = next_line(&p, end);
	if (req.method == NULL || req.path == NULL)
		goto out;
	if (strncmp(req.method, "S3 ", 3) == 0) {
		req.method += 3;
		x.s3 = true;
		x.service = "s3";
	}
	while (req.nheaders < MAX_HEADERS &&
	       (line = next_line(&p, end)) != NULL && *line != '\0') {
		colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		*colon++ = '\0';
		while (*colon == ' ')
			colon++;
		h[req.nheaders].name = line;
		h[req.nheaders].value = colon;
		req.nheaders++;
	}
	req.headers = h;
	req.body = p;
	req.body_len = (size_t)(end - p);
	err_init(&eb);
	rc = sigv4_verify(&req, &x, &v, &eb);
	if ((rc == IF_OK) != (v == SIGV4_VALID))
		abort(); /* the status and the verdict must agree */
	/* "An AWS-like message in eb (never a secret)"; a message may quote
	 * the request, so only a secret the request did not carry counts. */
	if (rc != IF_OK && (leaks(eb.msg, "wJalrXUtnFEMI", data, size) ||
			    leaks(eb.msg, "fuzzsecret", data, size)))
		abort();
	(void)sigv4_verdict_code(v);
out:
	free(copy);
	return 0;
}
