# stepper - a plain Makefile.
#
#   make            libstepper (static and shared), headers, the stepper CLI
#   make test       every test suite (installs missing dependencies first)
#   make bench      benchmarks, as ratios against baselines of the same run
#   make demo       the bank-transfer example
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean
#   SAN=address|undefined|thread   sanitizer build (in build/san-$(SAN))
#   V=1             show full commands

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
SAN     ?=
V       ?= 0

VERSION := 0.1.0
SOMAJOR := 0

ifeq ($(SAN),)
B := build
SANFLAGS :=
else ifeq ($(SAN),address)
B := build/san-address
SANFLAGS := -fsanitize=address -fno-omit-frame-pointer
else ifeq ($(SAN),undefined)
B := build/san-undefined
SANFLAGS := -fsanitize=undefined -fno-sanitize-recover=all
else ifeq ($(SAN),thread)
B := build/san-thread
SANFLAGS := -fsanitize=thread
else
$(error SAN must be address, undefined or thread (got '$(SAN)'))
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
           -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
ALLCFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -pthread \
            -MMD -MP -I$(B)/include
LDFLAGS ?=
LIBS    = $(JANSSON_LIBS) -pthread

# Evaluated when used, after the dependency check has run.
JANSSON_CFLAGS = $(shell pkg-config --cflags jansson 2>/dev/null)
JANSSON_LIBS   = $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)
CMOCKA_CFLAGS  = $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS    = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

MODULES     := stepper/base stepper stepper/wire scheduler probe barrier traces
PUB_HEADERS := $(wildcard stepper/base/error.h stepper/stepper.h scheduler/clock.h \
                 probe/probe.h probe/io.h barrier/barrier.h traces/trace.h)
