/*
 * tests/fuzz/fuzz_sim.c - the simulator's API requests (sim/sim_ops.c
 * behind sim/sim_server.c; spec section 6): what any loopback client may
 * send.  The HTTP framing and signature are libmicrohttpd's and fuzz_sigv4's;
 * this harness feeds the JSON bodies, parsed as sim_server.c parses them,
 * to one in-memory store per input, with a clock that steps one second per
 * call so that the simulated crowd works between calls.
 *
 * Input: requests separated by a line "--"; each is the operation name
 * (e.g. CreateHITWithHITType), a newline, then the JSON body.  The name
 * "externalSubmit" posts the rest instead, as an urlencoded form, to lab
 * mode's submit handler (sim_lab.c), and "lab" asks for the lab index.
 */
#include "tests/fuzz/fuzz.h"

#include "sim/sim_private.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define T0_MS 1767323045000LL

static int64_t
step_clock(void *ctx)
{
	int64_t *now = ctx;

	return *now;
}

static const uint8_t *
find_sep(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(p + i, "\n--\n", 4) == 0)
			return p + i;
	return NULL;
}

static void
one_call(struct sim_store *st, const uint8_t *p, size_t n)
{
	const uint8_t *nl = memchr(p, '\n', n);
	char op[64];
	size_t oplen = nl != NULL ? (size_t)(nl - p) : n;
	json_error_t jerr;
	json_t *req, *resp = NULL;
	struct sim_err e;

	if (oplen == 0 || oplen >= sizeof(op))
		return;
	memcpy(op, p, oplen);
	op[oplen] = '\0';
	if (memchr(op, '\0', oplen) != NULL)
		return; /* a header value cannot hold a NUL */
	p += nl != NULL ? oplen + 1 : oplen;
	n -= nl != NULL ? oplen + 1 : oplen;
	if (strcmp(op, "externalSubmit") == 0 || strcmp(op, "lab") == 0) {
		struct sim_reply r;

		sim_reply_init(&r);
		if (op[0] == 'e')
			sim_lab_submit(st, "http://127.0.0.1:9000",
				       (const char *)p, n, &r);
		else
			sim_lab_index(st, "http://127.0.0.1:9000", "W1", &r);
		if (r.status < 200 || r.status > 599)
			abort();
		sim_reply_cleanup(&r);
		return;
	}
	req = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL)
		return;
	memset(&e, 0, sizeof(e));
	if (sim_store_call(st, op, req, &resp, &e) == 0) {
		char *text;

		if (resp == NULL)
			abort(); /* success always answers */
		text = json_dumps(resp, JSON_COMPACT);
		free(text);
	} else if (e.http < 400 || e.type[0] == '\0') {
		abort(); /* a refusal is an AWS-shaped error */
	}
	json_decref(resp);
	json_decref(req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_store_config cfg;
	struct sim_store *st;
	int64_t now = T0_MS;
	const uint8_t *end;
	size_t n;

	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 7;
	cfg.worker_pool = 5;
	cfg.clock_ms = step_clock;
	cfg.clock_ctx = &now;
	st = sim_store_new(&cfg);
	if (st == NULL)
		return 0;
	sim_store_set_base(st, "http://127.0.0.1:9000");
	while (size > 0) {
		end = find_sep(data, size);
		n = end != NULL ? (size_t)(end - data) : size;
		one_call(st, data, n);
		now += 1000;
		data += end != NULL ? n + 4 : n;
		size -= end != NULL ? n + 4 : n;
	}
	sim_store_free(st);
	return 0;
}
