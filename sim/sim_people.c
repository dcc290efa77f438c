/*
 * sim/sim_people.c - the participants' pages of "intofocus serve": the
 * task server real people reach over the internet, behind a reverse proxy
 * that terminates TLS.  Every request is treated as hostile.
 *
 * Identity comes from a session, never from a URL or a form field:
 *   - GET /enter opens it, from one of three entry links: an operator's
 *     link (?p=ID&t=MAC, MAC an HMAC of the id under DIR/serve.key, so
 *     links cannot be forged and outlive restarts), Prolific's
 *     (?PROLIFIC_PID&STUDY_ID&SESSION_ID, checked by
 *     prolific_entry_check() against the configured study), or a pool's
 *     own (?participant=ID, only when the operator allows it).  Ids are
 *     kept exactly as given, [A-Za-z0-9_-]{1,64}, or refused: never
 *     folded into one another.
 *   - The session is a cookie "ID.MAC(session, ID)" (HttpOnly,
 *     SameSite=Strict, Secure and __Host- behind https): the server's key
 *     makes it, so a participant who returns, by the cookie or by the same
 *     link, lands in the same session, and the session's state is the
 *     store's (their assignments).
 *   - Changes are POSTs carrying a CSRF token (an HMAC of the session) and
 *     an Origin equal to the public URL's.
 *
 * The server chooses the task (POST /start): the oldest HIT the
 * participant is qualified for, has not worked on and has an assignment
 * left; one open assignment at a time, at most `share` in all.  Nobody
 * lists HITs: participants never see annotations, experiment names or
 * image ids.  The task page (GET /task/ASSIGNMENT) is the HIT's own
 * HTMLQuestion, served only to the participant holding that assignment
 * while it is open, with its image moved to /img/ASSIGNMENT (the same
 * rule) and the CSRF token added to its form.  The daemon's submit
 * (POST /mturk/externalSubmit) is accepted only from the holder.  With
 * no task open to them now, participants whose share is not done get a
 * page that looks again every minute (wait_page) while one can still
 * come (sim_store_outlook.c); once none can, or their share is done,
 * they are told they are done, or sent to Prolific's completion URL with
 * the study's code.
 *
 * The /enter page sets the cookie and moves on with a same-site refresh,
 * not a redirect: a SameSite=Strict cookie is not sent along a redirect
 * chain that began on another site (Prolific's).
 */
#include "sim/sim_outlook.h"
#include "prolific/prolific.h"

#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What a page says when the store cannot read its state. */
#define PEOPLE_UNREADABLE                                                  \
	"The server could not read its state; please try again."

#define PEOPLE_KEY_FILE "serve.key"
#define PEOPLE_KEY_LEN 32
#define PEOPLE_MAC_HEX (2 * 32)
#define PEOPLE_ID_MAX 64
#define PEOPLE_COOKIE_AGE (30 * 24 * 3600)


/*
 * A HIT's page: its own inline script and style, its image from here.
 * form-action is added (it also governs where a post's redirects go:
 * Prolific's completion page, for Prolific's participants).
 */
#define PEOPLE_CSP_TASK                                                    \
	"default-src 'none'; script-src 'unsafe-inline'; "                 \
	"style-src 'unsafe-inline'; img-src 'self'; "                      \
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
/* The other pages: style only. */
#define PEOPLE_CSP_PAGE                                                    \
	"default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "  \
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

struct sim_people {
	unsigned char key[PEOPLE_KEY_LEN];
	char origin[256]; /* the public URL: scheme://host[:port] */
	bool https;
	char cookie_name[16];
	char prolific_study[PEOPLE_ID_MAX + 1]; /* "" = no Prolific entry */
	char complete_url[512];			/* "" = a "done" page */
	bool participant_param;
	int share;
	/* Whether a task can still come for one with none now. */
	struct sim_outlook *outlook;
	char csp_task[512], csp_page[512];
};

/* ---- ids, keys and MACs ------------------------------------------------- */

