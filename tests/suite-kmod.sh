#!/usr/bin/env bash
# suite-kmod.sh: build bt86.ko and its tests, boot them in qemu (TCG) on several CPU models, report.
#
# Usage: tests/suite-kmod.sh [cpu-model...]   (default: max qemu64 max,vendor=GenuineIntel)
# Ends with "N passed, N failed"; exits non-zero on any failure, including
# a harness step that cannot run (missing qemu, headers, busybox...).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/kmod
CPUS=("$@")
[ ${#CPUS[@]} -eq 0 ] && CPUS=(max qemu64 max,vendor=GenuineIntel)

pass=0
fail=0
. tests/kmod/harness.sh
kmod_prepare
kmod_build_bt86test

CFLAGS=(-std=gnu11 -O2 -Wall -Wextra -Werror -static)
gcc "${CFLAGS[@]}" -m32 -o "$OUT/compat32" tests/kmod/compat32.c ||
	die "building the 32-bit tests/kmod/compat32.c failed (gcc-multilib?)"

INITRD=$OUT/initramfs.cpio.gz
rm -rf "$OUT/root"
mkdir -p "$OUT/root"/{bin,dev,proc,sys}
cp "$BUSYBOX" "$OUT/root/bin/busybox"
cp tests/kmod/init.sh "$OUT/root/init"
chmod +x "$OUT/root/init"
cp kernel-module/bt86.ko "$OUT/bt86test" "$OUT/compat32" "$OUT/root/"
(cd "$OUT/root" && find . | cpio -o -H newc --quiet | gzip -1 >"$INITRD") ||
	die "packing the initramfs failed"

for cpu in "${CPUS[@]}"; do
	tag=${cpu//[^A-Za-z0-9]/-}
	log=$OUT/boot-$tag.log
	rm -f "$log"
	echo "== qemu -cpu $cpu"
	start=$(date +%s)
	append="console=ttyS0 panic=-1 oops=panic loglevel=3"
	monitor=(-monitor none)
	nmi_pid=
	if [[ $cpu == *GenuineIntel* ]]; then
		# PTI is on: inject NMIs through the qemu monitor once Linux's
		# init runs (earlier, with no IDT yet, an NMI resets the VM), so
		# some land in the monitor world (tests/kmod nmi-reraised).
		rm -f "$OUT/mon.in" "$OUT/mon.out"
		mkfifo "$OUT/mon.in" "$OUT/mon.out" || die "mkfifo failed"
		monitor=(-monitor "pipe:$OUT/mon")
		append+=" bt86_nmitest=1"
		(
			exec 3>"$OUT/mon.in"
			cat "$OUT/mon.out" >/dev/null &
			until grep -q 'INFO kernel' "$log" 2>/dev/null; do sleep 0.1; done
			while echo nmi >&3 2>/dev/null; do sleep 0.05; done
		) &
		nmi_pid=$!
	fi
	timeout --kill-after=5 150 qemu-system-x86_64 -accel tcg -cpu "$cpu" -smp 2 -m 512 \
		-kernel "$KERNEL" -initrd "$INITRD" -append "$append" \
		-nographic -no-reboot "${monitor[@]}" -serial stdio \
		</dev/null >"$log" 2>&1
	st=$?
	if [ -n "$nmi_pid" ]; then
		kill "$nmi_pid" 2>/dev/null
		wait "$nmi_pid" 2>/dev/null
		rm -f "$OUT/mon.in" "$OUT/mon.out"
	fi
	tr -d '\r' <"$log" >"$log.txt"
	grep -E '^(PASS|FAIL|INFO) ' "$log.txt" | sed 's/^/  /'
	kmod_tally "$log.txt" "$cpu" "$start" "$st"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
