/*
 * tests/support/fake_prolific.h - a fake Prolific API for the tests.
 *
 * It follows docs/prolific-api.md (the published reference): the token
 * check ("Authorization: Token <token>", 401 otherwise), submissions
 * listed by page and page_size (and by status, "AWAITING_REVIEW") with
 * _links and meta, a submission with its
 * bonus_payments in cents, the transition endpoint (APPROVE idempotent,
 * REJECT needing a category and a 100-character message), bonus set-up
 * from csv_bonuses and a pay call that pays again every time it is sent.
 * It binds 127.0.0.1 on a port the kernel picks and runs on
 * libmicrohttpd's thread; every function is safe while a client talks to
 * it.  Faults are injected per method and path prefix; every pay and every
 * approval is counted, so that a test can assert that nothing was paid or
 * approved twice.  The same is reachable over HTTP under /_fake/ (see
 * control() in fake_prolific.c), for a test that runs the fake in a
 * process of its own.  It lives in tests/support, linked into the test
 * programs only: the product never carries a fake service.
 */
#ifndef INTOFOCUS_FAKE_PROLIFIC_H
#define INTOFOCUS_FAKE_PROLIFIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fake_prolific_fault {
	FAKE_PROLIFIC_429 = 1,	/* 429 with an error body, not processed */
	FAKE_PROLIFIC_500,	/* 500, not processed */
	FAKE_PROLIFIC_503,	/* 503, not processed */
	FAKE_PROLIFIC_DROP,	/* connection closed, not processed */
	FAKE_PROLIFIC_DONE_DROP, /* processed, then closed unanswered */
};

struct fake_prolific;

/* NULL when the server cannot start. */
struct fake_prolific *fake_prolific_start(const char *token,
					  const char *study_id);
void fake_prolific_stop(struct fake_prolific *f);
/* "http://127.0.0.1:PORT" (no slash at the end). */
const char *fake_prolific_url(const struct fake_prolific *f);

/* A submission of the study; status as the API spells it. */
void fake_prolific_add_submission(struct fake_prolific *f, const char *id,
				  const char *participant_id,
				  const char *status);
void fake_prolific_set_status(struct fake_prolific *f, const char *id,
			      const char *status);
/* Copies the submission's status ("" for an unknown id). */
void fake_prolific_status(struct fake_prolific *f, const char *id, char *out,
			  size_t outsz);

/*
 * The next `times` requests whose method is method (NULL = any) and whose
 * path starts with path_prefix (NULL = any) meet the fault.  Faults are
 * matched in the order they were injected.
 */
void fake_prolific_inject(struct fake_prolific *f, const char *method,
			  const char *path_prefix,
			  enum fake_prolific_fault fault, int times);

/* Pays land only at fake_prolific_settle(), as Prolific pays "in the
 * following minutes". */
void fake_prolific_set_async(struct fake_prolific *f, bool async);
void fake_prolific_settle(struct fake_prolific *f);

/* Bonus payments that landed on the submission. */
int fake_prolific_bonus_landed(struct fake_prolific *f, const char *id);
/* Pay calls processed for bulk bonuses naming the submission. */
int fake_prolific_pay_calls(struct fake_prolific *f, const char *id);
/* Transitions that made the submission APPROVED (at most one). */
int fake_prolific_approvals(struct fake_prolific *f, const char *id);
/* APPROVE requests processed for the submission, ignored ones included. */
int fake_prolific_approve_calls(struct fake_prolific *f, const char *id);
int fake_prolific_reject_calls(struct fake_prolific *f, const char *id);
/* Bulk bonus payments set up so far. */
size_t fake_prolific_bulks(struct fake_prolific *f);
/* Requests seen (faults included), and those refused for the token. */
size_t fake_prolific_requests(struct fake_prolific *f);
size_t fake_prolific_unauthorized(struct fake_prolific *f);

#endif /* INTOFOCUS_FAKE_PROLIFIC_H */
