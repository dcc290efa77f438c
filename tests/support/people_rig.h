/*
 * tests/support/people_rig.h - the simulator's store on a clock the test
 * owns, in memory or in a new temporary directory, with the task server's
 * participant pages when a suite asks for them, and the requests those
 * suites make of it (test_sim_people, test_sim_people_wait,
 * test_sim_scale).  Every failure fails the test.
 */
#ifndef INTOFOCUS_PEOPLE_RIG_H
#define INTOFOCUS_PEOPLE_RIG_H

#include "sim/sim_private.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct people_rig {
	struct sim_store *st;
	struct sim_people *people; /* people_rig_pages's, or NULL */
	int64_t now_ms;		   /* the store's clock; the test moves it */
	char *dir; /* the store's directory, or NULL: memory only */
};

/* A store for participants: seed 1, no simulated crowd, CSPRNG ids. */
void people_rig_participants(struct sim_store_config *cfg);

/*
 * A store as cfg says but on the rig's clock, which starts at
 * 2026-01-02T03:04:05Z; kept in a new directory /tmp/intofocus-<tag>.XXXXXX
 * when tag is not NULL, in memory when it is.
 */
struct people_rig *people_rig_new(const struct sim_store_config *cfg,
				  const char *tag);
/* Frees the pages and the store, and removes the directory. */
void people_rig_free(struct people_rig *r);

/* The participants' pages as pc says, into r->people. */
void people_rig_pages(struct people_rig *r,
		      const struct sim_people_config *pc);

/* The response of op to the JSON text req (an error fails the test). */
json_t *people_rig_call(struct people_rig *r, const char *op,
			const char *req);
/* CreateHIT with the JSON text req; the new HIT's id into id. */
void people_rig_hit(struct people_rig *r, const char *req,
		    char id[SIM_ID_LEN + 1]);
/*
 * A HIT as the daemon posts one: max assignments of 300 s each, an hour's
 * life, the annotation ann, and the JSON members extra (",\"Name\":..."),
 * when not NULL; its id into id.
 */
void people_rig_post_hit(struct people_rig *r, int max, const char *ann,
			 const char *extra, char id[SIM_ID_LEN + 1]);
/* A new qualification type granted to worker with value; its id in qid. */
void people_rig_grant(struct people_rig *r, const char *worker, int value,
		      char qid[SIM_ID_LEN + 1]);

/*
 * sim_store_people_take for who within share (0: no limit): 0 with asg,
 * 1 when there is nothing for them, -1 when refused; peek only looks.
 */
int people_rig_take(struct people_rig *r, const char *who, int share,
		    bool peek, char asg[SIM_ID_LEN + 1]);
/* who submits an empty answer to asg: 0, or -1 when refused. */
int people_rig_submit(struct people_rig *r, const char *who,
		      const char *asg);
/* who takes a task within share and submits it; the assignment in asg. */
void people_rig_do_task(struct people_rig *r, const char *who, int share,
			char asg[SIM_ID_LEN + 1]);

/* A page's query arguments: the value of name, or NULL. */
typedef const char *people_rig_arg_fn(void *ctx, const char *name);

/*
 * The pages' reply to a GET of path with the Cookie header cookie (NULL:
 * none) and the query arguments arg gives (NULL: none); the caller cleans
 * up its body.
 */
struct sim_reply people_rig_get(struct people_rig *r, const char *path,
				const char *cookie, people_rig_arg_fn *arg);
/*
 * A participant arrives: GET /enter with the query arguments arg gives.
 * The session cookie it sets, as a browser sends it back ("name=value"),
 * into cookie; the reply's status.
 */
int people_rig_enter(struct people_rig *r, people_rig_arg_fn *arg,
		     char *cookie, size_t size);
/* Whether the reply's body holds s. */
bool people_rig_body_has(const struct sim_reply *reply, const char *s);

#endif
