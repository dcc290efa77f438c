/*
 * mturk/credentials.c: the chain's precedence (environment, shared file,
 * systemd credentials), profile choice (explicit > AWS_PROFILE >
 * "default"), refusals (permissions, malformed files, missing profiles,
 * half a key pair), INI comments and white space, and that no message ever
 * carries a secret.  The environment is passed as values; the process
 * environment is never changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mturk/mturk.h"
#include "tests/support/tmpdir.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char *dir;     /* scratch HOME */
	char *shared;  /* $dir/.aws/credentials */
	char *sysdir;  /* $dir/creds (CREDENTIALS_DIRECTORY) */
	char *sysfile; /* $dir/creds/aws */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *aws;
	struct errbuf eb = {0};

	assert_non_null(f);
	f->dir = tmpdir_new("creds");
	aws = path_join(f->dir, ".aws");
	assert_int_equal(mkdir_p(aws, 0700, &eb), IF_OK);
	f->shared = path_join(aws, "credentials");
	free(aws);
	f->sysdir = path_join(f->dir, "creds");
	assert_int_equal(mkdir_p(f->sysdir, 0700, &eb), IF_OK);
	f->sysfile = path_join(f->sysdir, "aws");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_free(f->dir);
	free(f->shared);
	free(f->sysdir);
	free(f->sysfile);
	free(f);
	return 0;
}

/* A plain write: atomic_write_file()'s fsyncs would make the suite slow. */
static void
write_secret_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	/* A 0400 file cannot be reopened for writing by its non-root owner. */
	unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static struct aws_creds_env
env_home(const struct fixture *f)
{
	struct aws_creds_env env = {.home = f->dir};

	return env;
}

/* Loads and checks the key id and the source's text. */
static void
expect_creds(const struct aws_creds_env *env, const char *profile,
	     const char *key_id, const char *secret, const char *token,
	     const char *source_part)
{
	struct aws_creds *c = NULL;
	struct errbuf eb = {0};

	if (aws_creds_load(env, profile, &c, &eb) != IF_OK)
		fail_msg("load failed: %s", eb.msg);
	assert_non_null(c);
	assert_string_equal(c->access_key_id, key_id);
	assert_string_equal(c->secret_access_key, secret);
	if (token == NULL)
		assert_null(c->session_token);
	else
		assert_string_equal(c->session_token, token);
	if (strstr(c->source, source_part) == NULL)
		fail_msg("source \"%s\" lacks \"%s\"", c->source, source_part);
	/* The source is for logs: it never holds the secret. */
	assert_null(strstr(c->source, secret));
	aws_creds_free(c);
}

/* Loads, expects IF_EINPUT with each of the parts, and no secret. */
static void
expect_refusal(const struct aws_creds_env *env, const char *profile,
	       const char *part1, const char *part2)
{
	struct aws_creds *c = (struct aws_creds *)1;
	struct errbuf eb = {0};

	assert_int_equal(aws_creds_load(env, profile, &c, &eb), IF_EINPUT);
	assert_null(c);
	if (strstr(eb.msg, part1) == NULL ||
	    (part2 != NULL && strstr(eb.msg, part2) == NULL))
		fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", eb.msg, part1,
			 part2 != NULL ? part2 : "");
	assert_null(strstr(eb.msg, "s3cr3t"));
}

static const char two_profiles[] =
	"# written by aws configure\n"
	"[default]\n"
	"aws_access_key_id = AKIDDEFAULT\n"
	"aws_secret_access_key = s3cr3tDEFAULT\n"
	"\n"
	"[exp]\n"
	"aws_access_key_id=AKIDEXP\n"
	"aws_secret_access_key=s3cr3tEXP\n"
	"aws_session_token=TOKENEXP\n"
	"[shell]\n"
	"aws_access_key_id = AKIDSHELL\n"
	"aws_secret_access_key = s3cr3tSHELL\n";

