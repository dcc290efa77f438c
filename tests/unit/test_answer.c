/*
 * mturk/answer.c: answer XML fixtures (tests/fixtures/answers/, valid and
 * hostile), each with the error it must give; the size cap at its edge and
 * a 10 MB document; the formatter's exact output; and formatter -> parser
 * round trips with text that needs escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mturk/mturk.h"

#include <stdlib.h>
#include <string.h>

#define IMG_W 100
#define IMG_H 80

static char *
fixture(const char *name, size_t *len)
{
	const char *top = getenv("TOP");
	char rel[256];
	char *path;
	struct buf b;
	struct errbuf eb = {0};
	char *s;

	snprintf(rel, sizeof(rel), "tests/fixtures/answers/%s", name);
	path = path_join(top != NULL ? top : ".", rel);
	buf_init(&b, 1 << 20);
	if (read_file(path, &b, &eb) != IF_OK)
		fail_msg("fixture %s: %s", name, eb.msg);
	s = buf_steal(&b, len);
	free(path);
	return s;
}

/* Parses xml; checks the status, the reason and that a failure is empty. */
static void
expect(const char *what, const char *xml, size_t len, enum answer_error want,
       struct answer *a)
{
	enum answer_error why = ANSWER_OK;
	struct errbuf eb = {0};
	int rc = answer_parse(xml, len, IMG_W, IMG_H, a, &why, &eb);

	if (why != want || rc != (want == ANSWER_OK ? IF_OK : IF_EINPUT))
		fail_msg("%s: got %s (rc %d, \"%s\"), wanted %s", what,
			 answer_error_str(why), rc, eb.msg,
			 answer_error_str(want));
	if (want != ANSWER_OK) {
		/* Never half-read. */
		assert_null(a->boxes);
		assert_int_equal(a->nboxes, 0);
		assert_null(a->feedback);
		assert_true(strlen(eb.msg) > 0);
		print_message("# %s: %s\n", what, eb.msg);
	}
}

