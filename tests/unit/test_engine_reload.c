/*
 * daemon/engine.c's reload (SIGHUP) of the settings that say where the
 * study's requests go: images_host alone, mturk.region, mturk.ca_file and
 * mturk.profile, each accepted while no image is in the state and then
 * followed by the requests themselves (each test would fail if the
 * setting were ignored: the simulator refuses a signature of another
 * region or another pair, the TLS proxy's certificate is trusted by one
 * CA file only, an upload reaches one store only); and the refusals, with
 * the reason and the way out, once images are in the state or when the
 * profile's credentials cannot be read.  One process, loopback only, on
 * the rig's clock (tests/support/engine_rig).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/engine_rig.h"
#include "tests/support/fake_prolific.h"
#include "tests/support/tls_proxy.h"
#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Enough passes for any scenario here; more is a loop that never ends. */
#define MAX_PASSES 2000

/* A pair the simulators here do not know. */
#define OTHER_KEY_ID "AKIAOTHEROTHEROTHER1"
#define OTHER_SECRET "otherotherotherotherotherotherotherother"

struct fx {
	struct engine_rig rig;
	struct sim_server *sims[3]; /* the test's own simulators */
	struct tls_proxy *proxy;
	char *log_text;	/* what the engine logged while capture() ran */
	size_t log_len;
	FILE *log;
};

/* What an experiment file says, for write_exp(). */
struct exp_spec {
	const char *endpoint;	   /* mturk.endpoint; NULL: embedded */
	const char *region;	   /* mturk.region, or NULL */
	const char *ca_file;	   /* mturk.ca_file, or NULL */
	const char *profile;	   /* mturk.profile, or NULL */
	const char *host_endpoint; /* images_host s3 at this URL; NULL: sim */
	const char *start_from;	   /* start_from.state_dir (stage 1), or NULL */
	bool image;		   /* the fixture photo "group" */
};

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (x == NULL || engine_rig_init(&x->rig, "reload") != 0) {
		free(x);
		return -1;
	}
	/* The simulators' pair, whatever the environment holds. */
	setenv("AWS_ACCESS_KEY_ID", SIM_DEFAULT_ACCESS_KEY_ID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SIM_DEFAULT_SECRET_ACCESS_KEY, 1);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("PROLIFIC_TOKEN");
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	if (x->log != NULL) {
		log_set_output(NULL);
		fclose(x->log);
	}
	free(x->log_text);
	/* The engine before the servers it talks to. */
	engine_close(x->rig.e);
	x->rig.e = NULL;
	tls_proxy_stop(x->proxy, NULL, NULL);
	for (size_t i = 0; i < 3; i++)
		sim_free(x->sims[i]);
	engine_rig_cleanup(&x->rig);
	free(x);
	return 0;
}

static void
write_exp(struct fx *x, const struct exp_spec *s)
{
	FILE *f = fopen(x->rig.yaml, "w");

	assert_non_null(f);
	fprintf(f, "name: moved\nmturk:\n  environment: simulator\n"
		   "  poll_interval: 1s\n");
	if (s->endpoint != NULL)
		fprintf(f, "  endpoint: %s\n", s->endpoint);
	if (s->region != NULL)
		fprintf(f, "  region: %s\n", s->region);
	if (s->ca_file != NULL)
		fprintf(f, "  ca_file: %s/%s\n", x->rig.dir, s->ca_file);
	if (s->profile != NULL)
		fprintf(f, "  profile: %s\n", s->profile);
	fprintf(f, "hit:\n  reward: \"0.15\"\n  workers: 2\n"
		   "  lifetime: 1d\n  max_extensions: 1\n"
		   "stages: [41, 13]\naggregate: union\nimages_host:\n");
	if (s->host_endpoint != NULL)
		fprintf(f, "  kind: s3\n  bucket: stage-images\n"
			   "  endpoint: %s\n",
			s->host_endpoint);
	else
		fprintf(f, "  kind: simulator\n");
	if (s->start_from != NULL)
		fprintf(f, "start_from:\n  state_dir: %s\n  stage: 1\n",
			s->start_from);
	fprintf(f, "budget_usd: \"5.00\"\noutput_dir: out\nimages:%s\n",
		s->image ? "" : " []");
	if (s->image)
		fprintf(f,
			"  - id: group\n"
			"    file: %s/tests/fixtures/daemon/group.jpg\n"
			"    ground_truth: [[40, 50, 48, 60]]\n",
			x->rig.top);
	assert_int_equal(fclose(f), 0);
}

