#!/usr/bin/env bash
# Install the Debian packages bt86 needs; silent and quick when all are present.
set -u

PKGS=(libzydis-dev libzycore-dev libdwarf-dev libelf-dev gcc-multilib nasm
      qemu-system-x86 busybox-static cpio linux-image-amd64 linux-headers-amd64)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
	command -v sudo >/dev/null || {
		echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq "${missing[@]}" >/tmp/bt86-deps.log 2>&1; then
	# A fresh machine may never have fetched package lists.
	$SUDO apt-get update -qq >>/tmp/bt86-deps.log 2>&1
	if ! $SUDO apt-get install -y -qq "${missing[@]}" >>/tmp/bt86-deps.log 2>&1; then
		echo "deps: apt-get install ${missing[*]} failed; see /tmp/bt86-deps.log:" >&2
		tail -n 20 /tmp/bt86-deps.log >&2
		exit 1
	fi
fi
