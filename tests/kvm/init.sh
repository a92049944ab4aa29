#!/bin/busybox sh
# init.sh: /init of the kvm test initramfs: load kvm_amd, run the samples and engine tests under --engine=kvm (and bt), power off.
#
# Every verdict is one serial line the host parses: "PASS name", "FAIL name:
# why", "INFO ...", and "BT86-KVM-DONE" at the end.  Only kvm runs are
# judged; bt runs of the same guests are INFO lines, for the timing table.
# Kernel command-line knobs for debugging (the kernel hands them to init as
# variables; tests/suite-kvm.sh passes KVM_APPEND through):
#   bt86_kvm_only=NAME     run only that sample
#   bt86_kvm_repeat=N      run each sample N times
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
dmesg -n 1

verdict() {	# verdict NAME STATUS [WHY]
	if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1${3:+: $3}"; fi
}

# Centiseconds since boot, from /proc/uptime (busybox date has no %N).
now_cs() {
	awk '{ split($1, t, "."); print t[1] * 100 + t[2] }' /proc/uptime
}

echo "INFO cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)," \
     "svm: $(grep -qw svm /proc/cpuinfo && echo yes || echo no)"

# The harness lists kvm-amd and its dependencies in load order.
while read -r m; do
	insmod "/modules/$m.ko" || echo "INFO insmod $m failed"
done </modules/order
[ -c /dev/kvm ]
verdict kvm-module $? "no /dev/kvm after loading kvm_amd"

# The probe must accept this KVM; --stats shows the kvm engine's counters.
/bt86 run -q --stats --engine=kvm /samples/hello.elf </dev/null >/tmp/out 2>&1
st=$?
grep -q '^== kvm engine' /tmp/out && grep -q 'KVM_RUN calls' /tmp/out
verdict probe-and-stats $(( st != 1 || $? != 0 )) "status $st: $(grep -m1 error /tmp/out)"
sed -n 's/^ *probe  */INFO probe: /p' /tmp/out

# run_one ENGINE TIMEOUT OUTFILE ARGS...: sets st and cs (elapsed centiseconds).
# SIGINT first: bt86 stops and still prints its --stats.
run_one() {
	eng=$1 to=$2 out=$3
	shift 3
	t0=$(now_cs)
	timeout -s INT "$to" /bt86 run -q --stats --engine="$eng" "$@" </dev/null >"$out" 2>&1
	st=$?
	cs=$(( $(now_cs) - t0 ))
}

# judge WANT TIMEOUT OUTFILE: why (empty when the run passed).
judge() {
	why=""
	if [ "$st" -eq 130 ] || [ "$st" -eq 137 ] || [ "$st" -eq 143 ]; then
		why="timed out after $2 s"
	elif [ "$st" -ne "$1" ]; then
		why="exit status $st, expected $1"
	elif grep -q '^FAIL' "$3"; then
		why="guest reported failures"
	fi
}

# run_cfg CFG: every guest listed (samples/guests.cfg format) under kvm, then bt.
run_cfg() {
while read -r name want to rest; do
	case "$name" in ''|'#'*) continue ;; esac
	[ -n "${bt86_kvm_only:-}" ] && [ "$name" != "$bt86_kvm_only" ] && continue
	mem=128M
	append=""
	set -- $rest
	while [ $# -gt 0 ]; do
		case "$1" in
		-m) mem=$2; shift 2 ;;
		--append) shift; append="$*"; set -- ;;
		*) shift ;;
		esac
	done
	label=$name
	[ -n "$rest" ] && label="$name [$rest]"
	# Nested KVM under TCG starts slowly: twice the host's budget.
	to=$((to * 2))
	for rep in $(seq "${bt86_kvm_repeat:-1}"); do
		run_one kvm "$to" /tmp/out -m "$mem" --append "$append" "/samples/$name.elf"
		judge "$want" "$to" /tmp/out
		# Timing-sensitive checks (RTC UIP window, register C between
		# two 1024 Hz ticks) can miss when every exit costs ~100 us of
		# nested TCG: up to two retries, each failure stays visible.
		for retry in 1 2; do
			[ -z "$why" ] && break
			echo "INFO kvm/$label failed ($why), retry $retry:"
			grep -v '^PASS' /tmp/out | sed 's/^/    | /'
			run_one kvm "$to" /tmp/out -m "$mem" --append "$append" "/samples/$name.elf"
			judge "$want" "$to" /tmp/out
		done
		if [ -z "$why" ]; then
			echo "PASS kvm/$label"
		else
			echo "FAIL kvm/$label: $why"
			tail -n 60 /tmp/out | sed 's/^/    | /'
		fi
		kst=$st
		kcs=$cs
		run_one bt "$to" /tmp/out.bt -m "$mem" --append "$append" "/samples/$name.elf"
		echo "INFO time $label: kvm ${kcs}0 ms (status $kst), bt ${cs}0 ms (status $st)"
	done
done <"$1"
}

run_cfg /samples/guests.cfg
run_cfg /samples/paging.cfg
[ -n "${bt86_kvm_only:-}" ] && { echo BT86-KVM-DONE; poweroff -f; }

# The engine itself (tests/kvm/engine.S): CPUID, CR0, MMIO, string I/O, TSC
# exactly as the shared model says; triple fault and cli;hlt as under bt.
run_one kvm 60 /tmp/out /kvmtests/engine.elf
grep -v '^bt86:\|^==\|^  ' /tmp/out >/tmp/got
judge 1 60 /tmp/out
[ -z "$why" ] && ! cmp -s /tmp/got /kvmtests/engine.out && why="output differs from the model"
verdict kvm/engine-model $([ -z "$why" ]; echo $?) "$why"
[ -n "$why" ] && diff /kvmtests/engine.out /tmp/got | sed 's/^/    | /'
run_one bt 60 /tmp/out.bt /kvmtests/engine.elf
grep -v '^bt86:\|^==\|^  ' /tmp/out.bt >/tmp/got.bt
cmp -s /tmp/got.bt /kvmtests/engine.out ||
	{ echo "INFO bt/engine-model differs from the model (status $st):"; diff /kvmtests/engine.out /tmp/got.bt | sed 's/^/    | /'; }

run_one kvm 60 /tmp/out --append triple /kvmtests/engine.elf
judge 6 60 /tmp/out
[ -z "$why" ] && ! grep -q 'triple fault' /tmp/out && why="no 'triple fault' message"
verdict kvm/triple-fault $([ -z "$why" ]; echo $?) "$why"
[ -n "$why" ] && sed 's/^/    | /' /tmp/out

run_one kvm 60 /tmp/out --append halt /kvmtests/engine.elf
judge 0 60 /tmp/out
verdict kvm/cli-hlt $([ -z "$why" ]; echo $?) "$why"
[ -n "$why" ] && sed 's/^/    | /' /tmp/out

echo BT86-KVM-DONE
poweroff -f