bool
sim_participant_id_valid(const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	if (n == 0 || n > PEOPLE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int
unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Reads the key from an open file, refusing one that is not owner's alone
 * (owner: this user, or the service's when root issues links).
 */
static int
key_read(int fd, const char *path, uid_t owner,
	 unsigned char key[PEOPLE_KEY_LEN], struct errbuf *eb)
{
	char hex[PEOPLE_KEY_LEN * 2 + 2];
	struct stat sb;
	ssize_t n;

	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		return err_set(eb, IF_EINPUT, "%s: not a regular file", path);
	if (sb.st_uid != owner || (sb.st_mode & 077) != 0)
		return err_set(eb, IF_EINPUT,
			       "%s: holds the session key but is not private "
			       "to its owner (mode %04o); run: chmod 600 %s",
			       path, (unsigned)(sb.st_mode & 07777), path);
	n = read(fd, hex, sizeof(hex));
	if (n < PEOPLE_KEY_LEN * 2)
		return err_set(eb, IF_EINPUT, "%s: not a session key", path);
	for (size_t i = 0; i < PEOPLE_KEY_LEN; i++) {
		int hi = unhex(hex[2 * i]), lo = unhex(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return err_set(eb, IF_EINPUT, "%s: not a session key",
				       path);
		key[i] = (unsigned char)(hi * 16 + lo);
	}
	OPENSSL_cleanse(hex, sizeof(hex));
	return IF_OK;
}

/*
 * DIR/serve.key, made (0600, from the CSPRNG) when missing; DIR is made
 * 0700 and opened without following a link, as the store's.  With
 * root_reads (issuing links), root may read the key of a directory
 * another user owns, the unit's dynamic user, without changing anything
 * in it: a key root made there would be one the service cannot read.
 */
static int
key_load(const char *dir, bool root_reads, unsigned char key[PEOPLE_KEY_LEN],
	 struct errbuf *eb)
{
	char *path = NULL;
	int dirfd = -1, fd = -1, rc;
	struct stat sb;
	bool foreign;

	if ((rc = mkdir_p(dir, 0700, eb)) != IF_OK)
		return rc;
	path = path_join(dir, PEOPLE_KEY_FILE);
	if (path == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		rc = err_set(eb, IF_ERUNTIME, "%s: cannot open%s: %s", dir,
			     errno == ELOOP || errno == ENOTDIR
				     ? " (a symbolic link is refused)"
				     : "",
			     strerror(errno));
		goto out;
	}
	if (fstat(dirfd, &sb) != 0) {
		rc = err_set(eb, IF_ERUNTIME, "%s: %s", dir, strerror(errno));
		goto out;
	}
	foreign = sb.st_uid != geteuid();
	if (foreign && !(root_reads && geteuid() == 0)) {
		rc = err_set(eb, IF_EINPUT, "%s: not owned by this user", dir);
		goto out;
	}
	if (foreign) {
		if ((sb.st_mode & 077) != 0) {
			rc = err_set(eb, IF_EINPUT,
				     "%s: others may read it (mode %04o): not "
				     "a task server's state",
				     dir, (unsigned)(sb.st_mode & 07777));
			goto out;
		}
		fd = openat(dirfd, PEOPLE_KEY_FILE,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = err_set(eb, IF_EINPUT,
				     "%s: cannot open%s: %s", path,
				     errno == ENOENT
					     ? " (the service makes it when "
					       "it first starts: start it, "
					       "then issue links)"
					     : "",
				     strerror(errno));
			goto out;
		}
		rc = key_read(fd, path, sb.st_uid, key, eb);
		goto out;
	}
	if ((sb.st_mode & 07777) != 0700 && fchmod(dirfd, 0700) != 0) {
		rc = err_set(eb, IF_ERUNTIME, "%s: cannot make it 0700: %s",
			     dir, strerror(errno));
		goto out;
	}
	fd = openat(dirfd, PEOPLE_KEY_FILE,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		unsigned char fresh[PEOPLE_KEY_LEN];
		char hex[PEOPLE_KEY_LEN * 2 + 2];

		if (random_bytes(fresh, sizeof(fresh)) != 0) {
			rc = err_set(eb, IF_ERUNTIME, "%s: no random bytes",
				     path);
			goto out;
		}
		hex_encode(fresh, sizeof(fresh), hex);
		strcat(hex, "\n");
		if (write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) ||
		    fsync(fd) != 0) {
			rc = err_set(eb, IF_ERUNTIME, "%s: cannot write: %s",
				     path, strerror(errno));
			(void)unlinkat(dirfd, PEOPLE_KEY_FILE, 0);
			goto out;
		}
		OPENSSL_cleanse(hex, sizeof(hex));
		OPENSSL_cleanse(fresh, sizeof(fresh));
		close(fd);
		fd = -1;
	} else if (errno != EEXIST) {
		rc = err_set(eb, IF_ERUNTIME, "%s: cannot create%s: %s", path,
			     errno == ELOOP ? " (a symbolic link is refused)"
					    : "",
			     strerror(errno));
		goto out;
	}
	fd = openat(dirfd, PEOPLE_KEY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = err_set(eb, IF_ERUNTIME, "%s: cannot open%s: %s", path,
			     errno == ELOOP ? " (a symbolic link is refused)"
					    : "",
			     strerror(errno));
		goto out;
	}
	rc = key_read(fd, path, geteuid(), key, eb);
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	free(path);
	return rc;
}

/* hex(HMAC-SHA256(key, label NUL id)), PEOPLE_MAC_HEX characters. */
static void
people_mac(const unsigned char key[PEOPLE_KEY_LEN], const char *label,
	   const char *id, char out[PEOPLE_MAC_HEX + 1])
{
	unsigned char msg[16 + PEOPLE_ID_MAX + 2], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t ll = strlen(label), il = strlen(id);

	out[0] = '\0';
	if (ll > 16 || il > PEOPLE_ID_MAX)
		return;
	memcpy(msg, label, ll);
	msg[ll] = '\0';
	memcpy(msg + ll + 1, id, il);
	if (HMAC(EVP_sha256(), key, PEOPLE_KEY_LEN, msg, ll + 1 + il, md,
		 &mdlen) == NULL ||
	    mdlen != 32)
		return;
	hex_encode(md, mdlen, out);
}

static bool
mac_equal(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == PEOPLE_MAC_HEX && strlen(b) == n &&
	       CRYPTO_memcmp(a, b, n) == 0;
}

/* "scheme://host[:port]" from a public URL (a trailing '/' dropped). */
static int
origin_parse(const char *url, char *out, size_t n, bool *https,
	     struct errbuf *eb)
{
	const char *host;
	size_t len;

	if (strncmp(url, "https://", 8) == 0) {
		*https = true;
		host = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		*https = false;
		host = url + 7;
	} else {
		return err_set(eb, IF_EINPUT,
			       "--public-url \"%s\": expected "
			       "https://HOST[:PORT]",
			       url);
	}
	len = strlen(url);
	if (len > 0 && url[len - 1] == '/')
		len--;
	if (len >= n || host[0] == '\0' || host[0] == '/')
		return err_set(eb, IF_EINPUT, "--public-url \"%s\": no host",
			       url);
	for (const char *p = host; p < url + len; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
		      *p == ':' || *p == '[' || *p == ']'))
			return err_set(eb, IF_EINPUT,
				       "--public-url \"%s\": only a scheme, a "
				       "host and a port (no path)",
				       url);
	memcpy(out, url, len);
	out[len] = '\0';
	return IF_OK;
}

struct sim_people *
sim_people_new(const struct sim_people_config *cfg, const char *state_dir,
	       const char *local_base, struct errbuf *eb)
{
	struct sim_people *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		err_set(eb, IF_ERUNTIME, "out of memory");
		return NULL;
	}
	if (origin_parse(cfg->public_url != NULL ? cfg->public_url
						 : local_base,
			 p->origin, sizeof(p->origin), &p->https,
			 eb) != IF_OK)
		goto fail;
	snprintf(p->cookie_name, sizeof(p->cookie_name), "%s",
		 p->https ? "__Host-ifs" : "ifs");
	if (state_dir != NULL) {
		if (key_load(state_dir, false, p->key, eb) != IF_OK)
			goto fail;
	} else if (random_bytes(p->key, sizeof(p->key)) != 0) {
		err_set(eb, IF_ERUNTIME, "no random bytes for the session key");
		goto fail;
	}
	if (cfg->prolific_study != NULL) {
		if (!prolific_id_valid(cfg->prolific_study)) {
			err_set(eb, IF_EINPUT,
				"--prolific-study: not a Prolific id");
			goto fail;
		}
		snprintf(p->prolific_study, sizeof(p->prolific_study), "%s",
			 cfg->prolific_study);
	}
	if (cfg->prolific_code != NULL &&
	    prolific_complete_url(cfg->prolific_code, p->complete_url,
				  sizeof(p->complete_url), eb) != IF_OK)
		goto fail;
	p->participant_param = cfg->participant_param;
	p->share = cfg->share > 0 ? cfg->share : 0;
	p->outlook = sim_outlook_new(cfg->studies, cfg->nstudies, eb);
	if (p->outlook == NULL)
		goto fail;
	{
		/* Prolific's origin, from its completion URL ("" if none). */
		char origin[256] = "";
		const char *host = strstr(p->complete_url, "://");

		if (host != NULL)
			snprintf(origin, sizeof(origin), " %.*s",
				 (int)(host + 3 - p->complete_url +
				       (ptrdiff_t)strcspn(host + 3, "/?")),
				 p->complete_url);
		snprintf(p->csp_task, sizeof(p->csp_task), "%s%s",
			 PEOPLE_CSP_TASK, origin);
		snprintf(p->csp_page, sizeof(p->csp_page), "%s%s",
			 PEOPLE_CSP_PAGE, origin);
	}
	return p;
fail:
	sim_people_free(p);
	return NULL;
}

void
sim_people_free(struct sim_people *p)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p->key, sizeof(p->key));
	sim_outlook_free(p->outlook);
	free(p);
}

