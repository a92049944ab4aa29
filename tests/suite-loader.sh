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

# Unsigned little-endian field of SIZE bytes at OFFSET in FILE, in decimal.
field() {	# field FILE OFFSET SIZE
	od -An -t "u$3" -j "$(($2))" -N "$3" "$1" | tr -d ' \n'
}

# Value of "key: value" in bt86 info output (first word of the value).
info_key() {	# info_key OUTPUT KEY
	sed -n "s/^$2: \([^ ]*\).*/\1/p" <<<"$1" | head -n 1
}

hexeq() {	# hexeq A B: numeric equality of 0x.. or decimal strings
	[ -n "$1" ] && [ -n "$2" ] && [ $(($1)) -eq $(($2)) ]
}

if [ ! -x "$BT86" ]; then
	make --no-print-directory "$BT86" >/dev/null 2>&1
fi
if [ ! -x "$BT86" ]; then
	bad "$BT86 is not built (make $BT86 failed)"
	echo "$pass passed, $fail failed"
	exit 1
fi

# ---- Debian's i386 kernel ----
if fetch_vmlinuz; then
	ok "fetched $(cat "$CACHE/vmlinuz-686.pkg" 2>/dev/null) vmlinuz"
	K=$VMLINUZ
	out=$("$BT86" info "$K" 2>&1)
	st=$?
	check "info exits 0 on vmlinuz" '[ $st -eq 0 ]'
	check "format is linux-bzimage" '[ "$(info_key "$out" format)" = linux-bzimage ]'

	ver=$(field "$K" 0x206 2)
	want_proto=$(printf '%d.%02d' $((ver >> 8)) $((ver & 0xff)))
	check "boot_protocol $want_proto matches header" \
		'[ "$(info_key "$out" boot_protocol)" = "$want_proto" ]'
	check "boot protocol >= 2.06" '[ "$ver" -ge $((0x206)) ]'

	kv_off=$(( $(field "$K" 0x20e 2) + 0x200 ))
	kv=$(dd if="$K" bs=1 skip="$kv_off" count=120 status=none | tr '\0' '\n' | head -n 1)
	check "kernel_version matches string at 0x20e" \
		'[ -n "$kv" ] && grep -qxF "kernel_version: $kv" <<<"$out"'
	pkgver=$(sed 's/^linux-image-//' "$CACHE/vmlinuz-686.pkg" 2>/dev/null)
	check "kernel_version names the package ($pkgver)" \
		'[ -n "$pkgver" ] && grep -q "^kernel_version: $pkgver " <<<"$out"'

	sects=$(field "$K" 0x1f1 1)
	[ "$sects" -eq 0 ] && sects=4
	check "setup_sects $sects" 'hexeq "$(info_key "$out" setup_sects)" "$sects"'
	check "syssize" 'hexeq "$(info_key "$out" syssize)" "$(field "$K" 0x1f4 4)"'
	size=$(stat -c %s "$K")
	check "protected_mode_size = file - setup" \
		'hexeq "$(info_key "$out" protected_mode_size)" $((size - (sects + 1) * 512))'
	check "code32_start" 'hexeq "$(info_key "$out" code32_start)" "$(field "$K" 0x214 4)"'
	reloc=$(field "$K" 0x234 1)
	check "relocatable" \
		'[ "$(info_key "$out" relocatable)" = "$([ "$reloc" -ne 0 ] && echo yes || echo no)" ]'
	check "kernel_alignment" \
		'hexeq "$(info_key "$out" kernel_alignment)" "$(field "$K" 0x230 4)"'
	check "pref_address" 'hexeq "$(info_key "$out" pref_address)" "$(field "$K" 0x258 8)"'
	check "init_size" 'hexeq "$(info_key "$out" init_size)" "$(field "$K" 0x260 4)"'
	check "initrd_addr_max" \
		'hexeq "$(info_key "$out" initrd_addr_max)" "$(field "$K" 0x22c 4)"'
	check "cmdline_size" 'hexeq "$(info_key "$out" cmdline_size)" "$(field "$K" 0x238 4)"'
	check "loadflags" 'hexeq "$(info_key "$out" loadflags)" "$(field "$K" 0x211 1)"'
	check "loadflags decoded LOADED_HIGH" 'grep -q "^loadflags: .*LOADED_HIGH" <<<"$out"'
	check "xloadflags" 'hexeq "$(info_key "$out" xloadflags)" "$(field "$K" 0x236 2)"'
	if [ "$reloc" -ne 0 ]; then
		check "entry at pref_address" \
			'hexeq "$(info_key "$out" entry)" "$(field "$K" 0x258 8)"'
	fi

	# Corrupted copies: non-zero exit and a message that names the problem.
	T=$(mktemp -d)
	expect_error() {	# expect_error NAME FILE PATTERN
		local o s
		o=$("$BT86" info "$2" 2>&1 >/dev/null)
		s=$?
		if [ $s -ne 0 ] && grep -q "$3" <<<"$o" && grep -qF "$2" <<<"$o"; then
			ok "$1: exit $s, '$o'"
		else
			bad "$1: exit $s, message '$o' (want /$3/ naming $2)"
		fi
	}
	head -c $((size / 2)) "$K" >"$T/truncated"
	expect_error "truncated vmlinuz" "$T/truncated" "truncated"
	head -c 1000 "$K" >"$T/truncated-setup"
	expect_error "vmlinuz cut inside setup" "$T/truncated-setup" "truncated"
	cp "$K" "$T/bad-magic"
	printf 'XXXX' | dd of="$T/bad-magic" bs=1 seek=$((0x202)) conv=notrunc status=none
	expect_error "bad HdrS magic" "$T/bad-magic" "magic"
	cp "$K" "$T/old-proto"
	printf '\x05\x02' | dd of="$T/old-proto" bs=1 seek=$((0x206)) conv=notrunc status=none
	expect_error "protocol 2.05" "$T/old-proto" "protocol version 2.05"
	cp "$K" "$T/no-boot-sector"
	printf 'XXXX' | dd of="$T/no-boot-sector" bs=1 seek=$((0x1fe)) conv=notrunc status=none
	printf 'XXXX' | dd of="$T/no-boot-sector" bs=1 seek=$((0x202)) conv=notrunc status=none
	expect_error "neither format" "$T/no-boot-sector" "not a kernel image"
	expect_error "missing file" "$T/does-not-exist" "cannot open"
	rm -rf "$T"
else
	bad "could not fetch Debian's linux-image-686 (apt-get download)"
fi

# ---- the samples ----
nsamples=0
for elf in samples/build/*.elf; do
	[ -f "$elf" ] || continue
	nsamples=$((nsamples + 1))
	name=$(basename "$elf")
	out=$("$BT86" info "$elf" 2>&1)
	st=$?
	check "$name: info exits 0" '[ $st -eq 0 ]'
	check "$name: format multiboot" '[ "$(info_key "$out" format)" = multiboot ]'
	if command -v readelf >/dev/null; then
		want_entry=$(readelf -h "$elf" | awk '/Entry point/ { print $4 }')
		check "$name: entry $want_entry" 'hexeq "$(info_key "$out" entry)" "$want_entry"'
		nload=$(readelf -lW "$elf" | awk '$1 == "LOAD" && $6 != "0x000000"' | wc -l)
		check "$name: $nload load segments" 'hexeq "$(info_key "$out" segments)" "$nload"'
	fi
done
[ "$nsamples" -eq 0 ] && echo "no samples/build/*.elf yet: skipped"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