static void
test_environment_first(void **state)
{
	struct fixture *f = *state;
	struct aws_creds_env env = env_home(f);

	write_secret_file(f->shared, two_profiles, 0600);
	env.access_key_id = "AKIDENV";
	env.secret_access_key = "s3cr3tENV";
	env.session_token = "TOKENENV";
	env.profile = "shell";
	expect_creds(&env, "exp", "AKIDENV", "s3cr3tENV", "TOKENENV",
		     "environment");
	/* An empty token variable is no token. */
	env.session_token = "";
	expect_creds(&env, NULL, "AKIDENV", "s3cr3tENV", NULL, "environment");
	/* Half a pair is a mistake, named. */
	env.secret_access_key = NULL;
	expect_refusal(&env, NULL, "AWS_ACCESS_KEY_ID is set",
		       "AWS_SECRET_ACCESS_KEY");
	env.access_key_id = NULL;
	env.secret_access_key = "s3cr3tENV";
	expect_refusal(&env, NULL, "AWS_SECRET_ACCESS_KEY is set",
		       "AWS_ACCESS_KEY_ID");
}

static void
test_profile_precedence(void **state)
{
	struct fixture *f = *state;
	struct aws_creds_env env = env_home(f);

	write_secret_file(f->shared, two_profiles, 0600);
	expect_creds(&env, NULL, "AKIDDEFAULT", "s3cr3tDEFAULT", NULL,
		     "[profile default]");
	env.profile = "shell";
	expect_creds(&env, NULL, "AKIDSHELL", "s3cr3tSHELL", NULL,
		     "[profile shell]");
	/* The experiment's profile beats AWS_PROFILE. */
	expect_creds(&env, "exp", "AKIDEXP", "s3cr3tEXP", "TOKENEXP",
		     "[profile exp]");
	expect_creds(&env, "exp", "AKIDEXP", "s3cr3tEXP", "TOKENEXP",
		     f->shared);
	/* AWS_SHARED_CREDENTIALS_FILE replaces ~/.aws/credentials. */
	{
		char *other = path_join(f->dir, "other");

		write_secret_file(other,
				  "[shell]\naws_access_key_id=AKIDOTHER\n"
				  "aws_secret_access_key=s3cr3tOTHER\n",
				  0600);
		env.shared_credentials_file = other;
		expect_creds(&env, NULL, "AKIDOTHER", "s3cr3tOTHER", NULL,
			     other);
		free(other);
	}
}

static void
test_missing_profile(void **state)
{
	struct fixture *f = *state;
	struct aws_creds_env env = env_home(f);
	struct aws_creds *c = NULL;
	struct errbuf eb = {0};

	write_secret_file(f->shared, two_profiles, 0600);
	expect_refusal(&env, "nope", "[nope]", f->shared);
	env.profile = "gone";
	expect_refusal(&env, NULL, "[gone]", "AWS_PROFILE");
	/* Without any file, a named profile is still an error... */
	unlink(f->shared);
	expect_refusal(&env, "exp", "[exp]", "none exists");
	/* ...but finding nothing at all is not, for the simulator. */
	env.profile = NULL;
	expect_refusal(&env, NULL, "no AWS credentials", f->shared);
	assert_int_equal(aws_creds_find(&env, NULL, &c, &eb), IF_OK);
	assert_null(c);
	/* A file without [default] and no profile asked for: not found. */
	write_secret_file(f->shared,
			  "[other]\naws_access_key_id=A\n"
			  "aws_secret_access_key=s3cr3tX\n",
			  0600);
	expect_refusal(&env, NULL, "[default] not found", f->shared);
	/* An explicitly named file that does not exist is an error. */
	env.shared_credentials_file = "/nonexistent/credentials";
	expect_refusal(&env, NULL, "/nonexistent/credentials",
		       "AWS_SHARED_CREDENTIALS_FILE");
}