int
sim_people_link(const char *state_dir, const char *public_url,
		const char *participant, struct buf *out, struct errbuf *eb)
{
	unsigned char key[PEOPLE_KEY_LEN];
	char origin[256], id[PEOPLE_ID_MAX + 1], mac[PEOPLE_MAC_HEX + 1];
	bool https;
	int rc;

	if ((rc = origin_parse(public_url, origin, sizeof(origin), &https,
			       eb)) != IF_OK)
		return rc;
	if (participant != NULL) {
		if (!sim_participant_id_valid(participant))
			return err_set(eb, IF_EINPUT,
				       "participant id \"%.80s\": expected 1 "
				       "to 64 of A-Z a-z 0-9 _ -",
				       participant);
		snprintf(id, sizeof(id), "%s", participant);
	} else {
		unsigned char rnd[16];

		/* 128 bits: an id nobody guesses. */
		if (random_bytes(rnd, sizeof(rnd)) != 0)
			return err_set(eb, IF_ERUNTIME, "no random bytes");
		id[0] = 'L';
		hex_encode(rnd, sizeof(rnd), id + 1);
	}
	if ((rc = key_load(state_dir, true, key, eb)) != IF_OK)
		return rc;
	people_mac(key, "link", id, mac);
	OPENSSL_cleanse(key, sizeof(key));
	if (buf_printf(out, "%s/enter?p=%s&t=%s", origin, id, mac) != 0)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	return IF_OK;
}

/* ---- pages -------------------------------------------------------------- */

static void
html_escaped(struct buf *b, const char *s)
{
	(void)buf_append_html(b, s, strlen(s));
}

