/*
 * tests/fuzz/fuzz.h - the one entry point every harness defines.
 *
 * Built two ways (issue 9): with clang -fsanitize=fuzzer the libFuzzer
 * runtime supplies main(); otherwise replay_main.c does, and runs the
 * harness over each file of a seed corpus so that `make test` replays
 * every seed and every past crasher.
 */
#ifndef INTOFOCUS_FUZZ_H
#define INTOFOCUS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* INTOFOCUS_FUZZ_H */
