# Sample guests: freestanding i386 Multiboot kernels built into samples/build/NAME.elf.
#
# Each sample lives in samples/NAME/ with a main.c; a sample that needs more
# objects adds a plain prerequisite line, e.g.
#   samples/build/foo.elf: samples/build/obj/foo/entry.o
# The guest runtime (samples/lib) is archived once and linked into every sample.

SAMPLES := hello pit_pic rtc uart cmos_mem redpill exceptions rings timer smc difftest demo ide segload

GUEST_CC      := gcc
GUEST_BUILD   := samples/build
GUEST_LDS     := samples/lib/link.ld
# No FPU/SSE code in the runtime, so trap handlers never clobber guest FP
# state; a sample that wants FP overrides GUEST_FPFLAGS for its objects.
GUEST_FPFLAGS := -mgeneral-regs-only
GUEST_CFLAGS  := -m32 -march=i686 -ffreestanding -fno-pie -fno-stack-protector \
                 -fno-asynchronous-unwind-tables -fcf-protection=none \
                 -O2 -g -Wall -Wextra -Werror -std=gnu11 -Isamples/lib
GUEST_LDFLAGS := -m32 -no-pie -nostdlib -static -Wl,--build-id=none \
                 -Wl,-z,max-page-size=0x1000 -Wl,-T,$(GUEST_LDS)

GUEST_LIB_SRCS := $(filter-out samples/lib/crt0.S,$(wildcard samples/lib/*.c samples/lib/*.S))
GUEST_LIB_OBJS := $(patsubst samples/%,$(GUEST_BUILD)/obj/%.o,$(basename $(GUEST_LIB_SRCS)))
GUEST_LIB      := $(GUEST_BUILD)/libguest.a
SAMPLE_ELFS    := $(patsubst %,$(GUEST_BUILD)/%.elf,$(SAMPLES))

.PHONY: samples
samples: $(SAMPLE_ELFS)

$(GUEST_BUILD)/obj/%.o: samples/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_FPFLAGS) -MMD -MP -c $< -o $@

$(GUEST_BUILD)/obj/%.o: samples/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

# Stop gcc from turning the loops in memset/memcpy into calls to themselves.
$(GUEST_BUILD)/obj/lib/string.o: GUEST_CFLAGS += -fno-tree-loop-distribute-patterns

$(GUEST_LIB): $(GUEST_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# crt0 is linked first by name: its _start must not depend on archive order.
$(GUEST_BUILD)/%.elf: $(GUEST_BUILD)/obj/%/main.o $(GUEST_BUILD)/obj/lib/crt0.o \
		$(GUEST_LIB) $(GUEST_LDS)
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_BUILD)/obj/lib/crt0.o \
		$(filter-out %/crt0.o,$(filter %.o,$^)) $(GUEST_LIB)

# Keep objects make would otherwise treat as intermediate and delete.
.SECONDARY: $(patsubst %,$(GUEST_BUILD)/obj/%/main.o,$(SAMPLES))

-include $(wildcard $(GUEST_BUILD)/obj/*/*.d)

# difftest: ops.c is built twice, for the guest and as a 32-bit Linux program
# whose output (the natively computed checksums) becomes a header for the
# guest.  Both builds use the same code-generation flags; ops.c uses x87/SSE.
DT_FPFLAGS := -msse2
DT_GEN     := $(GUEST_BUILD)/gen
$(GUEST_BUILD)/difftest-host: samples/difftest/host.c samples/difftest/ops.c samples/difftest/ops.h
	@mkdir -p $(dir $@)
	gcc -m32 -march=i686 $(DT_FPFLAGS) -O2 -fno-pie -no-pie -fno-stack-protector \
		-fcf-protection=none -Wall -Wextra -Werror -std=gnu11 -Isamples/difftest \
		-o $@ samples/difftest/host.c samples/difftest/ops.c
$(DT_GEN)/difftest_expected.h: $(GUEST_BUILD)/difftest-host
	@mkdir -p $(dir $@)
	$< >$@.tmp && mv $@.tmp $@
$(GUEST_BUILD)/obj/difftest/ops.o: GUEST_FPFLAGS := $(DT_FPFLAGS)
$(GUEST_BUILD)/obj/difftest/main.o: GUEST_CFLAGS += -I$(DT_GEN)
$(GUEST_BUILD)/obj/difftest/main.o: $(DT_GEN)/difftest_expected.h
$(GUEST_BUILD)/difftest.elf: $(GUEST_BUILD)/obj/difftest/ops.o
