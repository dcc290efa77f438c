# IntoFocus - one plain Makefile.
#
#   make            build/intofocus
#   make demo       install missing packages, build, run the demo experiment
#   make test       install missing packages, build, run every suite;
#                   ends with "N passed, N failed"
#   make test SANITIZE=address,undefined   the same suite under sanitizers
#   make asan       shorthand for the line above
#   make bench      speed figures against a baseline measured in the same run
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS (10) each (clang)
#   make valgrind   the unit suites, corpus replays and e2e under valgrind
#   make install    PREFIX=/usr/local DESTDIR=
#
# Every dependency comes from Debian and is found with pkg-config.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
CXX ?= c++
PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3

PKGS := libcurl openssl libxml-2.0 libturbojpeg libjpeg yaml-0.1 jansson sqlite3 \
	libmicrohttpd libpng libsystemd
# pkg-config opencv4 (below) gives the face detector its flags.

ifneq ($(SANITIZE),)
BUILD ?= build/san
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
OPT ?= -O1
else
BUILD ?= build
SAN_FLAGS :=
OPT ?= -O2
endif

WARNINGS := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
	-Wshadow -Wpointer-arith -Wcast-qual -Wformat=2 -Wvla

PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# The face detector (imaging/face_detect.cc) is OpenCV's; its cascades come
# from opencv-data under the package's prefix.
# -isystem: OpenCV's own headers do not pass our warnings.
OPENCV_CFLAGS = $(patsubst -I%,-isystem %,\
	$(shell $(PKG_CONFIG) --cflags opencv4 2>/dev/null))
OPENCV_LIBS = $(shell $(PKG_CONFIG) --libs opencv4 2>/dev/null)
CASCADE_DIR ?= $(shell $(PKG_CONFIG) --variable=prefix opencv4 \
	2>/dev/null)/share/opencv4/haarcascades
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

CPPFLAGS += -I. -D_POSIX_C_SOURCE=200809L -DINTOFOCUS_VERSION=\"$(VERSION)\" \
	-DFACE_CASCADE_DIR=\"$(CASCADE_DIR)\"
CFLAGS ?= $(OPT) -g
CFLAGS += -std=c11 -pthread $(WARNINGS) -fstack-protector-strong $(SAN_FLAGS)
LDFLAGS += -pthread $(SAN_FLAGS)
CXXFLAGS ?= $(OPT) -g
CXXFLAGS += -std=c++17 -pthread -Wall -Wextra -Werror -Wshadow \
	-Wpointer-arith -Wcast-qual -Wformat=2 -fstack-protector-strong \
	$(SAN_FLAGS)
# --as-needed: of the modules pkg-config lists, only those used are loaded.
LDLIBS += $(PKG_LIBS) -Wl,--as-needed $(OPENCV_LIBS) -Wl,--no-as-needed \
	-lstdc++ -lm