static void
open_engine(struct fx *x)
{
	struct engine_config cfg;

	engine_rig_config(&x->rig, 7, &cfg);
	engine_rig_open(&x->rig, &cfg);
}

static struct run_ctx *
ctx_of(struct fx *x)
{
	return engine_ctx(x->rig.e);
}

/* Passes until every image is final; the clock jumps to the next step. */
static struct engine_progress
drive(struct fx *x)
{
	struct engine_progress p;
	struct errbuf eb = {0};

	for (int i = 0; i < MAX_PASSES; i++) {
		if (engine_pass(x->rig.e, &p, &eb) != IF_OK)
			fail_msg("engine_pass: %s", eb.msg);
		if (p.final == p.images)
			return p;
		if (p.next_at > x->rig.now)
			x->rig.now = p.next_at;
	}
	fail_msg("no end after %d passes", MAX_PASSES);
	return p;
}

/* Simulator i of the test's own on loopback, on the rig's clock. */
static struct sim_server *
own_sim(struct fx *x, size_t i)
{
	struct sim_config scfg;
	struct errbuf eb = {0};

	memset(&scfg, 0, sizeof(scfg));
	scfg.listen_host = "127.0.0.1";
	scfg.seed = 3 + i;
	scfg.access_key_id = SIM_DEFAULT_ACCESS_KEY_ID;
	scfg.secret_access_key = SIM_DEFAULT_SECRET_ACCESS_KEY;
	scfg.clock_ms = engine_rig_clock_ms;
	scfg.clock_ctx = &x->rig;
	x->sims[i] = sim_new(&scfg, &eb);
	if (x->sims[i] == NULL)
		fail_msg("sim_new: %s", eb.msg);
	return x->sims[i];
}

static void
sim_url(const struct sim_server *sim, char *out, size_t len)
{
	snprintf(out, len, "http://127.0.0.1:%u", sim_port(sim));
}

/*
 * A client of the test's own to url (region, ca_file: NULL for the
 * defaults), one attempt per call, with the simulators' pair.
 */
static struct mturk_client *
client_to(struct fx *x, const char *url, const char *region,
	  const char *ca_file, const struct aws_creds *creds)
{
	struct mturk_client_config cc;
	struct mturk_client *c = NULL;
	struct errbuf eb = {0};

	memset(&cc, 0, sizeof(cc));
	cc.endpoint = url;
	cc.region = region;
	cc.http.ca_file = ca_file;
	cc.creds = creds;
	cc.clock.now = engine_rig_now;
	cc.clock.ctx = &x->rig;
	cc.rate.per_second = -1;
	cc.retry.max_attempts = 1;
	if (mturk_client_new(&cc, &c, &eb) != IF_OK)
		fail_msg("mturk_client_new: %s", eb.msg);
	return c;
}

/* ListHITs through c: IF_OK with the number of HITs in *n, or not. */
static int
list_hits(struct mturk_client *c, size_t *n, struct errbuf *eb)
{
	struct mturk_hit *hits = NULL;
	char next[256];
	int rc;

	*n = 0;
	rc = mturk_list_hits_page(c, NULL, 100, &hits, n, next, sizeof(next),
				  eb);
	free(hits);
	return rc;
}

