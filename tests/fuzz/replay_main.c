/*
 * tests/fuzz/replay_main.c - the corpus replay driver for builds without
 * libFuzzer (issue 9: "without a fuzzer the corpus replays as a regression
 * test inside make test").
 *
 *   fuzzreplay_X DIR|FILE...    one TAP line per file, then the plan
 *
 * A harness has no verdict of its own: it passes when it returns.  A crash,
 * a sanitizer report or a leak ends the process, and tests/run.sh counts a
 * non-zero exit as a failure, so every seed is a regression test of "this
 * input is handled".
 */
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv);

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole file; NULL on failure.  The bytes get a spare NUL so that
 * a harness bug reading one past the end is still caught by ASan. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL, *grown;
	size_t cap = 0, n = 0, got;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap = cap != 0 ? cap * 2 : 4096;
			grown = realloc(data, cap);
			if (grown == NULL) {
				free(data);
				fclose(f);
				return NULL;
			}
			data = grown;
		}
		got = fread(data + n, 1, cap - n, f);
		if (got == 0)
			break;
		n += got;
	}
	fclose(f);
	*len = n;
	/* An exact-size copy: reading past len must be an ASan error. */
	grown = malloc(n != 0 ? n : 1);
	if (grown != NULL)
		memcpy(grown, data, n);
	free(data);
	return grown;
}

static int
replay_file(const char *path, int *num)
{
	uint8_t *data;
	size_t len = 0;

	data = slurp(path, &len);
	(*num)++;
	if (data == NULL) {
		printf("not ok %d - %s: cannot read\n", *num, path);
		return 1;
	}
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	printf("ok %d - %s (%zu bytes)\n", *num, path, len);
	return 0;
}

static int
replay_dir(const char *dir, int *num)
{
	struct dirent *de;
	char **names = NULL, **grown, path[4096];
	size_t n = 0, i;
	int failed = 0;
	DIR *d = opendir(dir);

	if (d == NULL)
		return replay_file(dir, num);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "README") == 0)
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (grown == NULL)
			break;
		names = grown;
		names[n] = strdup(de->d_name);
		if (names[n] != NULL)
			n++;
	}
	closedir(d);
	/* Sorted, so that a log names the same seed at the same number. */
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		failed += replay_file(path, num);
		free(names[i]);
	}
	free(names);
	if (n == 0) {
		(*num)++;
		printf("not ok %d - %s: empty corpus\n", *num, dir);
		failed++;
	}
	return failed;
}

int
main(int argc, char **argv)
{
	int num = 0, failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		failed += replay_dir(argv[i], &num);
	printf("1..%d\n", num);
	return failed != 0;
}
