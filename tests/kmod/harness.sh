# harness.sh: what the qemu harnesses (suite-kmod.sh, suite-btkmod.sh) share; sourced, not run.
#
# The caller sets OUT (its build directory) and the counters pass and fail
# before sourcing; die() ends the suite with a closing tally.

die() {
	echo "FAIL harness: $*"
	echo "$pass passed, $((fail + 1)) failed"
	exit 1
}

# kmod_prepare TOOL...: the tools, a static busybox, Debian's amd64 kernel,
# and bt86.ko built for it without a warning.  Sets BUSYBOX, KVER, KERNEL.
kmod_prepare() {
	local tool
	for tool in qemu-system-x86_64 cpio gzip gcc make "$@"; do
		command -v "$tool" >/dev/null || die "$tool is not installed (run make deps)"
	done
	BUSYBOX=/bin/busybox
	file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
		die "$BUSYBOX is not a static busybox (install busybox-static)"
	KVER=$(make -s -C kernel-module kver) || die "cannot determine the target kernel"
	KERNEL=/boot/vmlinuz-$KVER
	[ -r "$KERNEL" ] || die "no $KERNEL (install linux-image-amd64)"
	mkdir -p "$OUT"
	make -s -C kernel-module >"$OUT/build.log" 2>&1 ||
		{ cat "$OUT/build.log"; die "module build failed"; }
	if grep -E 'warning|error' "$OUT/build.log"; then
		die "module build has warnings"
	fi
}

# kmod_build_bt86test: the module's own test program, static, in $OUT.
kmod_build_bt86test() {
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$OUT/bt86test" \
		tests/kmod/bt86test.c tests/kmod/kvtest.c tests/kmod/kcalltest.c \
		tests/kmod/payloads.S ||
		die "building tests/kmod/bt86test.c failed"
}

# kmod_tally LOG CPU START STATUS: count one boot's PASS/FAIL lines (a boot
# that did not reach BT86-DONE is one more failure) into pass and fail.
kmod_tally() {
	local log=$1 cpu=$2 start=$3 st=$4 p f
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	if ! grep -q '^BT86-DONE' "$log"; then
		echo "FAIL $cpu: the VM did not finish the tests (qemu status $st); last lines:"
		tail -n 40 "$log" | sed 's/^/  | /'
		f=$((f + 1))
	fi
	echo "  -cpu $cpu: $p passed, $f failed in $(($(date +%s) - start)) s"
	pass=$((pass + p))
	fail=$((fail + f))
}
