# real-daemon.sh - the daemon at interval=1s on a real mergeable workload
# under real memory pressure (hugepages reserved) merges its pages; SIGTERM
# with on_exit=restore puts every knob back as it was; a restart reuses the
# controller's saved state and opens no start probe.
# Runs only with KSMPILOT_REAL_KSM=1 (see tests/lib.sh).
. tests/lib.sh
set -u
require_real_ksm
require_unmerged "the restart below compares the kernel's counters with the saved state"
make_tmp

knobs() { for k in run pages_to_scan sleep_millisecs advisor_mode merge_across_nodes; do echo "$k=$(ksm_read $k)"; done; }

# Start from a state ksmpilotd must restore: advisor on, if the kernel has it.
[ -e "$KSM/advisor_mode" ] && echo scan-time > "$KSM/advisor_mode"
before=$(knobs)

reserve_pressure

cp conf/ksmpilot.conf "$TMPD/k.conf"
mkdir "$TMPD/k.conf.d"
printf '[daemon]\ninterval = 1s\nstate_dir = %s\n' "$TMPD/state" > "$TMPD/k.conf.d/test.conf"
$WRAP $KSMPILOTD -c "$TMPD/k.conf" --log-target=stderr 2> "$TMPD/log" &
D=$!
track $D

start_workload "$TMPD/pids" -s 128 -p 4 -m 60 -v 10
pids=$(cat "$TMPD/pids")
want=$(( 4 * 128 * 256 * 60 / 100 * 9 / 10 ))
wait_for 300 merged_at_least $want $pids ||
	{ tail -n 20 "$TMPD/log"; fail "not $want pages merged in 300 s: $(merged_pages $pids)"; }
note "merged $(merged_pages $pids) pages; ksmd used $(awk '{print ($14+$15)/100 "s"}' /proc/$(pgrep -x ksmd)/stat) so far"
grep -q "KSM_REASON\|probing\|merging" "$TMPD/log" || fail "no decision logged"

# settled (nothing left to merge), so that the restart below finds the
# counters as the saved state has them even if ksmd runs between the two
wait_for 300 grep -q "^reason=nothing-to-merge" "$TMPD/state/state" ||
	{ skip_if_pressure_lost "$TMPD/state/state"; tail -n 20 "$TMPD/log"; fail "never idle after the merge"; }
term_daemon "$TMPD/log"
after=$(knobs)
if [ "$after" != "$before" ]; then
	echo "before: $before"; echo "after: $after"
	# with the advisor switched back on, the kernel resets pages_to_scan itself
	[ "$(echo "$after" | grep -v pages_to_scan)" = "$(echo "$before" | grep -v pages_to_scan)" ] ||
		fail "SIGTERM did not restore the knobs"
fi
grep -q "knobs restored" "$TMPD/log" || fail "restore not logged"

# A restart reuses what the controller learned (saved on exit in state_dir):
# no start probe. Without the saved state, the same restart does probe.
# restart LOG: start the daemon again, wait for its first decision, stop it
restart() {
	start_daemon "$1" -c "$TMPD/k.conf" --log-target=stderr
	wait_log "$1" "\\(u=" 60
	term_daemon "$1"
}
[ -s "$TMPD/state/controller" ] || fail "no controller state saved on exit"
restart "$TMPD/log2"
grep -q "controller state restored from .*: no new probe" "$TMPD/log2" ||
	{ cat "$TMPD/log2"; fail "the restart did not reuse the controller state"; }
! grep -q "wake=start" "$TMPD/log2" || { cat "$TMPD/log2"; fail "the restart probed although the state was reused"; }
note "restart with the saved state: $(grep -m1 "pages/s" "$TMPD/log2" | cut -d'(' -f1)"
rm "$TMPD/state/controller"
restart "$TMPD/log3"
grep -q "wake=start" "$TMPD/log3" || { cat "$TMPD/log3"; fail "a restart without the saved state did not probe"; }
echo "real-daemon: passed"
