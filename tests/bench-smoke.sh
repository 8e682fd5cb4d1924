# bench-smoke.sh - the benchmark pipeline end to end: bench/run --smoke runs
# every scenario for about 10 s with ksmpilotd alone. Checks, per scenario,
# that the plan was followed (every launch and stop happened, every phase
# has rows) and that the CSVs, the summary, its JSON and the plot are
# produced; then that the run cleaned up after itself: knobs and
# nr_hugepages as before, nothing merged, no workload or tuner left. Then
# that the cleanup also works when bench/run is killed outright (SIGKILL):
# the guardian stops everything and restores the kernel state. And that the
# COW rewrites of the cow scenario break merged pages (the reason the
# benchmark measures savings from smaps_rollup, which sees a COW break at
# once, where ksm_merging_pages and pages_sharing wait for ksmd's next visit).
# Real kernel: skips unless KSMPILOT_REAL_KSM=1. The full benchmark is
# `sudo make bench`, never part of make check.
. tests/lib.sh
set -u
require_real_ksm        # holds the kernel lock on fd 9; bench/run reuses it
make_tmp
t_lock=$SECONDS
[ -x "$WORKLOAD" ] || fail "$WORKLOAD missing (make $WORKLOAD)"
[ -x "$KSMPILOTD" ] || fail "$KSMPILOTD missing (make)"
require_unmerged "the benchmark needs an unmerged start"

huge_before=$(cat /proc/sys/vm/nr_hugepages)
knobs() {
	local k
	for k in run pages_to_scan sleep_millisecs max_page_sharing merge_across_nodes use_zero_pages smart_scan; do
		printf '%s=%s ' "$k" "$(ksm_read $k)"
	done
	printf 'advisor_mode=%s' "$(ksm_mode)"
}
knobs_before=$(knobs)
state_dir=$(shipped_value state_dir)
[ -n "$state_dir" ] || fail "no state_dir in --dump-config of conf/ksmpilot.conf"
state_dir_before=no; [ -e "$state_dir" ] && state_dir_before=yes
out=$B/bench-smoke
rm -rf "$out" "$out-kill"

# check_clean DIR WHAT: the kernel state as before, no process of DIR/pids.txt left
check_clean() {
	local pid comm
	[ "$(cat /proc/sys/vm/nr_hugepages)" = "$huge_before" ] || fail "$2: nr_hugepages $(cat /proc/sys/vm/nr_hugepages), was $huge_before"
	[ "$(knobs)" = "$knobs_before" ] || fail "$2: knobs not restored: $(knobs), was $knobs_before"
	[ "$(ksm_read pages_shared)" = 0 ] || fail "$2: pages_shared=$(ksm_read pages_shared) after the run"
	[ $state_dir_before = yes ] || [ ! -e "$state_dir" ] || fail "$2: $state_dir left behind: $(ls -A "$state_dir" | tr '\n' ' ')"
	[ -s "$1/pids.txt" ] || fail "$2: no $1/pids.txt"
	while read -r pid comm; do
		case $pid in
		pgid:*) pgrep -g "${pid#pgid:}" >/dev/null && fail "$2: process group ${pid#pgid:} ($comm) still runs" ;;
		*) [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] && fail "$2: $comm (pid $pid) still runs" ;;
		esac
	done <"$1/pids.txt"
	return 0
}

# bench_error LOG: the reason bench/run gave for its exit
bench_error() { sed -n 's/^bench: error: //p' "$1" | head -n 1; }

