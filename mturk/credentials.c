/*
 * mturk/credentials.c - the AWS credentials chain (spec section 2).
 *
 * Order, as the AWS tools use it: the environment, then the shared
 * credentials file, then systemd's credentials directory.  The profile read
 * from a file is the caller's explicit one (experiment or --profile), then
 * AWS_PROFILE, then "default": what the operator wrote for this experiment
 * beats what happens to be in the shell.
 *
 * The files are INI as the AWS tools write them: "[name]" sections, "key =
 * value" lines, '#' and ';' comment lines, blank lines.  Like botocore's
 * parser there are no inline comments; unlike it, a value with white space
 * inside is refused, since no key or token has any and an inline comment
 * left in a secret would fail much later as a bad signature.
 *
 * Secrets: a file is refused when group or others can read it (before it
 * is read, and the file read is the file checked), it is read without
 * stdio or reallocation so no stray copy is left in freed memory, its bytes
 * are wiped after parsing, and struct aws_creds is wiped on free.
 * Messages name files, lines and profiles, never values.
 */
#include "mturk/mturk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* A credentials file is small; anything bigger is not one. */
#define CREDS_FILE_LIMIT (64 * 1024)

void
aws_creds_env_from_process(struct aws_creds_env *env)
{
	memset(env, 0, sizeof(*env));
	env->access_key_id = getenv("AWS_ACCESS_KEY_ID");
	env->secret_access_key = getenv("AWS_SECRET_ACCESS_KEY");
	env->session_token = getenv("AWS_SESSION_TOKEN");
	env->shared_credentials_file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	env->profile = getenv("AWS_PROFILE");
	env->home = getenv("HOME");
	env->credentials_directory = getenv("CREDENTIALS_DIRECTORY");
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void
aws_creds_free(struct aws_creds *c)
{
	if (c == NULL)
		return;
	free_secret(c->access_key_id);
	free_secret(c->secret_access_key);
	free_secret(c->session_token);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

struct aws_creds *
aws_creds_new(const char *access_key_id, const char *secret_access_key,
	      const char *session_token, const char *source)
{
	struct aws_creds *c = calloc(1, sizeof(*c));

	if (c == NULL || access_key_id == NULL || secret_access_key == NULL)
		goto fail;
	c->access_key_id = strdup(access_key_id);
	c->secret_access_key = strdup(secret_access_key);
	if (session_token != NULL && session_token[0] != '\0')
		c->session_token = strdup(session_token);
	if (c->access_key_id == NULL || c->secret_access_key == NULL ||
	    (session_token != NULL && session_token[0] != '\0' &&
	     c->session_token == NULL))
		goto fail;
	snprintf(c->source, sizeof(c->source), "%s",
		 source != NULL ? source : "");
	return c;
fail:
	aws_creds_free(c);
	return NULL;
}

static bool
is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* ---- the INI parser ---------------------------------------------------- */

/* What one file gave for the wanted profile (pointers into the text). */
struct profile_vals {
	bool found;
	const char *key_id, *secret, *token;
};

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Parses text (modified in place: lines are cut) for profile.  Every line
 * is checked, not only the wanted section's, so a broken file is reported
 * even when the wanted profile parses.
 */
static int
parse_ini(char *text, const char *path, const char *profile,
	  struct profile_vals *pv, struct errbuf *eb)
{
	char *line = text;
	int lineno = 0;
	bool in_section = false, in_wanted = false, after_ours = false;
	bool have_opt = false;
	size_t opt_indent = 0;

	memset(pv, 0, sizeof(*pv));
	while (line != NULL) {
		char *next = strchr(line, '\n'), *s, *eq, *key, *val;
		const char **slot = NULL;
		size_t indent;

		if (next != NULL)
			*next++ = '\0';
		lineno++;
		indent = strspn(line, " \t");
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';') {
			line = next;
			continue;
		}
		/*
		 * As in Python's configparser, a line indented deeper than
		 * the key before it continues that key's value (botocore's
		 * nested settings such as "s3 =").  Our keys are one line
		 * each, so one continued is a mistake worth a message.
		 */
		if (in_section && have_opt && indent > opt_indent) {
			if (after_ours)
				return err_set(eb, IF_EINPUT,
					       "%s:%d: an access key, secret "
					       "or token cannot continue on "
					       "the next line",
					       path, lineno);
			line = next;
			continue;
		}
		after_ours = false;
		if (*s == '[') {
			char *close = strrchr(s, ']'), *name;

			if (close == NULL || close[1] != '\0')
				return err_set(eb, IF_EINPUT,
					       "%s:%d: malformed section "
					       "header (expected "
					       "[profile-name])",
					       path, lineno);
			*close = '\0';
			name = trim(s + 1);
			if (*name == '\0')
				return err_set(eb, IF_EINPUT,
					       "%s:%d: empty profile name",
					       path, lineno);
			in_section = true;
			have_opt = false;
			in_wanted = strcmp(name, profile) == 0;
			if (in_wanted && pv->found)
				return err_set(eb, IF_EINPUT,
					       "%s:%d: profile [%s] appears "
					       "twice",
					       path, lineno, profile);
			if (in_wanted)
				pv->found = true;
			line = next;
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL)
			return err_set(eb, IF_EINPUT,
				       "%s:%d: expected \"key = value\" or "
				       "[profile-name]",
				       path, lineno);
		if (!in_section)
			return err_set(eb, IF_EINPUT,
				       "%s:%d: key outside any [profile] "
				       "section",
				       path, lineno);
		*eq = '\0';
		have_opt = true;
		opt_indent = indent;
		key = trim(s);
		val = trim(eq + 1);
		if (strcmp(key, "aws_access_key_id") == 0)
			slot = &pv->key_id;
		else if (strcmp(key, "aws_secret_access_key") == 0)
			slot = &pv->secret;
		else if (strcmp(key, "aws_session_token") == 0 ||
			 strcmp(key, "aws_security_token") == 0)
			slot = &pv->token;
		if (slot != NULL) {
			after_ours = true;
			if (strpbrk(val, " \t") != NULL)
				return err_set(eb, IF_EINPUT,
					       "%s:%d: value of %s contains "
					       "white space (inline comments "
					       "are not supported)",
					       path, lineno, key);
		}
		if (slot != NULL && in_wanted) {
			if (*slot != NULL)
				return err_set(eb, IF_EINPUT,
					       "%s:%d: %s given twice in "
					       "profile [%s]",
					       path, lineno, key, profile);
			*slot = val;
		}
		line = next;
	}
	return IF_OK;
}

/*
 * Reads the secret file at path into a new string (*out; the caller wipes
 * and frees it).  Not read_file(): stdio's buffer and a growing buffer's
 * reallocations would leave copies of the secret in freed memory.  One
 * allocation, read(2) straight into it, and the file read must be the one
 * whose permissions were checked (same device and inode).
 */
static int
read_secret(const char *path, const struct stat *checked, char **out,
	    size_t *len, struct errbuf *eb)
{
	struct stat st;
	char *text = NULL;
	size_t n = 0, size;
	int fd, rc;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return err_set(eb, IF_EINPUT, "%s: cannot open: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) != 0 || st.st_dev != checked->st_dev ||
	    st.st_ino != checked->st_ino ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		rc = err_set(eb, IF_EINPUT,
			     "%s: changed while being read; try again", path);
		goto cleanup;
	}
	if (st.st_size < 0 || st.st_size > CREDS_FILE_LIMIT) {
		rc = err_set(eb, IF_EINPUT,
			     "%s: larger than %d bytes: not a credentials file",
			     path, CREDS_FILE_LIMIT);
		goto cleanup;
	}
	size = (size_t)st.st_size;
	if ((text = malloc(size + 2)) == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "%s: out of memory", path);
		goto cleanup;
	}
	/* One byte more than the size, to notice a file that grew. */
	while (n < size + 1) {
		ssize_t r = read(fd, text + n, size + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set(eb, IF_EINPUT, "%s: read error: %s", path,
				     strerror(errno));
			goto cleanup;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n != size) {
		rc = err_set(eb, IF_EINPUT,
			     "%s: changed while being read; try again", path);
		goto cleanup;
	}
	text[n] = '\0';
	*out = text;
	*len = n;
	text = NULL;
	rc = IF_OK;
cleanup:
	if (text != NULL) {
		OPENSSL_cleanse(text, size + 2);
		free(text);
	}
	close(fd);
	return rc;
}

/*
 * Reads one credentials file for profile.  *out stays NULL when the file
 * does not hold the profile.  A missing file is IF_OK with *exists false.
 */
static int
load_file(const char *path, const char *profile, bool *exists,
	  struct aws_creds **out, struct errbuf *eb)
{
	struct profile_vals pv;
	struct stat st;
	char source[512];
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*exists = false;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			rc = IF_OK;
			goto cleanup;
		}
		rc = err_set(eb, IF_EINPUT, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	*exists = true;
	if (!S_ISREG(st.st_mode)) {
		rc = err_set(eb, IF_EINPUT, "%s: not a regular file", path);
		goto cleanup;
	}
	/* Before reading: a secret others can read is already leaked. */
	if ((rc = file_check_secrecy(path, eb)) != IF_OK)
		goto cleanup;
	if ((rc = read_secret(path, &st, &text, &len, eb)) != IF_OK)
		goto cleanup;
	if (memchr(text, '\0', len) != NULL) {
		rc = err_set(eb, IF_EINPUT, "%s: not a text file", path);
		goto cleanup;
	}
	if ((rc = parse_ini(text, path, profile, &pv, eb)) != IF_OK)
		goto cleanup;
	if (!pv.found) {
		rc = IF_OK;
		goto cleanup;
	}
	if (!is_set(pv.key_id) || !is_set(pv.secret)) {
		rc = err_set(eb, IF_EINPUT,
			     "%s: profile [%s] lacks %s", path, profile,
			     !is_set(pv.key_id) ? "aws_access_key_id"
						: "aws_secret_access_key");
		goto cleanup;
	}
	snprintf(source, sizeof(source), "%s [profile %s]", path, profile);
	if ((*out = aws_creds_new(pv.key_id, pv.secret, pv.token, source)) ==
	    NULL) {
		rc = err_set(eb, IF_ERUNTIME, "%s: out of memory", path);
		goto cleanup;
	}
	rc = IF_OK;
cleanup:
	if (text != NULL) {
		/* parse_ini cut lines with NULs: wipe the whole allocation. */
		OPENSSL_cleanse(text, len + 1);
		free(text);
	}
	return rc;
}

/* The chain; allow_none: finding nothing is IF_OK with *out NULL. */
static int
chain(const struct aws_creds_env *env, const char *profile, bool allow_none,
      struct aws_creds **out, struct errbuf *eb)
{
	const char *prof;
	char *shared = NULL, *sysd = NULL;
	char tried[1100] = "";
	bool named, exists;
	int rc;

	*out = NULL;
	/* 1. The environment: both halves of the pair, or neither. */
	if (is_set(env->access_key_id) || is_set(env->secret_access_key)) {
		if (!is_set(env->access_key_id) ||
		    !is_set(env->secret_access_key))
			return err_set(eb, IF_EINPUT,
				       "%s is set but %s is not; set both or "
				       "neither",
				       is_set(env->access_key_id)
					       ? "AWS_ACCESS_KEY_ID"
					       : "AWS_SECRET_ACCESS_KEY",
				       is_set(env->access_key_id)
					       ? "AWS_SECRET_ACCESS_KEY"
					       : "AWS_ACCESS_KEY_ID");
		*out = aws_creds_new(env->access_key_id,
				     env->secret_access_key,
				     env->session_token, "environment");
		return *out != NULL ? IF_OK
				    : err_set(eb, IF_ERUNTIME,
					      "credentials: out of memory");
	}
	named = is_set(profile) || is_set(env->profile);
	prof = is_set(profile) ? profile
	       : is_set(env->profile) ? env->profile
				      : "default";
	/* 2. The shared credentials file. */
	if (is_set(env->shared_credentials_file))
		shared = strdup(env->shared_credentials_file);
	else if (is_set(env->home))
		shared = path_join(env->home, ".aws/credentials");
	if (shared != NULL) {
		if ((rc = load_file(shared, prof, &exists, out, eb)) != IF_OK)
			goto cleanup;
		if (!exists && is_set(env->shared_credentials_file)) {
			rc = err_set(eb, IF_EINPUT,
				     "%s (AWS_SHARED_CREDENTIALS_FILE): "
				     "no such file",
				     shared);
			goto cleanup;
		}
		if (*out != NULL)
			goto cleanup;
		if (exists)
			snprintf(tried, sizeof(tried), "%s", shared);
	}
	/* 3. systemd's LoadCredential=aws:... */
	if (is_set(env->credentials_directory)) {
		if ((sysd = path_join(env->credentials_directory, "aws")) ==
		    NULL) {
			rc = err_set(eb, IF_ERUNTIME,
				     "credentials: out of memory");
			goto cleanup;
		}
		if ((rc = load_file(sysd, prof, &exists, out, eb)) != IF_OK)
			goto cleanup;
		if (*out != NULL)
			goto cleanup;
		if (exists) {
			size_t l = strlen(tried);

			snprintf(tried + l, sizeof(tried) - l, "%s%s",
				 l > 0 ? " and " : "", sysd);
		}
	}
	if (named) {
		rc = err_set(eb, IF_EINPUT,
			     "AWS profile [%s] (from %s) not found in %s", prof,
			     is_set(profile) ? "the experiment or --profile"
					     : "AWS_PROFILE",
			     tried[0] != '\0' ? tried
					      : "any credentials file (none "
						"exists)");
		goto cleanup;
	}
	if (allow_none) {
		rc = IF_OK;
		goto cleanup;
	}
	if (tried[0] != '\0')
		rc = err_set(eb, IF_EINPUT,
			     "AWS profile [%s] not found in %s; add it, or "
			     "choose a profile with mturk.profile or "
			     "AWS_PROFILE",
			     prof, tried);
	else
		rc = err_set(eb, IF_EINPUT,
			     "no AWS credentials: set AWS_ACCESS_KEY_ID and "
			     "AWS_SECRET_ACCESS_KEY, or write %s (mode 600), "
			     "or pass them as the systemd credential \"aws\"",
			     shared != NULL ? shared : "~/.aws/credentials");
cleanup:
	if (rc != IF_OK) {
		aws_creds_free(*out);
		*out = NULL;
	}
	free(shared);
	free(sysd);
	return rc;
}

int
aws_creds_load(const struct aws_creds_env *env, const char *profile,
	       struct aws_creds **out, struct errbuf *eb)
{
	return chain(env, profile, false, out, eb);
}

int
aws_creds_find(const struct aws_creds_env *env, const char *profile,
	       struct aws_creds **out, struct errbuf *eb)
{
	return chain(env, profile, true, out, eb);
}
