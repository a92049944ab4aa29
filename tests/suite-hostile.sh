#!/usr/bin/env bash
# Hostile guests under the bt engine: bt86 must end every one cleanly.
#
# garbage_idt must end in a triple fault (status 6) with a message naming it;
# random_code may end any clean way (triple fault 6, halt 0, an odd exit-port
# status, or a timeout for an endless loop) but never with a VMM error (4) or
# a crash (a signal); wild_memory is self-checking.
set -u
cd "$(dirname "$0")/.."
BT86=build/bt86
pass=0
fail=0

ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

for seed in 1 2 3; do
	out=$(timeout 10 "$BT86" run -q build/hostile/garbage_idt.elf --append "seed=$seed" 2>&1)
	st=$?
	if [ $st -eq 6 ] && grep -q "triple fault" <<<"$out"; then
		ok "garbage_idt seed=$seed: triple fault"
	else
		bad "garbage_idt seed=$seed: status $st: $(tail -n 2 <<<"$out")"
	fi
done

hung=0
for seed in $(seq 1 60); do
	out=$(timeout -s TERM 3 "$BT86" run -q --serial none build/hostile/random_code.elf \
		--append "seed=$seed" 2>&1)
	st=$?
	case $st in
	6|0|130|124) ok "random_code seed=$seed: status $st" ;;
	*)
		if [ $((st % 2)) -eq 1 ] && [ $st -lt 128 ]; then
			ok "random_code seed=$seed: exit port status $st"
		else
			bad "random_code seed=$seed: status $st: $(tail -n 2 <<<"$out")"
		fi
		;;
	esac
	[ $st -eq 130 ] || [ $st -eq 124 ] && hung=$((hung + 1))
done
echo "  ($hung of 60 random programs looped until stopped)"

out=$(timeout 20 "$BT86" run -q build/hostile/wild_memory.elf 2>&1)
st=$?
if [ $st -eq 1 ] && ! grep -q '^FAIL' <<<"$out"; then
	ok "wild_memory"
else
	bad "wild_memory: status $st"
	sed 's/^/    | /' <<<"$out" | grep FAIL | head
fi

for seed in 1 2 3 4 5 6 7 8 38; do
	out=$(timeout -s TERM 5 "$BT86" run -q build/hostile/garbage_pt.elf --append "seed=$seed" 2>&1)
	st=$?
	if [ $st -eq 1 ] && ! grep -q '^FAIL' <<<"$out"; then
		ok "garbage_pt seed=$seed: finished"
	elif [ $st -eq 6 ]; then
		ok "garbage_pt seed=$seed: triple fault (its tables ate its kernel)"
	elif [ $st -eq 124 ] || [ $st -eq 130 ]; then
		ok "garbage_pt seed=$seed: its writes wrecked its own kernel; looped until stopped"
	elif [ $st -eq 0 ] || [ $st -eq 3 ]; then
		ok "garbage_pt seed=$seed: its writes wrecked its own kernel or data (status $st)"
	else
		bad "garbage_pt seed=$seed: status $st: $(grep -E 'FAIL|error' <<<"$out" | head -3)"
	fi
done

# A spinning guest stops cleanly, and promptly, on SIGTERM and SIGINT.
for sig in TERM INT; do
	"$BT86" run -q --serial none build/hostile/spin.elf </dev/null 2>/tmp/bt86-spin.$$ &
	pid=$!
	sleep 0.5
	t0=$(date +%s%N)
	kill -s $sig $pid
	wait $pid
	st=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ $st -eq 130 ] && [ $ms -lt 1000 ]; then
		ok "spin: SIG$sig stops the VM (status 130 after ${ms} ms)"
	else
		bad "spin: SIG$sig gave status $st after ${ms} ms: $(cat /tmp/bt86-spin.$$)"
	fi
	rm -f /tmp/bt86-spin.$$
done

echo "hostile: $pass passed, $fail failed"
[ $fail -eq 0 ]
