#!/usr/bin/env bash
# bt86 benchmarks: CPU-bound guests natively, under bt86 --engine=bt and under qemu-system-i386 TCG.
#
# Each benchmark kernel (samples/bench/K.c) is one object linked into a
# Multiboot guest (samples/build/bench_K.elf) and into a 32-bit Linux program
# (samples/build/bench_K.native).  All three engines must print the same
# checksum line; a mismatch or a failed run is reported and makes the script
# exit non-zero.  Times are wall-clock, best of $RUNS rounds (each round runs
# native, bt86, qemu in turn), including process start-up (see the start-up
# rows, measured with hello.elf).  Results also go to build/bench-results.txt.
# See docs/BENCH.md.
#
# Usage: tests/bench.sh [NAME...]        (default: every kernel in bench.mk)
# Environment: RUNS (default 3), BT86, QEMU, BENCH_TIMEOUT (seconds per run, default 120)
set -u
cd "$(dirname "$0")/.." || exit 1

BT86=${BT86:-build/bt86}
QEMU=${QEMU:-qemu-system-i386}
RUNS=${RUNS:-3}
TO=${BENCH_TIMEOUT:-120}
OUT=build/bench-results.txt
GB=samples/build

# The kernels bench.mk knows, in its order, unless names were given.
if [ $# -gt 0 ]; then
	benches=("$@")
else
	read -r -a benches <<<"$(sed -n 's/^BENCHES *:= *//p' samples/bench/bench.mk)"
fi

mkdir -p build
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

main() {
echo "== bt86 bench  $(date -u '+%Y-%m-%d %H:%M UTC')  $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- bt monitor vmm 2>/dev/null || echo ' (+ uncommitted bt/monitor/vmm changes)')"
echo "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

targets=("$GB/hello.elf")
for b in "${benches[@]}"; do
	targets+=("$GB/bench_$b.elf" "$GB/bench_$b.native")
done
if ! make --no-print-directory -s -j2 "${targets[@]}" >"$tmp/make.log" 2>&1; then
	sed 's/^/    | /' "$tmp/make.log"
	echo "bench: FAILED: building the benchmarks"
	return 1
fi
# `make bench` has just built bt86; run directly, a tree in mid-edit may not
# build: measure the binary there is, but say so (the line is in the results).
if [ "$BT86" = build/bt86 ] && ! make --no-print-directory -s -j2 build/bt86 >"$tmp/make.log" 2>&1; then
	if [ ! -x "$BT86" ]; then
		sed 's/^/    | /' "$tmp/make.log" | tail -n 20
		echo "bench: FAILED: building $BT86"
		return 1
	fi
	echo "WARNING: $BT86 does not rebuild from this tree; measuring the existing binary ($(date -r "$BT86" '+%H:%M:%S'))"
fi
echo "bt86: $BT86, built $(date -r "$BT86" '+%Y-%m-%d %H:%M:%S')"

have_qemu=true
command -v "$QEMU" >/dev/null 2>&1 || have_qemu=false

failures=()

# run_once LABEL WANT_STATUS OUTFILE CMD...: one timed run of CMD; sets $run_ns,
# or prints why it failed and returns 1.  CMD's stdout/stderr go to
# $tmp/run.out/.err; OUTFILE (cleared first) is where CMD writes its checksum line.
run_once() {
	local label=$1 want=$2 outf=$3 s e st
	shift 3
	: >"$outf"
	s=$(date +%s%N)
	timeout "$TO" "$@" >"$tmp/run.out" 2>"$tmp/run.err"
	st=$?
	e=$(date +%s%N)
	if [ "$st" -ne "$want" ]; then
		if [ "$st" -eq 124 ]; then
			echo "  FAIL $label: timed out after ${TO}s"
		else
			echo "  FAIL $label: exit status $st, expected $want"
		fi
		cat "$tmp/run.err" "$tmp/run.out" | sed 's/^/    | /' | tail -n 15
		return 1
	fi
	run_ns=$((e - s))
	return 0
}

ms() {	# ms NS: milliseconds, 1 decimal
	awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'
}

# engine_cmd ENGINE ELF SERIALFILE: set cmd=(...), want_st (its exit status when all
# went well) and outf (where its checksum line lands) for one engine.
engine_cmd() {
	outf=$3
	case $1 in
	native)
		cmd=("${2%.elf}.native"); want_st=0; outf=$tmp/run.out ;;
	bt86)
		cmd=("$BT86" run -q --serial "file:$3" --engine=bt "$2"); want_st=1 ;;
	qemu)
		cmd=("$QEMU" -accel tcg -kernel "$2" -display none -serial "file:$3"
		     -device isa-debug-exit,iobase=0xf4,iosize=4 -m 128 -no-reboot); want_st=1 ;;
	esac
}