static void
test_hostile_fixtures(void **state)
{
	static const struct {
		const char *file;
		enum answer_error want;
		const char *in_msg; /* part of the message, or NULL */
	} cases[] = {
		{"billion_laughs.xml", ANSWER_DTD, NULL},
		{"xxe_passwd.xml", ANSWER_DTD, NULL},
		{"xxe_remote_dtd.xml", ANSWER_DTD, NULL},
		{"utf7_doctype.xml", ANSWER_NOT_XML, NULL},
		{"utf16.xml", ANSWER_NOT_XML, "NUL"},
		{"undefined_entity.xml", ANSWER_NOT_XML, "xxe"},
		{"truncated.xml", ANSWER_NOT_XML, NULL},
		{"not_xml.xml", ANSWER_NOT_XML, NULL},
		{"wrong_type_object.xml", ANSWER_BAD_BOXES, "not a JSON array"},
		{"wrong_type_string_box.xml", ANSWER_BAD_BOXES,
		 "boxes[0][0]: not an integer"},
		{"three_numbers.xml", ANSWER_BAD_BOXES, "boxes[0]"},
		{"not_json.xml", ANSWER_BAD_BOXES, "not JSON"},
		{"negative_size.xml", ANSWER_BAD_BOXES,
		 "boxes[0][2]: negative size"},
		{"non_integer.xml", ANSWER_BAD_BOXES,
		 "boxes[0][0]: not an integer"},
		{"huge_coordinate.xml", ANSWER_BAD_BOXES,
		 "boxes[0][0]: out of range"},
		{"too_many_boxes.xml", ANSWER_TOO_MANY_BOXES, "201"},
		{"missing_face_found.xml", ANSWER_MISSING_FIELD, "face_found"},
		{"missing_boxes.xml", ANSWER_MISSING_FIELD, "boxes"},
		{"empty_answer_element.xml", ANSWER_MISSING_FIELD, NULL},
		{"empty.xml", ANSWER_MISSING_FIELD, "empty"},
		{"duplicate_boxes.xml", ANSWER_DUPLICATE_FIELD, "boxes"},
		{"bad_face_found.xml", ANSWER_BAD_FACE_FOUND, NULL},
		{"wrong_root.xml", ANSWER_BAD_SHAPE, NULL},
		{"wrong_namespace.xml", ANSWER_BAD_SHAPE, NULL},
		{"selection_not_freetext.xml", ANSWER_BAD_SHAPE,
		 "SelectionIdentifier"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = 0;
		char *xml = fixture(cases[i].file, &len);
		struct answer a;
		enum answer_error why;
		struct errbuf eb = {0};

		expect(cases[i].file, xml, len, cases[i].want, &a);
		answer_parse(xml, len, IMG_W, IMG_H, &a, &why, &eb);
		if (cases[i].in_msg != NULL &&
		    strstr(eb.msg, cases[i].in_msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"",
				 cases[i].file, eb.msg, cases[i].in_msg);
		/* Nothing of /etc/passwd ever reaches a message. */
		assert_null(strstr(eb.msg, "root:"));
		answer_cleanup(&a);
		free(xml);
	}
}

static void
test_valid_fixtures(void **state)
{
	struct answer a;
	size_t len;
	char *xml;

	(void)state;
	/* MTurk's own form: ASCII with character references. */
	xml = fixture("valid_ascii.xml", &len);
	expect("valid_ascii", xml, len, ANSWER_OK, &a);
	assert_int_equal(a.nboxes, 2);
	assert_int_equal(a.boxes[0].x, 10);
	assert_int_equal(a.boxes[0].y, 20);
	assert_int_equal(a.boxes[0].w, 30);
	assert_int_equal(a.boxes[0].h, 40);
	assert_int_equal(a.boxes[1].w, 5);
	assert_true(a.face_found);
	assert_string_equal(a.feedback,
			    "caf\xC3\xA9 <b> & \xF0\x9F\x98\x80");
	answer_cleanup(&a);
	free(xml);
	/* UTF-8, indented, CDATA, "No" in capitals, empty box list. */
	xml = fixture("valid_utf8_pretty.xml", &len);
	expect("valid_utf8_pretty", xml, len, ANSWER_OK, &a);
	assert_int_equal(a.nboxes, 0);
	assert_null(a.boxes);
	assert_false(a.face_found);
	assert_string_equal(a.feedback,
			    "na\xC3\xAFve \xC3\xBCn\xC3\xAF"
			    "code <raw>");
	answer_cleanup(&a);
	free(xml);
	/* feedback absent, or present and empty (<FreeText/>). */
	xml = fixture("no_feedback.xml", &len);
	expect("no_feedback", xml, len, ANSWER_OK, &a);
	assert_string_equal(a.feedback, "");
	answer_cleanup(&a);
	free(xml);
	xml = fixture("empty_feedback.xml", &len);
	expect("empty_feedback", xml, len, ANSWER_OK, &a);
	assert_string_equal(a.feedback, "");
	assert_int_equal(a.nboxes, 1);
	answer_cleanup(&a);
	free(xml);
	/* Exactly the limit of boxes is fine. */
	xml = fixture("max_boxes.xml", &len);
	expect("max_boxes", xml, len, ANSWER_OK, &a);
	assert_int_equal(a.nboxes, ANSWER_MAX_BOXES);
	answer_cleanup(&a);
	free(xml);
}

static void
test_boxes_clipped(void **state)
{
	struct answer a;
	size_t len;
	char *xml = fixture("boxes_outside.xml", &len);

	(void)state;
	/* [[-10,-10,30,30],[90,90,50,50],[200,10,5,5],[10,10,0,7],
	 *  [-50,5,10,10]] on 100 x 80 */
	expect("boxes_outside", xml, len, ANSWER_OK, &a);
	assert_int_equal(a.nboxes, 1);
	assert_int_equal(a.ndropped, 4);
	assert_int_equal(a.boxes[0].x, 0);
	assert_int_equal(a.boxes[0].y, 0);
	assert_int_equal(a.boxes[0].w, 20);
	assert_int_equal(a.boxes[0].h, 20);
	answer_cleanup(&a);
	free(xml);
}

/* A valid answer padded with feedback to exactly total bytes. */
static char *
padded_answer(size_t total)
{
	static const char head[] =
		"<?xml version=\"1.0\" encoding=\"ASCII\"?>"
		"<QuestionFormAnswers "
		"xmlns=\"" ANSWER_NAMESPACE "\"><Answer><QuestionIdentifier>"
		"boxes</QuestionIdentifier><FreeText>[]</FreeText></Answer>"
		"<Answer><QuestionIdentifier>face_found</QuestionIdentifier>"
		"<FreeText>no</FreeText></Answer><Answer><QuestionIdentifier>"
		"feedback</QuestionIdentifier><FreeText>";
	static const char tail[] = "</FreeText></Answer></QuestionFormAnswers>";
	size_t hl = strlen(head), tl = strlen(tail);
	char *s = malloc(total + 1);

	assert_non_null(s);
	assert_true(total > hl + tl);
	memcpy(s, head, hl);
	memset(s + hl, 'a', total - hl - tl);
	memcpy(s + total - tl, tail, tl);
	s[total] = '\0';
	return s;
}

static void
test_size_cap(void **state)
{
	struct answer a;
	char *s;

	(void)state;
	s = padded_answer(ANSWER_MAX_XML);
	expect("at the cap", s, ANSWER_MAX_XML, ANSWER_OK, &a);
	assert_int_equal(strlen(a.feedback),
			 ANSWER_MAX_XML - (strstr(s, "aaa") - s) -
				 strlen("</FreeText></Answer>"
					"</QuestionFormAnswers>"));
	answer_cleanup(&a);
	free(s);
	s = padded_answer(ANSWER_MAX_XML + 1);
	expect("one past the cap", s, ANSWER_MAX_XML + 1, ANSWER_TOO_LARGE,
	       &a);
	free(s);
	s = padded_answer(10 * 1024 * 1024);
	expect("10 MB", s, 10 * 1024 * 1024, ANSWER_TOO_LARGE, &a);
	free(s);
}

static void
test_format_exact(void **state)
{
	const struct answer_field f[] = {
		{"boxes", "[[1,2,3,4]]"},
		{"face_found", "yes"},
		{"feedback",
		 "a<b & c>d \"q\" 'r' caf\xC3\xA9 \xF0\x9F\x98\x80\r\n"},
	};
	struct buf b;
	struct errbuf eb = {0};

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(answer_format(f, 3, &b, &eb), IF_OK);
	assert_string_equal(
		b.data,
		"<?xml version=\"1.0\" encoding=\"ASCII\"?>"
		"<QuestionFormAnswers "
		"xmlns=\"http://mechanicalturk.amazonaws.com/"
		"AWSMechanicalTurkDataSchemas/2005-10-01/"
		"QuestionFormAnswers.xsd\">"
		"<Answer><QuestionIdentifier>boxes</QuestionIdentifier>"
		"<FreeText>[[1,2,3,4]]</FreeText></Answer>"
		"<Answer><QuestionIdentifier>face_found</QuestionIdentifier>"
		"<FreeText>yes</FreeText></Answer>"
		"<Answer><QuestionIdentifier>feedback</QuestionIdentifier>"
		"<FreeText>a&lt;b &amp; c&gt;d \"q\" 'r' caf&#233; "
		"&#128512;&#13;\n</FreeText></Answer>"
		"</QuestionFormAnswers>");
	/* Pure ASCII, as declared. */
	for (size_t i = 0; i < b.len; i++)
		assert_true((unsigned char)b.data[i] < 0x80);
	buf_cleanup(&b);
}

static void
test_format_refusals(void **state)
{
	const struct answer_field bad_utf8[] = {{"feedback", "ok \xC3("}};
	const struct answer_field overlong[] = {{"feedback", "\xC0\xBC"}};
	const struct answer_field surrogate[] = {{"feedback", "\xED\xA0\x80"}};
	const struct answer_field ctrl[] = {{"feedback", "bell\x07"}};
	const struct answer_field noname[] = {{"", "x"}};
	struct buf b;
	struct errbuf eb = {0};

	(void)state;
	buf_init(&b, 0);
	buf_append_str(&b, "keep");
	assert_int_equal(answer_format(bad_utf8, 1, &b, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "feedback: invalid UTF-8 at byte 3"));
	/* The buffer is as it was. */
	assert_string_equal(b.data, "keep");
	err_init(&eb);
	assert_int_equal(answer_format(overlong, 1, &b, &eb), IF_EINPUT);
	err_init(&eb);
	assert_int_equal(answer_format(surrogate, 1, &b, &eb), IF_EINPUT);
	err_init(&eb);
	assert_int_equal(answer_format(ctrl, 1, &b, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "not allowed in XML"));
	err_init(&eb);
	assert_int_equal(answer_format(noname, 1, &b, &eb), IF_EINPUT);
	assert_string_equal(b.data, "keep");
	buf_cleanup(&b);
}

static void
test_round_trip(void **state)
{
	static const char *const feedbacks[] = {
		"",
		"plain",
		"<script>alert(1)</script> & &amp; &#65; ]]> --> <!--",
		"line1\r\nline2\rline3\n\ttabbed  ",
		"\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x91\x8D \xEF\xBF\xBD",
		"<!DOCTYPE x> <!ENTITY y \"z\">",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(feedbacks) / sizeof(feedbacks[0]); i++) {
		const struct answer_field f[] = {
			{"assignmentId", "ABC"},
			{"boxes", "[[5,6,7,8],[90,70,20,20]]"},
			{"face_found", i % 2 ? "no" : "yes"},
			{"feedback", feedbacks[i]},
		};
		struct buf b;
		struct errbuf eb = {0};
		struct answer a;
		char what[32];

		buf_init(&b, 0);
		assert_int_equal(answer_format(f, 4, &b, &eb), IF_OK);
		snprintf(what, sizeof(what), "round trip %zu", i);
		expect(what, b.data, b.len, ANSWER_OK, &a);
		assert_string_equal(a.feedback, feedbacks[i]);
		assert_int_equal(a.face_found, i % 2 == 0);
		assert_int_equal(a.nboxes, 2);
		assert_int_equal(a.boxes[1].w, 10);
		assert_int_equal(a.boxes[1].h, 10);
		answer_cleanup(&a);
		buf_cleanup(&b);
	}
}

/* Formats the four fields with confidence conf; parses; returns rc. */
static void
conf_answer(const char *boxes, const char *conf, enum answer_error want,
	    struct answer *a)
{
	const struct answer_field f[] = {
		{"boxes", boxes},
		{"face_found", "yes"},
		{"feedback", ""},
		{"confidence", conf},
	};
	struct buf b;
	struct errbuf eb = {0};

	buf_init(&b, 0);
	assert_int_equal(answer_format(f, conf != NULL ? 4 : 3, &b, &eb),
			 IF_OK);
	expect(conf != NULL ? conf : "(no confidence)", b.data, b.len, want,
	       a);
	buf_cleanup(&b);
}

static void
test_confidence(void **state)
{
	struct answer a;

	(void)state;
	/* No field: no confidences at all. */
	conf_answer("[[1,1,5,5]]", NULL, ANSWER_OK, &a);
	assert_null(a.confidence);
	answer_cleanup(&a);
	/* One per box, null where the slider was left alone. */
	conf_answer("[[1,1,5,5],[10,10,5,5],[20,20,5,5]]", "[80,null,0]",
		    ANSWER_OK, &a);
	assert_int_equal(a.nboxes, 3);
	assert_non_null(a.confidence);
	assert_int_equal(a.confidence[0], 80);
	assert_int_equal(a.confidence[1], -1);
	assert_int_equal(a.confidence[2], 0);
	answer_cleanup(&a);
	/* A box outside the image is dropped with its confidence. */
	conf_answer("[[500,500,5,5],[10,10,5,5]]", "[10,90]", ANSWER_OK, &a);
	assert_int_equal(a.nboxes, 1);
	assert_int_equal(a.ndropped, 1);
	assert_int_equal(a.confidence[0], 90);
	answer_cleanup(&a);
	conf_answer("[]", "[]", ANSWER_OK, &a);
	assert_int_equal(a.nboxes, 0);
	answer_cleanup(&a);
	/* Everything else is a bad answer, never half-read. */
	conf_answer("[[1,1,5,5]]", "[80,90]", ANSWER_BAD_CONFIDENCE, &a);
	conf_answer("[[1,1,5,5]]", "[]", ANSWER_BAD_CONFIDENCE, &a);
	conf_answer("[[1,1,5,5]]", "[101]", ANSWER_BAD_CONFIDENCE, &a);
	conf_answer("[[1,1,5,5]]", "[-1]", ANSWER_BAD_CONFIDENCE, &a);
	conf_answer("[[1,1,5,5]]", "[50.5]", ANSWER_BAD_CONFIDENCE, &a);
	conf_answer("[[1,1,5,5]]", "[\"80\"]", ANSWER_BAD_CONFIDENCE, &a);
	conf_answer("[[1,1,5,5]]", "{\"0\":80}", ANSWER_BAD_CONFIDENCE, &a);
	conf_answer("[[1,1,5,5]]", "", ANSWER_BAD_CONFIDENCE, &a);
	/* Bad boxes are reported as such, whatever the confidence says. */
	conf_answer("{}", "[1]", ANSWER_BAD_BOXES, &a);
	assert_string_equal(answer_error_str(ANSWER_BAD_CONFIDENCE),
			    "bad_confidence");
}

static void
test_error_names(void **state)
{
	(void)state;
	assert_string_equal(answer_error_str(ANSWER_OK), "ok");
	assert_string_equal(answer_error_str(ANSWER_TOO_MANY_BOXES),
			    "too_many_boxes");
	assert_string_equal(answer_error_str(ANSWER_DTD), "dtd");
	answer_cleanup(NULL);
}

/* A fixed-seed generator: the same mutations on every run. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Mutation replay (the fuzz corpus of style.md 13d, run as a regression
 * test): every fixture, bytes flipped, inserted, deleted, truncated.  Each
 * result must be a clean IF_OK or a typed IF_EINPUT with nothing half-read;
 * under ASan any memory error fails the suite.
 */
static void
test_mutations(void **state)
{
	static const char *const seeds[] = {
		"valid_ascii.xml",	  "valid_utf8_pretty.xml",
		"boxes_outside.xml",	  "empty_feedback.xml",
		"billion_laughs.xml",	  "xxe_passwd.xml",
		"wrong_type_object.xml", "duplicate_boxes.xml",
	};
	static const char alphabet[] = "<>&;#[]{},\"'/=!?-0123456789 \n\x80"
				       "\xC3\xFF";
	uint64_t rng = 0x9E3779B97F4A7C15ULL;
	size_t nok = 0, nbad = 0;

	(void)state;
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		size_t len = 0;
		char *orig = fixture(seeds[s], &len);

		for (int m = 0; m < 300; m++) {
			char *x = malloc(len + 8);
			size_t xl = len;
			int edits = 1 + (int)(next_rand(&rng) % 4);
			struct answer a;
			enum answer_error why = ANSWER_OK;
			struct errbuf eb = {0};
			int rc;

			assert_non_null(x);
			memcpy(x, orig, len);
			for (int e = 0; e < edits && xl > 0; e++) {
				size_t at = next_rand(&rng) % xl;
				char c = alphabet[next_rand(&rng) %
						  (sizeof(alphabet) - 1)];

				switch (next_rand(&rng) % 4) {
				case 0:
					x[at] = c;
					break;
				case 1:
					if (xl < len + 4) {
						memmove(x + at + 1, x + at,
							xl - at);
						x[at] = c;
						xl++;
					}
					break;
				case 2:
					memmove(x + at, x + at + 1,
						xl - at - 1);
					xl--;
					break;
				default:
					xl = at;
					break;
				}
			}
			rc = answer_parse(x, xl, IMG_W, IMG_H, &a, &why, &eb);
			if (rc == IF_OK) {
				assert_int_equal(why, ANSWER_OK);
				assert_non_null(a.feedback);
				assert_true(a.nboxes <= ANSWER_MAX_BOXES);
				for (size_t i = 0; i < a.nboxes; i++) {
					assert_true(a.boxes[i].x >= 0 &&
						    a.boxes[i].w > 0 &&
						    a.boxes[i].x +
							    a.boxes[i].w <=
							    IMG_W);
					assert_true(a.boxes[i].y >= 0 &&
						    a.boxes[i].h > 0 &&
						    a.boxes[i].y +
							    a.boxes[i].h <=
							    IMG_H);
				}
				nok++;
			} else {
				assert_int_equal(rc, IF_EINPUT);
				assert_int_not_equal(why, ANSWER_OK);
				assert_null(a.boxes);
				assert_null(a.feedback);
				nbad++;
			}
			answer_cleanup(&a);
			free(x);
		}
		free(orig);
	}
	print_message("# mutations: %zu parsed, %zu refused\n", nok, nbad);
	/* Both outcomes occur, or the mutations test nothing. */
	assert_true(nok > 0 && nbad > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_fixtures),
		cmocka_unit_test(test_valid_fixtures),
		cmocka_unit_test(test_boxes_clipped),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_format_exact),
		cmocka_unit_test(test_format_refusals),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_confidence),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
