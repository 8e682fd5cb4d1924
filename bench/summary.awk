# summary.awk - the summary tables of bench/run, from its per-tuner CSVs.
#
#   awk -F, -v hz=100 -v p1=120 -v p4=120 -f bench/summary.awk build/bench/*/NAME.csv
#
# Columns (bench/run): 1 tuner, 2 t, 3 phase, 4 live_pids, 5 merged_pages,
# 6 mergeable_pages, 7 pages_shared, 8 pages_sharing, 9 pages_unshared,
# 10 pages_volatile, 11 general_profit, 12 full_scans, 13 run,
# 14 pages_to_scan, 15 sleep_millisecs, 16 advisor_mode, 17 mem_available_kib,
# 18 ksmd_ticks, 19 tuner_ticks (both counted from the tuner's start).
# Phase 0 is the warm-up: it is left out of every figure below.

function title(t) {
	if (t == "ksmpilot") return "ksmpilotd"
	if (t == "ksmtuned") return "ksmtuned (60 s)"
	if (t == "ksmtuned10") return "ksmtuned (10 s)"
	if (t == "advisor") return "advisor (scan-time)"
	if (t == "kernel") return "kernel defaults"
	return t
}
function f1(x) { return sprintf("%.1f", x) }
function f2(x) { return sprintf("%.2f", x) }
function t90s(tu, ph, len) { return ((tu, ph) in t90) ? t90[tu, ph] : ">" len }
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
function ratio90(tu, peer, ph) {
	if (!((tu, ph) in t90) || !((peer, ph) in t90)) return "n/a"
	if (t90[peer, ph] == 0) return "n/a"
	return sprintf("%.2f", t90[tu, ph] / t90[peer, ph])
}

FNR == 1 { next }
{
	tu = $1; t = $2 + 0; ph = $3 + 0
	if (!(tu in seen)) { seen[tu] = 1; order[++nt] = tu }
	lastk[tu, ph] = $18; lastu[tu, ph] = $19
	if (!((tu, ph) in start)) start[tu, ph] = t
	if (ph < 1 || ph > 4) next
	rows[tu]++; rows_ph[tu, ph]++
	saved[tu] += $5
	if (!(tu in minav) || $17 < minav[tu]) minav[tu] = $17
	if ($6 > 0 && $5 / $6 > maxfrac[tu]) maxfrac[tu] = $5 / $6
	if ((ph == 1 || ph == 4) && !((tu, ph) in t90) && $6 > 0 && $5 >= 0.9 * $6) t90[tu, ph] = t - start[tu, ph]
	if ($13 == 1) {
		on[tu, ph]++
		if (!((tu, ph) in pmin) || $14 < pmin[tu, ph]) pmin[tu, ph] = $14
		if ($14 > pmax[tu, ph]) pmax[tu, ph] = $14
		if (!((tu, ph) in smin) || $15 < smin[tu, ph]) smin[tu, ph] = $15
		if ($15 > smax[tu, ph]) smax[tu, ph] = $15
	}
}
END {
	for (i = 1; i <= nt; i++) {
		tu = order[i]
		for (ph = 1; ph <= 4; ph++) cpu[tu, ph] = (lastk[tu, ph] - lastk[tu, ph - 1]) / hz
		cpu[tu] = (lastk[tu, 4] - lastk[tu, 0]) / hz
		own[tu] = (lastu[tu, 4] - lastu[tu, 0]) / hz
		mean[tu] = rows[tu] ? saved[tu] / rows[tu] * 4096 / 1048576 : 0
		eff[tu] = cpu[tu] > 0 ? mean[tu] / cpu[tu] : 0
	}
	print "## Results per tuner (phases 1-4; the warm-up is left out)"
	print ""
	print "| tuner | ksmd CPU s | phase 1 | phase 2 | phase 3 | phase 4 | mean saved MiB | best merged % | t90 phase 1 s | t90 phase 4 s | MiB saved per ksmd CPU s | tuner CPU s | min MemAvailable MiB |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nt; i++) {
		tu = order[i]
		printf "| %s | %s | %s | %s | %s | %s | %s | %d | %s | %s | %s | %s | %d |\n", title(tu), f1(cpu[tu]),
			f1(cpu[tu, 1]), f1(cpu[tu, 2]), f1(cpu[tu, 3]), f1(cpu[tu, 4]), f1(mean[tu]), 100 * maxfrac[tu],
			t90s(tu, 1, p1), t90s(tu, 4, p4), f1(eff[tu]), f2(own[tu]), minav[tu] / 1024
	}
	print ""
	print "ksmd CPU: utime+stime of ksmd in each phase. Saved: ksm_merging_pages summed over the live workload"
	print "processes, times 4 KiB. t90: seconds from the phase start until 90% of the mergeable pages of the live"
	print "workload processes are merged (\">N\": not within the phase). Tuner CPU: utime+stime+cutime+cstime of"
	print "the tuner process (0: the kernel tunes itself)."
	if ("ksmpilot" in seen && nt > 1) {
		print ""
		print "## ksmpilotd / peer (below 1 is better for CPU and t90, above 1 for saved and MiB per CPU s)"
		print ""
		print "| peer | ksmd CPU | mean saved | t90 phase 1 | t90 phase 4 | MiB saved per ksmd CPU s | tuner CPU |"
		print "|---|---:|---:|---:|---:|---:|---:|"
		for (i = 1; i <= nt; i++) {
			peer = order[i]
			if (peer == "ksmpilot") continue
			printf "| %s | %s | %s | %s | %s | %s | %s |\n", title(peer), ratio(cpu["ksmpilot"], cpu[peer]),
				ratio(mean["ksmpilot"], mean[peer]), ratio90("ksmpilot", peer, 1), ratio90("ksmpilot", peer, 4),
				ratio(eff["ksmpilot"], eff[peer]), ratio(own["ksmpilot"], own[peer])
		}
	}
	print ""
	print "## Knobs as set (share of the phase with run=1; pages_to_scan and sleep_millisecs ranges while run=1)"
	print ""
	print "| tuner | phase 1 | phase 2 | phase 3 | phase 4 |"
	print "|---|---|---|---|---|"
	for (i = 1; i <= nt; i++) {
		tu = order[i]
		line = "| " title(tu)
		for (ph = 1; ph <= 4; ph++) {
			n = rows_ph[tu, ph]
			if (!((tu, ph) in on)) { line = line " | off"; continue }
			pr = pmin[tu, ph] == pmax[tu, ph] ? pmin[tu, ph] : pmin[tu, ph] "-" pmax[tu, ph]
			sr = smin[tu, ph] == smax[tu, ph] ? smin[tu, ph] : smin[tu, ph] "-" smax[tu, ph]
			line = line sprintf(" | %d%%: %s pages / %s ms", 100 * on[tu, ph] / n, pr, sr)
		}
		print line " |"
	}
}