# checksum_of FILE: the benchmark's result line, or nothing.
checksum_of() {
	grep -m1 -o 'checksum 0x[0-9a-f]*' "$1" 2>/dev/null | sed 's/checksum //'
}

ratio() {	# ratio A B: A/B with 2 decimals, or "-"
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'
}

# --- start-up overhead: the smallest guest, boot to exit port ---------------

echo
echo "start-up (hello.elf, boot to exit port; best of $RUNS):"
startup_bt=-
startup_qemu=-
startup_engines=(bt86)
$have_qemu && startup_engines+=(qemu)
for e in "${startup_engines[@]}"; do
	best=""
	engine_cmd "$e" "$GB/hello.elf" "$tmp/hello.ser"
	for ((r = 0; r < RUNS; r++)); do
		if ! run_once "hello under $e" "$want_st" "$outf" "${cmd[@]}"; then
			failures+=("hello under $e")
			best=""
			break
		fi
		if [ -z "$best" ] || [ "$run_ns" -lt "$best" ]; then
			best=$run_ns
		fi
	done
	if [ -n "$best" ]; then
		if [ "$e" = bt86 ]; then startup_bt=$(ms "$best"); else startup_qemu=$(ms "$best"); fi
	fi
done
printf '  %-10s %10s ms\n' bt86 "$startup_bt" qemu-tcg "$startup_qemu"

# --- the benchmarks -----------------------------------------------------------

declare -A t_nat t_bt t_qemu tr_ns tr_cyc tr_blocks tr_insns tr_ms tc_pct tsig
for b in "${benches[@]}"; do
	echo
	echo "$b:"
	elf=$GB/bench_$b.elf
	t_nat[$b]=-; t_bt[$b]=-; t_qemu[$b]=-
	tr_ns[$b]=-; tr_cyc[$b]=-; tr_blocks[$b]=-; tr_insns[$b]=-; tr_ms[$b]=-; tc_pct[$b]=-; tsig[$b]=-

	# Rounds interleave the engines (native, bt86, qemu, native, ...), so a burst
	# of load from elsewhere spoils one run of each rather than every run of one.
	declare -A best runs ok
	for e in native bt86 qemu; do
		best[$e]=""; runs[$e]=""; ok[$e]=true
	done
	$have_qemu || ok[qemu]=false
	want=""
	for ((r = 0; r < RUNS; r++)); do
		for e in native bt86 qemu; do
			${ok[$e]} || continue
			# Without the native checksum there is nothing to check the guests against.
			[ "$e" != native ] && [ -z "$want" ] && continue
			engine_cmd "$e" "$elf" "$tmp/$e.ser"
			if ! run_once "$b $e" "$want_st" "$outf" "${cmd[@]}"; then
				ok[$e]=false
				failures+=("$b $e")
				continue
			fi
			got=$(checksum_of "$outf")
			if [ "$e" = native ] && [ -z "$want" ]; then
				want=$got
				if [ -z "$want" ]; then
					echo "  FAIL $b native: no checksum line"
					ok[$e]=false
					failures+=("$b native")
					continue
				fi
			fi
			if [ "$got" != "$want" ]; then
				echo "  FAIL $b $e: checksum ${got:-missing}, native says $want"
				sed 's/^/    | /' "$outf" | tail -n 5
				ok[$e]=false
				failures+=("$b $e checksum")
				continue
			fi
			runs[$e]+=" $(ms "$run_ns")"
			if [ -z "${best[$e]}" ] || [ "$run_ns" -lt "${best[$e]}" ]; then
				best[$e]=$run_ns
			fi
		done
	done
	if [ -z "$want" ]; then
		echo "  (no native checksum: bt86 and qemu not run)"
		continue
	fi
	for e in native bt86 qemu; do
		${ok[$e]} && [ -n "${best[$e]}" ] || continue
		printf '  %-8s %9s ms  checksum %s  (runs:%s)\n' "$e" "$(ms "${best[$e]}")" "$want" "${runs[$e]}"
	done
	${ok[native]} && t_nat[$b]=$(ms "${best[native]}")
	${ok[bt86]} && t_bt[$b]=$(ms "${best[bt86]}")
	${ok[qemu]} && [ -n "${best[qemu]}" ] && t_qemu[$b]=$(ms "${best[qemu]}")

	# One more bt86 run, untimed, with --stats for the translation numbers.
	if ${ok[bt86]}; then
		"$BT86" run -q --serial none --stats --engine=bt "$elf" >/dev/null 2>"$tmp/stats"
		# "translation time  1.470 ms (1871 ns per guest insn)"
		tr_ms[$b]=$(sed -n 's/^ *translation time *\([0-9.]*\) ms.*/\1/p' "$tmp/stats")
		tr_ns[$b]=$(sed -n 's/^ *translation time .*(\([0-9.]*\) ns per guest insn).*/\1/p' "$tmp/stats")
		# "blocks translated  159 (786 guest insns, 2490 guest bytes)"
		tr_blocks[$b]=$(sed -n 's/^ *blocks translated *\([0-9]*\) .*/\1/p' "$tmp/stats")
		tr_insns[$b]=$(sed -n 's/^ *blocks translated .*(\([0-9]*\) guest insns.*/\1/p' "$tmp/stats")
		# "cycles in TC  99.9% of 3862796701": TSC cycles over "time in engine" gives the TSC rate
		tc_pct[$b]=$(sed -n 's/^ *cycles in TC *\([0-9.]*\)%.*/\1/p' "$tmp/stats")
		tsig[$b]=$(sed -n 's/.*(host timer signals \([0-9]*\)).*/\1/p' "$tmp/stats")
		cyc=$(sed -n 's/^ *cycles in TC .* of \([0-9]*\).*/\1/p' "$tmp/stats")
		eng=$(sed -n 's/^ *time in engine *\([0-9.]*\) ms.*/\1/p' "$tmp/stats")
		tr_cyc[$b]=$(awk -v ns="${tr_ns[$b]}" -v c="$cyc" -v ms="$eng" 'BEGIN {
			if (ns == "" || c == "" || ms == "" || ms == 0) { print "-"; exit }
			printf "%.0f", ns * c / (ms * 1e6) }')
		: "${tr_ms[$b]:=-}" "${tr_ns[$b]:=-}" "${tr_blocks[$b]:=-}" "${tr_insns[$b]:=-}" "${tc_pct[$b]:=-}" "${tsig[$b]:=-}"
		echo "  bt86 translated ${tr_blocks[$b]} blocks / ${tr_insns[$b]} guest insns in ${tr_ms[$b]} ms" \
			"(${tr_ns[$b]} ns, ~${tr_cyc[$b]} TSC cycles per guest insn);"
		echo "       ${tc_pct[$b]}% of cycles in the TC, ${tsig[$b]} host timer signals"
	fi
