#!/usr/bin/env bash
# Paging suite: the guests of samples/paging/guests.cfg, and three of them under eviction pressure.
#
# QEMU checks each guest against a real PC's MMU; bt86 then has to do exactly
# as well (tests/suite-guests.sh is the runner).
# Usage: tests/suite-paging.sh [NAME...]
cd "$(dirname "$0")/.." || exit 1
GUESTS_CFG=samples/paging/guests.cfg GUESTS_TARGET=paging-samples GUESTS_SUMMARY=1 \
GUESTS_SQUEEZE="paging_fork paging_pte paging_fault" exec bash tests/suite-guests.sh "$@"
