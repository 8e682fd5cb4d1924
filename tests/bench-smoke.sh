# bench-smoke.sh - the benchmark pipeline end to end: a 30-second bench/run
# --smoke with ksmpilotd alone. Checks that the CSV rows, the summary and the
# plot are produced, and that the run cleaned up after itself: knobs and
# nr_hugepages as before, nothing merged, no workload or tuner left, and no
# state_dir (/run/ksmpilot) where there was none.
# Real kernel: skips unless KSMPILOT_REAL_KSM=1. The full benchmark is
# `sudo make bench`, never part of make check.
. tests/lib.sh
set -u
require_real_ksm        # holds the kernel lock on fd 9; bench/run reuses it
[ -x "$WORKLOAD" ] || fail "$WORKLOAD missing (make $WORKLOAD)"
[ -x "$KSMPILOTD" ] || fail "$KSMPILOTD missing (make)"
[ "$(ksm_read pages_shared)" = 0 ] || skip "pages are merged already; the benchmark needs an unmerged start"

huge_before=$(cat /proc/sys/vm/nr_hugepages)
knobs_before=$(for k in run pages_to_scan sleep_millisecs max_page_sharing merge_across_nodes use_zero_pages smart_scan; do
	printf '%s=%s ' "$k" "$(ksm_read $k)"; done; printf 'advisor_mode=%s' "$(ksm_mode)")
state_dir=$(shipped_value state_dir)
[ -n "$state_dir" ] || fail "no state_dir in --dump-config of conf/ksmpilot.conf"
state_dir_before=no; [ -e "$state_dir" ] && state_dir_before=yes
out=$B/bench-smoke
rm -rf "$out"

note "bench/run --smoke --out $out"
bash bench/run --smoke --out "$out"
rc=$?
[ "$rc" = 3 ] && skip "a package the benchmark needs (gnuplot) is missing and cannot be installed (see $out/apt.log)"
[ "$rc" = 0 ] || fail "bench/run --smoke exited $rc"

# the CSV: a header and one row a second, 19 fields each
csv=$out/ksmpilot.csv
[ -s "$csv" ] || fail "no $csv"
head -n1 "$csv" | grep -q '^tuner,t,phase,live_pids,merged_pages,mergeable_pages,' || fail "bad CSV header"
rows=$(($(wc -l <"$csv") - 1))
[ "$rows" -ge 28 ] || fail "only $rows CSV rows for a 30-second run"
awk -F, 'NR > 1 && (NF != 19 || $1 != "ksmpilot" || $5 !~ /^[0-9]+$/ || $18 !~ /^[0-9]+$/) { bad++ } END { exit bad > 0 }' "$csv" ||
	fail "malformed CSV rows"
awk -F, 'NR > 1 && $4 > 0 { live++ } NR > 1 && $3 == 4 { p4++ } END { exit !(live > 0 && p4 > 0) }' "$csv" ||
	fail "no row with live workload processes, or no phase 4"
awk -F, 'NR > 1 && $18 < last { bad++ } NR > 1 { last = $18 } END { exit bad > 0 }' "$csv" ||
	fail "ksmd ticks go backwards"
note "$rows rows; last: $(tail -n1 "$csv")"

# the summary and the plot
grep -q '^| ksmpilotd | ' "$out/summary.txt" || fail "no ksmpilotd row in $out/summary.txt"
grep -q 't90 phase 1' "$out/summary.txt" || fail "no t90 column in the summary"
[ "$(head -c 8 "$out/plot.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$out/plot.png is not a PNG"
[ -s "$out/ksmpilot.log" ] || fail "no ksmpilotd log kept"

# cleaned up, before our own trap does anything
[ "$(cat /proc/sys/vm/nr_hugepages)" = "$huge_before" ] || fail "nr_hugepages $(cat /proc/sys/vm/nr_hugepages), was $huge_before"
knobs_after=$(for k in run pages_to_scan sleep_millisecs max_page_sharing merge_across_nodes use_zero_pages smart_scan; do
	printf '%s=%s ' "$k" "$(ksm_read $k)"; done; printf 'advisor_mode=%s' "$(ksm_mode)")
[ "$knobs_after" = "$knobs_before" ] || fail "knobs not restored: $knobs_after, was $knobs_before"
[ "$(ksm_read pages_shared)" = 0 ] || fail "pages_shared=$(ksm_read pages_shared) after the run"
[ $state_dir_before = yes ] || [ ! -e "$state_dir" ] || fail "$state_dir left behind: $(ls -A "$state_dir" | tr '\n' ' ')"
[ -s "$out/pids.txt" ] || fail "no $out/pids.txt"
while read -r pid comm; do
	case $pid in pgid:*) continue ;; esac
	[ "$(cat /proc/$pid/comm 2>/dev/null)" = "$comm" ] && fail "$comm (pid $pid) still runs after the benchmark"
done <"$out/pids.txt"
grep -q ' ksmpilotd$' "$out/pids.txt" || fail "pids.txt does not list the tuner"
grep -q ' workload$' "$out/pids.txt" || fail "pids.txt does not list the workload"
echo "PASS: bench-smoke"