done

# --- the table ------------------------------------------------------------------

echo
echo "wall time, best of $RUNS (ms; includes start-up: bt86 ${startup_bt} ms, qemu ${startup_qemu} ms for hello.elf)"
printf '%-8s %10s %10s %10s %9s %9s %9s %12s\n' kernel native bt86 qemu-tcg bt/nat qemu/nat qemu/bt "xlate ns/ins"
bt_ratios=()
q_ratios=()
for b in "${benches[@]}"; do
	rb=$(ratio "${t_bt[$b]}" "${t_nat[$b]}")
	rq=$(ratio "${t_qemu[$b]}" "${t_nat[$b]}")
	rqb=$(ratio "${t_qemu[$b]}" "${t_bt[$b]}")
	[ "$rb" != - ] && bt_ratios+=("$rb")
	[ "$rq" != - ] && q_ratios+=("$rq")
	printf '%-8s %10s %10s %10s %9s %9s %9s %12s\n' "$b" "${t_nat[$b]}" "${t_bt[$b]}" "${t_qemu[$b]}" \
		"$rb" "$rq" "$rqb" "${tr_ns[$b]}"
done

geomean() {	# geomean RATIO...: "1.23x", or "-" with no ratios
	[ $# -eq 0 ] && { echo -; return; }
	printf '%s\n' "$@" | awk '{ s += log($1); n++ } END { printf "%.2fx", exp(s / n) }'
}
gm_bt=$(geomean "${bt_ratios[@]}")
gm_q=$(geomean "${q_ratios[@]}")
printf '%-8s %10s %10s %10s %9s %9s\n' geomean "" "" "" "$gm_bt" "$gm_q"

$have_qemu || echo "($QEMU not found: the qemu columns are empty)"
echo
fails=$(printf '%s; ' "${failures[@]}")
if [ ${#failures[@]} -gt 0 ]; then
	echo "(also written to $OUT)"
	echo "bench: FAILED: ${fails%; }; over the rest: bt86/native geomean ${gm_bt}, qemu-tcg/native ${gm_q}"
	return 1
fi
echo "(also written to $OUT)"
echo "bench: ${#benches[@]} kernels, checksums match; bt86/native geomean ${gm_bt}, qemu-tcg/native ${gm_q}; start-up bt86 ${startup_bt} ms, qemu ${startup_qemu} ms"
}

# Everything goes to the terminal and to the results file; the status is main's.
main 2>&1 | tee "$OUT"
exit "${PIPESTATUS[0]}"
