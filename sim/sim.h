/*
 * sim/sim.h - the MTurk-compatible simulator (spec section 6): the service
 * with a simulated crowd, lab mode and fault injection, and its
 * S3-compatible image store.  It listens on a loopback address only and
 * runs its own threads; sim_new() returns once it accepts connections.
 * With sim_config.people it is the task server for real participants
 * ("intofocus serve"): no crowd, sessions, and the pages of sim_people.c.
 *
 * The rest of sim/ is private to it (sim/sim_private.h).  The simulator
 * uses the client (mturk/) only for what both sides of the protocol share:
 * SigV4 verification, the answer XML and the names of the operations.
 */
#ifndef INTOFOCUS_SIM_H
#define INTOFOCUS_SIM_H

#include "common/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A ground-truth face or a box: [x, y, w, h] in image pixels. */
struct sim_face {
	int x, y, w, h;
};

/* One image of an experiment, as far as the crowd needs to know it. */
struct sim_image {
	const char *id;
	int width, height; /* 0 when unknown: no false positives then */
	const struct sim_face *faces;
	size_t nfaces;
	/* Its own windows, stage by stage, or NULL for the experiment's. */
	const int *windows;
	size_t nwindows;
	/*
	 * Stage 0 (issue 17): boxes every stage image of it hides from the
	 * first stage on, whoever found them; sim_set_hidden() replaces them.
	 */
	const struct sim_face *hidden;
	size_t nhidden;
};

/*
 * The simulated workers' model (README: "the simulated crowd"): a worker
 * finds a face it can see with p = 1 / (1 + exp(-k * (side / window -
 * x0))), side being the face's smaller side; each edge of its box moves
 * by up to jitter x side; it adds one spurious box with probability
 * spurious.
 */
struct sim_crowd_model {
	double k, x0, spurious, jitter;
};
#define SIM_CROWD_MODEL_DEFAULT {3.0, 1.0, 0.10, 0.10}

/* How the daemon combines a stage's answers into what it redacts. */
enum sim_aggregate {
	SIM_AGG_UNION = 0,
	SIM_AGG_FIRST,	  /* the first answer submitted */
	SIM_AGG_MAJORITY, /* pixels boxed by more than half of the answers */
};

/*
 * What the crowd learns of an experiment: HITs are matched to it by their
 * RequesterAnnotation "<name>/<image-id>/<stage>" (stage from 1), which
 * gives the image's ground truth and windows[stage - 1].
 */
struct sim_experiment {
	const char *name;
	const int *windows;
	size_t nwindows;
	const struct sim_image *images;
	size_t nimages;
	/*
	 * What the daemon redacts of a stage's answers: a worker sees a
	 * face hidden only when the image it is served hides it.
	 */
	enum sim_aggregate aggregate;
	const struct sim_crowd_model *crowd; /* NULL: the default model */
};

struct sim_config {
	const char *listen_host; /* [default: "127.0.0.1"]; loopback only */
	unsigned port;		 /* [default: 0 = any free port] */
	uint64_t seed;		 /* crowd, ids and faults derive from it */
	double fault_rate;	 /* 0..1 [default: 0] */
	/* How long a "slow" fault waits, in ms [default: 0 = 1500]; <0 none. */
	int64_t fault_slow_ms;
	/* Delay from HIT creation to each simulated submission, in ms. */
	int64_t crowd_delay_ms;
	/*
	 * Time each API and S3 request waits before it is answered, in ms,
	 * so that the service answers like a remote one [default: 0].
	 */
	int64_t call_latency_ms;
	bool crowd_off;	    /* lab only: no simulated workers */
	/*
	 * No push: the API answers do not offer the long poll of HITs that
	 * became Reviewable (sim/sim_push.c), so a daemon polls.
	 */
	bool push_off;
	size_t worker_pool; /* [default: 50] simulated worker ids */
	/* The one key pair requests must be signed with (copied, wiped). */
	const char *access_key_id;
	const char *secret_access_key;
	/* The session token requests must carry; NULL = any or none. */
	const char *session_token;
	/* Experiments the crowd knows (deep-copied). */
	const struct sim_experiment *experiments;
	size_t nexperiments;
	/* Wall clock in epoch ms [default: CLOCK_REALTIME]; for tests. */
	int64_t (*clock_ms)(void *ctx);
	void *clock_ctx;
	/*
	 * Directory (created 0700) the service keeps its HITs, assignments,
	 * qualifications, tokens and S3 objects in, so that a restart loses
	 * nothing [default: NULL = memory only].
	 */
	const char *state_dir;
	/*
	 * Refusals, for testing what a client does about errors that do not
	 * pass: each "OPERATION[:TEXT]=ERROR" makes every request of that API
	 * operation (whose JSON body contains TEXT, when given) fail with
	 * ERROR, one of sim_refusal_names().  Checked by sim_new.
	 */
	const char *const *refusals;
	size_t nrefusals;
	/*
	 * People only ("intofocus serve"); NULL: the simulator.  With it
	 * there is no simulated crowd, no fault and no refusal, ids come from
	 * the CSPRNG, and participants reach their tasks through a session
	 * opened by an entry link (sim_people.c).
	 */
	const struct sim_people_config *people;
};

/*
 * What the task server knows of one experiment the daemon runs there
 * (from its file: "intofocus serve --experiment"), to tell a participant
 * with no task now whether one can still come (sim_store_outlook.c).
 * Its HITs are those annotated "<name>/<image-id>/<stage>".
 */
