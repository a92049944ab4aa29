#!/bin/busybox sh
# btkmod-init.sh: /init of the bt-kmod initramfs: load bt86.ko, run every sample under --engine=bt and --engine=bt-kmod, compare.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
dmesg -n 1
dmesg -c >/dev/null

verdict() {	# verdict NAME STATUS
	if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1"; fi
}

# Numbers that depend on timing (TSC rates, tick counts, saved EIPs) differ
# from run to run; everything else a guest prints must be the same.
normalize() {
	tr -d '\r' <"$1" | sed -E 's/[0-9][0-9a-fA-Fx.]*/#/g'
}

# Guests whose lines interleave with timer ticks (tasks preempted by the
# PIT): the order depends on how fast each engine runs, the lines do not.
unordered() {
	case "$1" in demo) sort ;; *) cat ;; esac
}

echo "INFO kernel: $(uname -r), protections:" \
     "$(for f in smep smap umip pku pti la57; do grep -qw $f /proc/cpuinfo && echo -n "$f "; done)"
insmod /bt86.ko
verdict insmod $?

# "make bench" boots with btkmod_mode=bench: measure instead of test.
if [ "${btkmod_mode:-}" = bench ]; then
	# Kernel-side costs, from the module's own tests (INFO lines).
	/bt86test 2>&1 | grep '^INFO' | grep -iE 'round trip|fill|ns' | sed 's/^INFO /BENCH module: /'
	cd /guests
	for eng in bt bt-kmod bt-kmod-nokcall bt-kmod-mirror; do
		case $eng in
		bt-kmod-mirror) BT86_KVIEWS=0 /bt86 run -q --engine=bt-kmod paging_bench.elf ;;
		bt-kmod-nokcall) BT86_KCALLS=0 /bt86 run -q --engine=bt-kmod paging_bench.elf ;;
		*) /bt86 run -q --engine=$eng paging_bench.elf ;;
		esac </dev/null >/tmp/bench.$eng 2>&1
		echo "BENCH engine $eng status $?"
		sed -n '/^op /,/^bench done/p' /tmp/bench.$eng | sed "s/^/BENCH $eng: /"
	done
	cd /
	rmmod bt86
	echo BT86-DONE
	poweroff -f
fi

# Callouts bt86.ko completed in ring 0, over every guest: "mov-from-cr invlpg store segment".
kcalls="0 0 0 0"
cd /guests
while read -r name want to rest; do
	case "$name" in ''|'#'*) continue ;; esac
	mem=128M
	append=""
	set -- $rest
	while [ $# -gt 0 ]; do
		case "$1" in
		-m) mem=$2; shift 2 ;;
		--append) shift; append="$*"; break ;;
		*) shift ;;
		esac
	done
	label="$name${rest:+ [$rest]}"
	# Each engine gets the guest's timeout scaled for TCG.
	tmo=$((to * ${BTKMOD_SLOW:-10}))
	timeout "$tmo" /bt86 run -q --engine=bt -m "$mem" --append "$append" "$name.elf" \
		</dev/null >/tmp/out.bt 2>&1
	st_bt=$?
	start=$(date +%s)
	timeout "$tmo" /bt86 run -q --engine=bt-kmod --stats -m "$mem" --append "$append" \
		"$name.elf" </dev/null >/tmp/out.kmod 2>/tmp/stats.kmod
	st=$?
	secs=$(($(date +%s) - start))
	why=""
	if [ "$st" -ne "$want" ]; then
		why="exit status $st, expected $want (bt: $st_bt)"
	elif grep -q '^FAIL' /tmp/out.kmod; then
		why="the guest reported failures"
	elif ! normalize /tmp/out.bt | unordered "$name" >/tmp/n.bt ||
	     ! normalize /tmp/out.kmod | unordered "$name" >/tmp/n.kmod ||
	     ! cmp -s /tmp/n.bt /tmp/n.kmod; then
		why="output differs from --engine=bt"
	fi
	if [ -z "$why" ]; then
		echo "PASS bt-kmod/$label (${secs}s, bt status $st_bt)"
		grep -E 'world switches|mirrored|exits: faults|kcalls completed' /tmp/stats.kmod |
			sed 's/^/INFO   /'
		kcalls=$(sed -n 's/.*mov-from-cr \([0-9]*\), invlpg \([0-9]*\), store \([0-9]*\), segment \([0-9]*\);.*/\1 \2 \3 \4/p' \
			/tmp/stats.kmod | { read -r c i w g; set -- $kcalls
			echo $(($1 + ${c:-0})) $(($2 + ${i:-0})) $(($3 + ${w:-0})) $(($4 + ${g:-0})); })
	else
		echo "FAIL bt-kmod/$label: $why"
		diff /tmp/n.bt /tmp/n.kmod | head -n 20 | sed 's/^/  | /'
		tail -n 20 /tmp/out.kmod | sed 's/^/  > /'
		tail -n 30 /tmp/stats.kmod | sed 's/^/  s /'
	fi
done </guests/guests.cfg
cd /

# Debian's i386 kernel under bt-kmod: to user space, three children, power off.
if [ -f /linux/vmlinuz ]; then
	start=$(date +%s)
	timeout 1500 /bt86 run -q --engine=bt-kmod --stats -m 128M --initrd /linux/initramfs.cpio \
		--append "$(cat /linux/append)" /linux/vmlinuz </dev/null >/tmp/out.linux 2>/tmp/stats.linux
	st=$?
	secs=$(($(date +%s) - start))
	verdict "linux under bt-kmod: booted, ran /init, powered off (status $st, ${secs}s)" \
		$([ "$st" -eq 0 ] && grep -q "bt86-linux: user space is up" /tmp/out.linux &&
		  [ "$(grep -c 'bt86-linux: child [123] says hi' /tmp/out.linux)" -eq 3 ] &&
		  grep -q "bt86-linux: md5 $(echo bt86 | md5sum)" /tmp/out.linux; echo $?)
	grep -E 'world switches|kcalls completed|IBL misses|exits: (callout|IBL)' /tmp/stats.linux |
		sed 's/^/INFO   /'
	[ "$st" -eq 0 ] || tail -n 30 /tmp/out.linux | sed 's/^/  > /'
fi

# The guests read CRs, invlpg, rewrite PTEs and reload segments at CPL 0: some must have been kcalls.
set -- $kcalls
[ "$1" -gt 0 ] && [ "$2" -gt 0 ] && [ "$3" -gt 0 ] && [ "$4" -gt 0 ]
verdict "kcalls completed in ring 0: mov-from-cr $1, invlpg $2, store $3, segment $4" $?

rmmod bt86
verdict rmmod $?
# No module: bt-kmod must refuse with the "no engine" status and a clear message.
/bt86 run -q --engine=bt-kmod /guests/hello.elf </dev/null >/tmp/out.nomod 2>&1
st=$?
[ "$st" -eq 8 ] && grep -q 'load the module' /tmp/out.nomod
verdict "no-module: status 8 and a message naming the fix (status $st)" $?

if dmesg | grep -E 'WARNING|BUG|Oops|general protection|Call Trace|RIP:|bt86: monitor fault'; then
	verdict dmesg-clean 1
else
	verdict dmesg-clean 0
fi
echo BT86-DONE
poweroff -f
