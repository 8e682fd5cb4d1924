# bench-summary.sh - what bench/summary.awk makes of the memory outside the
# workload (AnonPages less the workload's Pss_Anon), on rows made up here:
# the level of the warm-up is its median, a stretch of out_s rows out_mib
# or more above it marks the run as disturbed (in the table, the JSON and
# the verdict), and neither the seconds in which a workload group is
# launched and not ready yet nor single rows above it do. Needs no root and
# no KSM.
. tests/lib.sh
set -u
make_tmp

d=$TMPD/scen
mkdir -p "$d"
cat >"$d/plan.txt" <<'EOF'
# bench/run plan of the scenario made: phases and events in seconds since the tuner started
scenario made
seed 1
size 512
param warmup 10
phase 0 warm-up 0
phase 1 arrive 10
end 60
launch 10 guests arrive 4 512 400000 0 -s 512 -p 4
peak_mib 2048
EOF

# mkrun TUNER PATTERN: 60 rows a second; the workload (2 GiB of anonymous
# memory, all of it in its Pss_Anon) from t=10, the rest of the machine at
# 10 MiB, and the PATTERN's changes to it:
#   quiet     the launch's 3 s before the group is ready, its memory in
#             AnonPages only; 500 MiB at t=40, 42 and 44, one row each;
#             127 MiB (under the mark) from t=30 to 37; 300 MiB at t=22,
#             23 and 25, and at t=24 a row with a group not ready (a
#             launch of no plan: the row alone says so)
#   held      300 MiB from t=50 to 52 (3 rows)
#   short     300 MiB at t=50 and 51 (2 rows); one warm-up row 900 MiB
#             above the rest (the median leaves it out)
mkrun() {
	awk -v tu="$1" -v pat="$2" 'BEGIN {
		OFS = ","
		print "tuner,t,phase,live_pids,merged_pages,mergeable_pages,pages_shared,pages_sharing,pages_unshared," \
			"pages_volatile,general_profit,full_scans,run,pages_to_scan,sleep_millisecs,advisor_mode," \
			"mem_available_kib,ksmd_ticks,tuner_ticks,ksm_zero_pages,pages_scanned,anon_pages_kib,neighbour_kib," \
			"saved_kib,t_real,workload_anon_kib,pending_groups" > (tu ".csv")
		print "tuner,t,t_real,group,arrival,live_pids,merged_pages,mergeable_pages,rss_kib,saved_kib" > (tu ".groups.csv")
		print "tuner,t,t_real,event,group,arrival" > (tu ".events.csv")
		print tu, 10, "10.001", "launch", "guests", "arrive" > (tu ".events.csv")
		for (t = 0; t < 60; t++) {
			ph = t >= 10
			out = 10 * 1024; wl = 0; pend = 0; live = 0
			if (t >= 10 && t < 13) { pend = 1; out += 1024 * (t - 9) * 700 }
			else if (t >= 13) { wl = 2048 * 1024; live = 4 }
			if (pat == "quiet" && (t == 40 || t == 42 || t == 44)) out += 500 * 1024
			if (pat == "quiet" && t >= 30 && t <= 37) out += 127 * 1024
			if (pat == "quiet" && (t == 22 || t == 23 || t == 25)) out += 300 * 1024
			if (pat == "quiet" && t == 24) { pend = 1; out += 1024 * 1024 }
			if (pat == "held" && t >= 50 && t <= 52) out += 300 * 1024
			if (pat == "short" && (t == 50 || t == 51)) out += 300 * 1024
			if (pat == "short" && t == 4) out += 900 * 1024
			merged = live ? 90000 : 0
			print tu, t, ph, live, merged, live ? 400000 : 0, 0, 0, 0, 0, 0, t, 1, 100, 20, "none", 1000000,
				5 * t, t, 0, 0, out + wl, 0, live ? 300000 : 0, t ".001", wl, pend > (tu ".csv")
			if (t >= 10)
				print tu, t, t ".001", "guests", "arrive", live, merged, 400000, wl, live ? 300000 : 0 > (tu ".groups.csv")
		}
	}'
}
(cd "$d" && mkrun ksmpilot quiet && mkrun ksmtuned held && mkrun ksmtuned10 short) || fail "could not write the rows"

