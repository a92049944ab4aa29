#!/usr/bin/env bash
# Loader suite: `bt86 info` on Debian's i386 bzImage, corrupted copies of it, and the samples.
#
# The Debian kernel is fetched once with `apt-get download` (adding the i386
# architecture if needed) and cached under build/cache/, so reruns are quick.
set -u
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
BT86=$BUILD/bt86
CACHE=$BUILD/cache
VMLINUZ=$CACHE/vmlinuz-686
pass=0
fail=0

ok()	{ pass=$((pass + 1)); echo "ok   $*"; }
bad()	{ fail=$((fail + 1)); echo "FAIL $*"; }
check()	{ if eval "$2"; then ok "$1"; else bad "$1"; fi; }	# check NAME COND

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

# Name of the concrete image package behind the linux-image-686 metapackage.
kernel_pkg() {
	apt-cache depends linux-image-686:i386 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { sub(/:i386$/, "", $2); print $2; exit }'
}

fetch_vmlinuz() {
	local pkg tmp deb
	[ -s "$VMLINUZ" ] && return 0
	mkdir -p "$CACHE"
	if ! dpkg --print-foreign-architectures | grep -qx i386; then
		as_root dpkg --add-architecture i386 || return 1
	fi
	pkg=$(kernel_pkg)
	if [ -z "$pkg" ]; then
		# A partly failed update (one mirror syncing) still leaves usable lists.
		as_root apt-get update -qq >&2 || echo "apt-get update reported errors" >&2
		pkg=$(kernel_pkg)
	fi
	[ -n "$pkg" ] || { echo "no linux-image-*-686 package found" >&2; return 1; }
	tmp=$(mktemp -d "$CACHE/fetch.XXXXXX")
	chmod 755 "$tmp"
	# apt-get download as root warns that _apt cannot write here; harmless.
	(cd "$tmp" && apt-get download -q "$pkg:i386" 2>&1 | grep -v '^W: Download is performed unsandboxed') || true
	deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ] || ! dpkg-deb -x "$deb" "$tmp/x"; then
		rm -rf "$tmp"
		echo "apt-get download $pkg:i386 failed" >&2
		return 1
	fi
	cp "$(ls "$tmp"/x/boot/vmlinuz-* | head -n 1)" "$VMLINUZ.part" &&
		mv "$VMLINUZ.part" "$VMLINUZ"
	echo "$pkg" >"$CACHE/vmlinuz-686.pkg"
	rm -rf "$tmp"
	[ -s "$VMLINUZ" ]
}

if [ "${1:-}" = "--fetch-only" ]; then
	fetch_vmlinuz
	exit $?
fi
