# pqfeed build. `make` builds build/pqfeed, the library and the tests;
# `make asan` the same under AddressSanitizer + UndefinedBehaviorSanitizer in
# build-asan/; `make test` runs the whole suite (see tests/run.sh).
# Sources are found by wildcard: a new src/<module>/*.c, cli/*.c,
# tests/unit/test_*.c or fuzz/fuzz_*.c needs no edit here.

BUILD    ?= build
CC       ?= cc
PKGS     := libzstd liblz4 zlib libcurl expat openssl yaml-0.1 libbrotlienc libbrotlidec \
            sqlite3 libpq libxxhash libisal
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lsnappy -lpthread -lm

OPT      ?= -O3 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter -Wvla -Wformat=2

# The release build ($(BUILD) without a sanitizer) is optimised across files
# and by profile. LTO=1: link-time optimisation of build/pqfeed (the objects
# are fat, so the test programs link them without it). PGO=1: an instrumented
# pqfeed is built in $(BUILD)/pgo/ and runs scripts/pgo-train.sh; the counts
# it leaves are copied next to $(BUILD)/obj's objects, which are compiled
# with -fprofile-use. Any source change redoes the training. PGO=0 LTO=0 give
# the plain -O3 build (quicker to rebuild; docs/BENCHMARKS.md compares them).
ifeq ($(SAN),)
LTO      ?= 1
PGO      ?= 1
endif
ifeq ($(LTO),1)
OPT_LTO  := -flto=auto -ffat-lto-objects
endif
ifeq ($(PGO),1)
PGO_STAMP := $(BUILD)/pgo/profile.stamp
OPT_PGO  := -fprofile-use -Wno-missing-profile
endif
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(OPT_LTO) $(OPT_PGO) $(WARN) $(SAN) -Iinclude -Isrc $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS_ALL = $(SAN) $(EXTRA_LDFLAGS)
# The link-time code generation sees every function inlined into every other:
# -Wmaybe-uninitialized, which each file's own compile (and the sanitizer
# build) checks as an error, is off there, where its guesses across files
# are known to be false (a variable set through a pointer on every path that
# reads it).
ifeq ($(LTO),1)
LDFLAGS_CLI = -flto=auto $(OPT) $(OPT_PGO) $(WARN) -Wno-maybe-uninitialized
LDFLAGS_TEST = -fno-lto
endif

LIB_SRC  := $(sort $(wildcard src/*/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
REPLAY_BIN := $(FUZZ_SRC:fuzz/fuzz_%.c=$(BUILD)/fuzz/replay_%)
LIB      := $(BUILD)/libpqfeed.a
HDRS     := $(wildcard include/pqfeed/*.h src/*/*.h cli/*.h)

# Objects are rebuilt when the flags change (PGO=0 after PGO=1, say), not only
# when their sources do.
FLAGS_FILE := $(BUILD)/obj/flags
$(shell mkdir -p $(BUILD)/obj; echo '$(CFLAGS_ALL)' | cmp -s - $(FLAGS_FILE) || echo '$(CFLAGS_ALL)' >$(FLAGS_FILE))

.PHONY: all asan test test-quick fuzz soak bench clean deps format demo print-cflags print-libs
all: $(BUILD)/pqfeed $(UNIT_BIN) $(REPLAY_BIN)

# For programs built outside this Makefile against build/libpqfeed.a (bench/*.sh).
print-cflags:
	@echo $(PKG_CFLAGS)
print-libs:
	@echo $(PKG_LIBS) $(LDFLAGS_TEST)

$(BUILD)/obj/%.o: %.c $(FLAGS_FILE) $(PGO_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The profile: rebuilt (and with it every object) when a source, header or
# the training changes. The instrumented objects are built where the final
# ones go ($(BUILD)/obj): GCC tells a static function's counts by its
# object's path, so the counts must come from the same path.
$(PGO_STAMP): $(LIB_SRC) $(CLI_SRC) $(HDRS) scripts/pgo-train.sh
	find $(BUILD)/obj -name '*.gcda' -delete
	$(MAKE) PGO=0 LTO=0 OPT="$(OPT) -fprofile-generate -fprofile-update=single" \
	  EXTRA_LDFLAGS=-fprofile-generate $(BUILD)/pqfeed
	scripts/pgo-train.sh $(BUILD)/pqfeed $(BUILD)/pgo/train
	@mkdir -p $(dir $@)
	echo '$(CFLAGS_ALL)' >$(FLAGS_FILE)
	touch $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/pqfeed: $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS_ALL) $(LDFLAGS_CLI) -o $@ $(CLI_OBJ) $(LIB) $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $(LDFLAGS_TEST) -o $@ $< $(LIB) $(PKG_LIBS) -lcmocka

# Fuzz targets built without libFuzzer: a regression driver replays corpora.
$(BUILD)/fuzz/replay_%: $(BUILD)/obj/fuzz/fuzz_%.o $(BUILD)/obj/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $(LDFLAGS_TEST) -o $@ $^ $(PKG_LIBS)

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all

# libFuzzer builds (clang): build-fuzz/fuzz_<name>; run with `make fuzz FUZZ_SECONDS=600`.
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

test:
	tests/run.sh

test-quick:
	PQF_QUICK=1 tests/run.sh

deps:
	scripts/deps.sh

bench:
	bench/run.sh

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(UNIT_SRC) $(wildcard include/pqfeed/*.h src/*/*.h cli/*.h)

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# The main job on the embedded default (see README).
demo:
	scripts/demo.sh
