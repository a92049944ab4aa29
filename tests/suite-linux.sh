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
CACHE=build/cache
BUSYBOX=$CACHE/busybox-i386
pass=0
fail=0

ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

fetch_busybox() {
	local tmp deb
	[ -s "$BUSYBOX" ] && return 0
	tmp=$(mktemp -d "$CACHE/bb.XXXXXX")
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -q busybox-static:i386 >/dev/null 2>&1) || true
	deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ] || ! dpkg-deb -x "$deb" "$tmp/x"; then
		rm -rf "$tmp"
		return 1
	fi
	cp "$tmp/x/bin/busybox" "$BUSYBOX.part" && mv "$BUSYBOX.part" "$BUSYBOX"
	rm -rf "$tmp"
}

mkdir -p "$CACHE"
if ! bash tests/suite-loader.sh --fetch-only >/dev/null; then
	bad "could not fetch Debian's i386 kernel (apt-get download linux-image-686:i386)"
	echo "linux: $pass passed, $fail failed"
	exit 1
fi
if ! fetch_busybox; then
	bad "could not fetch busybox-static:i386 (apt-get download)"
	echo "linux: $pass passed, $fail failed"
	exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev"
cp "$BUSYBOX" "$root/bin/busybox"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mkdir -p /usr/bin /sbin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
echo "bt86-linux: user space is up"
grep -m1 "model name" /proc/cpuinfo
for i in 1 2 3; do echo "bt86-linux: child $i says $(echo hi)"; done
echo "bt86-linux: md5 $(echo bt86 | md5sum)"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null) >"$root.cpio"

t0=$(date +%s)
out=$(timeout -s TERM 120 "$BT86" run -m 128M --initrd "$root.cpio" \
	--append "console=ttyS0 pci=off acpi=off noapic nolapic quiet" \
	"$CACHE/vmlinuz-686" 2>&1)
st=$?
secs=$(($(date +%s) - t0))
rm -f "$root.cpio"

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
