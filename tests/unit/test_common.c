/*
 * common/: the error carrier, the capped buffer, atomic files, secrecy
 * checks and strict number parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"
#include "tests/support/tmpdir.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
test_err_first_wins(void **state)
{
	struct errbuf eb;

	(void)state;
	err_init(&eb);
	assert_false(err_isset(&eb));
	assert_int_equal(err_set(&eb, IF_EINPUT, "%s: bad", "a.jpg"),
			 IF_EINPUT);
	assert_int_equal(err_set(&eb, IF_ERUNTIME, "later"), IF_ERUNTIME);
	assert_int_equal(eb.code, IF_EINPUT);
	assert_string_equal(eb.msg, "a.jpg: bad");
	err_prefix(&eb, "render %d", 3);
	assert_string_equal(eb.msg, "render 3: a.jpg: bad");
	/* IF_OK is never a recorded error. */
	err_init(&eb);
	assert_int_equal(err_set(&eb, IF_OK, "x"), IF_ERUNTIME);
	assert_int_equal(eb.code, IF_ERUNTIME);
	/* A NULL carrier is allowed. */
	assert_int_equal(err_set(NULL, IF_ETEMP, "x"), IF_ETEMP);
}

static void
test_err_prefix_truncates_safely(void **state)
{
	struct errbuf eb;
	char big[2000];

	(void)state;
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_init(&eb);
	err_set(&eb, IF_EINPUT, "%s", big);
	err_prefix(&eb, "subject");
	assert_int_equal(strlen(eb.msg), sizeof(eb.msg) - 1);
	assert_memory_equal(eb.msg, "subject: mmm", 12);
	/* Without an error, a prefix does nothing. */
	err_init(&eb);
	err_prefix(&eb, "subject");
	assert_string_equal(eb.msg, "");
}

static void
test_buf_cap(void **state)
{
	struct buf b;
	char *s;
	size_t len;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_append_str(&b, "hello"), 0);
	assert_int_equal(buf_printf(&b, "%d", 12345), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "hello12345");
	/* One byte past the cap fails and leaves the contents alone. */
	assert_int_equal(buf_append(&b, "x", 1), -1);
	assert_int_equal(buf_printf(&b, "y"), -1);
	assert_string_equal(b.data, "hello12345");
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_append_str(&b, "ab"), 0);
	s = buf_steal(&b, &len);
	assert_string_equal(s, "ab");
	assert_int_equal(len, 2);
	assert_null(b.data);
	free(s);
	s = buf_steal(&b, &len);
	assert_string_equal(s, "");
	free(s);
	buf_cleanup(&b);
}

static void
test_buf_grows(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_printf(&b, "%04d", i % 10000), 0);
	assert_int_equal(b.len, 40000);
	assert_memory_equal(b.data + 39996, "9999", 4);
	buf_cleanup_secure(&b);
	assert_null(b.data);
}

/* The one HTML escaper of the pages, by byte count, embedded NULs kept. */
static void
test_buf_append_html(void **state)
{
	static const char in[] = "a<b>&\"c'\0d";
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_append_html(&b, in, sizeof(in) - 1), 0);
	assert_int_equal(b.len, 29);
	assert_memory_equal(b.data, "a&lt;b&gt;&amp;&quot;c&#39;\0d", 29);
	buf_reset(&b);
	assert_int_equal(buf_append_html(&b, "plain", 5), 0);
	assert_memory_equal(b.data, "plain", 5);
	buf_cleanup(&b);
	/* A cap the escaped text would pass is an error, not a cut. */
	buf_init(&b, 8);
	assert_int_equal(buf_append_html(&b, "<<<", 3), -1);
	buf_cleanup(&b);
}

