#!/usr/bin/env bash
# bt86 test runner: unit tests, script suites and guest samples; sums the tallies.
#
# Every suite prints a closing "N passed, N failed" line; a suite that exits
# non-zero without such a line counts as one failure.  The script suites
# (tests/suite-*.sh) run the guests: samples/guests.cfg and
# samples/paging/guests.cfg under QEMU and bt86, the disk, hostile guests,
# Debian's kernel, the kernel module and the KVM engine inside qemu.
set -u
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
total_pass=0
total_fail=0
total_skip=0
failed_suites=()

tally() {	# tally NAME LOGFILE STATUS
	local name=$1 log=$2 st=$3 line p f
	line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=$(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
		f=$(sed -E 's/^([A-Za-z-]+: )?[0-9]+ passed, ([0-9]+) failed.*/\2/' <<<"$line")
	else
		p=0; f=0
	fi
	if [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$f" -ne 0 ]; then
		failed_suites+=("$name")
		printf '  %-34s %4d passed, %d FAILED\n' "$name" "$p" "$f"
		sed 's/^/      | /' "$log" | grep -E 'FAIL|error|Error|fail' | head -n 30
	else
		printf '  %-34s %4d passed\n' "$name" "$p"
	fi
}

run_suite() {	# run_suite NAME TIMEOUT CMD...
	local name=$1 to=$2; shift 2
	local log st
	log=$(mktemp)
	timeout --kill-after=5 "$to" "$@" >"$log" 2>&1
	st=$?
	[ $st -eq 124 ] && echo "FAIL: timed out after ${to}s" >>"$log"
	tally "$name" "$log" "$st"
	if [ -n "${VERBOSE:-}" ]; then sed 's/^/      > /' "$log"; fi
	rm -f "$log"
}

echo "== unit tests"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "unit/$(basename "$t")" 60 "$t"
done

if [ "${1:-}" != "--unit-only" ]; then
	echo "== script suites"
	for s in tests/suite-*.sh; do
		[ -f "$s" ] || continue
		# suite-btkmod boots Linux under bt-kmod inside qemu TCG: 5-8 minutes alone.
		case $s in
		*/suite-btkmod.sh) to=2700 ;;
		*) to=900 ;;
		esac
		run_suite "$(basename "$s" .sh)" "$to" bash "$s"
	done
fi

echo
if [ ${#failed_suites[@]} -ne 0 ]; then
	echo "failed suites: ${failed_suites[*]}"
fi
echo "${total_pass} passed, ${total_fail} failed"
[ "$total_fail" -eq 0 ]