static void
test_systemd_credentials(void **state)
{
	struct fixture *f = *state;
	struct aws_creds_env env = env_home(f);

	env.credentials_directory = f->sysdir;
	write_secret_file(f->sysfile,
			  "[default]\naws_access_key_id = AKIDSYSD\n"
			  "aws_secret_access_key = s3cr3tSYSD\n",
			  0400);
	/* No ~/.aws/credentials: systemd's file is used. */
	expect_creds(&env, NULL, "AKIDSYSD", "s3cr3tSYSD", NULL, f->sysfile);
	/* The shared file comes first when it holds the profile... */
	write_secret_file(f->shared, two_profiles, 0600);
	expect_creds(&env, NULL, "AKIDDEFAULT", "s3cr3tDEFAULT", NULL,
		     f->shared);
	/* ...and systemd's when only it does. */
	write_secret_file(f->sysfile,
			  "[svc]\naws_access_key_id = AKIDSVC\n"
			  "aws_secret_access_key = s3cr3tSVC\n",
			  0400);
	expect_creds(&env, "svc", "AKIDSVC", "s3cr3tSVC", NULL, f->sysfile);
	/* Missing in both: both files are named. */
	expect_refusal(&env, "zzz", f->shared, f->sysfile);
}

static void
test_permissions_refused(void **state)
{
	struct fixture *f = *state;
	struct aws_creds_env env = env_home(f);

	write_secret_file(f->shared, two_profiles, 0644);
	expect_refusal(&env, NULL, f->shared, "chmod 600");
	write_secret_file(f->shared, two_profiles, 0660);
	expect_refusal(&env, NULL, f->shared, "chmod 600");
	env.credentials_directory = f->sysdir;
	write_secret_file(f->shared, two_profiles, 0600);
	write_secret_file(f->sysfile, two_profiles, 0604);
	/* The shared file answers first; systemd's is not even read. */
	expect_creds(&env, NULL, "AKIDDEFAULT", "s3cr3tDEFAULT", NULL,
		     f->shared);
	expect_refusal(&env, "absent", f->sysfile, "chmod 600");
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *text, *part;
	} cases[] = {
		{"[default]\naws_access_key_id AKID\n", ":2: expected"},
		{"aws_access_key_id = AKID\n[default]\n", ":1: key outside"},
		{"[default\naws_access_key_id = A\n", ":1: malformed section"},
		{"[]\n", ":1: empty profile name"},
		{"[default]\naws_access_key_id = A\n"
		 "aws_secret_access_key = s3cr3t # mine\n",
		 ":3: value of aws_secret_access_key contains white space"},
		{"[default]\naws_access_key_id = A\n"
		 "aws_secret_access_key = s3cr3t1\n"
		 "aws_secret_access_key = s3cr3t2\n",
		 ":4: aws_secret_access_key given twice"},
		{"[default]\naws_access_key_id = A\naws_secret_access_key = B\n"
		 "[default]\n",
		 ":4: profile [default] appears twice"},
		{"[default]\naws_access_key_id = A\n", "lacks "
						       "aws_secret_access_key"},
		{"[default]\naws_secret_access_key = s3cr3tQ\n",
		 "lacks aws_access_key_id"},
		{"[default]\naws_access_key_id = A\n  more\n"
		 "aws_secret_access_key = s3cr3tQ\n",
		 ":3: an access key, secret or token cannot continue"},
		{"[default]\naws_access_key_id = \naws_secret_access_key = S\n",
		 "lacks aws_access_key_id"},
	};
	struct fixture *f = *state;
	struct aws_creds_env env = env_home(f);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_secret_file(f->shared, cases[i].text, 0600);
		expect_refusal(&env, NULL, f->shared, cases[i].part);
	}
	/* Too big to be a credentials file; a directory in its place. */
	{
		char *big = malloc(70 * 1024 + 1);

		assert_non_null(big);
		memset(big, '#', 70 * 1024);
		big[70 * 1024] = '\0';
		write_secret_file(f->shared, big, 0600);
		expect_refusal(&env, NULL, f->shared, "larger than");
		free(big);
		unlink(f->shared);
		assert_int_equal(mkdir(f->shared, 0700), 0);
		expect_refusal(&env, NULL, f->shared, "not a regular file");
		assert_int_equal(rmdir(f->shared), 0);
	}
	/* A NUL byte: not a text file. */
	{
		struct errbuf eb = {0};

		assert_int_equal(atomic_write_file(f->shared, "[a]\0b", 5,
						   0600, &eb),
				 IF_OK);
		expect_refusal(&env, NULL, f->shared, "not a text file");
	}
}

