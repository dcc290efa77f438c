/*
 * tests/support/engine_rig.c - see engine_rig.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/engine_rig.h"
#include "tests/support/tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
engine_rig_init(struct engine_rig *r, const char *tag)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/intofocus-%s.XXXXXX", tag);
	if (mkdtemp(r->dir) == NULL) {
		perror(r->dir);
		return -1;
	}
	if (getcwd(r->top, sizeof(r->top)) == NULL) {
		perror("getcwd");
		return -1;
	}
	snprintf(r->yaml, sizeof(r->yaml), "%s/exp.yaml", r->dir);
	snprintf(r->state_dir, sizeof(r->state_dir), "%s/state", r->dir);
	r->now = 1790000000;
	return 0;
}

void
engine_rig_cleanup(struct engine_rig *r)
{
	engine_close(r->e);
	r->e = NULL;
	if (r->dir[0] != '\0')
		(void)tmpdir_remove(r->dir);
}

int64_t
engine_rig_now(void *arg)
{
	const struct engine_rig *r = arg;

	return r->now;
}

int64_t
engine_rig_clock_ms(void *arg)
{
	return engine_rig_now(arg) * 1000;
}

void
engine_rig_config(struct engine_rig *r, uint64_t sim_seed,
		  struct engine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->exp_path = r->yaml;
	cfg->state_dir = r->state_dir;
	cfg->threads = 1;
	cfg->sim_seed = sim_seed;
	cfg->sim_memory = true;
	cfg->now = engine_rig_now;
	cfg->now_arg = r;
}

void
engine_rig_open(struct engine_rig *r, const struct engine_config *cfg)
{
	struct errbuf eb = {0};

	if (engine_open(cfg, NULL, &r->e, &eb) != IF_OK)
		fail_msg("engine_open: %s", eb.msg);
}
