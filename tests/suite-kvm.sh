#!/usr/bin/env bash
# suite-kvm.sh: the kvm engine: the host probe's verdict, then every sample under --engine=kvm inside qemu (TCG, SVM, kvm_amd).
#
# 1. On this host: `bt86 run --engine=kvm` must either run the samples (a
#    host whose KVM runs 32-bit guests) or exit promptly with status 8 and
#    the "cannot run 32-bit protected-mode guests" message.
# 2. In qemu-system-x86_64 -accel tcg -cpu max, which exposes SVM: Debian's
#    amd64 kernel, an initramfs with busybox, the kvm modules, bt86 with its
#    shared libraries, the samples and tests/kvm/init.sh, which runs
#    samples/guests.cfg under --engine=kvm (and bt, for timing) and prints
#    PASS/FAIL lines on the serial console.
# Ends with "N passed, N failed"; exits non-zero on any failure, including a
# harness step that cannot run.  docs/KVM.md describes it.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
OUT=$ROOT/build/kvm
BT86=$ROOT/build/bt86
QEMU_TIMEOUT=${QEMU_TIMEOUT:-210}	# seconds for the whole boot-and-test
HOST_PROMPT_S=3				# "exits promptly" on a host that cannot run it

pass=0
fail=0
ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
die() {
	bad "harness: $*"
	echo "$pass passed, $fail failed"
	exit 1
}

mkdir -p "$OUT"
make --no-print-directory -s build/bt86 samples paging-samples >"$OUT/make.log" 2>&1 ||
	{ sed 's/^/    | /' "$OUT/make.log"; die "building bt86 and the samples failed"; }

# expected_runs CFG: "name status timeout mem append" for each guest listed.
expected_runs() {
	local name want to rest mem append
	while read -r name want to rest; do
		case "$name" in ''|'#'*) continue ;; esac
		mem=128M
		append=""
		set -- $rest
		while [ $# -gt 0 ]; do
			case "$1" in
			-m) mem=$2; shift 2 ;;
			--append) shift; append="$*"; set -- ;;
			*) shift ;;
			esac
		done
		printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$want" "$to" "$mem" "$append"
	done <"$1"
}

# ---- 1. this host ----
echo "== host /dev/kvm"
start=$(date +%s%N)
timeout --kill-after=2 10 "$BT86" run -q --engine=kvm samples/build/hello.elf \
	</dev/null >"$OUT/host.log" 2>&1
st=$?
ms=$((($(date +%s%N) - start) / 1000000))
sed 's/^/    | /' "$OUT/host.log"
if [ "$st" -eq 8 ]; then
	if ! grep -qE 'cannot run 32-bit protected-mode guests|cannot open /dev/kvm' "$OUT/host.log"; then
		bad "host: status 8 without the clear 'cannot run 32-bit guests' message"
	elif [ "$ms" -gt $((HOST_PROMPT_S * 1000)) ]; then
		bad "host: refusing took ${ms} ms, more than ${HOST_PROMPT_S} s"
	else
		ok "host: kvm refused with the clear message in ${ms} ms (status 8)"
	fi
else
	echo "INFO host: /dev/kvm runs 32-bit guests here; running the samples on the host"
	while IFS=$'\t' read -r name want to mem append; do
		timeout --kill-after=2 "$to" "$BT86" run -q --engine=kvm -m "$mem" \
			--append "$append" "samples/build/$name.elf" </dev/null >"$OUT/host.log" 2>&1
		st=$?
		if [ "$st" -eq "$want" ] && ! grep -q '^FAIL' "$OUT/host.log"; then
			ok "host/kvm/$name"
		else
			bad "host/kvm/$name: status $st, expected $want"
			tail -n 20 "$OUT/host.log" | sed 's/^/    | /'
		fi
	done < <(expected_runs samples/guests.cfg; expected_runs samples/paging/guests.cfg)
fi

# ---- 2. nested, in qemu ----
for tool in qemu-system-x86_64 cpio gzip ldd; do
	command -v "$tool" >/dev/null || die "$tool is not installed (run make deps)"
done
BUSYBOX=/bin/busybox
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	die "$BUSYBOX is not a static busybox (install busybox-static)"

# The newest Debian kernel that has both an image and kvm_amd.
KVER=
for k in $(ls -1 /lib/modules 2>/dev/null | sort -V); do
	[ -r "/boot/vmlinuz-$k" ] && [ -n "$(ls /lib/modules/$k/kernel/arch/x86/kvm/kvm-amd.ko* 2>/dev/null)" ] &&
		KVER=$k
