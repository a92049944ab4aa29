#!/usr/bin/env bash
# Debian's i386 kernel and a busybox initramfs under the bt engine, to user space and back.
#
# The kernel comes from Debian's linux-image-686 (fetched by suite-loader.sh's
# helper), busybox from busybox-static:i386; both are cached in build/cache.
# The initramfs mounts /proc, prints what it sees, forks a few children and
# powers off: bt86 must exit 0 with every marker line on the console.
set -u
cd "$(dirname "$0")/.."
BT86=build/bt86
. tests/linux-guest.sh
pass=0
fail=0

ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

if ! why=$(linux_guest_fetch); then
	bad "$why"
	echo "linux: $pass passed, $fail failed"
	exit 1
fi
cpio=$(mktemp)
trap 'rm -f "$cpio"' EXIT
linux_guest_initramfs "$cpio"

t0=$(date +%s)
out=$(timeout -s TERM 120 "$BT86" run -m 128M --initrd "$cpio" --append "$LINUX_APPEND" \
	"$LINUX_KERNEL" 2>&1)
st=$?
secs=$(($(date +%s) - t0))

[ $st -eq 0 ] && ok "kernel booted, ran /init and powered off (status 0, ${secs}s)" ||
	bad "status $st after ${secs}s: $(tail -n 5 <<<"$out")"
grep -q "bt86-linux: user space is up" <<<"$out" && ok "user space reached" ||
	bad "no 'user space is up' line"
grep -q "model name.*bt86 virtual P6-class CPU" <<<"$out" && ok "/proc/cpuinfo shows the virtual CPU" ||
	bad "/proc/cpuinfo does not show the bt86 model"
[ "$(grep -c 'bt86-linux: child [123] says hi' <<<"$out")" -eq 3 ] && ok "three forked children ran" ||
	bad "children missing"
grep -q "bt86-linux: md5 $(echo bt86 | md5sum)" <<<"$out" && ok "md5sum in the guest agrees with the host" ||
	bad "md5sum differs"
if [ $fail -ne 0 ]; then
	sed 's/^/    | /' <<<"$out" | tail -n 40
fi
echo "linux: $pass passed, $fail failed"
[ $fail -eq 0 ]