/* The HITs sim holds, read with the simulators' own pair. */
static size_t
hits_at(struct fx *x, struct sim_server *sim)
{
	struct aws_creds *creds =
		aws_creds_new(SIM_DEFAULT_ACCESS_KEY_ID,
			      SIM_DEFAULT_SECRET_ACCESS_KEY, NULL, "test");
	struct mturk_client *c;
	struct errbuf eb = {0};
	char url[64];
	size_t n;

	assert_non_null(creds);
	sim_url(sim, url, sizeof(url));
	c = client_to(x, url, NULL, NULL, creds);
	if (list_hits(c, &n, &eb) != IF_OK)
		fail_msg("ListHITs at %s: %s", url, eb.msg);
	mturk_client_free(c);
	aws_creds_free(creds);
	return n;
}

/* engine_reload, with what it logs kept in x->log_text. */
static void
reload_logged(struct fx *x)
{
	struct errbuf eb = {0};

	free(x->log_text);
	x->log_text = NULL;
	x->log = open_memstream(&x->log_text, &x->log_len);
	assert_non_null(x->log);
	log_set_output(x->log);
	if (engine_reload(x->rig.e, &eb) != IF_OK)
		fail_msg("engine_reload: %s", eb.msg);
	log_set_output(NULL);
	assert_int_equal(fclose(x->log), 0);
	x->log = NULL;
	assert_non_null(x->log_text);
}

static void
assert_logged(struct fx *x, const char *needle)
{
	if (strstr(x->log_text, needle) == NULL)
		fail_msg("the log lacks \"%s\":\n%s", needle, x->log_text);
}

/* ---- images_host alone ------------------------------------------------- */

/*
 * A reload that changes images_host alone (the store's endpoint) remakes
 * the image host and keeps the client: the image it adds is uploaded to
 * the new store, not the old one, and its HITs go to the same API.
 */
static void
test_reload_images_host_only(void **state)
{
	struct fx *x = *state;
	struct sim_server *api = own_sim(x, 0), *a = own_sim(x, 1),
			  *b = own_sim(x, 2);
	char api_url[64], url_a[64], url_b[64];
	struct exp_spec s = {.endpoint = api_url, .host_endpoint = url_a};
	const struct mturk_client *client;
	struct engine_progress p;

	sim_url(api, api_url, sizeof(api_url));
	sim_url(a, url_a, sizeof(url_a));
	sim_url(b, url_b, sizeof(url_b));
	write_exp(x, &s);
	open_engine(x);
	client = ctx_of(x)->client;
	/* Any upload that reaches a store meets its hold: the counter. */
	assert_int_equal(sim_hold_requests(a, "PutObject", 1), 0);
	assert_int_equal(sim_hold_requests(b, "PutObject", 1), 0);

	s.host_endpoint = url_b;
	s.image = true;
	write_exp(x, &s);
	reload_logged(x);
	assert_logged(x, "image host remade");
	assert_string_equal(ctx_of(x)->exp->images_host.endpoint, url_b);
	assert_ptr_equal(ctx_of(x)->client, client);
	p = drive(x);
	assert_int_equal(p.done, 1);
	assert_true(sim_hold_met(b, "PutObject"));
	assert_false(sim_hold_met(a, "PutObject"));
	/* One image, two stages: both HITs at the API, which never moved. */
	assert_int_equal(hits_at(x, api), 2);
}

/* ---- mturk.region ------------------------------------------------------ */

/*
 * The simulator, like MTurk, takes signatures for us-east-1 only: a run
 * started with another region is moved to it by a reload, and the image
 * the reload adds gets through (with the old region every request would
 * be refused and the pass would fail).
 */
static void
test_reload_mturk_region(void **state)
{
	struct fx *x = *state;
	struct sim_server *api = own_sim(x, 0);
	char url[64];
	struct exp_spec s = {.endpoint = url, .region = "eu-west-1"};
	struct mturk_client *c;
	struct engine_progress p;
	struct errbuf eb = {0};
	size_t n;

	sim_url(api, url, sizeof(url));
	write_exp(x, &s);
	open_engine(x);
	/* What the old region meets at this endpoint. */
	c = client_to(x, url, "eu-west-1", NULL, ctx_of(x)->creds);
	assert_int_not_equal(list_hits(c, &n, &eb), IF_OK);
	mturk_client_free(c);

	s.region = "us-east-1";
	s.image = true;
	write_exp(x, &s);
	reload_logged(x);
	assert_logged(x, "region us-east-1 (was");
	assert_string_equal(ctx_of(x)->exp->mturk.region, "us-east-1");
	p = drive(x);
	assert_int_equal(p.done, 1);
	assert_int_equal(hits_at(x, api), 2);
}

