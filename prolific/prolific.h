/*
 * prolific/prolific.h - recruiting and paying on Prolific.
 *
 * Built from Prolific's published API reference, summarised with its
 * sources in docs/prolific-api.md; where the reference is silent that file
 * says what is done instead.  The pieces:
 *   token.c    the API token's credential chain (environment, systemd
 *              credentials, a file named in the experiment)
 *   errors.c   one classification of failures into fault classes
 *   client.c   the HTTP client: submissions (list, get, approve, reject),
 *              bonuses (set up, pay), the completion URL
 *   money.c    the price of a study: rewards, bonuses, the service fee
 *   once.c     approve once and pay once, with the state kept by the
 *              caller through hooks (intent, call, result)
 *
 * HTTP goes through the MTurk client's libcurl boundary (mturk/http.c:
 * TLS verification, https only except to loopback, body caps) and its
 * retry policy and injectable clock (mturk/api.c), called, not copied.
 * A client is used by one thread at a time.
 */
#ifndef INTOFOCUS_PROLIFIC_H
#define INTOFOCUS_PROLIFIC_H

#include "common/common.h"
#include "mturk/mturk.h"

#define PROLIFIC_API_DEFAULT "https://api.prolific.com"
#define PROLIFIC_COMPLETE_URL "https://app.prolific.com/submissions/complete"
/* Prolific ids are 24 hex digits; room for any [A-Za-z0-9_-]{1,64}. */
#define PROLIFIC_ID_MAX 65

/* -- token.c: the credential chain -- */

/* What the chain reads from the process, injectable for tests. */
struct prolific_token_env {
	const char *token;		   /* PROLIFIC_TOKEN */
	const char *credentials_directory; /* CREDENTIALS_DIRECTORY */
};

void prolific_token_env_from_process(struct prolific_token_env *env);

/*
 * The token, in this order: env->token; the file prolific-token in
 * env->credentials_directory (systemd LoadCredential=); token_file (the
 * experiment's, may be NULL).  A file is refused when group or others can
 * read it.  On IF_OK *out is a new string (prolific_token_free() it) and
 * source names where it came from (never the value).  Finding none is
 * IF_EINPUT naming the three places.
 */
int prolific_token_load(const struct prolific_token_env *env,
			const char *token_file, char **out, char *source,
			size_t sourcesz, struct errbuf *eb);
/* Wipes and frees a token. */
void prolific_token_free(char *token);

/* -- errors.c: what a failure means -- */

/*
 *   PASSING   429, 5xx, no answer (refused, reset, timed out): the same
 *             request later may pass;
 *   REFUSED   any other 4xx, or an answer that cannot be read: this
 *             request is wrong, another may pass;
 *   ACCOUNT   401 or 403 (the token), TLS or protocol failures: no request
 *             will pass until an operator acts.
 */
enum prolific_fault {
	PROLIFIC_FAULT_NONE = 0,
	PROLIFIC_FAULT_PASSING,
	PROLIFIC_FAULT_REFUSED,
	PROLIFIC_FAULT_ACCOUNT,
};

struct prolific_error {
	long http_status;	  /* 0 when no answer arrived */
	int curl_code;		  /* CURLcode; 0 when the exchange completed */
	long error_code;	  /* the body's error.error_code, or -1 */
	enum prolific_fault fault;
	char title[128];	  /* error.title or message: for people only */
	char detail[512];	  /* error.detail as text: for people only */
};

void prolific_error_clear(struct prolific_error *e);
/* THE classification, from the status and the transfer's CURLcode. */
enum prolific_fault prolific_fault_classify(long http_status, int curl_code);
/* "passing", "refused", "account" or "none". */
const char *prolific_fault_str(enum prolific_fault f);
/* "HTTP 400 (error_code 1234): title: detail", or the transfer error. */
void prolific_error_format(const struct prolific_error *e, char *out,
			   size_t outsz);

/* -- client.c -- */

struct prolific_client_config {
	const char *base_url; /* NULL = PROLIFIC_API_DEFAULT */
	const char *token;    /* borrowed; must outlive the client */
	struct http_options http;
	struct mturk_retry_policy retry;
	struct mturk_clock clock;
};

