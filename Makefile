# bt86: build the VMM, its tests and the sample guests.  See README.md.

CC      := gcc
BUILD   := build
CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -fno-strict-aliasing \
           -Ivmm/include -Ibt/include -Imonitor/include -Ishadowmmu/include
LDLIBS  := -lZydis -lZycore -ldwarf -lelf -lm -lrt

LIB_SRCS := $(filter-out vmm/main.c,$(wildcard vmm/*.c vmm/hw/*.c vmm/loader/*.c \
              monitor/*.c bt/*.c shadowmmu/*.c))
LIB_ASM  := $(wildcard monitor/*.S bt/*.S)
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS)) \
            $(patsubst %.S,$(BUILD)/obj/%.o,$(LIB_ASM))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

HOSTILE     := $(patsubst tests/hostile/%.c,$(BUILD)/hostile/%.elf,$(wildcard tests/hostile/*.c))

.PHONY: all deps run test unit bench clean test-kmod
all: $(BUILD)/bt86 $(UNIT_BINS) samples $(HOSTILE)

include samples/samples.mk
-include samples/bench/bench.mk
-include samples/paging/paging.mk

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libbt86.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bt86: $(BUILD)/obj/vmm/main.o $(BUILD)/libbt86.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/check.h $(BUILD)/libbt86.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libbt86.a $(LDLIBS)

# Hostile guests (tests/hostile): built like the samples, on the same runtime.
$(BUILD)/hostile/%.elf: tests/hostile/%.c tests/hostile/hostile.h $(GUEST_BUILD)/obj/lib/crt0.o \
		$(GUEST_LIB) $(GUEST_LDS)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_FPFLAGS) -Itests/hostile -c $< -o $(@:.elf=.o)
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_BUILD)/obj/lib/crt0.o $(@:.elf=.o) $(GUEST_LIB)

# Install missing Debian packages (silent when all are present).
deps:
	@bash .ci/deps.sh

# The demo leaves through the exit port with 0: bt86's status 1 is success.
run: deps
	@$(MAKE) --no-print-directory all
	@$(BUILD)/bt86 run --stats samples/build/demo.elf; st=$$?; \
	 if [ $$st -ne 1 ]; then echo "make run: demo ended with status $$st"; exit 1; fi

test: deps
	@$(MAKE) --no-print-directory all
	@bash tests/run.sh

# bt86.ko inside qemu-system-x86_64 (TCG); also part of `make test`.
test-kmod: deps
	@bash tests/suite-kmod.sh

unit: $(UNIT_BINS)
	@bash tests/run.sh --unit-only

bench: deps
	@$(MAKE) --no-print-directory all
	@bash tests/bench.sh
	@bash tests/bench-paging.sh
	@bash tests/suite-btkmod.sh --bench

clean:
	rm -rf $(BUILD) samples/build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