done
[ -n "$KVER" ] || die "no /boot/vmlinuz-* with kvm_amd in /lib/modules (install linux-image-amd64)"
MODDIR=/lib/modules/$KVER

R=$OUT/root
rm -rf "$R"
mkdir -p "$R"/{bin,dev,proc,sys,tmp,modules,samples,kvmtests}
cp "$BUSYBOX" "$R/bin/busybox"
cp tests/kvm/init.sh "$R/init"
chmod +x "$R/init"

# kvm-amd.ko and its dependencies, in load order (modules.dep lists the
# dependencies innermost last); compressed modules are unpacked for insmod.
deps=$(sed -n "s|^\(kernel/arch/x86/kvm/kvm-amd.ko[^:]*\):\(.*\)|\2 \1|p" "$MODDIR/modules.dep")
[ -n "$deps" ] || die "kvm-amd is not in $MODDIR/modules.dep"
order=()
for m in $deps; do order=("$m" "${order[@]}"); done
# order is now reversed dependencies with kvm-amd first; put kvm-amd last.
order=("${order[@]:1}" "${order[0]}")
: >"$R/modules/order"
for m in "${order[@]}"; do
	base=$(basename "$m"); base=${base%%.ko*}
	case "$m" in
	*.ko.xz) xz -dc "$MODDIR/$m" >"$R/modules/$base.ko" ;;
	*.ko.zst) zstd -qdc "$MODDIR/$m" >"$R/modules/$base.ko" ;;
	*) cp "$MODDIR/$m" "$R/modules/$base.ko" ;;
	esac || die "cannot copy $m"
	echo "$base" >>"$R/modules/order"
done

# bt86 is dynamically linked: bring its libraries and the loader along.
cp "$BT86" "$R/bt86"
for lib in $(ldd "$BT86" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }'); do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
cp samples/build/*.elf samples/guests.cfg "$R/samples/"
cp samples/paging/guests.cfg "$R/samples/paging.cfg"

# The engine test guest, and what it must print according to the shared
# CPU model (tests/kvm/expect.c calls monitor/cpuid.c from libbt86.a).
gcc -m32 -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 \
	-Wl,-Ttext-segment=0x100000 -o "$R/kvmtests/engine.elf" tests/kvm/engine.S ||
	die "building tests/kvm/engine.S failed"
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Imonitor/include -o "$OUT/expect" \
	tests/kvm/expect.c build/libbt86.a || die "building tests/kvm/expect.c failed"
"$OUT/expect" >"$R/kvmtests/engine.out" || die "tests/kvm/expect failed"

INITRD=$OUT/initramfs.cpio.gz
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 >"$INITRD") ||
	die "packing the initramfs failed"

echo "== qemu -accel tcg -cpu max, kernel $KVER, kvm_amd inside"
log=$OUT/boot.log
start=$(date +%s)
timeout --kill-after=5 "$QEMU_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 1G \
	-kernel "/boot/vmlinuz-$KVER" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 oops=panic loglevel=3 ${KVM_APPEND:-}" \
	-nographic -no-reboot -monitor none -serial stdio </dev/null >"$log" 2>&1
st=$?
tr -d '\r' <"$log" >"$log.txt"
grep -E '^(PASS|FAIL|INFO|    \|) ' "$log.txt" | sed 's/^/  /'
p=$(grep -c '^PASS ' "$log.txt")
f=$(grep -c '^FAIL ' "$log.txt")
want=$(($(expected_runs samples/guests.cfg | wc -l) + $(expected_runs samples/paging/guests.cfg | wc -l) + 3))	# the samples, then engine-model, triple-fault, cli-hlt
got=$(grep -cE '^(PASS|FAIL) kvm/' "$log.txt")
[ -n "${KVM_APPEND:-}" ] && want=0	# debugging knobs select fewer runs
if ! grep -q '^BT86-KVM-DONE' "$log.txt"; then
	echo "FAIL qemu: the VM did not finish the tests (qemu status $st); last lines:"
	tail -n 40 "$log.txt" | sed 's/^/  | /'
	f=$((f + 1))
elif [ "$got" -lt "$want" ]; then
	echo "FAIL qemu: only $got kvm verdicts for $want samples"
	f=$((f + 1))
fi
echo "  qemu: $p passed, $f failed in $(($(date +%s) - start)) s"
pass=$((pass + p))
fail=$((fail + f))

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
