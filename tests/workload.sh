# workload.sh - the workload generator's options (tests/workload.c), as far
# as they show without KSM: bad options are refused, -n leaves the memory
# without MADV_MERGEABLE, and -b allocates and frees in bursts. Needs no root
# and no KSM; nothing here can merge (no page has a twin).
. tests/lib.sh
set -u
[ -x "$WORKLOAD" ] || fail "$WORKLOAD missing (make $WORKLOAD)"
make_tmp

# bad usage: exit 2 and a usage line
for args in "-x" "-s" "-s abc" "-s -1" "-m 60 -v 50" "-p 0" "-H 100" "-j 10" "-b 100 -j 101" \
	"-b 100 -c 5" "-S 4294967296" "-s 1 extra"; do
	# shellcheck disable=SC2086 # args: several options
	"$WORKLOAD" $args >"$TMPD/out" 2>&1
	rc=$?
	[ $rc = 2 ] || fail "workload $args: exit $rc, expected 2"
	grep -q '^usage: workload' "$TMPD/out" || fail "workload $args: no usage line"
done
note "bad options refused"

# vmflags PID SIZE_KIB: the VmFlags of PID's anonymous mapping of SIZE_KIB
vmflags() {
	awk -v want="$2" '/^[0-9a-f]+-[0-9a-f]+ / { size = 0 } /^Size:/ { size = $2 } size == want && /^VmFlags:/ { print; exit }' \
		"/proc/$1/smaps"
}
# rss_kib PID
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# -m 0 -v 0: only unique pages, so that KSM, if it runs, finds nothing to merge
start_workload "$TMPD/p1" -s 4 -p 1 -m 0 -v 0 -t 60
kid=$(head -n1 "$TMPD/p1")
flags=$(vmflags "$kid" 4096)
[ -n "$flags" ] || fail "no 4 MiB mapping in /proc/$kid/smaps"
[[ " $flags " == *" mg "* ]] || fail "without -n the area is not MADV_MERGEABLE: $flags"
stop_pid "$WORKLOAD_PID"

start_workload "$TMPD/p2" -s 4 -p 1 -m 0 -v 0 -n -t 60
kid=$(head -n1 "$TMPD/p2")
flags=$(vmflags "$kid" 4096)
[ -n "$flags" ] || fail "no 4 MiB mapping in /proc/$kid/smaps (-n)"
[[ " $flags " == *" mg "* ]] && fail "with -n the area is MADV_MERGEABLE: $flags"
stop_pid "$WORKLOAD_PID"
note "-n: not MADV_MERGEABLE"

# -b: the memory comes and goes. Wait for each state (no timing asserted:
# 20 s for what takes a fraction of a second).
start_workload "$TMPD/p3" -s 16 -p 1 -m 0 -v 0 -n -b 300 -H 150 -j 20 -S 3 -t 60
kid=$(head -n1 "$TMPD/p3")
rss_at_least() { [ "$(rss_kib "$kid")" -ge "$1" ]; }
# rss_fell: RSS 10 MiB below the highest seen this round, whatever the
# process holds besides its bursts (under ASan, about 5 MiB)
rss_fell() {
	local r
	r=$(rss_kib "$kid")
	[ -n "$r" ] || return 1
	[ "$r" -gt "$peak" ] && peak=$r
	[ "$r" -lt $((peak - 10 * 1024)) ]
}
poll() { # poll SECONDS CMD...: every 10 ms
	local i
	for ((i = 0; i < $1 * 100; i++)); do
		"${@:2}" && return 0
		sleep 0.01
	done
	return 1
}
for round in 1 2; do
	poll 20 rss_at_least $((12 * 1024)) || fail "burst $round: RSS never reached 12 MiB of a 16 MiB burst (last $(rss_kib "$kid") KiB)"
	peak=0
	poll 20 rss_fell || fail "burst $round: RSS never fell 10 MiB below its peak of $peak KiB after a burst (last $(rss_kib "$kid") KiB)"
done
stop_pid "$WORKLOAD_PID"
note "-b: bursts allocate and free"
echo "PASS: workload"