static void
test_atomic_write(void **state)
{
	char *dir = tmpdir_new("unit"), *path = path_join(dir, "out.txt");
	struct errbuf eb = {0};
	struct atomic_file af;
	struct buf b;
	struct stat st;

	(void)state;
	assert_int_equal(atomic_write_file(path, "one", 3, 0640, &eb), IF_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* An aborted write leaves the old file and no temporary behind. */
	assert_int_equal(atomic_file_begin(&af, path, 0600, &eb), IF_OK);
	fputs("partial", af.fp);
	atomic_file_abort(&af);
	buf_init(&b, 100);
	assert_int_equal(read_file(path, &b, &eb), IF_OK);
	assert_string_equal(b.data, "one");
	/* The directory holds only the final file. */
	assert_int_equal(tmpdir_entries(dir), 1);
	/* A file over the read cap is refused with its name. */
	assert_int_equal(atomic_write_file(path, "0123456789abc", 13, 0600,
					   &eb),
			 IF_OK);
	buf_cleanup(&b);
	buf_init(&b, 12);
	assert_int_equal(read_file(path, &b, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "out.txt"));
	assert_non_null(strstr(eb.msg, "limit"));
	buf_cleanup(&b);
	free(path);
	tmpdir_free(dir);
}

static void
test_atomic_write_missing_dir(void **state)
{
	struct errbuf eb = {0};

	(void)state;
	assert_int_equal(atomic_write_file("/nonexistent-dir/x", "a", 1, 0600,
					   &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "/nonexistent-dir/x"));
}

static void
test_mkdir_and_secrecy(void **state)
{
	char *dir = tmpdir_new("unit");
	char *sub = path_join(dir, "a/b/c");
	char *secret = path_join(dir, "creds");
	struct errbuf eb = {0};
	struct stat st;

	(void)state;
	assert_int_equal(mkdir_p(sub, 0700, &eb), IF_OK);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(mkdir_p(sub, 0700, &eb), IF_OK); /* exists: fine */
	assert_int_equal(atomic_write_file(secret, "k", 1, 0644, &eb), IF_OK);
	assert_int_equal(file_check_secrecy(secret, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "chmod 600"));
	err_init(&eb);
	chmod(secret, 0600);
	assert_int_equal(file_check_secrecy(secret, &eb), IF_OK);
	free(sub);
	free(secret);
	tmpdir_free(dir);
}

static void
test_parse_int64(void **state)
{
	int64_t v = 0;

	(void)state;
	assert_int_equal(parse_int64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_int64("-3", -5, 5, &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(parse_int64("101", 0, 100, &v), -1);
	assert_int_equal(parse_int64(" 4", 0, 100, &v), -1);
	assert_int_equal(parse_int64("4x", 0, 100, &v), -1);
	assert_int_equal(parse_int64("", 0, 100, &v), -1);
	assert_int_equal(parse_int64("99999999999999999999", 0, INT64_MAX, &v),
			 -1);
}

static void
test_hex_and_random(void **state)
{
	unsigned char a[16] = {0}, b[16] = {0};
	char hex[33];

	(void)state;
	hex_encode("\x01\xab\xff", 3, hex);
	assert_string_equal(hex, "01abff");
	assert_int_equal(random_bytes(a, sizeof(a)), 0);
	assert_int_equal(random_bytes(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_true(cpu_count() >= 1);
}

static void
test_path_join(void **state)
{
	char *p;

	(void)state;
	p = path_join("a", "b");
	assert_string_equal(p, "a/b");
	free(p);
	p = path_join("a/", "b");
	assert_string_equal(p, "a/b");
	free(p);
}

static void
test_path_normalize(void **state)
{
	static const char *const cases[][2] = {
		{"a/../b/./state", "b/state"},
		{"examples/../state/exp1", "state/exp1"},
		{"./a//b/", "a/b"},
		{"a/..", "."},
		{".", "."},
		{"", "."},
		{"../a/../../b", "../../b"},
		{"../../x", "../../x"},
		{"a/b/../../..", ".."},
		{"/a/../b", "/b"},
		{"/../a", "/a"},
		{"/..", "/"},
		{"//a//./b/..", "/a"},
		{"a/.../b", "a/.../b"},
		{"a/..b/.c", "a/..b/.c"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = path_normalize(cases[i][0]);

		assert_non_null(p);
		if (strcmp(p, cases[i][1]) != 0)
			fail_msg("path_normalize(\"%s\") is \"%s\", not \"%s\"",
				 cases[i][0], p, cases[i][1]);
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_first_wins),
		cmocka_unit_test(test_err_prefix_truncates_safely),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_grows),
		cmocka_unit_test(test_buf_append_html),
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_atomic_write_missing_dir),
		cmocka_unit_test(test_mkdir_and_secrecy),
		cmocka_unit_test(test_parse_int64),
		cmocka_unit_test(test_hex_and_random),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_path_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