static void
page_start(struct buf *b, const char *title)
{
	buf_append_str(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
			  "<meta charset=\"utf-8\"><meta name=\"viewport\" "
			  "content=\"width=device-width, initial-scale=1\">"
			  "<title>");
	html_escaped(b, title);
	buf_append_str(b, "</title><style>body{font:16px/1.4 system-ui,"
			  "sans-serif;margin:2em;color:#222;max-width:40em}"
			  "button{font:inherit;padding:.5em 1.2em;"
			  "min-height:44px}</style></head><body>\n");
}

/* A page of constant text (never anything from the request). */
static void
text_page(struct sim_reply *r, int status, const char *title,
	  const char *text)
{
	buf_reset(&r->body);
	r->status = status;
	page_start(&r->body, title);
	buf_append_str(&r->body, "<h1>");
	html_escaped(&r->body, title);
	buf_append_str(&r->body, "</h1><p>");
	html_escaped(&r->body, text);
	buf_append_str(&r->body, "</p></body></html>\n");
}

static void
see_other(struct sim_reply *r, const char *location)
{
	r->status = 303;
	snprintf(r->location, sizeof(r->location), "%s", location);
	buf_reset(&r->body);
	buf_append_str(&r->body, "See other.\n");
	snprintf(r->content_type, sizeof(r->content_type),
		 "text/plain; charset=utf-8");
}

/* Decodes a raw query or form value into out; false if bad or too long. */
static bool
value_decode(const char *in, char *out, size_t n)
{
	size_t k = 0;

	for (; *in != '\0'; in++) {
		int c = (unsigned char)*in;

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = in[1] != '\0' ? unhex(in[1]) : -1;
			int lo = hi >= 0 && in[2] != '\0' ? unhex(in[2]) : -1;

			if (hi < 0 || lo < 0)
				return false;
			c = hi * 16 + lo;
			in += 2;
		}
		if (c == 0 || k + 1 >= n)
			return false;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return true;
}

/* A decoded query argument; false when absent or bad. */
static bool
query_arg(const struct sim_people_request *rq, const char *name, char *out,
	  size_t n)
{
	const char *v = rq->arg(rq->arg_ctx, name);

	return v != NULL && value_decode(v, out, n);
}

/* A decoded field of an urlencoded body; false when absent or bad. */
static bool
form_field(const struct sim_people_request *rq, const char *name, char *out,
	   size_t n)
{
	size_t nl = strlen(name);
	const char *p = rq->body, *end = rq->body + rq->body_len;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp != NULL ? amp : end;

		if ((size_t)(stop - p) > nl && memcmp(p, name, nl) == 0 &&
		    p[nl] == '=') {
			char raw[512];
			size_t vl = (size_t)(stop - p - (ptrdiff_t)nl - 1);

			if (vl >= sizeof(raw))
				return false;
			memcpy(raw, p + nl + 1, vl);
			raw[vl] = '\0';
			return value_decode(raw, out, n);
		}
		p = stop + 1;
	}
	return false;
}

/*
 * The MAC label of a session by how it began: Prolific's participants
 * are sent back to Prolific when done, the others are not.
 */
static const char *
session_label(bool prolific)
{
	return prolific ? "session-prolific" : "session";
}

/*
 * The session's participant from the Cookie header ("P|O.ID.MAC", P for
 * a Prolific entry); false when none.
 */
static bool
session_of(const struct sim_people *p, const struct sim_people_request *rq,
	   char id[PEOPLE_ID_MAX + 1], bool *prolific)
{
	size_t nl = strlen(p->cookie_name);
	const char *c = rq->cookie;

	while (c != NULL && *c != '\0') {
		const char *end, *dot;
		char mac[PEOPLE_MAC_HEX + 1], want[PEOPLE_MAC_HEX + 1];
		size_t idl;

		while (*c == ' ' || *c == ';')
			c++;
		end = c + strcspn(c, ";");
		if ((size_t)(end - c) > nl + 2 &&
		    memcmp(c, p->cookie_name, nl) == 0 && c[nl] == '=') {
			const char *v = c + nl + 1;

			if ((v[0] != 'P' && v[0] != 'O') || v[1] != '.')
				return false;
			*prolific = v[0] == 'P';
			v += 2;
			dot = memchr(v, '.', (size_t)(end - v));
			if (dot == NULL)
				return false;
			idl = (size_t)(dot - v);
			if (idl == 0 || idl > PEOPLE_ID_MAX ||
			    (size_t)(end - dot - 1) != PEOPLE_MAC_HEX)
				return false;
			memcpy(id, v, idl);
			id[idl] = '\0';
			memcpy(mac, dot + 1, PEOPLE_MAC_HEX);
			mac[PEOPLE_MAC_HEX] = '\0';
			if (!sim_participant_id_valid(id))
				return false;
			people_mac(p->key, session_label(*prolific), id, want);
			return mac_equal(mac, want);
		}
		c = end;
	}
	return false;
}

/* A change must come from our own pages: same Origin, the right token. */
static bool
change_allowed(const struct sim_people *p,
	       const struct sim_people_request *rq, const char *id,
	       const char *token)
{
	char want[PEOPLE_MAC_HEX + 1];

	if (rq->origin == NULL || strcmp(rq->origin, p->origin) != 0 ||
	    token == NULL)
		return false;
	people_mac(p->key, "csrf", id, want);
	return mac_equal(token, want);
}

