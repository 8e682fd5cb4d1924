# real-daemon.sh - the daemon at interval=1s on a real mergeable workload
# under real memory pressure (hugepages reserved) merges its pages; SIGTERM
# with on_exit=restore puts every knob back as it was.
# Runs only with KSMPILOT_REAL_KSM=1 (see tests/lib.sh).
. tests/lib.sh
set -u
require_real_ksm
make_tmp

knobs() { for k in run pages_to_scan sleep_millisecs advisor_mode merge_across_nodes; do echo "$k=$(ksm_read $k)"; done; }

# Start from a state ksmpilotd must restore: advisor on, if the kernel has it.
[ -e "$KSM/advisor_mode" ] && echo scan-time > "$KSM/advisor_mode"
before=$(knobs)

# Real pressure: leave ~3 GiB available, or 15% of MemTotal when smaller,
# below the 20% setpoint either way.
total_mib=$(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo)
leave=$(( total_mib * 15 / 100 ))
[ $leave -gt 3072 ] && leave=3072
[ $leave -lt 1536 ] && leave=1536
reserve_hugepages $leave

cp conf/ksmpilot.conf "$TMPD/k.conf"
mkdir "$TMPD/k.conf.d"
printf '[daemon]\ninterval = 1s\nstate_dir = %s\n' "$TMPD/state" > "$TMPD/k.conf.d/test.conf"
$WRAP $KSMPILOTD -c "$TMPD/k.conf" --log-target=stderr 2> "$TMPD/log" &
D=$!
track $D

start_workload "$TMPD/pids" -s 128 -p 4 -m 60 -v 10
pids=$(cat "$TMPD/pids")
want=$(( 4 * 128 * 256 * 60 / 100 * 9 / 10 ))
wait_for 300 sh -c "[ \$(cat $(printf '/proc/%s/ksm_merging_pages ' $pids) 2>/dev/null | awk '{s+=\$1} END {print s+0}') -ge $want ]" ||
	{ tail -n 20 "$TMPD/log"; fail "not $want pages merged in 300 s: $(merged_pages $pids)"; }
note "merged $(merged_pages $pids) pages; ksmd used $(awk '{print ($14+$15)/100 "s"}' /proc/$(pgrep -x ksmd)/stat) so far"
grep -q "KSM_REASON\|probing\|merging" "$TMPD/log" || fail "no decision logged"

kill -TERM $D
wait $D
rc=$?
[ $rc = 0 ] || { tail -n 20 "$TMPD/log"; fail "daemon exited $rc on SIGTERM"; }
after=$(knobs)
if [ "$after" != "$before" ]; then
	echo "before: $before"; echo "after: $after"
	# with the advisor switched back on, the kernel resets pages_to_scan itself
	[ "$(echo "$after" | grep -v pages_to_scan)" = "$(echo "$before" | grep -v pages_to_scan)" ] ||
		fail "SIGTERM did not restore the knobs"
fi
grep -q "knobs restored" "$TMPD/log" || fail "restore not logged"
echo "real-daemon: passed"
