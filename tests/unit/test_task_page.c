/*
 * mturk/task_page.c: the worker page - escaping of every embedded value,
 * the HTMLQuestion wrapper and its 65,535-byte limit, preview mode and the
 * form contract (field names, externalSubmit), no third-party resources.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mturk/mturk.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *
page(const struct task_page *p, bool question, int want)
{
	struct buf b;
	struct errbuf eb;
	size_t len;

	buf_init(&b, 0);
	err_init(&eb);
	assert_int_equal(question ? task_page_question(p, &b, &eb)
				  : task_page_html(p, &b, &eb),
			 want);
	if (want != IF_OK) {
		assert_true(eb.msg[0] != '\0');
		buf_cleanup(&b);
		return NULL;
	}
	return buf_steal(&b, &len);
}

static void
test_contract(void **state)
{
	struct task_page p = {
		.image_url = "https://127.0.0.1:9/b/k.jpg?X-Amz-Signature=ab"
			     "&x=1",
		.width = 640,
		.height = 480,
		.stage = 2,
		.nstages = 5};
	char *h = page(&p, false, IF_OK);

	(void)state;
	/* The URL is attribute-escaped: & becomes &amp;. */
	assert_non_null(strstr(h, "src=\"https://127.0.0.1:9/b/k.jpg?"
				  "X-Amz-Signature=ab&amp;x=1\""));
	assert_non_null(strstr(h, "data-w=\"640\" data-h=\"480\""));
	assert_non_null(strstr(h, "stage 2 of 5"));
	assert_non_null(strstr(h, "name=\"boxes\""));
	assert_non_null(strstr(h, "name=\"face_found\" value=\"yes\""));
	assert_non_null(strstr(h, "name=\"face_found\" value=\"no\""));
	assert_non_null(strstr(h, "name=\"feedback\""));
	assert_non_null(strstr(h, "name=\"assignmentId\""));
	assert_non_null(strstr(h, "method=\"post\""));
	assert_non_null(strstr(h, "'/mturk/externalSubmit'"));
	assert_non_null(strstr(h, "ASSIGNMENT_ID_NOT_AVAILABLE"));
	assert_non_null(strstr(h, "Accept the HIT to start"));
	assert_non_null(strstr(h, "Did you find a face?"));
	assert_non_null(strstr(h, ">Add box<"));
	assert_non_null(strstr(h, ">Remove box<"));
	assert_non_null(strstr(h, "pointerdown"));
	/* Self-contained: no external script, style sheet or font. */
	assert_null(strstr(h, "<script src"));
	assert_null(strstr(h, "<link"));
	assert_null(strstr(h, "@import"));
	assert_null(strstr(h, "@font-face"));
	assert_null(strstr(h, "//cdn"));
	free(h);
}

static void
test_escaping(void **state)
{
	struct task_page p = {
		.image_url = "https://x.example/a\"><script>alert(1)</script>'"
			      "]]>",
		.width = 10,
		.height = 10,
		.stage = 0,
		.nstages = 0};
	char *h = page(&p, false, IF_OK), *q;

	(void)state;
	assert_null(strstr(h, "<script>alert"));
	assert_null(strstr(h, "\"><script"));
	assert_non_null(strstr(h, "a&quot;&gt;&lt;script&gt;alert(1)"
				  "&lt;/script&gt;"
				  "&#39;]]&gt;"));
	assert_null(strstr(h, "stage "));
	free(h);
	/* Inside CDATA, the escaped URL cannot end the section early. */
	q = page(&p, true, IF_OK);
	assert_non_null(q);
	{
		const char *first = strstr(q, "]]>");
		assert_non_null(first);
		assert_string_equal(first, "]]></HTMLContent><FrameHeight>0"
					   "</FrameHeight></HTMLQuestion>");
	}
	free(q);
}