struct prolific_client;

/* Validates the base URL (https, or http on loopback) and the token. */
int prolific_client_new(const struct prolific_client_config *cfg,
			struct prolific_client **out, struct errbuf *eb);
void prolific_client_free(struct prolific_client *c);
/* HTTP requests sent so far, retries included (for tests and logs). */
uint64_t prolific_client_requests(const struct prolific_client *c);

/* An id safe in a path and in a CSV line: [A-Za-z0-9_-]{1,64}. */
bool prolific_id_valid(const char *id);

enum prolific_status {
	PROLIFIC_STATUS_UNKNOWN = 0, /* a status this code does not know */
	PROLIFIC_STATUS_RESERVED,
	PROLIFIC_STATUS_ACTIVE,
	PROLIFIC_STATUS_TIMED_OUT,
	PROLIFIC_STATUS_AWAITING_REVIEW,
	PROLIFIC_STATUS_APPROVED,
	PROLIFIC_STATUS_RETURNED,
	PROLIFIC_STATUS_REJECTED,
	PROLIFIC_STATUS_SCREENED_OUT,
	PROLIFIC_STATUS_PARTIALLY_APPROVED,
};

/* The API's spelling ("AWAITING REVIEW", "TIMED-OUT", ...). */
const char *prolific_status_str(enum prolific_status s);
enum prolific_status prolific_status_parse(const char *text);

/* Amounts kept from a submission's bonus_payments; the count is exact. */
#define PROLIFIC_BONUS_KEPT 32

struct prolific_submission {
	char id[PROLIFIC_ID_MAX];
	char study_id[PROLIFIC_ID_MAX];
	char participant_id[PROLIFIC_ID_MAX];
	enum prolific_status status;
	char status_text[32];	/* as sent, for display */
	char started_at[40];	/* "" when absent */
	char completed_at[40];	/* "" when absent or null */
	char entered_code[64];	/* the completion code used; "" if none */
	size_t n_bonus;		/* entries in bonus_payments */
	int64_t bonus_cents[PROLIFIC_BONUS_KEPT]; /* the first ones */
};

/*
 * A call that fails returns IF_ETEMP for a PASSING fault once the retries
 * are spent, IF_ERUNTIME otherwise, fills err (may be NULL) and eb.
 * Requests that are safe to repeat (reads, and transitions, which the
 * reference documents as idempotent) are retried on PASSING faults.
 */
int prolific_get_submission(struct prolific_client *c,
			    const char *submission_id,
			    struct prolific_submission *out,
			    struct prolific_error *err, struct errbuf *eb);

/* Called for each submission; a non-IF_OK return stops the listing. */
typedef int (*prolific_submission_cb)(void *ctx,
				      const struct prolific_submission *s,
				      struct errbuf *eb);

/*
 * Every submission of study_id, page by page (page_size 0 = 100), one
 * page in memory at a time.  Pages are requested by number; the next
 * link of a page is read only as "there is more".
 */
int prolific_list_submissions(struct prolific_client *c, const char *study_id,
			      int page_size, prolific_submission_cb cb,
			      void *ctx, struct prolific_error *err,
			      struct errbuf *eb);
/*
 * The same, only the submissions in status (the list's documented
 * `status` filter, e.g. status=AWAITING_REVIEW); PROLIFIC_STATUS_UNKNOWN
 * lists all of them.
 */
int prolific_list_submissions_in(struct prolific_client *c,
				 const char *study_id,
				 enum prolific_status status, int page_size,
				 prolific_submission_cb cb, void *ctx,
				 struct prolific_error *err,
				 struct errbuf *eb);

/* APPROVE; idempotent on Prolific's side. */
int prolific_approve(struct prolific_client *c, const char *submission_id,
		     struct prolific_error *err, struct errbuf *eb);

/*
 * REJECT, for the operator only (run never rejects).  category: upper-case
 * letters and '_'; message: at least 100 characters (the reference's rule,
 * checked before sending).
 */
