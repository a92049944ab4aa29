#!/usr/bin/env bash
# suite-btkmod.sh: the sample guests under --engine=bt-kmod, inside qemu (TCG) with bt86.ko loaded.
#
# Builds bt86.ko, bt86 and the samples, packs them with busybox-static and
# bt86's shared libraries into an initramfs, boots Debian's amd64 kernel in
# qemu-system-x86_64 and runs every guest of samples/guests.cfg and
# samples/paging/guests.cfg under --engine=bt and then --engine=bt-kmod
# (tests/kmod/btkmod-init.sh).  A bt-kmod run passes when it exits with the
# expected status, reports no FAIL and prints what the bt run printed
# (timing-dependent numbers masked).  Then Debian's i386 kernel boots to
# user space and powers off under bt-kmod (tests/linux-guest.sh; about
# 5-8 minutes of TCG), and the kcalls bt86.ko completed are checked.
# Usage: tests/suite-btkmod.sh [--bench] [cpu-model...]   (default: max)
# Ends with "N passed, N failed"; a harness step that cannot run is a failure.
# --bench (make bench) measures instead: the paging microbenchmark under
# bt, bt-kmod, bt-kmod without kcalls and bt-kmod with mirrored views,
# and the module's own round-trip timings, side by side (TCG: indicative
# only).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/btkmod
BENCH=false
if [ "${1:-}" = --bench ]; then
	BENCH=true
	shift
fi
CPUS=("$@")
[ ${#CPUS[@]} -eq 0 ] && CPUS=(max)

pass=0
fail=0
. tests/kmod/harness.sh
kmod_prepare ldd
make -s build/bt86 samples paging-samples >>"$OUT/build.log" 2>&1 ||
	{ tail -n 30 "$OUT/build.log"; die "building bt86 or the samples failed"; }
kmod_build_bt86test

INITRD=$OUT/initramfs.cpio.gz
R=$OUT/root
rm -rf "$R"
mkdir -p "$R"/{bin,dev,proc,sys,tmp,guests}
cp "$BUSYBOX" "$R/bin/busybox"
cp tests/kmod/btkmod-init.sh "$R/init"
chmod +x "$R/init"
cp kernel-module/bt86.ko build/bt86 "$OUT/bt86test" "$R/"
# bt86's shared libraries (Zydis, libc) and the dynamic loader, at their paths.
for lib in $(ldd build/bt86 | grep -o '/[^ ]*'); do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
cat samples/guests.cfg samples/paging/guests.cfg >"$R/guests/guests.cfg"
for elf in samples/build/*.elf; do
	cp "$elf" "$R/guests/"
done
# Debian's i386 kernel to user space and back under bt-kmod (tests/linux-guest.sh).
. tests/linux-guest.sh
if ! $BENCH; then
	if why=$(linux_guest_fetch); then
		mkdir -p "$R/linux"
		cp "$LINUX_KERNEL" "$R/linux/vmlinuz"
		linux_guest_initramfs "$R/linux/initramfs.cpio"
		echo "$LINUX_APPEND" >"$R/linux/append"
	else
		echo "FAIL linux under bt-kmod: $why"
		fail=$((fail + 1))
	fi
fi
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 >"$INITRD") ||
	die "packing the initramfs failed"

# bench_table LOG: the engines' ns/op side by side, then the module's timings.
bench_table() {
	grep -q '^BT86-DONE' "$1" || { echo "bench: the VM did not finish; see $1"; return; }
	awk '/^BENCH (bt|bt-kmod|bt-kmod-nokcall|bt-kmod-mirror): / && $3 != "op" && $3 != "bench" {
		eng = $2; sub(/:$/, "", eng); line = $0; sub(/^BENCH [^:]*: /, "", line)
		ns = line; sub(/.* /, "", ns); op = line; sub(/ +[^ ]+$/, "", op)
		if (!(op in seen)) { seen[op] = 1; order[++n] = op }
		v[op, eng] = ns
	}
	END {
		printf "%-40s %12s %12s %14s %14s\n", "op (ns, inside qemu TCG)", "bt", "bt-kmod",
		       "no kcalls", "mirror"
		for (i = 1; i <= n; i++)
			printf "%-40s %12s %12s %14s %14s\n", order[i], v[order[i], "bt"],
			       v[order[i], "bt-kmod"], v[order[i], "bt-kmod-nokcall"],
			       v[order[i], "bt-kmod-mirror"]
	}' "$1"
	grep -E '^BENCH (engine|module)' "$1" | sed 's/^BENCH /  /'
}

for cpu in "${CPUS[@]}"; do
	tag=${cpu//[^A-Za-z0-9]/-}
	log=$OUT/boot-$tag.log
	echo "== qemu -cpu $cpu"
	start=$(date +%s)
	timeout --kill-after=5 2400 qemu-system-x86_64 -accel tcg -cpu "$cpu" -smp 2 -m 1024 \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 oops=panic loglevel=3 btkmod_mode=$($BENCH && echo bench || echo test)" \
		-nographic -no-reboot -monitor none -serial stdio </dev/null >"$log" 2>&1
	st=$?
	tr -d '\r' <"$log" >"$log.txt"
	if $BENCH; then
		bench_table "$log.txt"
		continue
	fi
	grep -E '^(PASS|FAIL|INFO|  [|>s] )' "$log.txt" | sed 's/^/  /'
	kmod_tally "$log.txt" "$cpu" "$start" "$st"
done

$BENCH && exit 0
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