LIB_SRCS := $(filter-out daemon/main.c, \
	$(wildcard common/*.c imaging/*.c mturk/*.c sim/*.c config/*.c \
		daemon/*.c prolific/*.c))
LIB_CXX_SRCS := $(wildcard imaging/*.cc)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(LIB_CXX_SRCS:%.cc=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/daemon/main.o
LIB := $(BUILD)/libintofocus.a
BIN := $(BUILD)/intofocus

TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_SUPPORT_SRCS := $(wildcard tests/support/*.c)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/%.o)
# Fakes the e2e suites run as processes of their own (not suites).
TEST_FAKE_SRCS := $(wildcard tests/fakes/*.c)
TEST_FAKE_BINS := $(TEST_FAKE_SRCS:tests/fakes/%.c=$(BUILD)/fakes/%)

# Fuzz harnesses: replayed over their corpus by make test (fuzzreplay_X),
# run by libFuzzer under make fuzz (see tests/fuzz/run.sh).
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(BUILD)/tests/fuzzreplay_%)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 10
FUZZ_CC ?= clang
FUZZ_CXX ?= clang++

BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

# Per-file extra flags (e.g. the vectorised median filter).
-include mk/*.mk

.PHONY: chaos all deps deps-test deps-demo demo test asan bench install uninstall \
	clean check-style tests-build fuzz fuzz-build valgrind
.DEFAULT_GOAL := all

all: $(BIN)

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(LDLIBS)

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CFLAGS_$(subst /,_,$*)) $(PKG_CFLAGS) \
		$(CMOCKA_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.cc
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(OPENCV_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(TEST_SUPPORT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< \
		$(TEST_SUPPORT_OBJS) $(LIB) $(LDFLAGS) $(LDLIBS) $(CMOCKA_LIBS)

$(BUILD)/fakes/%: tests/fakes/%.c $(LIB) $(TEST_SUPPORT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< \
		$(TEST_SUPPORT_OBJS) $(LIB) $(LDFLAGS) $(LDLIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/fuzzreplay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c \
		$(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< \
		tests/fuzz/replay_main.c $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(LIB) $(LDFLAGS) $(FUZZ_LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) \
		$(LDFLAGS) $(LDLIBS)

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_SUPPORT_OBJS:.o=.d)

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench
deps-demo:
	@scripts/deps.sh demo
deps-fuzz:
	@scripts/deps.sh fuzz
deps-valgrind:
	@scripts/deps.sh valgrind

tests-build: $(BIN) $(TEST_BINS) $(FUZZ_REPLAY_BINS) $(TEST_FAKE_BINS)

# The dependency step runs first and alone; then the build, then the suite.
test: deps-test
	@$(MAKE) --no-print-directory tests-build
	@BUILD=$(BUILD) PYTHON=$(PYTHON) tests/run.sh

asan:
	@$(MAKE) --no-print-directory test SANITIZE=address,undefined

# The library is rebuilt by clang with coverage for libFuzzer, in its own
# build directory; new inputs go to build/fuzz/corpus, never to the seeds.
# clang's -Wformat=2 also flags vsnprintf(fmt) inside printf-like wrappers,
# which GCC accepts through their format attribute.  The harnesses are C,
# linked by clang, but the face detector is C++ built with UBSan's vptr
# checks, whose runtime only the C++ driver brings in by itself.
fuzz: deps-fuzz
	@$(MAKE) --no-print-directory fuzz-build CC=$(FUZZ_CC) CXX=$(FUZZ_CXX) \
		BUILD=build/fuzz \
		SANITIZE=fuzzer-no-link,address,undefined \
		FUZZ_LDFLAGS=-fsanitize-link-c++-runtime \
		WARNINGS="$(WARNINGS) -Wno-format-nonliteral"
	@BUILD=build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

fuzz-build: $(FUZZ_BINS)

# Unsanitized -O1 build; every test binary and every intofocus the e2e
# suites start runs under valgrind (tests/valgrind.sh).
# The full chaos run (issue 9): 20 images, 20 seeded SIGKILLs, 20% faults.
chaos: deps-test
	@$(MAKE) --no-print-directory $(BIN)
	@BUILD=$(BUILD) PYTHON=$(PYTHON) TOP=$(CURDIR) \
		INTOFOCUS=$(CURDIR)/$(BIN) sh tests/chaos.sh 20 20 0.2 42

valgrind: deps-valgrind
	@$(MAKE) --no-print-directory tests-build BUILD=build/vg OPT=-O1
	@BUILD=build/vg PYTHON=$(PYTHON) tests/valgrind.sh

demo: deps-demo
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/demo.sh

bench: deps-bench
	@$(MAKE) --no-print-directory $(BIN) $(BENCH_BINS)
	@BUILD=$(BUILD) PYTHON=$(PYTHON) tests/bench/run.sh

check-style:
	@scripts/check-style.sh
	@scripts/check-paths.sh

# The binary, the unit, the man pages and the example experiment; never an
# operator's file (see scripts/install.sh).
install: $(BIN)
	@DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" BIN="$(BIN)" scripts/install.sh install

uninstall:
	@DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" scripts/install.sh uninstall

clean:
	rm -rf build