STAGED      := $(addprefix $(B)/include/stepper/,$(notdir $(PUB_HEADERS)))
CLI_SRCS    := $(wildcard stepper/cli/*.c)
LIB_SRCS    := $(filter-out $(CLI_SRCS),$(wildcard $(addsuffix /*.c,$(MODULES))))
LIB_OBJS    := $(LIB_SRCS:%.c=$(B)/obj/%.o)
CLI_OBJS    := $(CLI_SRCS:%.c=$(B)/obj/%.o)

# The preload for unmodified programs (stepper run --auto): one copy of the
# core plus stepper/auto, not part of libstepper.
AUTO_SRCS := $(wildcard stepper/auto/*.c)
AUTO_OBJS := $(AUTO_SRCS:%.c=$(B)/obj/%.o)
AUTO_LIB  := $(B)/lib/libstepper-auto.so

STATIC  := $(B)/lib/libstepper.a
SONAME  := libstepper.so.$(SOMAJOR)
SHARED  := $(B)/lib/libstepper.so.$(VERSION)
CLI     := $(B)/bin/stepper

TEST_SRCS  := $(wildcard tests/test_*.c)
TEST_BINS  := $(TEST_SRCS:tests/%.c=$(B)/tests/%)
TPROG_SRCS := $(wildcard tests/progs/*.c)
TPROG_BINS := $(TPROG_SRCS:tests/progs/%.c=$(B)/tests/progs/%)
# Unmodified pthread programs (tests/auto): plain cc -pthread, no stepper.
AUTOP_SRCS := $(wildcard tests/auto/*.c)
AUTOP_BINS := $(AUTOP_SRCS:tests/auto/%.c=$(B)/tests/auto/%)
# ...and in C++ (std::thread and friends), when a C++ compiler is there
# (test_auto skips them otherwise).
AUTOP_CXX_SRCS := $(wildcard tests/auto/*.cc)
AUTOP_BINS += $(if $(shell command -v $(CXX) 2>/dev/null),$(AUTOP_CXX_SRCS:tests/auto/%.cc=$(B)/tests/auto/%))
EX_SRCS    := $(wildcard tests/examples/*.c)
EX_BINS    := $(EX_SRCS:tests/examples/%.c=$(B)/examples/%)
BENCH_BIN  := $(B)/bench/bench
# The zoo of bugs (tests/bugs): linked into test_zoo and the bench.
ZOO_SRCS   := $(wildcard tests/bugs/*.c)
ZOO_OBJS   := $(ZOO_SRCS:tests/bugs/%.c=$(B)/zoo/%.o)

# The library needs pkg-config and jansson; the tests also need cmocka,
# curl and python3. When the goals include a test target, one check
# installs everything at once (a single apt-get update).
LIB_DEPS   := pkg-config:cmd jansson:pc
TEST_DEPS  := cmocka:pc curl:cmd python3:cmd
ifneq ($(filter test check,$(MAKECMDGOALS)),)
LIB_DEPS   += $(TEST_DEPS)
endif
DEPS_STAMP := build/.deps-lib-ok
TDEPS_STAMP := build/.deps-test-ok

.PHONY: all deps test bench demo install uninstall clean headers

all: $(STATIC) $(B)/lib/libstepper.so $(AUTO_LIB) $(CLI) $(B)/stepper.pc

# ---------------------------------------------------------------------------
# Dependencies: install what is missing (apt-get as root), or say how.

deps: $(DEPS_STAMP) $(TDEPS_STAMP)

# $(call need,NAME:KIND ...): KIND pc is a pkg-config module (Debian's
# lib<name>-dev), cmd a command (the package of that name).
need = missing=""; \
	for d in $(1); do \
	  name=$${d%%:*}; kind=$${d\#*:}; \
	  if [ "$$kind" = pc ]; then \
	    command -v pkg-config >/dev/null 2>&1 && \
	      pkg-config --exists "$$name" 2>/dev/null || missing="$$missing lib$$name-dev"; \
	  else \
	    command -v "$$name" >/dev/null 2>&1 || missing="$$missing $$name"; \
	  fi; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "stepper: installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "stepper: missing:$$missing"; \
	    echo "stepper: run: sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

$(DEPS_STAMP):
	$(Q)$(call need,$(LIB_DEPS))
	$(Q)mkdir -p $(@D) && touch $@

$(TDEPS_STAMP): $(DEPS_STAMP)
	$(Q)$(call need,$(TEST_DEPS))
	$(Q)mkdir -p $(@D) && touch $@

# ---------------------------------------------------------------------------
# Library, headers, CLI

headers: $(STAGED)

$(B)/include/stepper/%.h: stepper/base/%.h
	$(Q)mkdir -p $(@D) && cp $< $@
$(B)/include/stepper/%.h: stepper/%.h
	$(Q)mkdir -p $(@D) && cp $< $@
$(B)/include/stepper/%.h: scheduler/%.h
	$(Q)mkdir -p $(@D) && cp $< $@
$(B)/include/stepper/%.h: probe/%.h
	$(Q)mkdir -p $(@D) && cp $< $@
$(B)/include/stepper/%.h: barrier/%.h
	$(Q)mkdir -p $(@D) && cp $< $@
$(B)/include/stepper/%.h: traces/%.h
	$(Q)mkdir -p $(@D) && cp $< $@

# The layering, enforced: each module's objects see the public headers
# (<stepper/...h>), the base, their own folder, and the folders below them
# that they are allowed to use, and nothing else, so an include that runs
# the wrong way does not build (README: how the code is laid out).
INC_BASE      := -Istepper/base
INC_stepper   := -Istepper -Istepper/base
INC_wire      := -Istepper/wire -Istepper -Istepper/base -Itraces -Ischeduler
INC_scheduler := -Ischeduler -Istepper/base
INC_traces    := -Itraces -Istepper -Istepper/base
INC_probe     := -Iprobe -Istepper/base
INC_barrier   := -Ibarrier -Istepper/base
INC_cli       := -Istepper/cli -Istepper/base
$(B)/obj/stepper/base/%.o: INC := $(INC_BASE)
$(B)/obj/stepper/%.o:      INC := $(INC_stepper)
$(B)/obj/stepper/wire/%.o: INC := $(INC_wire)
$(B)/obj/scheduler/%.o:    INC := $(INC_scheduler)
$(B)/obj/traces/%.o:       INC := $(INC_traces)
$(B)/obj/probe/%.o:        INC := $(INC_probe)
$(B)/obj/barrier/%.o:      INC := $(INC_barrier)
$(CLI_OBJS):               INC := $(INC_cli)
$(AUTO_OBJS):              INC := -Istepper/auto -Istepper -Istepper/base

$(B)/obj/%.o: %.c $(STAGED) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALLCFLAGS) -fPIC -fvisibility=hidden $(JANSSON_CFLAGS) \
	  $(INC) -c $< -o $@

$(STATIC): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(ALLCFLAGS) -shared -Wl,-soname,$(SONAME) -o $@ $^ \
	  $(LDFLAGS) $(LIBS)

$(AUTO_LIB): $(LIB_OBJS) $(AUTO_OBJS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(ALLCFLAGS) -shared -o $@ $^ $(LDFLAGS) -ldl $(LIBS)

$(B)/lib/libstepper.so: $(SHARED)
	$(Q)ln -sf libstepper.so.$(VERSION) $(B)/lib/$(SONAME)
	$(Q)ln -sf libstepper.so.$(VERSION) $@

$(CLI): $(CLI_OBJS) $(STATIC)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(ALLCFLAGS) -o $@ $(CLI_OBJS) $(STATIC) $(LDFLAGS) $(LIBS)

# Rewritten whenever its text changes (a new PREFIX), not only when the
# Makefile does: make install PREFIX=... after a plain make installs a .pc
# that names that prefix.
$(B)/stepper.pc: FORCE
	@mkdir -p $(@D)
	$(Q)printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' \
	  'includedir=$${prefix}/include' '' 'Name: stepper' \
	  'Description: controlled thread interleavings for testing concurrent C' \
	  'Version: $(VERSION)' 'Requires.private: jansson' \
	  'Libs: -L$${libdir} -lstepper -pthread' 'Cflags: -I$${includedir} -pthread' > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

.PHONY: FORCE
FORCE:

# ---------------------------------------------------------------------------
# Tests, examples, benchmarks

$(B)/tests/%: tests/%.c $(STATIC) $(STAGED) | $(TDEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALLCFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS) -Istepper -Itests $(TEST_INC) -o $@ $< \
	  $(EXTRA_OBJS) $(STATIC) $(LDFLAGS) $(CMOCKA_LIBS) $(LIBS)

$(B)/zoo/%.o: tests/bugs/%.c $(STAGED) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALLCFLAGS) -Itests/bugs -c $< -o $@

# Tests of internal calls (the core's points for the preload).
$(B)/tests/test_spawn: TEST_INC = -Istepper/base
$(B)/tests/test_prims: TEST_INC = -Istepper/base

$(B)/tests/test_zoo: $(ZOO_OBJS)
$(B)/tests/test_zoo: EXTRA_OBJS = $(ZOO_OBJS)

$(B)/tests/progs/%: tests/progs/%.c $(STATIC) $(STAGED) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALLCFLAGS) -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS)

$(B)/tests/auto/%: tests/auto/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -O1 -g $(SANFLAGS) -pthread -o $@ $<

$(B)/tests/auto/%: tests/auto/%.cc
	@mkdir -p $(@D)
	$(Q)$(CXX) -std=c++17 -Wall -Wextra -O1 -g $(SANFLAGS) -pthread -o $@ $<

$(B)/examples/%: tests/examples/%.c $(STATIC) $(STAGED) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALLCFLAGS) -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS)

$(BENCH_BIN): tests/bench/bench.c $(ZOO_OBJS) $(STATIC) $(STAGED) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALLCFLAGS) -O2 -Istepper -Istepper/base -Itests/bugs -o $@ $< $(ZOO_OBJS) \
	  $(STATIC) $(LDFLAGS) $(LIBS)

test: all $(TEST_BINS) $(TPROG_BINS) $(EX_BINS) $(AUTOP_BINS)
	$(Q)sh tests/check_exports.sh $(B)/lib/libstepper.so
	$(Q)$(if $(SAN),true,B=$(B) sh tests/check_install.sh)
	$(Q)$(if $(SAN),true,B=$(B) sh tests/check_deps.sh)
	$(Q)B=$(B) sh tests/check_runner.sh
	$(Q)B=$(B) sh tests/check_prototypes.sh
	$(Q)sh tests/check_sizes.sh
	$(Q)B=$(B) SAN=$(SAN) sh tests/run_tests.sh $(TEST_BINS)

bench: all $(BENCH_BIN) $(TPROG_BINS) $(AUTOP_BINS)
	$(Q)B=$(B) $(BENCH_BIN)

demo: all $(EX_BINS) $(B)/tests/auto/abba_bug
	$(Q)B=$(B) sh tests/examples/demo.sh

# ---------------------------------------------------------------------------
# Install

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/stepper \
	  $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(AUTO_LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libstepper.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf libstepper.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libstepper.so
	install -m 644 $(STAGED) $(DESTDIR)$(PREFIX)/include/stepper/
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(B)/stepper.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/include/stepper
	rm -f $(DESTDIR)$(PREFIX)/lib/libstepper.* $(DESTDIR)$(PREFIX)/lib/libstepper-auto.so \
	  $(DESTDIR)$(PREFIX)/bin/stepper \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/stepper.pc

clean:
	rm -rf build stepper-traces

-include $(shell find $(B) -name '*.d' 2>/dev/null)