static void
task_location(const struct sim_people *p, const char *asg, char *out,
	      size_t n)
{
	struct buf b;
	static const char hex[] = "0123456789ABCDEF";

	buf_init(&b, 0);
	buf_printf(&b, "/task/%s?assignmentId=%s&turkSubmitTo=", asg, asg);
	for (const char *s = p->origin; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.') {
			buf_append(&b, s, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			buf_append(&b, e, 3);
		}
	}
	snprintf(out, n, "%s", b.data != NULL ? b.data : "/");
	buf_cleanup(&b);
}

/*
 * No task can come for them: Prolific's participants who did a task go
 * to the completion page with the study's code; one who did none has
 * nothing to submit, and Prolific's way out for them is a return.
 */
static void
done_page(const struct sim_people *p, bool prolific, int submitted,
	  struct sim_reply *r)
{
	if (prolific && submitted > 0 && p->complete_url[0] != '\0') {
		see_other(r, p->complete_url);
		return;
	}
	if (prolific) {
		text_page(r, 200, "No task is left for you",
			  "Thank you: this study has no task left for you, "
			  "and you have done none, so there is nothing to "
			  "submit. Please return the study on Prolific.");
		return;
	}
	text_page(r, 200, "You are done",
		  "Thank you: there is no task left for you. You may close "
		  "this page.");
}

/* How often the "wait" page looks again for a task, in seconds. */
#define PEOPLE_WAIT_REFRESH_S 60

/*
 * "At most N minutes (until YYYY-MM-DD HH:MM UTC)": the longest a
 * participant waits, rounded up to the minute.
 */
static void
wait_bound(struct buf *b, int64_t now_ms, int64_t until_ms)
{
	int64_t left_min = (until_ms - now_ms + 59999) / 60000;
	time_t t = (time_t)((until_ms + 59999) / 1000);
	struct tm tm;
	char when[32] = "";

	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	buf_append_str(b, "<p>You will wait at most ");
	if (left_min < 120)
		buf_printf(b, "%lld minute%s", (long long)left_min,
			   left_min == 1 ? "" : "s");
	else
		buf_printf(b, "%lld hours", (long long)((left_min + 59) / 60));
	buf_printf(b, " (until %s UTC): by then there is a task for you or "
		      "this page tells you that you are done.</p>",
		   when);
}

/*
 * A participant whose share is not done, with no task open to them now
 * but one that can still come (sim_store_people_outlook): between two
 * stages (the next one's HITs come once the current stage is
 * aggregated), or every HIT taken for the moment.  Telling them they are
 * done would send them away mid-study (a Prolific participant to the
 * completion page, ending their submission); this page looks again by
 * itself (a meta refresh: the pages run no script) and moves them on as
 * soon as there is a task, or tells them they are done once none can
 * come.  It says how long that can take when the server knows.  The
 * refresh is a time limit in WCAG's sense (2.2.1): its first link turns
 * it off (GET /?wait=manual, the same page without it).  A Prolific
 * participant who has done a task may finish instead (the completion
 * page); before that, finishing would be a submission with nothing in
 * it, so they are told to return the study on Prolific if they cannot
 * wait.  The operator's own participants come back through their link.
 */
static void
wait_page(const struct sim_people *p, bool prolific, int submitted,
	  bool automatic, const struct sim_outlook_verdict *v,
	  struct sim_reply *r)
{
	buf_reset(&r->body);
	r->status = 200;
	page_start(&r->body, "Please wait for the next task");
	if (automatic)
		buf_printf(&r->body,
			   "<meta http-equiv=\"refresh\" content=\"%d\">",
			   PEOPLE_WAIT_REFRESH_S);
	buf_append_str(&r->body, "<h1>Please wait for the next task</h1>");
	/* A bound is known only when no round is to come. */
	if (v->until_ms > v->now_ms)
		buf_append_str(&r->body,
			       "<p>No task is open for you right now: the "
			       "tasks left are being done by others, and one "
			       "comes to you if someone gives theirs up.</p>");
	else
		buf_append_str(&r->body,
			       "<p>No task is open for you right now: the "
			       "next tasks come once the current round is "
			       "finished.</p>");
	if (automatic)
		buf_append_str(&r->body,
			       "<p>This page looks again every minute and "
			       "takes you on as soon as there is a task for "
			       "you. <a href=\"/?wait=manual\">Stop looking "
			       "again automatically</a></p>");
	else
		buf_append_str(&r->body,
			       "<p><a href=\"/?wait=manual\">Look again "
			       "now</a> or <a href=\"/\">look again every "
			       "minute</a>.</p>");
	if (v->until_ms > v->now_ms)
		wait_bound(&r->body, v->now_ms, v->until_ms);
	if (prolific)
		buf_append_str(&r->body, "<p>You may also close this page "
					 "and come back later through the "
					 "study's link on Prolific.</p>");
	else
		buf_append_str(&r->body, "<p>You may also close this page "
					 "and come back later through your "
					 "link.</p>");
	if (p->share > 0)
		buf_printf(&r->body,
			   "<p>You have done %d of your %d tasks.</p>",
			   submitted, p->share);
	else if (!prolific)
		buf_printf(&r->body, "<p>You have done %d tasks.</p>",
			   submitted);
	if (prolific && submitted > 0 && p->complete_url[0] != '\0') {
		buf_append_str(&r->body,
			       "<p>If you would rather stop now, <a href=\"");
		html_escaped(&r->body, p->complete_url);
		buf_append_str(&r->body,
			       "\">finish and go back to Prolific</a>; the "
			       "tasks you have done count.</p>");
	} else if (prolific) {
		buf_append_str(&r->body,
			       "<p>If you cannot wait, return the study on "
			       "Prolific.</p>");
	}
	buf_append_str(&r->body, "</body></html>\n");
}

