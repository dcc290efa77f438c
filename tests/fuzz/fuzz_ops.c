/*
 * tests/fuzz/fuzz_ops.c - the MTurk JSON answers (mturk/ops.c and the
 * error decoder in mturk/errors.c; spec section 5): what the service, or
 * anything pretending to be it, sends back.
 *
 * The parsers in ops.c are static and live inside the typed operations, so
 * this harness includes ops.c itself and supplies its own mturk_call(): the
 * "service" answers each call with the next reply cut from the input.  The
 * real mturk_call (api.c) is then never linked, and every operation - its
 * paging, its idempotency recoveries that read the error message - runs
 * exactly as in the daemon, only without a socket.
 *
 * Input: byte 0 picks the operation ('a' + n: the n-th case of run_op);
 * the rest is replies separated by a line "--".  A reply that starts with
 * three digits and a space has that
 * HTTP status (>= 300 goes through mturk_error_from_response(), as a
 * service error would), else it is a 200 with the whole reply as body.
 * When the replies run out, the service answers 400 with no body.
 */
#include "mturk/ops.c"

#include "tests/fuzz/fuzz.h"

struct feed {
	const uint8_t *p;
	size_t left;
	int calls;
};

static const uint8_t *
find_sep(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(p + i, "\n--\n", 4) == 0)
			return p + i;
	return NULL;
}

/* Cuts the next reply off the feed; false when none is left. */
static bool
next_reply(struct feed *f, const uint8_t **body, size_t *len, long *status)
{
	const uint8_t *end;
	size_t n;

	if (f->left == 0 && f->calls > 0)
		return false;
	end = f->left > 0 ? find_sep(f->p, f->left) : NULL;
	n = end != NULL ? (size_t)(end - f->p) : f->left;
	*body = f->p;
	*len = n;
	*status = 200;
	if (n >= 4 && isdigit(f->p[0]) && isdigit(f->p[1]) &&
	    isdigit(f->p[2]) && f->p[3] == ' ') {
		*status = (f->p[0] - '0') * 100 + (f->p[1] - '0') * 10 +
			  (f->p[2] - '0');
		*body += 4;
		*len -= 4;
	}
	f->p += end != NULL ? n + 4 : n;
	f->left -= end != NULL ? n + 4 : n;
	return true;
}

int
mturk_call(struct mturk_client *c, const char *operation, const char *body,
	   size_t body_len, struct buf *out, struct mturk_error *err,
	   struct errbuf *eb)
{
	struct feed *f = (struct feed *)c;
	struct http_response resp;
	struct mturk_error local;
	struct mturk_error *e = err != NULL ? err : &local;
	const uint8_t *rb = NULL;
	size_t rlen = 0;
	int rc;

	(void)body;
	(void)body_len;
	memset(&resp, 0, sizeof(resp));
	if (!next_reply(f, &rb, &rlen, &resp.status))
		resp.status = 400;
	f->calls++;
	if (resp.status >= 200 && resp.status < 300) {
		if (out != NULL) {
			buf_reset(out);
			if (buf_append(out, rb, rlen) != 0)
				return err_set(eb, IF_ERUNTIME, "%s: no memory",
					       operation);
		}
		mturk_error_clear(e);
		return IF_OK;
	}
	buf_init(&resp.body, 0);
	if (buf_append(&resp.body, rb, rlen) != 0) {
		buf_cleanup(&resp.body);
		return err_set(eb, IF_ERUNTIME, "%s: no memory", operation);
	}
	snprintf(resp.request_id, sizeof(resp.request_id), "fuzz-%d", f->calls);
	mturk_error_from_response(e, &resp);
	buf_cleanup(&resp.body);
	rc = err_set(eb, IF_ERUNTIME, "%s: %s: %s", operation, e->type,
		     e->message);
	return rc;
}

/* The listing's retry without long strings: the same feed. */
int
mturk_call_eliding(struct mturk_client *c, const char *operation,
		   const char *body, size_t body_len, size_t elide_over,
		   struct buf *out, size_t *elided, struct mturk_error *err,
		   struct errbuf *eb)
{
	(void)elide_over;
	if (elided != NULL)
		*elided = 0;
	return mturk_call(c, operation, body, body_len, out, err, eb);
}

static void
run_op(int op, struct mturk_client *c)
{
	static const struct mturk_hit_type ht = {
		"Find the faces", "Draw a box on each face", "faces",
		15, 600, -1, NULL, 0,
	};
	struct mturk_assignment a, *all = NULL;
	struct mturk_hit hit, *hits = NULL;
	struct errbuf eb;
	char id[MTURK_ID_MAX], token[256];
	int64_t x, y;
	size_t n = 0;
	bool b;

	err_init(&eb);
	memset(&a, 0, sizeof(a));
	switch (op) {
	case 0:
		mturk_create_qualification_type(c, "q", "d", id, &eb);
		break;
	case 1:
		mturk_associate_qualification(c, "Q1", "W1", 1, &eb);
		break;
	case 2:
		mturk_create_hit_type(c, &ht, id, &eb);
		break;
	case 3:
		mturk_get_hit(c, "H1", &hit, &eb);
		break;
	case 4:
		mturk_create_hit(c, "T1", "<q/>", 3600, 3, "exp/img/1", "tok",
				 &hit, &b, &eb);
		break;
	case 5:
		if (mturk_list_hits_page(c, NULL, 100, &hits, &n, token,
					 sizeof(token), &eb) == IF_OK &&
		    n > 0 && hits == NULL)
			abort();
		free(hits);
		break;
	case 6:
		mturk_find_hit_by_annotation(c, "exp/img/1", &hit, &b, &eb);
		break;
	case 7:
		if (mturk_list_assignments(c, "H1", MTURK_ASSIGNMENT_SUBMITTED,
					   &all, &n, &eb) == IF_OK) {
			for (size_t i = 0; i < n; i++)
				if (all[i].answer == NULL)
					abort(); /* "never NULL" */
		}
		mturk_assignments_free(all, n);
		break;
	case 8:
		mturk_get_assignment(c, "A1", &a, &hit, &eb);
		mturk_assignment_cleanup(&a);
		break;
	case 9:
		mturk_approve_assignment(c, "A1", "thanks", NULL, 0, &eb);
		break;
	case 10:
		mturk_reject_assignment(c, "A1", "no", &eb);
		break;
	case 11:
		mturk_update_expiration(c, "H1", 0, &eb);
		break;
	case 12:
		mturk_delete_hit(c, "H1", &eb);
		break;
	default:
		mturk_get_account_balance(c, &x, &y, &eb);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed f;
	int op;

	if (size < 1)
		return 0;
	f.p = data + 1;
	f.left = size - 1;
	f.calls = 0;
	op = (int)(((unsigned)data[0] + 14 * 10 - 'a') % 14);
	run_op(op, (struct mturk_client *)&f);
	return 0;
}
