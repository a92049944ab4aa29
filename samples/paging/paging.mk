# Paging guests: samples/paging/NAME/main.c -> samples/build/paging_NAME.elf, plus the shared common/pg.c.
#
# Included by the top-level Makefile after samples/samples.mk, whose GUEST_*
# variables and object rules are reused here.

# Every samples/paging/NAME/main.c is a guest (common/ holds no main.c).
PAGING_TESTS  := $(patsubst samples/paging/%/main.c,%,$(wildcard samples/paging/*/main.c))
PAGING_ELFS   := $(patsubst %,$(GUEST_BUILD)/paging_%.elf,$(PAGING_TESTS))
PAGING_COMMON := $(GUEST_BUILD)/obj/paging/common/pg.o

.PHONY: paging-samples
samples: $(PAGING_ELFS)
# Just these guests (tests/suite-paging.sh builds only what it runs).
paging-samples: $(PAGING_ELFS)

# The paging objects also see the common helpers' header.
$(GUEST_BUILD)/obj/paging/%.o: GUEST_CFLAGS += -Isamples/paging/common

# A shorter stem than samples.mk's $(GUEST_BUILD)/%.elf, so make picks this rule.
$(GUEST_BUILD)/paging_%.elf: $(GUEST_BUILD)/obj/paging/%/main.o $(PAGING_COMMON) \
		$(GUEST_BUILD)/obj/lib/crt0.o $(GUEST_LIB) $(GUEST_LDS)
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_BUILD)/obj/lib/crt0.o \
		$(filter-out %/crt0.o,$(filter %.o,$^)) $(GUEST_LIB)

.SECONDARY: $(patsubst %,$(GUEST_BUILD)/obj/paging/%/main.o,$(PAGING_TESTS)) $(PAGING_COMMON)

-include $(wildcard $(GUEST_BUILD)/obj/paging/*/*.d)