int prolific_reject(struct prolific_client *c, const char *submission_id,
		    const char *category, const char *message,
		    struct prolific_error *err, struct errbuf *eb);

struct prolific_bulk_bonus {
	char id[PROLIFIC_ID_MAX]; /* the id to pay */
	int64_t amount_cents;	  /* to the participants; -1 if not sent */
	int64_t fees_cents;	  /* -1 if not sent */
	int64_t total_cents;	  /* deducted from the balance; -1 if not */
};

/*
 * Sets up (does not pay) one bonus of amount_cents for a submission of
 * study_id: one CSV line "<submission_id>,<amount>" in the study currency.
 * An unpaid set-up costs nothing, so a set-up whose record was lost is
 * only an orphan.
 */
int prolific_bonus_create(struct prolific_client *c, const char *study_id,
			  const char *submission_id, int64_t amount_cents,
			  struct prolific_bulk_bonus *out,
			  struct prolific_error *err, struct errbuf *eb);

/* What a pay call did, as far as the answer tells. */
enum prolific_pay_outcome {
	PROLIFIC_PAY_SENT = 0,	/* 2xx: Prolific took the payment */
	PROLIFIC_PAY_REFUSED,	/* 4xx: Prolific answered that it did not */
	PROLIFIC_PAY_UNKNOWN,	/* 5xx or no answer: it may have paid */
};

/*
 * Pays a bulk bonus.  NOT idempotent on Prolific's side, so it is sent
 * exactly once, never retried here: the caller records its intent first
 * (see prolific_bonus_step()).  IF_OK when *outcome is SENT.
 */
int prolific_bonus_pay(struct prolific_client *c, const char *bulk_id,
		       enum prolific_pay_outcome *outcome,
		       struct prolific_error *err, struct errbuf *eb);

/*
 * PROLIFIC_COMPLETE_URL "?cc=" code.  The code must be [A-Za-z0-9_-]{1,64}
 * (nothing to escape).  IF_EINPUT otherwise, or when out is too small.
 */
int prolific_complete_url(const char *code, char *out, size_t outsz,
			  struct errbuf *eb);

/*
 * The three parameters a participant arrives with from Prolific
 * (PROLIFIC_PID, STUDY_ID, SESSION_ID; the session id is the submission
 * id), checked for the task server: each an id by prolific_id_valid(),
 * and the study the experiment's.  IF_EINPUT naming the parameter (never
 * echoing its value, which came from the URL).
 */
int prolific_entry_check(const char *prolific_pid, const char *study_id,
			 const char *session_id, const char *expected_study,
			 struct errbuf *eb);

/* -- money.c: the price of a study, in cents of the study currency -- */

/* The service fee as published (docs/prolific-api.md), basis points. */
#define PROLIFIC_FEE_CORPORATE_BP 4280 /* 42.8% */
#define PROLIFIC_FEE_ACADEMIC_BP 3330  /* 33.3%, academic and non-profit */

struct prolific_price_input {
	int64_t reward_cents;	      /* per submission */
	int64_t places;		      /* submissions paid */
	int64_t bonus_per_task_cents; /* 0 = no bonuses */
	int64_t tasks_per_submission; /* at most, for the bonus */
	int fee_bp;		      /* service fee, basis points */
	int vat_bp;		      /* VAT on the fee, basis points (0) */
};

struct prolific_price {
	int64_t rewards_cents;
	int64_t bonuses_cents;
	int64_t fees_cents;
	int64_t vat_cents;
	int64_t total_cents;
};

/*
 * The cost of one payment of amount_cents: the amount, its fee and the
 * fee's VAT, each rounded up to the cent (Prolific's rounding is not
 * published; rounding up can only overstate).  -1 on overflow or a
 * negative argument.
 */
int64_t prolific_payment_cost_cents(int64_t amount_cents, int fee_bp,
				    int vat_bp);

/*
 * The most a study can cost: each submission's reward, and one bonus per
 * submission of bonus_per_task_cents x tasks_per_submission, each paid as
 * a payment of its own.  IF_EINPUT naming the field on a negative or
 * overflowing input.
 */