/* GET /enter: opens the session from an entry link. */
static void
page_enter(struct sim_people *p, const struct sim_people_request *rq,
	   struct sim_reply *r)
{
	char id[PEOPLE_ID_MAX + 1], t[PEOPLE_MAC_HEX + 1];
	char study[PEOPLE_ID_MAX + 1], session[PEOPLE_ID_MAX + 1];
	char mac[PEOPLE_MAC_HEX + 1], want[PEOPLE_MAC_HEX + 1];
	const char *how = NULL;
	struct errbuf eb;
	bool prolific;

	err_init(&eb);
	if (query_arg(rq, "p", id, sizeof(id)) &&
	    query_arg(rq, "t", t, sizeof(t))) {
		people_mac(p->key, "link", id, want);
		if (sim_participant_id_valid(id) && mac_equal(t, want))
			how = "link";
	} else if (p->prolific_study[0] != '\0' &&
		   query_arg(rq, "PROLIFIC_PID", id, sizeof(id))) {
		if (query_arg(rq, "STUDY_ID", study, sizeof(study)) &&
		    query_arg(rq, "SESSION_ID", session, sizeof(session)) &&
		    prolific_entry_check(id, study, session, p->prolific_study,
					 &eb) == IF_OK &&
		    sim_participant_id_valid(id))
			how = "Prolific";
	} else if (p->participant_param &&
		   query_arg(rq, "participant", id, sizeof(id)) &&
		   sim_participant_id_valid(id)) {
		how = "pool";
	}
	if (how == NULL) {
		text_page(r, 403, "This link is not valid",
			  "Open the study through the link you were given.");
		return;
	}
	prolific = strcmp(how, "Prolific") == 0;
	people_mac(p->key, session_label(prolific), id, mac);
	snprintf(r->cookie, sizeof(r->cookie),
		 "%s=%c.%s.%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s",
		 p->cookie_name, prolific ? 'P' : 'O', id, mac,
		 PEOPLE_COOKIE_AGE, p->https ? "; Secure" : "");
	log_info("serve: participant %s entered (%s)", id, how);
	page_start(&r->body, "Welcome");
	buf_append_str(&r->body,
		       "<meta http-equiv=\"refresh\" content=\"0;url=/\">"
		       "<h1>Welcome</h1><p><a href=\"/\">Continue to your "
		       "tasks</a></p></body></html>\n");
}

/* GET /: where the participant stands; their task, or done. */
static void
page_home(struct sim_people *p, struct sim_store *st, const char *id,
	  bool prolific, const struct sim_people_request *rq,
	  struct sim_reply *r)
{
	char wait[16];
	char asg[SIM_ID_LEN + 1], why[256], loc[1024];
	char csrf[PEOPLE_MAC_HEX + 1];
	int submitted = 0, rc;

	if (sim_store_people_status(st, id, asg, &submitted) != 0) {
		text_page(r, 500, "Sorry", PEOPLE_UNREADABLE);
		return;
	}
	if (asg[0] != '\0') {
		task_location(p, asg, loc, sizeof(loc));
		see_other(r, loc);
		return;
	}
	rc = sim_store_people_take(st, id, p->share, true, asg, why,
				   sizeof(why));
	if (rc < 0) {
		text_page(r, 500, "Sorry", why);
		return;
	}
	/*
	 * Nothing for them now: done once their share is, or once no task
	 * can come for them any more; until then, the wait page.
	 */
	if (rc == 1 && !(p->share > 0 && submitted >= p->share)) {
		struct sim_outlook_verdict v;

		if (sim_store_people_outlook(st, p->outlook, id, &v) != 0) {
			text_page(r, 500, "Sorry",
				  "The server could not read its state; "
				  "please try again.");
			return;
		}
		if (!v.done) {
			wait_page(p, prolific, submitted,
				  !(query_arg(rq, "wait", wait,
					      sizeof(wait)) &&
				    strcmp(wait, "manual") == 0),
				  &v, r);
			return;
		}
	}
	if (rc == 1) {
		done_page(p, prolific, submitted, r);
		return;
	}
	people_mac(p->key, "csrf", id, csrf);
	page_start(&r->body, "Your tasks");
	buf_append_str(&r->body, "<h1>Your tasks</h1>");
	if (p->share > 0)
		buf_printf(&r->body,
			   "<p>You have done %d of your %d tasks.</p>",
			   submitted, p->share);
	else
		buf_printf(&r->body, "<p>You have done %d tasks.</p>",
			   submitted);
	buf_printf(&r->body,
		   "<p>Each task shows a blurred picture: draw a box around "
		   "anything that could identify a person. Feedback is "
		   "optional, up to %d characters.</p>"
		   "<form method=\"post\" action=\"/start\">"
		   "<input type=\"hidden\" name=\"" SIM_CSRF_FIELD
		   "\" value=\"%s\"><button type=\"submit\">Start the next "
		   "task</button></form></body></html>\n",
		   SIM_FEEDBACK_MAX, csrf);
}