static void
test_comments_and_whitespace(void **state)
{
	struct fixture *f = *state;
	struct aws_creds_env env = env_home(f);

	write_secret_file(f->shared,
			  "; a comment\r\n"
			  "   # an indented comment\r\n"
			  "\r\n"
			  "[ work ]\r\n"
			  "\taws_access_key_id\t=\tAKIDWORK   \r\n"
			  "region = us-east-1\r\n"
			  "s3 =\r\n"
			  "    max_concurrent_requests = 10\r\n"
			  "aws_secret_access_key=s3cr3tWORK\r\n"
			  "aws_security_token = TOKENWORK\r\n"
			  "# trailing comment\r\n",
			  0600);
	expect_creds(&env, "work", "AKIDWORK", "s3cr3tWORK", "TOKENWORK",
		     "[profile work]");
}

static void
test_new_and_free(void **state)
{
	struct aws_creds *c;

	(void)state;
	aws_creds_free(NULL);
	c = aws_creds_new("AKID", "s3cr3tN", NULL, "sim");
	assert_non_null(c);
	assert_null(c->session_token);
	assert_string_equal(c->source, "sim");
	aws_creds_free(c);
	assert_null(aws_creds_new(NULL, "s3cr3tN", NULL, "sim"));
	/* The process environment reader fills every field it finds. */
	{
		struct aws_creds_env env;

		aws_creds_env_from_process(&env);
		assert_ptr_equal(env.home, getenv("HOME"));
	}
}

static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Seeded mutations of a real file (flips, insertions of INI syntax,
 * truncation): every load ends in credentials or a refusal by file name,
 * and no message carries a secret's bytes.
 */
static void
test_mutations(void **state)
{
	static const char alphabet[] = "[]=#; \t\r\nAs3cr3t_\x80";
	struct fixture *f = *state;
	struct aws_creds_env env = env_home(f);
	size_t len = strlen(two_profiles), nok = 0, nbad = 0;
	uint64_t rng = 42;
	char text[sizeof(two_profiles) + 8];

	for (int m = 0; m < 400; m++) {
		struct aws_creds *c = NULL;
		struct errbuf eb = {0};
		size_t xl = len;
		int rc;

		memcpy(text, two_profiles, len + 1);
		for (int e = 1 + (int)(next_rand(&rng) % 3); e > 0 && xl > 0;
		     e--) {
			size_t at = next_rand(&rng) % xl;
			char ch = alphabet[next_rand(&rng) %
					   (sizeof(alphabet) - 1)];

			switch (next_rand(&rng) % 3) {
			case 0:
				text[at] = ch;
				break;
			case 1:
				if (xl < len + 4) {
					memmove(text + at + 1, text + at,
						xl - at + 1);
					text[at] = ch;
					xl++;
				}
				break;
			default:
				text[at] = '\0';
				xl = at;
				break;
			}
		}
		write_secret_file(f->shared, text, 0600);
		rc = aws_creds_load(&env, m % 2 ? "exp" : NULL, &c, &eb);
		if (rc == IF_OK) {
			assert_non_null(c);
			assert_true(strlen(c->access_key_id) > 0);
			assert_true(strlen(c->secret_access_key) > 0);
			aws_creds_free(c);
			nok++;
		} else {
			assert_int_equal(rc, IF_EINPUT);
			assert_null(c);
			assert_non_null(strstr(eb.msg, f->shared));
			assert_null(strstr(eb.msg, "s3cr3t"));
			nbad++;
		}
	}
	print_message("# mutations: %zu loaded, %zu refused\n", nok, nbad);
	assert_true(nok > 0 && nbad > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_environment_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_profile_precedence, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_profile, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_systemd_credentials, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_permissions_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_comments_and_whitespace,
						setup, teardown),
		cmocka_unit_test(test_new_and_free),
		cmocka_unit_test_setup_teardown(test_mutations, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
