# Benchmark guests (samples/bench): each kernel as a Multiboot guest and as a 32-bit Linux program.
#
# Included by the top-level Makefile after samples/samples.mk, whose guest
# variables and rules it reuses.  For every kernel K in BENCHES:
#   samples/build/obj/bench/K.o     the kernel, compiled ONCE with BENCH_KFLAGS
#   samples/build/bench_K.elf       that object + guest_main.c + the guest runtime
#   samples/build/bench_K.native    that same object + native_main.c + glibc (i386)
# so guest and native run byte-identical kernel code.  `make bench-build` builds
# them all; tests/bench.sh times them (`make bench`).

BENCHES := sieve crc32 qsort matmul fib interp

BENCH_ELFS    := $(patsubst %,$(GUEST_BUILD)/bench_%.elf,$(BENCHES))
BENCH_NATIVES := $(patsubst %,$(GUEST_BUILD)/bench_%.native,$(BENCHES))
BENCH_KOBJS   := $(patsubst %,$(GUEST_BUILD)/obj/bench/%.o,$(BENCHES))

# Kernel flags = the samples' flags (-m32 -march=i686 -O2 -ffreestanding -fno-pie
# -mgeneral-regs-only ...), plus no loop-to-memset rewriting: the kernel must not
# call into a runtime, because the guest's memset and glibc's differ.
$(BENCH_KOBJS): GUEST_CFLAGS += -fno-tree-loop-distribute-patterns

# The native main is an ordinary hosted program; it only prints the result.
BENCH_NATIVE_CFLAGS := -m32 -O2 -std=gnu11 -Wall -Wextra -Werror -fno-pie
BENCH_NATIVE_LDFLAGS := -m32 -no-pie

.PHONY: bench-build
bench-build: $(BENCH_ELFS) $(BENCH_NATIVES)

# A kernel that calls out (memset, __udivdi3, ...) would run different code
# natively than in the guest: refuse to link it.
define bench_check_self_contained
	@if [ -n "$$(nm -u $(1))" ]; then \
		echo "$(1): the kernel calls outside itself: $$(nm -u $(1) | awk '{print $$2}' | tr '\n' ' ')" >&2; \
		exit 1; \
	fi
endef

$(BENCH_ELFS): $(GUEST_BUILD)/bench_%.elf: $(GUEST_BUILD)/obj/bench/%.o \
		$(GUEST_BUILD)/obj/bench/guest_main.o $(GUEST_BUILD)/obj/lib/crt0.o \
		$(GUEST_LIB) $(GUEST_LDS)
	$(call bench_check_self_contained,$<)
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_BUILD)/obj/lib/crt0.o \
		$(GUEST_BUILD)/obj/bench/guest_main.o $< $(GUEST_LIB)

$(BENCH_NATIVES): $(GUEST_BUILD)/bench_%.native: $(GUEST_BUILD)/obj/bench/%.o \
		$(GUEST_BUILD)/obj/bench-native/native_main.o
	$(call bench_check_self_contained,$<)
	$(GUEST_CC) $(BENCH_NATIVE_LDFLAGS) -o $@ $(GUEST_BUILD)/obj/bench-native/native_main.o $<

$(GUEST_BUILD)/obj/bench-native/native_main.o: samples/bench/native_main.c samples/bench/bench.h
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(BENCH_NATIVE_CFLAGS) -c $< -o $@

.SECONDARY: $(BENCH_KOBJS) $(GUEST_BUILD)/obj/bench/guest_main.o