/* ---- mturk.ca_file ----------------------------------------------------- */

/*
 * The API behind TLS whose certificate one CA signed: a run started with
 * another CA file is moved to the right one by a reload, and the image
 * the reload adds is uploaded and its HITs made through TLS (with the old
 * file every handshake would be refused).
 */
static void
test_reload_mturk_ca_file(void **state)
{
	struct fx *x = *state;
	struct sim_server *api = own_sim(x, 0);
	char url[64], other[160];
	struct exp_spec s = {.endpoint = url, .ca_file = "other-ca.pem"};
	struct mturk_client *c;
	struct engine_progress p;
	struct errbuf eb = {0};
	size_t n, handshakes, refused;

	x->proxy = tls_proxy_start(x->rig.dir, sim_port(api));
	assert_non_null(x->proxy);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u",
		 tls_proxy_port(x->proxy));
	snprintf(other, sizeof(other), "%s/other-ca.pem", x->rig.dir);
	write_exp(x, &s);
	open_engine(x);
	/* What the old CA file makes of the proxy's certificate. */
	c = client_to(x, url, NULL, other, ctx_of(x)->creds);
	assert_int_not_equal(list_hits(c, &n, &eb), IF_OK);
	mturk_client_free(c);

	s.ca_file = "ca.pem";
	s.image = true;
	write_exp(x, &s);
	reload_logged(x);
	assert_logged(x, "MTurk client now to https://127.0.0.1:");
	p = drive(x);
	assert_int_equal(p.done, 1);
	assert_int_equal(hits_at(x, api), 2);
	/* The counts once every connection has ended. */
	engine_close(x->rig.e);
	x->rig.e = NULL;
	tls_proxy_stop(x->proxy, &handshakes, &refused);
	x->proxy = NULL;
	assert_true(handshakes > 0);
	/* The one refusal is the old file's above: no request of run's. */
	assert_int_equal(refused, 1);
}

/* ---- mturk.profile ----------------------------------------------------- */

/*
 * A credentials file (mode 600) with the profile "old", a pair no
 * simulator knows, and "new", the simulators' pair; the environment's
 * pair goes, so the file decides.  Returns its path in out.
 */
static void
write_credentials(struct fx *x, char *out, size_t len)
{
	FILE *f;
	int fd;

	snprintf(out, len, "%s/credentials", x->rig.dir);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f,
		"[old]\naws_access_key_id = %s\n"
		"aws_secret_access_key = %s\n\n"
		"[new]\naws_access_key_id = %s\n"
		"aws_secret_access_key = %s\n",
		OTHER_KEY_ID, OTHER_SECRET, SIM_DEFAULT_ACCESS_KEY_ID,
		SIM_DEFAULT_SECRET_ACCESS_KEY);
	assert_int_equal(fclose(f), 0);
	setenv("AWS_SHARED_CREDENTIALS_FILE", out, 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
}

/*
 * A changed mturk.profile is read at the reload, through the chain of
 * start: the new pair signs the requests of the image the reload adds
 * (the old pair would be refused: the simulator knows the new one only).
 */