/* POST /start: gives the participant a task. */
static void
page_start_task(struct sim_people *p, struct sim_store *st, const char *id,
		const struct sim_people_request *rq, struct sim_reply *r)
{
	char asg[SIM_ID_LEN + 1], why[256], loc[1024];
	char token[PEOPLE_MAC_HEX + 1];
	int rc;

	if (!form_field(rq, SIM_CSRF_FIELD, token, sizeof(token)) ||
	    !change_allowed(p, rq, id, token)) {
		text_page(r, 403, "Sorry",
			  "This request did not come from this site's page; "
			  "go back and try again.");
		return;
	}
	rc = sim_store_people_take(st, id, p->share, false, asg, why,
				   sizeof(why));
	if (rc < 0) {
		text_page(r, 500, "Sorry", why);
		return;
	}
	if (rc == 1) {
		see_other(r, "/");
		return;
	}
	log_info("serve: participant %s holds assignment %s", id, asg);
	task_location(p, asg, loc, sizeof(loc));
	see_other(r, loc);
}

/*
 * 0 with *htmlp the HTMLContent of the Question of an assignment the
 * participant holds open (xmlFree it), NULL otherwise; -1 when the store
 * cannot read it.
 */
static int
task_html(struct sim_store *st, const char *id, const char *asg,
	  xmlChar **htmlp)
{
	char *q = NULL, hit[SIM_ID_LEN + 1];
	xmlDocPtr doc;
	xmlNodePtr root, n;
	xmlChar *html = NULL;

	*htmlp = NULL;
	if (sim_store_people_task(st, id, asg, &q, hit) != 0)
		return -1;
	if (q == NULL)
		return 0;
	doc = xmlReadMemory(q, (int)strlen(q), "question.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	if (root != NULL &&
	    xmlStrcmp(root->name, (const xmlChar *)"HTMLQuestion") == 0)
		for (n = root->children; n != NULL; n = n->next)
			if (n->type == XML_ELEMENT_NODE &&
			    xmlStrcmp(n->name,
				      (const xmlChar *)"HTMLContent") == 0 &&
			    html == NULL)
				html = xmlNodeGetContent(n);
	xmlFreeDoc(doc);
	free(q);
	*htmlp = html;
	return 0;
}

/*
 * The first src="URL" of html whose path is an object hosted here:
 * [*vstart, *vend) the attribute's value, [*pstart, *pend) the object's
 * "bucket/key" (*found); -1 when the store cannot read an object.
 */
static int
find_image(struct sim_store *st, const char *html, const char **vstart,
	   const char **vend, const char **pstart, const char **pend,
	   bool *found)
{
	*found = false;
	for (const char *s = strstr(html, "src=\""); s != NULL;
	     s = strstr(s + 1, "src=\"")) {
		const char *v = s + 5, *e = strchr(v, '"'), *scheme, *path, *pe;

		if (e == NULL)
			return 0;
		scheme = strstr(v, "://");
		if (scheme == NULL || scheme > e)
			continue;
		path = memchr(scheme + 3, '/', (size_t)(e - scheme - 3));
		if (path == NULL)
			continue;
		path++;
		pe = path + strcspn(path, "?#\"");
		if (pe > e || pe == path || (size_t)(pe - path) > 1024)
			continue;
		if (sim_store_people_object(st, path, (size_t)(pe - path),
					    found) != 0)
			return -1;
		if (!*found)
			continue;
		*vstart = v;
		*vend = e;
		*pstart = path;
		*pend = pe;
		return 0;
	}
	return 0;
}

/* GET /task/ASSIGNMENT: the HIT's page, for its holder only. */
static void
page_task(struct sim_people *p, struct sim_store *st, const char *id,
	  const char *asg, struct sim_reply *r)
{
	xmlChar *html;
	const char *h, *vs, *ve, *ps, *pe, *form;
	char csrf[PEOPLE_MAC_HEX + 1];
	struct buf out;
	bool image;

	if (task_html(st, id, asg, &html) != 0) {
		text_page(r, 500, "Sorry", PEOPLE_UNREADABLE);
		return;
	}
	if (html == NULL) {
		text_page(r, 404, "No such task",
			  "This task is not yours or is no longer open.");
		return;
	}
	h = (const char *)html;
	if (find_image(st, h, &vs, &ve, &ps, &pe, &image) != 0) {
		xmlFree(html);
		text_page(r, 500, "Sorry", PEOPLE_UNREADABLE);
		return;
	}
	buf_init(&out, 0);
	/* The image by the assignment, never by its key (which names it). */
	if (image) {
		buf_append(&out, h, (size_t)(vs - h));
		buf_printf(&out, "/img/%s", asg);
		h = ve;
	}
	people_mac(p->key, "csrf", id, csrf);
	form = strstr(h, "</form>");
	if (form != NULL) {
		buf_append(&out, h, (size_t)(form - h));
		buf_printf(&out,
			   "<input type=\"hidden\" name=\"" SIM_CSRF_FIELD
			   "\" value=\"%s\">",
			   csrf);
		h = form;
	}
	buf_append_str(&out, h);
	buf_reset(&r->body);
	buf_append(&r->body, out.data != NULL ? out.data : "", out.len);
	buf_cleanup(&out);
	snprintf(r->csp, sizeof(r->csp), "%s", p->csp_task);
	xmlFree(html);
}