struct sim_people_study {
	const char *name;
	const char *const *image_ids;
	const unsigned char *image_stages; /* each image's stages, 1-16 */
	size_t nimages;
	int64_t lifetime_s;	 /* hit.lifetime */
	int max_extensions;	 /* hit.max_extensions */
	int64_t poll_interval_s; /* mturk.poll_interval */
	/*
	 * With exclusive_stages: the names of the stage slots' qualification
	 * types (the group's, all of them) and the slot of each of the
	 * nstages stages, from 0 (stage_slot[k - 1] for stage k); nslots 0
	 * without.
	 */
	const char *const *slot_names;
	size_t nslots;
	const int *stage_slot;
	size_t nstages;
};

/* The task server for real participants. */
struct sim_people_config {
	/*
	 * The address participants use, "https://tasks.example.org" (no
	 * path), when a reverse proxy terminating TLS sits in front; links,
	 * the Origin check and the cookie's Secure flag follow it.
	 * [default: the listening address, http]
	 */
	const char *public_url;
	/* Prolific: the study whose entry links are taken, and the code of
	 * its completion URL (NULL: a "you are done" page). */
	const char *prolific_study;
	const char *prolific_code;
	/* Take /enter?participant=ID links (a pool's own ids, unchecked). */
	bool participant_param;
	int share;		   /* tasks per participant; 0 = no limit */
	/* The experiments known (copied); none: no study is known to end. */
	const struct sim_people_study *studies;
	size_t nstudies;
	unsigned per_ip_limit;	   /* connections per address [64] */
	unsigned connection_limit; /* connections in all [1024] */
	unsigned timeout_s;	   /* an idle connection's life [30] */
	unsigned threads;	   /* epoll threads [4] */
	/*
	 * The loopback address a reverse proxy on this machine connects
	 * from, or NULL [default: none].  Its connections are not held to
	 * per_ip_limit (every participant arrives through them) but to the
	 * connection limit less a share kept for others; instead each of its
	 * requests counts for the client its X-Real-IP (else the last
	 * X-Forwarded-For entry) names, and a client may have per_ip_limit
	 * requests under way at once.  Those headers are never read from
	 * any other address.
	 */
	const char *trusted_proxy;
};

/*
 * The credentials the simulator accepts when the chain finds none; printed
 * by "intofocus sim" and documented in the README.
 */
#define SIM_DEFAULT_ACCESS_KEY_ID "AKIDINTOFOCUSSIM0000"
#define SIM_DEFAULT_SECRET_ACCESS_KEY "intofocus-simulator-secret-not-for-aws"

struct sim_server;

/*
 * Starts the service.  A non-loopback listen_host or a busy port is an
 * IF_EINPUT / IF_ERUNTIME error naming the address.
 */
struct sim_server *sim_new(const struct sim_config *cfg, struct errbuf *eb);
/* The ERROR names --refuse accepts, NULL-terminated. */
const char *const *sim_refusal_names(void);
/* The port actually bound (useful with port 0). */
unsigned sim_port(const struct sim_server *sim);
/*
 * Test hook (sim_hold.c; not with people): the next k requests of
 * operation (an API operation, or "PutObject" for an S3 upload) each wait
 * until k of them have arrived, so that a test sees whether its client
 * sends them at once; k = 0 disarms.  At most four holds at a time.  A
 * hold not met within 20 s lets its requests go and is not met.
 */
int sim_hold_requests(struct sim_server *sim, const char *operation, int k);
/* Whether operation's hold saw its k requests arrive together. */
bool sim_hold_met(struct sim_server *sim, const char *operation);
/* Teaches the crowd one more experiment (the embedding daemon's). */
int sim_add_experiment(struct sim_server *sim, const struct sim_experiment *exp,
		       struct errbuf *eb);
/*
 * Tells the crowd what an image of a known experiment starts hidden
 * behind (its stage 0, copied), as the embedding daemon records it; the
 * HITs created from then on are planned with it.  IF_EINPUT for an
 * experiment or image the crowd does not know.
 */
int sim_set_hidden(struct sim_server *sim, const char *experiment,
		   const char *image_id, const struct sim_face *boxes,
		   size_t n, struct errbuf *eb);
/*
 * An operator's entry link for participant (NULL: a new random id), under
 * public_url, appended to out: "URL/enter?p=ID&t=MAC".  The MAC's key is
 * DIR/serve.key (made 0600 when missing), so links outlive restarts and
 * cannot be forged without the key.
 */
int sim_people_link(const char *state_dir, const char *public_url,
		    const char *participant, struct buf *out,
		    struct errbuf *eb);
/* Whether id is a participant id kept as given: [A-Za-z0-9_-]{1,64}. */
bool sim_participant_id_valid(const char *id);

/* Push waits under way (sim/sim_push.c): for tests and operators. */
size_t sim_push_waiting(const struct sim_server *sim);
/*
 * How many times a request waited call_latency_ms (none while it is 0):
 * once per API or S3 request, the push's included; for tests.
 */
uint64_t sim_latency_waits(const struct sim_server *sim);

/* Stops the threads and frees everything; NULL is a no-op. */
void sim_free(struct sim_server *sim);

#endif /* INTOFOCUS_SIM_H */
