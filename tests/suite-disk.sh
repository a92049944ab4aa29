#!/usr/bin/env bash
# The IDE disk from the guest's side, under QEMU (reference) and bt86, and on the host afterwards.
#
# samples/ide reads a signature the host put in sector 0, writes sectors 5
# and 100-103 with a pattern (plain and MULTIPLE commands, rep outsw/insw)
# and flushes; the host then checks the pattern is in the image file.
set -u
cd "$(dirname "$0")/.."
BT86=build/bt86
QEMU=qemu-system-i386
pass=0
fail=0

ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

make --no-print-directory -s samples >/dev/null 2>&1 || { bad "building the samples"; echo "0 passed, 1 failed"; exit 1; }

# A 1 MiB image: "bt86-disk" at the start, zeros elsewhere.
new_image() {
	python3 -c "import sys; b = bytearray(1 << 20); b[0:9] = b'bt86-disk'; open(sys.argv[1], 'wb').write(b)" "$1"
}

# The sectors the guest wrote hold lba*1000+i as 16-bit words.
host_check() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
ok = all(w == (5 * 1000 + i) & 0xffff for i, w in enumerate(struct.unpack_from('<256H', d, 5 * 512)))
ok &= all(w == (100 * 1000 + i) & 0xffff for i, w in enumerate(struct.unpack_from('<1024H', d, 100 * 512)))
sys.exit(0 if ok else 1)
PY
}

img=$(mktemp)
log=$(mktemp)
trap 'rm -f "$img" "$log"' EXIT

if command -v "$QEMU" >/dev/null 2>&1; then
	new_image "$img"
	timeout 30 "$QEMU" -kernel samples/build/ide.elf -display none -monitor none -serial stdio \
		-no-reboot -m 64 -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-drive file="$img",format=raw,if=ide,index=0 </dev/null >"$log" 2>&1
	st=$?
	[ $st -eq 1 ] && ! grep -q '^FAIL' "$log" && ok "qemu/ide" || { bad "qemu/ide: status $st"; sed 's/^/    | /' "$log" | tail -20; }
fi

new_image "$img"
timeout 30 "$BT86" run -q --disk "$img" samples/build/ide.elf </dev/null >"$log" 2>&1
st=$?
[ $st -eq 1 ] && ! grep -q '^FAIL' "$log" && ok "bt/ide" || { bad "bt/ide: status $st"; sed 's/^/    | /' "$log" | tail -20; }
host_check "$img" && ok "the guest's writes are in the image file" || bad "the image file lacks the guest's writes"

# A read-only image is refused up front with a message that says so (root
# ignores file modes, so the check runs as nobody).
chmod 0444 "$img"
if [ "$(id -u)" -eq 0 ]; then
	out=$(su nobody -s /bin/sh -c "$BT86 run -q --disk $img samples/build/ide.elf" 2>&1 </dev/null)
else
	out=$("$BT86" run -q --disk "$img" samples/build/ide.elf 2>&1 </dev/null)
fi
st=$?
[ $st -eq 4 ] && grep -qi "read-only\|permission" <<<"$out" && ok "read-only image: clear error, status 4" ||
	bad "read-only image: status $st: $out"
out=$("$BT86" run -q --disk /nonexistent.img samples/build/ide.elf 2>&1 </dev/null)
st=$?
[ $st -eq 4 ] && grep -q "nonexistent.img" <<<"$out" && ok "missing image: clear error, status 4" ||
	bad "missing image: status $st: $out"

echo "disk: $pass passed, $fail failed"
[ $fail -eq 0 ]