int prolific_price_study(const struct prolific_price_input *in,
			 struct prolific_price *out, struct errbuf *eb);

/* IF_EINPUT with both figures in the message when total > budget. */
int prolific_budget_check(const struct prolific_price *p,
			  int64_t budget_cents, struct errbuf *eb);

/* True when committing next_cents more keeps the total within budget. */
bool prolific_budget_allows(int64_t committed_cents, int64_t next_cents,
			    int64_t budget_cents);

/* -- once.c: approve once, pay once -- */

/*
 * The caller keeps these records (the daemon: in its SQLite state) and
 * hands them back on every step; the step functions call save() at each
 * transition, before the next remote call, and save() must make the
 * record durable before it returns.  So a crash at any point leaves a
 * record saying what may have been sent.
 */
enum prolific_approval_state {
	PROLIFIC_APPROVAL_NEW = 0,
	PROLIFIC_APPROVAL_SENDING, /* intent recorded, call may have gone */
	PROLIFIC_APPROVAL_DONE,
};

struct prolific_approval {
	char submission_id[PROLIFIC_ID_MAX];
	enum prolific_approval_state state;
};

enum prolific_bonus_state {
	PROLIFIC_BONUS_NEW = 0,
	PROLIFIC_BONUS_CREATED, /* bulk_id set up, not paid */
	PROLIFIC_BONUS_PAYING,	/* intent recorded, pay may have gone */
	PROLIFIC_BONUS_PAID,
	PROLIFIC_BONUS_REFUSED, /* Prolific refused; the operator decides */
};

struct prolific_bonus {
	char study_id[PROLIFIC_ID_MAX];
	char submission_id[PROLIFIC_ID_MAX];
	int64_t amount_cents;
	enum prolific_bonus_state state;
	char bulk_id[PROLIFIC_ID_MAX];
	/* Payments of amount_cents the submission showed before the first
	 * pay call; paid means more than this.  -1 until known. */
	long baseline;
	int64_t pay_sent_at; /* clock of the last pay call, 0 = none */
	int pay_calls;	     /* pay calls made (the record of them) */
	bool overpaid;	     /* more than one payment landed */
};

struct prolific_once_hooks {
	int (*save_approval)(void *ctx, const struct prolific_approval *a,
			     struct errbuf *eb);
	int (*save_bonus)(void *ctx, const struct prolific_bonus *b,
			  struct errbuf *eb);
	void *ctx;
};

struct prolific_once_policy {
	/*
	 * Bonus payments land asynchronously ("in the following minutes"):
	 * after a pay call whose outcome is unknown, the pay call is made
	 * again only when this many seconds have passed without the payment
	 * showing [default 3600]; negative: never again without the operator.
	 */
	int64_t settle_s;
};

enum prolific_step {
	PROLIFIC_STEP_DONE = 0, /* approved / paid */
	PROLIFIC_STEP_WAIT,	/* call again later */
	PROLIFIC_STEP_OPERATOR, /* nothing more without the operator */
};

/*
 * Approves a submission once its answers are valid: reads the submission
 * first, approves only one AWAITING REVIEW, records DONE when it is
 * APPROVED; a submission in another state (returned, timed out,
 * rejected) is left to the operator.  IF_OK with *step, or a failure as
 * for the client's calls.
 */
int prolific_approval_step(struct prolific_client *c,
			   const struct prolific_once_hooks *hooks,
			   struct prolific_approval *a,
			   enum prolific_step *step,
			   struct prolific_error *err, struct errbuf *eb);

/*
 * Advances a bonus: set up -> record -> read the submission's bonus
 * payments -> record the intent -> pay once -> record the result.  A
 * PAYING record (crash, or no answer) is settled from the submission's
 * bonus payments before any new pay call.  now is seconds on the
 * caller's clock.
 */
int prolific_bonus_step(struct prolific_client *c,
			const struct prolific_once_hooks *hooks,
			const struct prolific_once_policy *policy, int64_t now,
			struct prolific_bonus *b, enum prolific_step *step,
			struct prolific_error *err, struct errbuf *eb);

#endif /* INTOFOCUS_PROLIFIC_H */