files=()
for tu in ksmpilot ksmtuned ksmtuned10; do files+=("$d/$tu.csv" "$d/$tu.groups.csv" "$d/$tu.events.csv"); done
awk -v hz=100 -v thr_kib=4936704 -v json="$d/summary.json" -v overview="$d/overview.txt" -f bench/summary.awk \
	"$d/plan.txt" "${files[@]}" >"$d/summary.txt" 2>"$d/err" || fail "summary.awk failed: $(cat "$d/err")"
table=$(sed -n '/^## Memory outside the workload/,/^## Verdict/p' "$d/summary.txt")
[ -n "$table" ] || fail "no section on the memory outside the workload: $(cat "$d/summary.txt")"

row() { grep -F "| $1 |" <<<"$table" || fail "no row for $1 in: $table"; }
# the warm-up's level is its median (10 MiB, not the mean with the outlier)
# and what is left out stays out: the launch, the single rows, and a stretch
# broken by a row not known whole
[ "$(row ksmpilotd)" = "| ksmpilotd | 10 | 500 | 2 s from t=22 s |" ] ||
	fail "a quiet run (single rows above, a launch not ready): $(row ksmpilotd)"
[ "$(row 'ksmtuned (60 s)')" = "| ksmtuned (60 s) | 10 | 300 | 3 s from t=50 s |" ] ||
	fail "300 MiB held 3 s: $(row 'ksmtuned (60 s)')"
[ "$(row 'ksmtuned (10 s)')" = "| ksmtuned (10 s) | 10 | 300 | 2 s from t=50 s |" ] ||
	fail "300 MiB held 2 s, an outlier in the warm-up: $(row 'ksmtuned (10 s)')"
grep -q '^\*\*Disturbed: ksmtuned (60 s)\.\*\*' "$d/summary.txt" ||
	fail "the run with 300 MiB held 3 s is not called disturbed, or another one is: $table"
grep -q '^verdict: .*; disturbed: ksmtuned (60 s)$' "$d/summary.txt" ||
	fail "the verdict does not name the disturbed run: $(grep '^verdict:' "$d/summary.txt")"
grep -q '; disturbed: ksmtuned (60 s) |$' "$d/overview.txt" ||
	fail "the batch's overview row does not name the disturbed run: $(cat "$d/overview.txt")"
json_ok "$d/summary.json" || fail "summary.json is not valid JSON"
got=$(grep -o '"outside_anon":{[^}]*}' "$d/summary.json" | paste -sd' ')
want='"outside_anon":{"warmup_mib":10.000,"max_above_mib":500.000,"longest_above_s":2,"disturbed":false}'
want="$want \"outside_anon\":{\"warmup_mib\":10.000,\"max_above_mib\":300.000,\"longest_above_s\":3,\"disturbed\":true}"
want="$want \"outside_anon\":{\"warmup_mib\":10.000,\"max_above_mib\":300.000,\"longest_above_s\":2,\"disturbed\":false}"
[ "$got" = "$want" ] || fail "summary.json: $got"

# rows of a bench/run from before the two columns: no figure, no verdict on it
for tu in ksmpilot ksmtuned ksmtuned10; do cut -d, -f1-25 "$d/$tu.csv" >"$d/$tu.old.csv"; done
awk -v hz=100 -v thr_kib=4936704 -f bench/summary.awk "$d/plan.txt" "$d/ksmpilot.old.csv" "$d/ksmpilot.groups.csv" \
	"$d/ksmpilot.events.csv" "$d/ksmtuned.old.csv" "$d/ksmtuned.groups.csv" "$d/ksmtuned.events.csv" >"$d/old.txt" ||
	fail "summary.awk failed on rows without the two columns"
grep -q '^| ksmtuned (60 s) | n/a | n/a | n/a |$' "$d/old.txt" || fail "rows without the columns: $(grep -A6 '^## Memory outside' "$d/old.txt")"
grep -q 'Disturbed' "$d/old.txt" && fail "rows without the columns taken as disturbed"
note "the memory outside the workload: $(grep -c '^| ksmtuned\|^| ksmpilotd' <<<"$table") runs, one disturbed"
exit 0