static void
test_refusals(void **state)
{
	struct task_page p = {
		.image_url = "javascript:alert(1)",
		.width = 10,
		.height = 10,
		.stage = 0,
		.nstages = 0};

	(void)state;
	assert_null(page(&p, false, IF_EINPUT));
	p.image_url = "https://x.example/a b.jpg";
	assert_null(page(&p, false, IF_EINPUT));
	p.image_url = "https://x.example/a\n.jpg";
	assert_null(page(&p, false, IF_EINPUT));
	p.image_url = NULL;
	assert_null(page(&p, false, IF_EINPUT));
	p.image_url = "https://x.example/a.jpg";
	p.width = 0;
	assert_null(page(&p, false, IF_EINPUT));
}

static void
test_question_xml(void **state)
{
	struct task_page p = {
		.image_url = "http://127.0.0.1:8/b/k.png?a=1&b=2",
		.width = 300,
		.height = 200,
		.stage = 1,
		.nstages = 3};
	char *q = page(&p, true, IF_OK), *h = page(&p, false, IF_OK);
	xmlDocPtr doc;
	xmlNodePtr root, n;
	xmlChar *content = NULL;
	int frame = 0;

	(void)state;
	assert_true(strlen(q) < TASK_QUESTION_MAX);
	/* The real page stays far below the limit, leaving room for URLs. */
	assert_true(strlen(q) < 20000);
	doc = xmlReadMemory(q, (int)strlen(q), "q.xml", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	root = xmlDocGetRootElement(doc);
	assert_string_equal((const char *)root->name, "HTMLQuestion");
	assert_non_null(root->ns);
	assert_string_equal((const char *)root->ns->href,
			    "http://mechanicalturk.amazonaws.com/"
			    "AWSMechanicalTurkDataSchemas/2011-11-11/"
			    "HTMLQuestion.xsd");
	for (n = root->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)n->name, "HTMLContent") == 0)
			content = xmlNodeGetContent(n);
		if (strcmp((const char *)n->name, "FrameHeight") == 0) {
			xmlChar *v = xmlNodeGetContent(n);
			frame = strcmp((const char *)v, "0") == 0;
			xmlFree(v);
		}
	}
	assert_non_null(content);
	assert_true(frame);
	assert_string_equal((const char *)content, h);
	xmlFree(content);
	xmlFreeDoc(doc);
	free(q);
	free(h);
}

static void
test_size_limit(void **state)
{
	size_t n = 70000;
	char *url = malloc(n + 1);
	struct task_page p = {
		.image_url = NULL,
		.width = 10,
		.height = 10,
		.stage = 0,
		.nstages = 0};

	(void)state;
	memcpy(url, "https://x.example/", 18);
	memset(url + 18, 'a', n - 18);
	url[n] = '\0';
	p.image_url = url;
	/* The page alone may be built; as a Question it is too big. */
	free(page(&p, false, IF_OK));
	assert_null(page(&p, true, IF_EINPUT));
	free(url);
}

/*
 * The page's behaviour, in jsdom (Debian's node-jsdom): tests/browser/
 * task_page.js draws, moves, resizes, adds and removes boxes, checks the
 * coordinates at half display scale, the face question gating Submit,
 * preview mode and the submit target.  Skipped without node and jsdom.
 */
