/*
 * tests/support/engine_rig.h - the daemon's engine driven in one process
 * against its embedded simulator, in a new temporary directory, on a
 * clock the test owns (test_engine, test_engine_pool).
 */
#ifndef INTOFOCUS_ENGINE_RIG_H
#define INTOFOCUS_ENGINE_RIG_H

#include "daemon/daemon.h"

#include <stdint.h>

struct engine_rig {
	char dir[64];	    /* scratch: the experiment, state, outputs */
	char top[1024];	    /* the source tree, for the fixture photos */
	char yaml[128];	    /* dir/exp.yaml, which the test writes */
	char state_dir[128]; /* dir/state */
	int64_t now; /* the clock of daemon and simulator, seconds */
	struct engine *e;    /* engine_rig_open's, or NULL */
};

/*
 * Makes the directory /tmp/intofocus-<tag>.XXXXXX (the working directory
 * must be the source tree) and starts the clock at a fixed second, so
 * that every run of a suite sees the same times.  0, or -1 with a line
 * on stderr (for a cmocka setup).
 */
int engine_rig_init(struct engine_rig *r, const char *tag);
/* Closes the engine and removes the directory with all it holds. */
void engine_rig_cleanup(struct engine_rig *r);

/* The rig's clock (arg: the rig), in seconds and in ms. */
int64_t engine_rig_now(void *arg);
int64_t engine_rig_clock_ms(void *arg);

/*
 * An engine's configuration for the rig's experiment and state, one
 * median thread, the embedded simulator in memory with the seed, on the
 * rig's clock; the test may change it before engine_rig_open.
 */
void engine_rig_config(struct engine_rig *r, uint64_t sim_seed,
		       struct engine_config *cfg);
/* Opens the engine (r->e) as cfg says; a failure fails the test. */
void engine_rig_open(struct engine_rig *r, const struct engine_config *cfg);

#endif
