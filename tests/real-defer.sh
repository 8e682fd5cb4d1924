# real-defer.sh - kernel_advisor = defer against the real advisor (6.8+):
# with advisor_mode=scan-time, the daemon never writes pages_to_scan (the
# kernel refuses it with EINVAL), still merges a real workload under real
# memory pressure by run and sleep_millisecs, idles at the sleep the idle
# rate asks for the advisor's batch,
# and on SIGTERM restores the rest and leaves the advisor on.
# Runs only with KSMPILOT_REAL_KSM=1 (see tests/lib.sh).
. tests/lib.sh
set -u
require_real_ksm
[ -e "$KSM/advisor_mode" ] || skip "this kernel has no scan-time advisor (it came in 6.8)"
# Switched on, the advisor's first scan can run at 10 pages every 10 ms
# (docs/controller.md, section 7): with much memory tracked already, that
# scan alone outlasts any bound this test could wait for.
tracked=$(tracked_pages)
[ "$tracked" -le 100000 ] || skip "KSM tracks $tracked pages already; the advisor's first scan of them would take too long"
make_tmp

before_run=$(ksm_read run)
before_sleep=$(ksm_read sleep_millisecs)
echo scan-time > "$KSM/advisor_mode" || fail "cannot switch the advisor on"
reserve_pressure
sleep_min=$(shipped_value sleep_ms_min)
[ -n "$sleep_min" ] || fail "cannot read sleep_ms_min from the shipped config"

cp conf/ksmpilot.conf "$TMPD/k.conf"
mkdir "$TMPD/k.conf.d"
printf '[daemon]\ninterval = 1s\nstate_dir = %s\nkernel_advisor = defer\n' "$TMPD/state" > "$TMPD/k.conf.d/test.conf"
start_daemon "$TMPD/log" -c "$TMPD/k.conf" --log-target=stderr
wait_log "$TMPD/log" "is on: leaving pages_to_scan to it" 60

t0=$(date +%s)
start_workload "$TMPD/pids" -s 32 -p 2 -m 80 -v 0
pids=$(cat "$TMPD/pids")
want=$(( 2 * 32 * 256 * 80 / 100 * 9 / 10 ))
wait_for 600 merged_at_least $want $pids ||
	{ tail -n 20 "$TMPD/log"; fail "not $want pages merged in 600 s: $(merged_pages $pids)"; }
note "90% merged in about $(( $(date +%s) - t0 )) s, the advisor setting pages_to_scan=$(ksm_read pages_to_scan)"
# nothing left to merge: the daemon slows ksmd by the sleep alone, to what
# the idle rate asks for the advisor's batch
wait_for 300 grep -q "^reason=nothing-to-merge" "$TMPD/state/state" ||
	{ skip_if_pressure_lost "$TMPD/state/state"; tail -n 20 "$TMPD/log"; fail "never idle after the merge"; }
wait_for 60 sh -c "grep -qx \"sleep_ms=\$(cat $KSM/sleep_millisecs)\" $TMPD/state/state" ||
	fail "idle, but sleep_millisecs=$(ksm_read sleep_millisecs) is not the daemon's $(grep '^sleep_ms=' "$TMPD/state/state")"
[ "$(ksm_read sleep_millisecs)" -gt "$sleep_min" ] ||
	fail "idle, but sleep_millisecs=$(ksm_read sleep_millisecs), the shortest sleep (sleep_ms_min)"
note "idle: sleep_millisecs=$(ksm_read sleep_millisecs), pages_to_scan=$(ksm_read pages_to_scan) (the advisor's)"
[ "$(ksm_mode)" = scan-time ] || fail "defer switched the advisor off: advisor_mode=$(ksm_mode)"
! grep -q "pages_to_scan.*Invalid argument" "$TMPD/log" ||
	{ grep "Invalid argument" "$TMPD/log"; fail "defer wrote pages_to_scan under the advisor"; }

term_daemon "$TMPD/log"
[ "$(ksm_mode)" = scan-time ] || fail "the advisor is off after the exit"
[ "$(ksm_read sleep_millisecs)" = "$before_sleep" ] ||
	fail "sleep_millisecs=$(ksm_read sleep_millisecs) after the exit, not $before_sleep"
[ "$(ksm_read run)" = "$before_run" ] || fail "run=$(ksm_read run) after the exit, not $before_run"
grep -q "knobs restored (.*; pages_to_scan left to the advisor)" "$TMPD/log" ||
	fail "the restore line does not leave pages_to_scan to the advisor: $(grep "knobs restored" "$TMPD/log")"
echo "real-defer: passed"
