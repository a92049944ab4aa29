#!/usr/bin/env bash
# Paging microbenchmark: runs samples/build/paging_bench.elf under bt86 --engine=bt and qemu-system-i386 TCG, prints ns/op side by side.
#
# Not part of make test: timings depend on the host.  A column shows "n/a"
# (with the reason below the table) when that VMM cannot run the guest.
# Usage: tests/bench-paging.sh
set -u
cd "$(dirname "$0")/.." || exit 1

BT86=${BT86:-build/bt86}
QEMU=${QEMU:-qemu-system-i386}
ELF=samples/build/paging_bench.elf
TIMEOUT=${TIMEOUT:-120}

if ! make --no-print-directory -s paging-samples >/dev/null 2>&1; then
	echo "bench-paging: building the paging guests failed (make paging-samples)" >&2
	exit 1
fi

bt_log=$(mktemp)
qemu_log=$(mktemp)
trap 'rm -f "$bt_log" "$qemu_log"' EXIT
bt_why=""
qemu_why=""

# table LOG: the guest's "op  ns/op" rows as "op<TAB>ns".
table() {
	awk '/^op +ns\/op$/ { on = 1; next }
	     /^bench done/ { on = 0 }
	     on && NF >= 2 { ns = $NF; $NF = ""; sub(/ +$/, ""); print $0 "\t" ns }' "$1"
}

if [ -x "$BT86" ]; then
	timeout --kill-after=2 "$TIMEOUT" "$BT86" run -q --engine=bt "$ELF" </dev/null >"$bt_log" 2>&1
	st=$?
	if [ "$st" -eq 4 ] && grep -qi paging "$bt_log"; then
		bt_why="bt86 has no shadow MMU yet: $(grep -i paging "$bt_log" | head -n 1)"
	elif [ "$st" -eq 8 ]; then
		bt_why="bt engine not available here"
	elif ! grep -q '^bench done' "$bt_log"; then
		bt_why="bt86 run failed (exit status $st): $(tail -n 1 "$bt_log")"
	fi
else
	bt_why="$BT86 not built"
fi

if command -v "$QEMU" >/dev/null 2>&1; then
	timeout --kill-after=2 "$TIMEOUT" "$QEMU" -kernel "$ELF" -m 128M -display none \
		-monitor none -serial stdio -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >"$qemu_log" 2>&1
	st=$?
	grep -q '^bench done' "$qemu_log" ||
		qemu_why="qemu run failed (exit status $st): $(tail -n 1 "$qemu_log")"
else
	qemu_why="$QEMU not installed"
fi

# The row names come from whichever run produced a table (the guest is the same).
rows=$(table "$qemu_log")
[ -z "$rows" ] && rows=$(table "$bt_log")
if [ -z "$rows" ]; then
	echo "bench-paging: neither VMM produced a table" >&2
	[ -n "$bt_why" ] && echo "  bt86: $bt_why" >&2
	[ -n "$qemu_why" ] && echo "  qemu: $qemu_why" >&2
	exit 1
fi

lookup() {	# lookup LOG OP
	table "$1" | awk -F'\t' -v op="$2" '$1 == op { print $2 }'
}

printf '%-40s %14s %14s %8s\n' "op (paging_bench)" "bt86 ns/op" "qemu-tcg ns/op" "bt/tcg"
while IFS=$'\t' read -r op _; do
	b=n/a
	q=n/a
	[ -z "$bt_why" ] && b=$(lookup "$bt_log" "$op")
	[ -z "$qemu_why" ] && q=$(lookup "$qemu_log" "$op")
	ratio=""
	if [ "$b" != n/a ] && [ "$q" != n/a ] && [ -n "$b" ] && [ -n "$q" ]; then
		ratio=$(awk -v b="$b" -v q="$q" 'BEGIN { if (q > 0) printf "%.2f", b / q }')
	fi
	printf '%-40s %14s %14s %8s\n' "$op" "${b:-n/a}" "${q:-n/a}" "$ratio"
done <<<"$rows"
for f in "$bt_log" "$qemu_log"; do
	grep -m1 '^  tsc' "$f" | sed "s/^ */  $([ "$f" = "$bt_log" ] && echo bt86 || echo qemu): /"
done
[ -n "$bt_why" ] && echo "  bt86 column n/a: $bt_why"
[ -n "$qemu_why" ] && echo "  qemu column n/a: $qemu_why"
exit 0