note "bench/run --smoke --seed 1 --out $out"
t0=$SECONDS
bash bench/run --smoke --seed 1 --out "$out" 2>&1 | tee "$TMPD/smoke.log"
rc=${PIPESTATUS[0]}
[ "$rc" = 3 ] && skip "a package the benchmark needs (gnuplot) is missing and cannot be installed (see $out/apt.log)"
# 4: the machine does not fit (too little memory available, another tuner
# runs, ...): bench/run names what, and this test says it
[ "$rc" = 4 ] && skip "the machine does not fit the benchmark: $(bench_error "$TMPD/smoke.log")"
[ "$rc" = 0 ] || fail "bench/run --smoke exited $rc"
note "bench/run --smoke took $((SECONDS - t0)) s"
check_clean "$out" "bench/run --smoke"
grep -q ' ksmpilotd$' "$out/pids.txt" || fail "pids.txt does not list the tuner"
grep -q ' workload$' "$out/pids.txt" || fail "pids.txt does not list the workload"

scenarios="arrivals neighbour unmergeable staggered cow"
for s in $scenarios; do
	d=$out/$s
	plan=$d/plan.txt
	[ -s "$plan" ] || fail "$s: no $plan"
	end=$(awk '$1 == "end" { print $2 }' "$plan")
	nph=$(awk '$1 == "phase" { n++ } END { print n + 0 }' "$plan")
	# the CSV: a header and one row a second, 27 fields each
	csv=$d/ksmpilot.csv
	[ -s "$csv" ] || fail "$s: no $csv"
	head -n1 "$csv" | grep -q '^tuner,t,phase,live_pids,merged_pages,mergeable_pages,.*,saved_kib,t_real,workload_anon_kib,pending_groups$' || fail "$s: bad CSV header"
	rows=$(($(wc -l <"$csv") - 1))
	[ "$rows" = "$end" ] || fail "$s: $rows CSV rows for a run of $end s"
	awk -F, 'NR > 1 && (NF != 27 || $1 != "ksmpilot" || $5 !~ /^[0-9]+$/ || $18 !~ /^[0-9]+$/ || $24 !~ /^-?[0-9]+$/ ||
		$25 !~ /^[0-9]+\.[0-9]+$/ || $26 !~ /^[0-9]+$/ || $27 !~ /^[0-9]+$/) { bad++ } END { exit bad > 0 }' "$csv" ||
		fail "$s: malformed CSV rows"
	awk -F, -v n="$nph" 'NR > 1 { seen[$3] = 1 } END { for (i = 0; i < n; i++) if (!(i in seen)) exit 1 }' "$csv" ||
		fail "$s: a phase of the plan has no row"
	awk -F, 'NR > 1 && $4 > 0 { live++ } END { exit !(live > 0) }' "$csv" || fail "$s: no row with live workload processes"
	awk -F, 'NR > 1 && $18 < last { bad++ } NR > 1 { last = $18 } END { exit bad > 0 }' "$csv" ||
		fail "$s: ksmd ticks go backwards"
	# every event of the plan happened, at its time
	want=$(awk '$1 == "launch" || $1 == "halt" { print $2, ($1 == "halt" ? "stop" : $1), $3 }' "$plan" | sort)
	got=$(awk -F, 'NR > 1 { print $2, $4, $5 }' "$d/ksmpilot.events.csv" | sort)
	[ "$want" = "$got" ] || fail "$s: events differ from the plan: plan [$want] run [$got]"
	# every launched group was sampled, and its processes came up
	for g in $(awk '$1 == "launch" { print $3 }' "$plan"); do
		awk -F, -v g="$g" 'NR > 1 && $4 == g && $6 > 0 { ok = 1 } END { exit !ok }' "$d/ksmpilot.groups.csv" ||
			fail "$s: group $g never had a live process"
	done
	# the summary, its JSON and the plot
	grep -q '^| ksmpilotd | ' "$d/summary.txt" || fail "$s: no ksmpilotd row in $d/summary.txt"
	grep -q '^verdict: ' "$d/summary.txt" || fail "$s: no verdict line in $d/summary.txt"
	for a in $(awk '$1 == "launch" && $4 != "-" { print $4 }' "$plan" | sort -u); do
		grep -q "| t90 $a s |" "$d/summary.txt" || fail "$s: no t90 column for the arrival $a"
	done
	json_ok "$d/summary.json" || fail "$s: $d/summary.json is not valid JSON"
	grep -q "\"scenario\":\"$s\"" "$d/summary.json" || fail "$s: summary.json names no scenario $s"
	# what ksmd's CPU bought adds up to all of it (the first tuner's: ksmpilotd)
	total=$(grep -o '"ksmd_cpu_s":[0-9.]*' "$d/summary.json" | head -n1 | cut -d: -f2)
	parts=$(grep -o '"ksmd_cpu_bought_s":{[^}]*}' "$d/summary.json" | head -n1)
	echo "$parts" | tr '{,}' '\n\n\n' | awk -F: -v c="$total" '
		$1 ~ /^"(gained|busy_no_gain_yet|busy_after_gain|quiet)"$/ { sum += $2; n++ }
		END { d = sum - c; exit !(c != "" && n == 4 && d < 0.005 && d > -0.005) }' ||
		fail "$s: in $d/summary.json, what ksmd's CPU bought ($parts) does not add up to ksmd_cpu_s ($total)"
	[ "$(head -c 8 "$d/plot.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$s: $d/plot.png is not a PNG"
	[ -s "$d/ksmpilot.log" ] || fail "$s: no ksmpilotd log kept"
	note "$s: $rows rows, $(grep '^verdict: ' "$d/summary.txt")"
done
# the workload's anonymous memory is counted, so that it is not taken for
# memory outside it (tests/bench-summary.sh checks what the summary makes of
# it); a run beside something that allocates is reported, not failed: this
# may run on a busy node
for s in $scenarios; do
	awk -F, 'NR > 1 && $4 > 0 && $27 == 0 { n++; if ($26 > 0) ok++ } END { exit !(n > 0 && ok == n) }' \
		"$out/$s/ksmpilot.csv" || fail "$s: rows with live workload processes and no anonymous memory of theirs"
	grep -q '"outside_anon":{"warmup_mib":' "$out/$s/summary.json" || fail "$s: no outside_anon in summary.json"
	grep -q '"disturbed":true' "$out/$s/summary.json" &&
		note "$s: memory outside the workload: $(grep '^\*\*Disturbed' "$out/$s/summary.txt")"
done
# the neighbour held memory that was not MADV_MERGEABLE
awk -F, 'NR > 1 && $23 > 0 { ok = 1 } END { exit !ok }' "$out/neighbour/ksmpilot.csv" ||
	fail "neighbour: the neighbour never held memory"
json_ok "$out/summary.json" || fail "$out/summary.json is not valid JSON"
for s in $scenarios; do
	grep -q "^| $s | " "$out/summary.txt" || fail "no row for $s in $out/summary.txt"
done

# SIGKILL in the middle of a run: the guardian cleans up
note "bench/run killed with SIGKILL in the neighbour scenario's noise phase"
# a noise phase of a minute, not the smoke's 4 s: the kill lands in it on a
# slow machine too
bash bench/run --smoke --scenario neighbour --set neighbour.noise=60 --out "$out-kill" >"$TMPD/kill.log" 2>&1 &
bpid=$!
track $bpid     # a failure before the kill stops it (and its cleanup runs)
# the squeeze may wait up to SETTLE_MAX_S (180 s) for MemAvailable to hold
# still before the workload starts; the loop ends as soon as the run does
for _ in $(seq 1 3000); do
	grep -q 'phase noise' "$out-kill/bench.log" 2>/dev/null && break
	kill -0 $bpid 2>/dev/null || break
	sleep 0.1
done
if ! grep -q 'phase noise' "$out-kill/bench.log" 2>/dev/null; then
	rc=""
	if kill -0 $bpid 2>/dev/null; then
		stop_pid $bpid      # SIGTERM: bench/run cleans up, and lets the kernel lock go
	else
		wait $bpid
		rc=$?
	fi
	# the machine changed since the first run (memory taken, a tuner started)
	[ "$rc" = 4 ] && skip "the machine no longer fits the benchmark: $(bench_error "$TMPD/kill.log")"
	cat "$TMPD/kill.log"
	fail "the run to kill never reached the noise phase"
fi
sleep 1.5
grep -q ' workload$' "$out-kill/pids.txt" || fail "nothing started before the kill"
# the squeeze reserves nothing where MemAvailable is within 128 MiB of what
# it leaves already (its last correction's step); then there is no
# nr_hugepages to put back. Anything else that reserved nothing fails.
mark=$(sed -n 's/.*MemAvailable squeezed to ~\([0-9]*\) MiB.*/\1/p' "$out-kill/bench.log" | head -n1)
got=$(sed -n 's/.*reserved 0 hugepages: MemAvailable \([0-9]*\) MiB.*/\1/p' "$out-kill/bench.log" | head -n1)
if [ -n "$got" ] && [ -n "$mark" ] && [ $((got - mark)) -le 128 ] && [ $((mark - got)) -le 128 ]; then
	note "the squeeze reserved no hugepage (MemAvailable $got MiB, its mark $mark MiB): nr_hugepages not moved by the kill"
else
	[ "$(cat /proc/sys/vm/nr_hugepages)" != "$huge_before" ] || fail "no hugepage squeeze before the kill ($(grep -m1 'reserved .* hugepages' "$out-kill/bench.log"))"
fi
kill -KILL $bpid
wait $bpid 2>/dev/null
untrack $bpid
# the guardian's own bounds: a poll every 2 s, 10 s a process, 120 s for
# the unmerge; 5 minutes is far past them all on a slow machine
for _ in $(seq 1 3000); do
	grep -q 'guardian: done' "$out-kill/bench.log" 2>/dev/null && break
	sleep 0.1
done
grep -q 'guardian: done' "$out-kill/bench.log" || fail "the guardian did not finish within 5 minutes of the kill"
check_clean "$out-kill" "after SIGKILL"
left=$(pgrep -f "ksmpilot-bench\." || true)
[ -z "$left" ] || fail "after SIGKILL: processes of the run left: $left"
note "SIGKILL: the guardian restored everything"

# COW rewrites break merged pages: merge two processes at full speed, stop
# ksmd, and see the shared memory (smaps_rollup) fall while ksm_merging_pages
# waits for a visit that does not come
start_workload "$TMPD/cow.pids" -s 16 -p 2 -m 60 -v 0 -c 500 -d 3 -S 1
kids=$(tr '\n' ' ' <"$TMPD/cow.pids")
echo 5000 >"$KSM/pages_to_scan"
echo 10 >"$KSM/sleep_millisecs"
echo 1 >"$KSM/run"
shared_kib() { local k s=0 a p; for k in $kids; do
	a=$(awk '/^Anonymous:/ { print $2 }' "/proc/$k/smaps_rollup"); p=$(awk '/^Pss_Anon:/ { print $2 }' "/proc/$k/smaps_rollup")
	s=$((s + a - p)); done; echo $s; }
want=$((2 * (16 * 256 / 100 * 60 + 60) * 9 / 10))   # 90% of the mergeable pages (workload.c's layout)
merged_enough() { [ "$(merged_pages $kids)" -ge "$want" ]; }
wait_for 120 merged_enough || fail "cow: the workload did not merge ($(merged_pages $kids) of $want pages)"
echo 0 >"$KSM/run"
m0=$(merged_pages $kids)
s0=$(shared_kib)
fell() { [ "$(shared_kib)" -lt $((s0 - 2048)) ]; }
wait_for 30 fell || fail "cow: -c 500 broke no merged page in 30 s (shared $(shared_kib) KiB, was $s0)"
note "cow: shared $s0 -> $(shared_kib) KiB while ksmd stood still; ksm_merging_pages $m0 -> $(merged_pages $kids)"
stop_pid "$WORKLOAD_PID"
note "bench-smoke took $((SECONDS - t_lock)) s after taking the kernel lock"
echo "PASS: bench-smoke"