static void
test_reload_mturk_profile(void **state)
{
	struct fx *x = *state;
	struct sim_server *api = own_sim(x, 0);
	char url[64], file[160], source[200];
	struct exp_spec s = {.endpoint = url, .profile = "old"};
	struct mturk_client *c;
	struct engine_progress p;
	struct errbuf eb = {0};
	size_t n;

	sim_url(api, url, sizeof(url));
	write_credentials(x, file, sizeof(file));
	write_exp(x, &s);
	open_engine(x);
	snprintf(source, sizeof(source), "%s [profile old]", file);
	assert_string_equal(ctx_of(x)->creds->source, source);
	assert_string_equal(ctx_of(x)->creds->access_key_id, OTHER_KEY_ID);
	/* What the old pair meets at this endpoint. */
	c = client_to(x, url, NULL, NULL, ctx_of(x)->creds);
	assert_int_not_equal(list_hits(c, &n, &eb), IF_OK);
	mturk_client_free(c);

	s.profile = "new";
	s.image = true;
	write_exp(x, &s);
	reload_logged(x);
	snprintf(source, sizeof(source), "%s [profile new]", file);
	assert_logged(x, source);
	assert_string_equal(ctx_of(x)->creds->source, source);
	p = drive(x);
	assert_int_equal(p.done, 1);
	assert_int_equal(hits_at(x, api), 2);
}

/*
 * A profile the file does not hold refuses the reload, naming the
 * profile and the file; the old credentials, client and plan stay.
 */
static void
test_reload_unknown_profile_refused(void **state)
{
	struct fx *x = *state;
	struct sim_server *api = own_sim(x, 0);
	char url[64], file[160];
	struct exp_spec s = {.endpoint = url, .profile = "new"};
	const struct aws_creds *creds;
	const struct mturk_client *client;

	sim_url(api, url, sizeof(url));
	write_credentials(x, file, sizeof(file));
	write_exp(x, &s);
	open_engine(x);
	creds = ctx_of(x)->creds;
	client = ctx_of(x)->client;

	s.profile = "nosuch";
	s.image = true;
	write_exp(x, &s);
	reload_logged(x);
	assert_logged(x, "reload refused");
	assert_logged(x, "mturk.profile nosuch (was new)");
	assert_logged(x, "[nosuch]");
	assert_logged(x, file);
	assert_ptr_equal(ctx_of(x)->creds, creds);
	assert_ptr_equal(ctx_of(x)->client, client);
	assert_string_equal(ctx_of(x)->exp->mturk.profile, "new");
	assert_int_equal(ctx_of(x)->exp->nimages, 0);
}

/*
 * The embedded simulator was given the pair run started with: a profile
 * whose pair differs is refused with "restart run".
 */
static void
test_reload_profile_embedded_sim_refused(void **state)
{
	struct fx *x = *state;
	char file[160];
	struct exp_spec s = {.profile = "new"};

	write_credentials(x, file, sizeof(file));
	write_exp(x, &s);
	open_engine(x);
	assert_non_null(ctx_of(x)->sim);

	s.profile = "old";
	write_exp(x, &s);
	reload_logged(x);
	assert_logged(x, "reload refused");
	assert_logged(x, "not the pair the embedded simulator accepts");
	assert_logged(x, "restart run");
	assert_string_equal(ctx_of(x)->exp->mturk.profile, "new");
	assert_string_equal(ctx_of(x)->creds->access_key_id,
			    SIM_DEFAULT_ACCESS_KEY_ID);
}

/* ---- start_from --------------------------------------------------------- */

/*
 * start_from is checked at a reload as at start: another state that
 * cannot be read refuses the reload, naming it, instead of stopping run
 * at the first image's stage 0; the old plan continues.
 */
static void
test_reload_start_from_checked(void **state)
{
	struct fx *x = *state;
	struct sim_server *api = own_sim(x, 0);
	char url[64];
	struct exp_spec s = {.endpoint = url};
	struct engine_progress p;
	struct errbuf eb = {0};

	sim_url(api, url, sizeof(url));
	write_exp(x, &s);
	open_engine(x);
	s.start_from = "no-such-state";
	s.image = true;
	write_exp(x, &s);
	reload_logged(x);
	assert_logged(x, "reload refused");
	assert_logged(x, "start_from");
	assert_logged(x, "no-such-state");
	assert_null(ctx_of(x)->exp->start_from.state_dir);
	assert_int_equal(ctx_of(x)->exp->nimages, 0);
	assert_int_equal(engine_pass(x->rig.e, &p, &eb), IF_OK);
	assert_int_equal(p.images, 0);
}

