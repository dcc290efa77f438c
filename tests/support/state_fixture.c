/*
 * tests/support/state_fixture.c - see state_fixture.h.
 */
#include "tests/support/state_fixture.h"
#include "tests/support/tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct state_fixture *
state_fixture_new(const char *tag, const char *sub)
{
	struct state_fixture *f = calloc(1, sizeof(*f));
	struct errbuf eb = {0};

	if (f == NULL)
		return NULL;
	snprintf(f->dir, sizeof(f->dir), "/tmp/intofocus-%s.XXXXXX", tag);
	if (mkdtemp(f->dir) == NULL) {
		perror(f->dir);
		free(f);
		return NULL;
	}
	f->sub = path_join(f->dir, sub);
	if (f->sub == NULL ||
	    state_open(f->sub, "exp1", &f->st, &eb) != IF_OK) {
		fprintf(stderr, "state_fixture: %s\n",
			f->sub == NULL ? "out of memory" : eb.msg);
		f->st = NULL;
		state_fixture_free(f);
		return NULL;
	}
	return f;
}

void
state_fixture_free(struct state_fixture *f)
{
	if (f == NULL)
		return;
	state_close(f->st);
	(void)tmpdir_remove(f->dir);
	free(f->sub);
	free(f);
}
