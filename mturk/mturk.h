/*
 * mturk/mturk.h - everything that talks to Mechanical Turk and to image
 * hosting, and the MTurk-compatible simulator (spec sections 5, 6, 7).
 *
 * Sections below are grouped by the .c file that defines them.
 */
#ifndef INTOFOCUS_MTURK_H
#define INTOFOCUS_MTURK_H

#include "common/common.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ==== sigv4.c: the pure SigV4 signer ==================================== */

/* ==== credentials.c: the credentials chain ============================== */

/* ==== answer.c: QuestionFormAnswers XML ================================= */

/* ==== http.c, api.c, errors.c, ops.c: the API client ==================== */

/* ==== image_host.c: stage image hosting ================================= */

/* ==== task_page.c: the worker task page (HTMLQuestion) ================== */

/* ==== sim_*.c: the simulator ============================================ */

#endif /* INTOFOCUS_MTURK_H */