/* ---- what serve reads ---------------------------------------------------- */

/* A Prolific study with no image, its API at url, its code. */
static void
write_prolific_exp(struct fx *x, const char *url, const char *code)
{
	FILE *f = fopen(x->rig.yaml, "w");

	assert_non_null(f);
	fprintf(f,
		"name: prol\nmturk:\n  environment: simulator\n"
		"  poll_interval: 1s\nhit:\n  reward: \"0.15\"\n"
		"images: []\nbudget_usd: \"10\"\nrecruitment:\n"
		"  platform: prolific\n  study_id: 60aa00000000000000000002\n"
		"  completion_code: %s\n  reward_usd: \"1.00\"\n"
		"  places: 5\n  api_url: %s\n",
		code, url);
	assert_int_equal(fclose(f), 0);
}

/*
 * run does not use the completion code, intofocus serve does, from its
 * start: a reload that changes it is accepted and says so.
 */
static void
test_reload_completion_code_noted(void **state)
{
	struct fx *x = *state;
	struct fake_prolific *fp =
		fake_prolific_start("tok-reload", "60aa00000000000000000002");

	assert_non_null(fp);
	setenv("PROLIFIC_TOKEN", "tok-reload", 1);
	write_prolific_exp(x, fake_prolific_url(fp), "C0DE1");
	open_engine(x);
	write_prolific_exp(x, fake_prolific_url(fp), "C0DE2");
	reload_logged(x);
	assert_logged(x, "recruitment.completion_code changed: run does not "
			 "use it");
	assert_logged(x, "restart serve");
	assert_logged(x, "reloaded");
	assert_string_equal(ctx_of(x)->exp->recruitment.completion_code,
			    "C0DE2");
	unsetenv("PROLIFIC_TOKEN");
	engine_close(x->rig.e);
	x->rig.e = NULL;
	fake_prolific_stop(fp);
}

/* ---- refused once images are in the state ------------------------------ */

/*
 * Once an image is in the state its HITs are at the old endpoint: a
 * reload that moves the endpoint is refused, saying why and what to do
 * (finish the study, or a new state directory), and the run goes on at
 * the old endpoint.
 */
static void
test_reload_endpoint_refused_with_images(void **state)
{
	struct fx *x = *state;
	struct sim_server *a = own_sim(x, 0), *b = own_sim(x, 1);
	char url_a[64], url_b[64];
	struct exp_spec s = {.endpoint = url_a, .image = true};
	const struct mturk_client *client;
	struct engine_progress p;
	struct errbuf eb = {0};

	sim_url(a, url_a, sizeof(url_a));
	sim_url(b, url_b, sizeof(url_b));
	write_exp(x, &s);
	open_engine(x);
	assert_int_equal(engine_pass(x->rig.e, &p, &eb), IF_OK);
	client = ctx_of(x)->client;

	s.endpoint = url_b;
	write_exp(x, &s);
	reload_logged(x);
	assert_logged(x, "reload refused");
	assert_logged(x, "mturk.endpoint changed, but 1 image is in the "
			 "state (\"group\" first)");
	assert_logged(x, "at the service the old value names");
	assert_logged(x, "finish the study as it is");
	assert_logged(x, "start a new state directory");
	assert_ptr_equal(ctx_of(x)->client, client);
	p = drive(x);
	assert_int_equal(p.done, 1);
	assert_int_equal(hits_at(x, a), 2);
	assert_int_equal(hits_at(x, b), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reload_images_host_only,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_mturk_region,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_mturk_ca_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_mturk_profile,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reload_unknown_profile_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reload_profile_embedded_sim_refused, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_reload_start_from_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reload_completion_code_noted, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reload_endpoint_refused_with_images, setup,
			teardown),
	};

	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("STATE_DIRECTORY");
	unsetenv("CREDENTIALS_DIRECTORY");
	log_init(0, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