static void
test_behaviour_in_jsdom(void **state)
{
	struct task_page p = {
		.image_url = "http://127.0.0.1:1/b/k.jpg",
		.width = 640,
		.height = 480,
		.stage = 1,
		.nstages = 5};
	char *h = page(&p, false, IF_OK);
	char path[] = "/tmp/intofocus-page.XXXXXX";
	char cpath[] = "/tmp/intofocus-cpage.XXXXXX";
	char cmd[512];
	int fd = mkstemp(path), cfd = mkstemp(cpath), rc;
	FILE *fp;

	(void)state;
	assert_true(fd >= 0 && cfd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(h, fp);
	fclose(fp);
	free(h);
	/* The same page with the confidence slider. */
	p.confidence = true;
	h = page(&p, false, IF_OK);
	fp = fdopen(cfd, "w");
	assert_non_null(fp);
	fputs(h, fp);
	fclose(fp);
	free(h);
	if (system("NODE_PATH=/usr/share/nodejs node -e "
		   "\"require('jsdom')\" >/dev/null 2>&1") != 0) {
		unlink(path);
		unlink(cpath);
		skip();
	}
	snprintf(cmd, sizeof(cmd),
		 "NODE_PATH=/usr/share/nodejs node "
		 "tests/browser/task_page.js %s %s",
		 path, cpath);
	rc = system(cmd);
	unlink(path);
	unlink(cpath);
	assert_int_equal(rc, 0);
}

/* The experiment's texts, escaped; paragraphs; the default's advice. */
static void
test_texts(void **state)
{
	struct task_page p = {
		.image_url = "http://127.0.0.1:1/b/k.jpg",
		.width = 64,
		.height = 48,
		.title = "Mark <faces> & more",
		.instructions = "First ]]> para\nstill first\n  \nSecond.",
		.face_question = "Any \"face\"?",
	};
	char *h = page(&p, false, IF_OK), *q;

	(void)state;
	assert_non_null(strstr(h, "<title>Mark &lt;faces&gt; &amp; more"
				  "</title>"));
	assert_non_null(strstr(h, "<h1>Mark &lt;faces&gt; &amp; more</h1>"));
	assert_non_null(strstr(h, "<p>First ]]&gt; para\nstill first</p>\n"
				  "<p>Second.</p>"));
	assert_non_null(strstr(h, ">Any &quot;face&quot;?</legend>"));
	assert_null(strstr(h, TASK_TEXT_FACE_QUESTION));
	/* No slider unless asked for. */
	assert_null(strstr(h, "id=\"conf\""));
	assert_null(strstr(h, "name=\"confidence\""));
	free(h);
	q = page(&p, true, IF_OK);
	assert_non_null(strstr(q, "]]></HTMLContent>"));
	assert_int_equal(strstr(q, "]]>") - q,
			 strstr(q, "]]></HTMLContent>") - q);
	free(q);
	/* The defaults, with the study's advice for the unsure. */
	memset(&p, 0, sizeof(p));
	p.image_url = "http://127.0.0.1:1/b/k.jpg";
	p.width = 64;
	p.height = 48;
	h = page(&p, false, IF_OK);
	assert_non_null(strstr(h, "<h1>" TASK_TEXT_TITLE "</h1>"));
	assert_non_null(strstr(h, "When you are unsure whether a region "
				  "shows a face, box it."));
	assert_non_null(strstr(h, "<p>Drag on the image"));
	assert_non_null(strstr(h, TASK_TEXT_FACE_QUESTION "</legend>"));
	free(h);
}

/* The slider and its field of its own, with an escaped label. */
static void
test_confidence_slider(void **state)
{
	struct task_page p = {
		.image_url = "http://127.0.0.1:1/b/k.jpg",
		.width = 64,
		.height = 48,
		.confidence = true,
	};
	char *h;

	(void)state;
	h = page(&p, false, IF_OK);
	assert_non_null(strstr(h, "<input type=\"range\" id=\"conf\" "
				  "min=\"0\" max=\"100\""));
	assert_non_null(strstr(h, "<label for=\"conf\">"
				  TASK_TEXT_CONFIDENCE "</label>"));
	assert_non_null(strstr(h, "name=\"confidence\""));
	free(h);
	p.confidence_label = "Sure <1-100>?";
	h = page(&p, false, IF_OK);
	assert_non_null(strstr(h, ">Sure &lt;1-100&gt;?</label>"));
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contract),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_question_xml),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_behaviour_in_jsdom),
		cmocka_unit_test(test_texts),
		cmocka_unit_test(test_confidence_slider),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
