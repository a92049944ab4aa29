#!/bin/busybox sh
# init.sh: /init of the kmod test initramfs: load bt86.ko, run the tests, check dmesg, power off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
dmesg -n 1
dmesg -c >/dev/null

verdict() {	# verdict NAME STATUS
	if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1"; fi
}

echo "INFO cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "INFO kernel: $(uname -r), la57: $(grep -qw la57 /proc/cpuinfo && echo yes || echo no)," \
     "protections: $(for f in smep smap umip pku pti; do grep -qw $f /proc/cpuinfo && echo -n "$f "; done)," \
     "meltdown: $(cat /sys/devices/system/cpu/vulnerabilities/meltdown)"

insmod /bt86.ko
verdict insmod $?
[ -c /dev/bt86 ]
verdict dev-node $?

# The harness puts bt86_nmitest=1 on the kernel command line when it
# injects NMIs from the qemu monitor; the kernel hands it to us as a variable.
[ -n "${bt86_nmitest:-}" ] && export BT86_NMITEST=1
/bt86test
/compat32

# Everything must be closed by now: the module can go.
rmmod bt86
verdict rmmod $?
insmod /bt86.ko && rmmod bt86
verdict reload $?

if dmesg | grep -E 'WARNING|BUG|Oops|general protection|Call Trace|RIP:|bt86: monitor fault'; then
	verdict dmesg-clean 1
else
	verdict dmesg-clean 0
fi
echo BT86-DONE
poweroff -f
