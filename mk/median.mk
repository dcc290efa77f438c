# imaging/median.c passes 32-byte vectors between static inline functions;
# GCC's note that their ABI differs with and without AVX does not apply to
# functions that never cross a call boundary (see the pragma there), and
# -Wno-psabi is the only way to silence the note itself.
CFLAGS_imaging_median += -Wno-psabi
