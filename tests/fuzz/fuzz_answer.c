/*
 * tests/fuzz/fuzz_answer.c - answer_parse() (mturk/answer.c, spec section
 * 4): a worker's QuestionFormAnswers XML with the boxes JSON inside it,
 * the one input that comes straight from strangers.
 *
 * Beyond "does not crash", it checks the promises the daemon relies on: a
 * failed parse leaves the answer empty, and every kept box is non-empty
 * and inside the image.
 */
#include "tests/fuzz/fuzz.h"

#include "mturk/mturk.h"

#include <stdlib.h>

#define IMG_W 500
#define IMG_H 400

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct answer a;
	struct errbuf eb;
	enum answer_error why;
	int rc;

	answer_init(&a);
	err_init(&eb);
	rc = answer_parse((const char *)data, size, IMG_W, IMG_H, &a, &why,
			  &eb);
	if (rc != IF_OK && (a.nboxes != 0 || a.boxes != NULL))
		abort(); /* "an answer is never half-read" */
	for (size_t i = 0; rc == IF_OK && i < a.nboxes; i++) {
		const struct box *b = &a.boxes[i];

		if (b->w <= 0 || b->h <= 0 || b->x < 0 || b->y < 0 ||
		    b->x + b->w > IMG_W || b->y + b->h > IMG_H)
			abort(); /* a box escaped the clipping */
	}
	if (rc == IF_OK && a.feedback == NULL)
		abort();
	answer_cleanup(&a);
	return 0;
}