/* GET /img/ASSIGNMENT: the task's image, for its holder while open. */
static void
page_image(struct sim_store *st, const char *id, const char *asg,
	   struct sim_reply *r)
{
	xmlChar *html;
	const char *vs, *ve, *ps, *pe;
	char path[1025], ctype[64];
	char *data = NULL;
	size_t len = 0;
	bool found = false;

	if (task_html(st, id, asg, &html) != 0 ||
	    (html != NULL && find_image(st, (const char *)html, &vs, &ve,
					&ps, &pe, &found) != 0)) {
		xmlFree(html);
		text_page(r, 500, "Sorry", PEOPLE_UNREADABLE);
		return;
	}
	if (!found) {
		xmlFree(html);
		text_page(r, 404, "Not found", "No such image.");
		return;
	}
	memcpy(path, ps, (size_t)(pe - ps));
	path[pe - ps] = '\0';
	xmlFree(html);
	if (sim_store_get_object(st, path, &data, &len, ctype, sizeof(ctype),
				 &found) != 0) {
		text_page(r, 500, "Sorry", PEOPLE_UNREADABLE);
		return;
	}
	if (!found) {
		text_page(r, 404, "Not found", "No such image.");
		return;
	}
	buf_reset(&r->body);
	buf_append(&r->body, data, len);
	free(data);
	snprintf(r->content_type, sizeof(r->content_type), "%s",
		 strncmp(ctype, "image/", 6) == 0 ? ctype
						  : "application/octet-stream");
	r->csp[0] = '\0'; /* the strictest policy */
}

/* POST /mturk/externalSubmit: the task page's answer, from its holder. */
static void
page_submit(struct sim_people *p, struct sim_store *st, const char *id,
	    const struct sim_people_request *rq, struct sim_reply *r)
{
	struct sim_lab_answer a;
	char why[256];
	char *xml;
	int rc;

	if (sim_lab_answer_parse(rq->body, rq->body_len, &a, why,
				 sizeof(why)) != 0) {
		text_page(r, 400, "Sorry", why);
		sim_lab_answer_cleanup(&a);
		return;
	}
	if (!change_allowed(p, rq, id, a.csrf)) {
		text_page(r, 403, "Sorry",
			  "This answer did not come from this site's task "
			  "page; go back and try again.");
		sim_lab_answer_cleanup(&a);
		return;
	}
	xml = a.xml;
	a.xml = NULL; /* the store's now */
	rc = sim_store_people_submit(st, id, a.assignment_id, xml, a.boxes,
				     why, sizeof(why));
	if (rc != 0) {
		/* Refused (1), or the store failed: try again (-1). */
		text_page(r, rc > 0 ? 409 : 500, "Sorry", why);
		sim_lab_answer_cleanup(&a);
		return;
	}
	log_info("serve: participant %s submitted assignment %s", id,
		 a.assignment_id);
	sim_lab_answer_cleanup(&a);
	see_other(r, "/");
}

/* An assignment id from a path's tail; false when not one. */
static bool
path_id(const char *path, const char *prefix, char out[SIM_ID_LEN + 1])
{
	size_t pl = strlen(prefix), n;

	if (strncmp(path, prefix, pl) != 0)
		return false;
	path += pl;
	n = strlen(path);
	if (n == 0 || n > SIM_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((path[i] >= 'A' && path[i] <= 'Z') ||
		      (path[i] >= '0' && path[i] <= '9')))
			return false;
	memcpy(out, path, n + 1);
	return true;
}

void
sim_people_handle(struct sim_people *p, struct sim_store *st,
		  const struct sim_people_request *rq, struct sim_reply *r)
{
	char id[PEOPLE_ID_MAX + 1], asg[SIM_ID_LEN + 1];
	bool get = strcmp(rq->method, "GET") == 0 ||
		   strcmp(rq->method, "HEAD") == 0;
	bool post = strcmp(rq->method, "POST") == 0;
	bool prolific = false;

	snprintf(r->csp, sizeof(r->csp), "%s", p->csp_page);
	if (get && strcmp(rq->path, "/enter") == 0) {
		page_enter(p, rq, r);
		return;
	}
	if (!(get && (strcmp(rq->path, "/") == 0 ||
		      strncmp(rq->path, "/task/", 6) == 0 ||
		      strncmp(rq->path, "/img/", 5) == 0)) &&
	    !(post && (strcmp(rq->path, "/start") == 0 ||
		       strcmp(rq->path, "/mturk/externalSubmit") == 0))) {
		text_page(r, 404, "Not found", "There is no such page.");
		return;
	}
	if (!session_of(p, rq, id, &prolific)) {
		text_page(r, 403, "Please open your link",
			  "Open the study through the link you were given: "
			  "it brings you back to your tasks.");
		return;
	}
	if (post && strcmp(rq->path, "/start") == 0)
		page_start_task(p, st, id, rq, r);
	else if (post)
		page_submit(p, st, id, rq, r);
	else if (strcmp(rq->path, "/") == 0)
		page_home(p, st, id, prolific, rq, r);
	else if (path_id(rq->path, "/task/", asg))
		page_task(p, st, id, asg, r);
	else if (path_id(rq->path, "/img/", asg))
		page_image(st, id, asg, r);
	else
		text_page(r, 404, "Not found", "There is no such page.");
}
