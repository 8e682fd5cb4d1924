# real-once.sh - ksmpilotd --once against the real /sys/kernel/mm/ksm: it
# writes nothing without --apply; with --apply, repeated every second on a
# real mergeable workload, its decisions reach the kernel and pages merge.
# Runs only with KSMPILOT_REAL_KSM=1 (see tests/lib.sh).
. tests/lib.sh
set -u
require_real_ksm
make_tmp

knobs() { for k in run pages_to_scan sleep_millisecs advisor_mode; do ksm_read $k; done; }
# the advisor moves pages_to_scan at each full scan by itself
[ -e "$KSM/advisor_mode" ] && echo none > "$KSM/advisor_mode"

# --once reads and decides, writes nothing
before=$(knobs)
$KSMPILOTD --once -c conf/ksmpilot.conf > "$TMPD/out" 2>&1 || { cat "$TMPD/out"; fail "--once failed"; }
grep -q "^decision:" "$TMPD/out" || fail "--once printed no decision"
[ "$(knobs)" = "$before" ] || fail "--once without --apply changed the knobs"

# --once --apply on a real workload. target_available = 100% makes pressure
# on any machine, so the decision is to run.
printf '[memory]\ntarget_available = 100%%\n' > "$TMPD/pressure.conf"
start_workload "$TMPD/pids" -s 64 -p 2 -m 80 -v 0
pids=$(cat "$TMPD/pids")
want=$(( 2 * 64 * 256 * 80 / 100 * 9 / 10 ))   # 90% of the mergeable pages
note "waiting for $want merged pages in $pids"
merged=0
for i in $(seq 1 300); do
	$KSMPILOTD --once --apply -c "$TMPD/pressure.conf" > "$TMPD/out" 2>&1 ||
		{ cat "$TMPD/out"; fail "--once --apply failed"; }
	merged=$(merged_pages $pids)
	[ "$merged" -ge "$want" ] && break
done
[ "$merged" -ge "$want" ] || fail "only $merged of $want pages merged in 300 s"
[ "$(ksm_read run)" = 1 ] || fail "--apply did not leave run=1"
note "merged $merged pages after $i rounds; last decision:"
sed -n '/^decision:/,$p' "$TMPD/out"
echo "real-once: passed"
