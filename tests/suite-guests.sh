#!/usr/bin/env bash
# Guest suite: runs each guest of a manifest under QEMU (reference) and bt86 --engine=bt.
#
# QEMU checks the guest against a real PC; bt86 then has to do exactly as
# well.  A run passes when it exits with the expected status and printed no
# FAIL line (and, with GUESTS_SUMMARY=1, a "N passed, 0 failed" line).  Runs
# with no engine are listed as SKIP and not counted.  A row with the extra
# arg --xfail-bt marks a known bt86 bug (explained in a comment above the
# row): a failing bt run is listed as XFAIL and not counted; a passing one
# is XPASS and counts (time to drop the marker).  GUESTS_SQUEEZE names
# guests run once more with the shadow MMU squeezed to 64 pages.
# Manifest columns: name, expected status, timeout, extra args (-m SIZE,
# --append TEXT, --xfail-bt).
# Usage: tests/suite-guests.sh [NAME...]   (default: every guest listed)
#   GUESTS_CFG (samples/guests.cfg), GUESTS_TARGET (make target: samples)
set -u
cd "$(dirname "$0")/.." || exit 1

BT86=${BT86:-build/bt86}
QEMU=${QEMU:-qemu-system-i386}
CFG=${GUESTS_CFG:-samples/guests.cfg}
TARGET=${GUESTS_TARGET:-samples}
SUMMARY=${GUESTS_SUMMARY:-0}
BT86_NO_ENGINE=8	# BT86_EXIT_NOENGINE in vmm/include/vmm/ctl.h

pass=0
fail=0
skip=0
xfail=0

mklog=$(mktemp)
if ! make --no-print-directory -s "$TARGET" >"$mklog" 2>&1; then
	sed 's/^/    | /' "$mklog"
	rm -f "$mklog"
	echo "FAIL building the guests ($TARGET)"
	echo "0 passed, 1 failed"
	exit 1
fi
rm -f "$mklog"

have_qemu=true
command -v "$QEMU" >/dev/null 2>&1 || have_qemu=false

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# check LABEL STATUS EXPECTED TIMEOUT: judge one finished run from $log.
check() {
	local label=$1 st=$2 want=$3 to=$4 why=""

	if [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; then
		why="timed out after ${to}s"
	elif [ "$st" -ne "$want" ]; then
		why="exit status $st, expected $want"
	elif grep -q '^FAIL' "$log"; then
		why="guest reported failures"
	elif [ "$SUMMARY" = 1 ] && ! grep -q '^[0-9]* passed, 0 failed' "$log"; then
		why="no summary line"
	fi
	if [ -z "$why" ]; then
		echo "PASS $label"
		pass=$((pass + 1))
	else
		echo "FAIL $label: $why"
		sed 's/^/    | /' "$log" | grep -v '^    | PASS' | tail -n 40
		fail=$((fail + 1))
	fi
}

filter=("$@")

want_guest() {
	local n
	[ ${#filter[@]} -eq 0 ] && return 0
	for n in "${filter[@]}"; do
		[ "$n" = "$1" ] && return 0
	done
	return 1
}

while read -r name want to rest; do
	case "$name" in ''|'#'*) continue ;; esac
	want_guest "$name" || continue

	mem=128M
	append=""
	xfail_bt=false
	read -r -a args <<<"${rest:-}"
	i=0
	while [ "$i" -lt ${#args[@]} ]; do
		case "${args[$i]}" in
		-m)
			mem=${args[$((i + 1))]:-}
			i=$((i + 2)) ;;
		--xfail-bt)
			xfail_bt=true
			i=$((i + 1)) ;;
		--append)
			append="${args[*]:$((i + 1))}"
			i=${#args[@]} ;;
		*)
			echo "FAIL $name: unknown extra arg '${args[$i]}' in $CFG"
			fail=$((fail + 1))
			i=$((i + 1)) ;;
		esac
	done

	elf=samples/build/$name.elf
	label=$name
	[ -n "${rest:-}" ] && label="$name [${rest}]"

	if $have_qemu; then
		timeout --kill-after=2 "$to" "$QEMU" -kernel "$elf" -append "$append" \
			-m "$mem" -display none -monitor none -serial stdio -no-reboot \
			-device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >"$log" 2>&1
		check "qemu/$label" $? "$want" "$to"
	else
		echo "SKIP qemu/$label (qemu: $QEMU not installed)"
		skip=$((skip + 1))
	fi

	if [ ! -x "$BT86" ]; then
		echo "SKIP bt/$label (bt: $BT86 not built)"
		skip=$((skip + 1))
		continue
	fi
	timeout --kill-after=2 "$to" "$BT86" run -q --engine=bt -m "$mem" \
		--append "$append" "$elf" </dev/null >"$log" 2>&1
	st=$?
	if [ "$st" -eq "$BT86_NO_ENGINE" ]; then
		echo "SKIP $label (bt: engine not available)"
		skip=$((skip + 1))
		continue
	fi
	if $xfail_bt; then
		if [ "$st" -eq "$want" ] && ! grep -q '^FAIL' "$log"; then
			echo "XPASS bt/$label (known bug fixed? drop --xfail-bt in $CFG)"
			pass=$((pass + 1))
		else
			echo "XFAIL bt/$label (known bt86 bug, see $CFG; exit status $st)"
			grep '^FAIL' "$log" | sed 's/^/    | /' | head -n 5
			xfail=$((xfail + 1))
		fi
		continue
	fi
	check "bt/$label" "$st" "$want" "$to"
done <"$CFG"

# Guests again with the shadow squeezed to 64 pages: eviction on every few
# faults must cost time, never correctness (vm.max_map_count pressure).
if [ -x "$BT86" ]; then
	for name in ${GUESTS_SQUEEZE:-}; do
		BT86_SHADOW_PAGES=64 timeout 60 "$BT86" run -q -m 64M \
			"samples/build/$name.elf" </dev/null >"$log" 2>&1
		check "bt/$name [64 shadow pages]" $? 1 60
	done
fi

[ "$skip" -ne 0 ] && echo "($skip runs skipped)"
[ "$xfail" -ne 0 ] && echo "($xfail known bt86 failures)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
