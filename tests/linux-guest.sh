# linux-guest.sh: Debian's i386 kernel and a busybox initramfs for the Linux suites (sourced).
#
# linux_guest_fetch: the kernel (Debian's linux-image-686, through
# suite-loader.sh's helper) and busybox-static:i386, cached in build/cache;
# returns non-zero with a message on stdout when either cannot be fetched.
# linux_guest_initramfs FILE: the initramfs: mount /proc, print marker
# lines ("bt86-linux: ..."), fork a few children, power off.

LINUX_CACHE=build/cache
LINUX_KERNEL=$LINUX_CACHE/vmlinuz-686
LINUX_BUSYBOX=$LINUX_CACHE/busybox-i386
LINUX_APPEND="console=ttyS0 pci=off acpi=off noapic nolapic quiet"

linux_fetch_busybox() {
	local tmp deb
	[ -s "$LINUX_BUSYBOX" ] && return 0
	tmp=$(mktemp -d "$LINUX_CACHE/bb.XXXXXX")
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -q busybox-static:i386 >/dev/null 2>&1) || true
	deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ] || ! dpkg-deb -x "$deb" "$tmp/x"; then
		rm -rf "$tmp"
		return 1
	fi
	cp "$tmp/x/bin/busybox" "$LINUX_BUSYBOX.part" && mv "$LINUX_BUSYBOX.part" "$LINUX_BUSYBOX"
	rm -rf "$tmp"
}

linux_guest_fetch() {
	mkdir -p "$LINUX_CACHE"
	if ! bash tests/suite-loader.sh --fetch-only >/dev/null; then
		echo "could not fetch Debian's i386 kernel (apt-get download linux-image-686:i386)"
		return 1
	fi
	if ! linux_fetch_busybox; then
		echo "could not fetch busybox-static:i386 (apt-get download)"
		return 1
	fi
}

linux_guest_initramfs() {
	local root
	root=$(mktemp -d)
	mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev"
	cp "$LINUX_BUSYBOX" "$root/bin/busybox"
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
	(cd "$root" && find . | cpio -o -H newc 2>/dev/null) >"$1"
	rm -rf "$root"
}
