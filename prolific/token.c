/*
 * prolific/token.c - where the API token comes from.
 *
 * Prolific tokens never expire and carry the researcher account's full
 * permissions (docs/prolific-api.md), so the token is never in the
 * experiment file: the environment (PROLIFIC_TOKEN), then systemd's
 * credentials directory (LoadCredential=prolific-token:...), then a file
 * the experiment names.  A file others can read is refused before it is
 * read; the bytes read are wiped; messages name places, never values.
 */
#include "prolific/prolific.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A token is a short line; a bigger file is not one. */
#define TOKEN_FILE_LIMIT 4096

void
prolific_token_env_from_process(struct prolific_token_env *env)
{
	memset(env, 0, sizeof(*env));
	env->token = getenv("PROLIFIC_TOKEN");
	env->credentials_directory = getenv("CREDENTIALS_DIRECTORY");
}

void
prolific_token_free(char *token)
{
	if (token != NULL) {
		secure_zero(token, strlen(token));
		free(token);
	}
}

/* Printable ASCII without spaces: what a token is made of. */
static bool
token_text_ok(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127)
			return false;
	return true;
}

static int
token_copy(const char *s, size_t len, const char *where, char **out,
	   struct errbuf *eb)
{
	if (!token_text_ok(s, len))
		return err_set(eb, IF_EINPUT,
			       "%s: not a Prolific token (one line of "
			       "printable characters without spaces)",
			       where);
	*out = malloc(len + 1);
	if (*out == NULL)
		return err_set(eb, IF_ERUNTIME, "%s: out of memory", where);
	memcpy(*out, s, len);
	(*out)[len] = '\0';
	return IF_OK;
}

/* *found false (IF_OK) when path does not exist. */
static int
token_from_file(const char *path, char **out, bool *found, struct errbuf *eb)
{
	struct buf b;
	struct stat st;
	size_t len;
	int rc;

	*found = false;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return IF_OK;
		return err_set(eb, IF_EINPUT, "%s: %s", path, strerror(errno));
	}
	*found = true;
	if (!S_ISREG(st.st_mode))
		return err_set(eb, IF_EINPUT, "%s: not a regular file", path);
	if ((rc = file_check_secrecy(path, eb)) != IF_OK)
		return rc;
	buf_init(&b, TOKEN_FILE_LIMIT);
	if ((rc = read_file(path, &b, eb)) != IF_OK) {
		buf_cleanup_secure(&b);
		return rc;
	}
	len = b.len;
	/* One line: the final newline (and a CR before it) is not part. */
	while (len > 0 && (b.data[len - 1] == '\n' || b.data[len - 1] == '\r'))
		len--;
	rc = token_copy(b.data != NULL ? b.data : "", len, path, out, eb);
	buf_cleanup_secure(&b);
	return rc;
}

int
prolific_token_load(const struct prolific_token_env *env,
		    const char *token_file, char **out, char *source,
		    size_t sourcesz, struct errbuf *eb)
{
	char *path;
	bool found;
	int rc;

	*out = NULL;
	if (env->token != NULL && env->token[0] != '\0') {
		snprintf(source, sourcesz, "environment (PROLIFIC_TOKEN)");
		return token_copy(env->token, strlen(env->token),
				  "PROLIFIC_TOKEN", out, eb);
	}
	if (env->credentials_directory != NULL &&
	    env->credentials_directory[0] != '\0') {
		path = path_join(env->credentials_directory, "prolific-token");
		if (path == NULL)
			return err_set(eb, IF_ERUNTIME, "out of memory");
		rc = token_from_file(path, out, &found, eb);
		if (rc == IF_OK && found)
			snprintf(source, sourcesz, "%s", path);
		free(path);
		if (rc != IF_OK || found)
			return rc;
	}
	if (token_file != NULL && token_file[0] != '\0') {
		rc = token_from_file(token_file, out, &found, eb);
		if (rc != IF_OK)
			return rc;
		if (found) {
			snprintf(source, sourcesz, "%s", token_file);
			return IF_OK;
		}
		return err_set(eb, IF_EINPUT,
			       "%s: no such file (the experiment's "
			       "prolific token_file)", token_file);
	}
	return err_set(eb, IF_EINPUT,
		       "no Prolific token: set PROLIFIC_TOKEN, or give the "
		       "unit LoadCredential=prolific-token:FILE, or name a "
		       "token_file (mode 0600) in the experiment");
}
