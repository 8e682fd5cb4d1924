# summary.awk - the summary of one scenario of bench/run, from its plan and
# its per-tuner files; the verdict for ksmpilotd against the targets.
#
#   awk -v hz=100 -v thr_kib=4936704 -v json=DIR/summary.json -v overview=DIR/overview.txt \
#       [-v out_mib=128 -v out_s=3] \
#       -f bench/summary.awk DIR/plan.txt DIR/TUNER.csv DIR/TUNER.groups.csv DIR/TUNER.events.csv ...
#
# Prints the tables (markdown) on stdout, writes the same figures as JSON to
# json and one markdown row of the batch's overview to overview (both
# optional). out_mib, out_s: what marks a run as disturbed (below).
# thr_kib: MemAvailable below it counts as memory pressure (20%
# of MemTotal, both ksmtuned's and ksmpilotd's threshold), with what KSM
# saved the workload taken off: a tuner that merges well must not turn a
# short machine into one that is not, and its verdict into n/a.
#
# Files, told apart by their first line:
#   plan.txt (bench/scenarios.sh): "phase I NAME START", "end T",
#     "launch T GROUP ARRIVAL PROCS SIZE EXPECTED NOMERGE ARGS...", ...
#   TUNER.csv, a row a second: 1 tuner, 2 t, 3 phase, 4 live_pids,
#     5 merged_pages, 6 mergeable_pages, 7 pages_shared, 8 pages_sharing,
#     9 pages_unshared, 10 pages_volatile, 11 general_profit, 12 full_scans,
#     13 run, 14 pages_to_scan, 15 sleep_millisecs, 16 advisor_mode,
#     17 mem_available_kib, 18 ksmd_ticks, 19 tuner_ticks (both counted from
#     the tuner's start), 20 ksm_zero_pages, 21 pages_scanned,
#     22 anon_pages_kib, 23 neighbour_kib (resident memory of the workload
#     that is not MADV_MERGEABLE), 24 saved_kib (Anonymous - Pss_Anon of the
#     workload, smaps_rollup), 25 t_real (seconds since the tuner's start),
#     26 workload_anon_kib (Pss_Anon of the workload's ready processes),
#     27 pending_groups (workload groups launched and not ready yet)
#   TUNER.groups.csv, a row a second per workload group: 1 tuner, 2 t,
#     3 t_real, 4 group, 5 arrival, 6 live_pids, 7 merged_pages,
#     8 mergeable_pages, 9 rss_kib, 10 saved_kib
#   TUNER.events.csv: 1 tuner, 2 t, 3 t_real, 4 launch|stop, 5 group, 6 arrival
# Phase 0 is the warm-up: it is left out of every figure.

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
function jnum(x) { return sprintf("%.3f", x) }
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
function mib(pages) { return pages * 4096 / 1048576 }
function t90s(tu, a) { return ((tu, a) in t90) ? f1(t90[tu, a]) : ">" sprintf("%.0f", win[tu, a]) }

BEGIN {
	FS = ","
	if (out_mib == "") out_mib = 128
	if (out_s == "") out_s = 3
}
FNR == 1 {
	if ($0 ~ /^# bench\/run plan/) kind = "plan"
	else if ($0 ~ /^tuner,t,phase,/) kind = "main"
	else if ($0 ~ /^tuner,t,t_real,group,/) kind = "groups"
	else if ($0 ~ /^tuner,t,t_real,event,/) kind = "events"
	else { print "summary.awk: " FILENAME ": unknown file" > "/dev/stderr"; exit 1 }
	next
}
kind == "plan" {
	n = split($0, f, " ")
	if (f[1] == "scenario") scen = f[2]
	else if (f[1] == "seed") seed = f[2]
	else if (f[1] == "size") size = f[2]
	else if (f[1] == "end") tend = f[2]
	else if (f[1] == "param") { np++; pname[np] = f[2]; pval[np] = f[3] }
	else if (f[1] == "phase") { nph = f[2] + 1; phname[f[2]] = f[3]; phstart[f[2]] = f[4] }
	else if (f[1] == "launch" && f[4] != "-") {
		a = f[4]
		if (!(a in aexp)) { na++; aname[na] = a; astart[a] = f[2] }
		aexp[a] += f[7]
	}
	next
}
kind == "main" {
	tu = $1; t = $2 + 0; ph = $3 + 0
	if (!(tu in seen)) { seen[tu] = 1; order[++nt] = tu }
	if (!((tu, "k0") in mark)) { mark[tu, "k0"] = 1; k0[tu] = $18; u0[tu] = $19 }
	lastk[tu, ph] = $18
	kend[tu] = $18; uend[tu] = $19
	if (ph >= 1 && (tu in pk)) bought(tu, $18 - pk[tu], $25 - ptr[tu], $5 - pmg[tu], $24 - psv[tu])
	pk[tu] = $18; ptr[tu] = $25; pmg[tu] = $5; psv[tu] = $24
	if (NF >= 27) outside(tu, ph, $2, $22 - $26, $27)
	if (ph < 1) { k0[tu] = $18; u0[tu] = $19; next }
	rows[tu]++; rows_ph[tu, ph]++
	savedw[tu] += $5
	savedr[tu] += $24
	saveds[tu] += $8 + $20
	if (!(tu in minav) || $17 < minav[tu]) minav[tu] = $17
	if ($17 - $24 < thr_kib) short[tu]++ # short without KSM's saving: MemAvailable less it
	if ($6 > 0 && $5 / $6 > maxfrac[tu]) maxfrac[tu] = $5 / $6
	if ($13 == 1) {
		on[tu, ph]++
		if (!((tu, ph) in pmin) || $14 < pmin[tu, ph]) pmin[tu, ph] = $14
		if ($14 > pmax[tu, ph]) pmax[tu, ph] = $14
		if (!((tu, ph) in smin) || $15 < smin[tu, ph]) smin[tu, ph] = $15
		if ($15 > smax[tu, ph]) smax[tu, ph] = $15
	}
	next
}
kind == "groups" {
	if ($5 == "-") next
	tu = $1; t = $2 + 0
	gsum[tu, $5, t] += $7
	gtr[tu, $5, t] = $3 + 0
	if (t > gmaxt[tu]) gmaxt[tu] = t
	next
}
kind == "events" {
	if ($6 == "-") next
	if ($4 == "launch" && !(($1, $6) in ltr)) ltr[$1, $6] = $3 + 0
	if ($4 == "stop" && !(($1, $6) in str)) str[$1, $6] = $3 + 0
	next
}

# Memory outside the workload: AnonPages less the Pss_Anon of the
# workload's processes (a KSM page counts once in both) is what the rest of
# the machine holds: the tuner, this script, and anything else that runs
# beside the benchmark. Its level in the warm-up (the median, no workload
# yet) is the baseline. A run in which it stays out_mib or more above the
# baseline for out_s seconds in a row shared the machine with something
# that allocated: the tuner may have spent ksmd's CPU on that memory, and
# MemAvailable fell by it. A row with a group launched and not ready yet
# (its processes allocate before they are known) is left out, and ends a
# stretch; one row above is not enough, since a burst of the neighbour
# between the reads of smaps_rollup and /proc/meminfo shows there for a
# second.
function outside(tu, ph, t, kib, pend,   i, j, x, n) {
	if (ph < 1) {
		obase_v[tu, ++obase_n[tu]] = kib
		return
	}
	if (!(tu in obase)) {
		n = obase_n[tu]
		if (n == 0) { obase[tu] = ""; return }
		for (i = 2; i <= n; i++) {
			x = obase_v[tu, i]
			for (j = i - 1; j >= 1 && obase_v[tu, j] > x; j--) obase_v[tu, j + 1] = obase_v[tu, j]
			obase_v[tu, j + 1] = x
		}
		obase[tu] = obase_v[tu, int((n + 1) / 2)]
	}
	if (obase[tu] == "") return
	if (pend > 0) { orun[tu] = 0; return }
	x = (kib - obase[tu]) / 1024
	if (x > omax[tu]) omax[tu] = x
	if (x < out_mib) { orun[tu] = 0; return }
	if (++orun[tu] == 1) orun_t[tu] = t
	if (orun[tu] > olong[tu]) { olong[tu] = orun[tu]; olong_t[tu] = orun_t[tu] }
}

# What a second of ksmd CPU bought, from two rows a second apart: dk ksmd
# ticks, dtr seconds, dm merged pages and ds saved KiB gained. A second
# when ksmd used less than 5% of a core is quiet; a busy one gained when
# the workload's merged pages or its saving rose by 1 MiB or more. A busy
# second that gained nothing comes before any gain of its busy stretch (the
# scan toward new memory, or of memory that cannot merge) or after one (the
# scan that finds nothing more). COW breaks lower the saving as re-merging
# raises it, so a second of churn counts as gained only when it won more
# than it lost.
function bought(tu, dk, dtr, dm, ds) {
	if (dk <= 0) { gained[tu] = 0; return }
	if (dtr <= 0 || dk < 0.05 * hz * dtr) { cquiet[tu] += dk; gained[tu] = 0 }
	else if (dm >= 256 || ds >= 1024) { cgain[tu] += dk; gained[tu] = 1 }
	else if (gained[tu]) cafter[tu] += dk
	else cbefore[tu] += dk
}

# t90 of arrival a for tuner tu: from the launch until 90% of the arrival's
# mergeable pages are merged in its own processes, interpolated between the
# two samples around it; win: how long it was watched (until one of its
# groups stopped, the next mergeable arrival was launched, or the end: the
# merging that a later arrival sets off is not this one's)
function arrival_t90(tu, a,   target, pt, pm, t, tr, m, lt, b, nextl) {
	if (!((tu, a) in ltr)) return
	lt = ltr[tu, a]
	target = 0.9 * aexp[a]
	pt = lt; pm = 0
	win[tu, a] = 0
	nextl = -1
	for (b = 1; b <= na; b++)
		if (((tu, aname[b]) in ltr) && ltr[tu, aname[b]] > lt && (nextl < 0 || ltr[tu, aname[b]] < nextl))
			nextl = ltr[tu, aname[b]]
	for (t = astart[a]; t <= gmaxt[tu]; t++) {
		if (!((tu, a, t) in gtr)) continue
		tr = gtr[tu, a, t]
		if (((tu, a) in str) && tr > str[tu, a]) break
		if (nextl >= 0 && tr > nextl) break
		win[tu, a] = tr - lt
		m = gsum[tu, a, t]
		if (m >= target) {
			t90[tu, a] = (m > pm ? pt + (target - pm) / (m - pm) * (tr - pt) : tr) - lt
			return
		}
		pt = tr; pm = m
	}
}

# verdict helpers: status[k] "met" / "not met" / "n/a", and the text
function verdict(   i, j, tu, a, best, bestt, fast, fastt, r, lim, nmet, nnot, nna, k, failed) {
	vp = ("ksmpilot" in seen)
	if (!vp) return
	pressure = rows["ksmpilot"] > 0 && short["ksmpilot"] / rows["ksmpilot"] >= 0.5
	# ksmd CPU
	if (!pressure) { vs["cpu"] = "n/a"; vw["cpu"] = "no memory pressure" }
	else if (!("ksmtuned" in seen)) { vs["cpu"] = "n/a"; vw["cpu"] = "ksmtuned (60 s) was not run" }
	else if (cpu["ksmtuned"] <= 0) { vs["cpu"] = "n/a"; vw["cpu"] = "ksmtuned (60 s) used no ksmd CPU" }
	else {
		cpur = cpu["ksmpilot"] / cpu["ksmtuned"]
		vs["cpu"] = cpur <= 0.25 ? "met" : "not met"
		vw["cpu"] = f1(cpu["ksmpilot"]) " s = " f2(cpur) "x of " f1(cpu["ksmtuned"]) " s"
	}
	# saving: the best peer's mean saving (resident: smaps_rollup)
	best = ""
	for (i = 1; i <= nt; i++) {
		tu = order[i]
		if (tu == "ksmpilot") continue
		if (best == "" || meanr[tu] > meanr[best]) best = tu
	}
	bestpeer = best
	if (!pressure) { vs["saving"] = "n/a"; vw["saving"] = "no memory pressure" }
	else if (best == "") { vs["saving"] = "n/a"; vw["saving"] = "no peer was run" }
	else {
		vs["saving"] = meanr["ksmpilot"] >= meanr[best] ? "met" : "not met"
		vw["saving"] = f1(meanr["ksmpilot"]) " MiB vs " f1(meanr[best]) " MiB (" title(best) ")"
	}
	# t90 of each arrival against the fastest peer that reached 90%
	for (j = 1; j <= na; j++) {
		a = aname[j]; k = "t90 " a
		fast = ""
		for (i = 1; i <= nt; i++) {
			tu = order[i]
			if (tu == "ksmpilot" || !((tu, a) in t90)) continue
			if (fast == "" || t90[tu, a] < t90[fast, a]) fast = tu
		}
		fastpeer[a] = fast
		if (!pressure) { vs[k] = "n/a"; vw[k] = "no memory pressure"; continue }
		if (nt < 2) { vs[k] = "n/a"; vw[k] = "no peer was run"; continue }
		if (fast == "") {
			if (("ksmpilot", a) in t90) { vs[k] = "met"; vw[k] = f1(t90["ksmpilot", a]) " s; no peer reached 90% within " f1(win["ksmpilot", a]) " s" }
			else { vs[k] = "n/a"; vw[k] = "no tuner reached 90%" }
			continue
		}
		lim = 1.1 * t90[fast, a]
		if (("ksmpilot", a) in t90) {
			vs[k] = t90["ksmpilot", a] <= lim ? "met" : "not met"
			vw[k] = f2(t90["ksmpilot", a]) " s vs " f2(t90[fast, a]) " s (" title(fast) "), limit " f2(lim) " s"
		} else {
			vs[k] = "not met"
			vw[k] = "not 90% merged within " f1(win["ksmpilot", a]) " s; " title(fast) ": " f1(t90[fast, a]) " s"
		}
	}
	if (na == 0) { vs["t90"] = "n/a"; vw["t90"] = "no mergeable arrival" }
	# the whole
	nkeys = 0
	keys[++nkeys] = "cpu"; keys[++nkeys] = "saving"
	if (na == 0) keys[++nkeys] = "t90"
	for (j = 1; j <= na; j++) keys[++nkeys] = "t90 " aname[j]
	nmet = nnot = nna = 0; failed = ""
	for (j = 1; j <= nkeys; j++) {
		k = keys[j]
		if (vs[k] == "met") nmet++
		else if (vs[k] == "not met") { nnot++; failed = failed (failed == "" ? "" : ", ") k }
		else nna++
	}
	if (nnot) overall = "NOT MET (" failed ")"
	else if (nmet) overall = "MET" (nna ? " (" nna " n/a)" : "")
	else overall = "n/a"
	if (!pressure) overall = "n/a (no memory pressure)"
}

END {
	if (nt == 0) { print "summary.awk: no tuner data" > "/dev/stderr"; exit 1 }
	for (i = 1; i <= nt; i++) {
		tu = order[i]
		prev = k0[tu]
		for (ph = 1; ph < nph; ph++) {
			if ((tu, ph) in lastk) { cpu[tu, ph] = (lastk[tu, ph] - prev) / hz; prev = lastk[tu, ph] }
			else cpu[tu, ph] = 0
		}
		cpu[tu] = (kend[tu] - k0[tu]) / hz
		own[tu] = (uend[tu] - u0[tu]) / hz
		meanw[tu] = rows[tu] ? mib(savedw[tu] / rows[tu]) : 0
		meanr[tu] = rows[tu] ? savedr[tu] / rows[tu] / 1024 : 0
		means[tu] = rows[tu] ? mib(saveds[tu] / rows[tu]) : 0
		eff[tu] = cpu[tu] > 0 ? meanr[tu] / cpu[tu] : 0
		press[tu] = rows[tu] ? 100 * short[tu] / rows[tu] : 0
		for (j = 1; j <= na; j++) arrival_t90(tu, aname[j])
	}
	verdict()
	disturbed = ""
	for (i = 1; i <= nt; i++)
		if (olong[order[i]] >= out_s) disturbed = disturbed (disturbed == "" ? "" : ", ") title(order[i])
	if (vp && disturbed != "") overall = overall "; disturbed: " disturbed

	printf "Scenario %s: seed %s, %s MiB a guest process, %d s per tuner (plan.txt).\n", scen, seed, size, tend
	line = ""
	for (i = 1; i <= np; i++) line = line (i > 1 ? ", " : "") pname[i] "=" pval[i]
	print "Parameters: " line "."
	line = ""
	for (ph = 0; ph < nph; ph++) line = line (ph ? ", " : "") phname[ph] " at " phstart[ph] " s"
	print "Phases: " line "."
	line = ""
	for (j = 1; j <= na; j++)
		line = line (j > 1 ? ", " : "") aname[j] " at " astart[aname[j]] " s (" sprintf("%.0f", mib(aexp[aname[j]])) " MiB mergeable)"
	print "Mergeable arrivals: " (na ? line : "none") "."
	print ""
	printf "## Results per tuner (scenario %s; the warm-up is left out)\n\n", scen
	hdr = "| tuner | ksmd CPU s | / ksmtuned (60 s) | mean saved MiB | (ksm_merging_pages) | (pages_sharing + zero) | best merged %"
	sep = "|---|---:|---:|---:|---:|---:|---:"
	for (j = 1; j <= na; j++) { hdr = hdr " | t90 " aname[j] " s"; sep = sep "|---:" }
	print hdr " | MiB saved per ksmd CPU s | tuner CPU s | min MemAvailable MiB | under pressure % |"
	print sep "|---:|---:|---:|---:|"
	for (i = 1; i <= nt; i++) {
		tu = order[i]
		line = sprintf("| %s | %s | %s | %s | %s | %s | %d", title(tu), f1(cpu[tu]),
			("ksmtuned" in seen) ? ratio(cpu[tu], cpu["ksmtuned"]) : "n/a", f1(meanr[tu]), f1(meanw[tu]), f1(means[tu]),
			100 * maxfrac[tu])
		for (j = 1; j <= na; j++) line = line " | " t90s(tu, aname[j])
		printf "%s | %s | %s | %d | %d |\n", line, f1(eff[tu]), f2(own[tu]), minav[tu] / 1024, press[tu]
	}
	print ""
	print "ksmd CPU: utime+stime of ksmd after the warm-up. Mean saved: the memory the live workload processes"
	print "share (Anonymous - Pss_Anon of their smaps_rollup: what KSM saves, at every second). (ksm_merging_pages):"
	print "their merged pages, times 4 KiB; (pages_sharing + zero): pages_sharing + ksm_zero_pages. Both of these only"
	print "change when ksmd visits a page again: they keep counting merged pages that were written to (COW), and"
	print "pages_sharing those of processes that exited, until then. Best merged: the highest share of the mergeable"
	print "pages merged (ksm_merging_pages). t90 ARRIVAL: seconds from the arrival's launch until 90% of its mergeable"
	print "pages are merged, from its own processes' ksm_merging_pages, interpolated between the two samples around it"
	print "(\">N\": not within the N s it was watched, until the next mergeable arrival, one of its processes stopped or"
	print "the end). MiB saved per ksmd CPU s: mean saved / ksmd CPU. Tuner CPU: utime+stime+cutime+cstime of the tuner"
	print "process (0: the kernel tunes itself). Under pressure: share of the seconds with MemAvailable, less what KSM"
	print "saved the workload, below 20% of MemTotal (short as the machine would be without that saving)."

	print ""
	print "## ksmd CPU per phase (s)"
	print ""
	hdr = "| tuner"; sep = "|---"
	for (ph = 1; ph < nph; ph++) { hdr = hdr " | " phname[ph] " (" phstart[ph] " s)"; sep = sep "|---:" }
	print hdr " |"
	print sep "|"
	for (i = 1; i <= nt; i++) {
		tu = order[i]; line = "| " title(tu)
		for (ph = 1; ph < nph; ph++) line = line " | " f1(cpu[tu, ph])
		print line " |"
	}

	print ""
	print "## ksmd CPU by what it bought (s)"
	print ""
	print "| tuner | gained | busy, no gain yet | busy, after a gain | quiet |"
	print "|---|---:|---:|---:|---:|"
	for (i = 1; i <= nt; i++) {
		tu = order[i]
		printf "| %s | %s | %s | %s | %s |\n", title(tu), f1(cgain[tu] / hz), f1(cbefore[tu] / hz), f1(cafter[tu] / hz),
			f1(cquiet[tu] / hz)
	}
	print ""
	print "From the rows a second apart. Quiet: seconds when ksmd used less than 5% of a core. A busy second gained"
	print "when the workload's merged pages (ksm_merging_pages) or its saving rose by 1 MiB or more; under COW churn,"
	print "only when re-merging won more than the writes broke. A busy second that gained nothing counts as no gain"
	print "yet when its stretch of busy seconds has not gained so far (the scan toward new memory, of memory that cannot"
	print "merge, or of memory with nothing to merge), or as after a gain (the scan that found nothing more)."

	if (("ksmpilot" in seen) && nt > 1) {
		print ""
		print "## ksmpilotd / peer (below 1 is better for CPU and t90, above 1 for saved and MiB per CPU s)"
		print ""
		hdr = "| peer | ksmd CPU | mean saved"; sep = "|---|---:|---:"
		for (j = 1; j <= na; j++) { hdr = hdr " | t90 " aname[j]; sep = sep "|---:" }
		print hdr " | MiB saved per ksmd CPU s | tuner CPU |"
		print sep "|---:|---:|"
		for (i = 1; i <= nt; i++) {
			peer = order[i]
			if (peer == "ksmpilot") continue
			line = sprintf("| %s | %s | %s", title(peer), ratio(cpu["ksmpilot"], cpu[peer]), ratio(meanr["ksmpilot"], meanr[peer]))
			for (j = 1; j <= na; j++) {
				a = aname[j]
				line = line " | " ((("ksmpilot", a) in t90) && ((peer, a) in t90) ? ratio(t90["ksmpilot", a], t90[peer, a]) : "n/a")
			}
			printf "%s | %s | %s |\n", line, ratio(eff["ksmpilot"], eff[peer]), ratio(own["ksmpilot"], own[peer])
		}
	}

	print ""
	print "## Knobs as set (share of the phase with run=1; pages_to_scan and sleep_millisecs ranges while run=1)"
	print ""
	hdr = "| tuner"; sep = "|---"
	for (ph = 1; ph < nph; ph++) { hdr = hdr " | " phname[ph]; sep = sep "|---" }
	print hdr " |"
	print sep "|"
	for (i = 1; i <= nt; i++) {
		tu = order[i]
		line = "| " title(tu)
		for (ph = 1; ph < nph; ph++) {
			n = rows_ph[tu, ph]
			if (!((tu, ph) in on)) { line = line " | off"; continue }
			pr = pmin[tu, ph] == pmax[tu, ph] ? pmin[tu, ph] : pmin[tu, ph] "-" pmax[tu, ph]
			sr = smin[tu, ph] == smax[tu, ph] ? smin[tu, ph] : smin[tu, ph] "-" smax[tu, ph]
			line = line sprintf(" | %d%%: %s pages / %s ms", 100 * on[tu, ph] / n, pr, sr)
		}
		print line " |"
	}

	print ""
	print "## Memory outside the workload (AnonPages less the workload's Pss_Anon)"
	print ""
	print "| tuner | in the warm-up MiB | most above it MiB | longest stretch " out_mib " MiB or more above it |"
	print "|---|---:|---:|---|"
	for (i = 1; i <= nt; i++) {
		tu = order[i]
		if (!(tu in obase) || obase[tu] == "") { printf "| %s | n/a | n/a | n/a |\n", title(tu); continue }
		printf "| %s | %d | %d | %s |\n", title(tu), obase[tu] / 1024, omax[tu],
			olong[tu] ? olong[tu] " s from t=" olong_t[tu] " s" : "none"
	}
	print ""
	print "The rest of the machine's anonymous memory: the tuner, bench/run, and anything else that ran beside it."
	print "Seconds with a workload group launched and not ready yet are left out."
	if (disturbed != "") {
		print ""
		printf "**Disturbed: %s.** Something beside the benchmark held %d MiB or more of anonymous memory for %d s or\n",
			disturbed, out_mib, out_s
		print "more: MemAvailable fell by it, and a tuner may have spent ksmd's CPU on it. Run the scenario again on a"
		print "quiet machine before taking its figures."
	}

	print ""
	print "## Verdict: ksmpilotd against the targets"
	print ""
	if (!vp) {
		print "no verdict: ksmpilotd was not run"
	} else {
		printf "Memory pressure: MemAvailable, less what KSM saved the workload, below 20%% of MemTotal in %d%% of ksmpilotd's seconds (%s).\n\n",
			press["ksmpilot"], pressure ? "pressure" : "no pressure: every target is n/a"
		print "| target | status | figures |"
		print "|---|---|---|"
		printf "| total ksmd CPU <= 1/4 of ksmtuned (60 s)'s | %s | %s |\n", vs["cpu"], vw["cpu"]
		printf "| mean saving >= the best peer's | %s | %s |\n", vs["saving"], vw["saving"]
		if (na == 0) printf "| t90 <= the fastest peer's + 10%% | n/a | %s |\n", vw["t90"]
		for (j = 1; j <= na; j++)
			printf "| t90 of %s <= the fastest peer's + 10%% | %s | %s |\n", aname[j], vs["t90 " aname[j]], vw["t90 " aname[j]]
		print ""
		print "verdict: " overall
	}

	if (overview != "") {
		if (!vp) printf "| %s | - | - | - | - | no verdict (ksmpilotd not run) |\n", scen > overview
		else {
			tv = ""
			if (na == 0) tv = "n/a"
			for (j = 1; j <= na; j++) {
				a = aname[j]
				x = ((("ksmpilot", a) in t90)) ? f1(t90["ksmpilot", a]) : ">" sprintf("%.0f", win["ksmpilot", a])
				x = x " s / " (fastpeer[a] != "" ? f1(t90[fastpeer[a], a]) " s" : "-")
				tv = tv (j > 1 ? ", " : "") a " " x
			}
			printf "| %s | %d%% | %s | %s | %s | %s |\n", scen, press["ksmpilot"],
				("ksmtuned" in seen) ? ratio(cpu["ksmpilot"], cpu["ksmtuned"]) : "n/a",
				bestpeer == "" ? "n/a" : ratio(meanr["ksmpilot"], meanr[bestpeer]), tv, overall > overview
		}
		close(overview)
	}

	if (json != "") {
		printf "{\"scenario\":\"%s\",\"seed\":%s,\"size_mib\":%s,\"end_s\":%s,\"pressure_threshold_mib\":%d,\"params\":{",
			scen, seed, size, tend, thr_kib / 1024 > json
		for (i = 1; i <= np; i++) printf "%s\"%s\":%s", (i > 1 ? "," : ""), pname[i], pval[i] > json
		printf "},\"phases\":[" > json
		for (ph = 0; ph < nph; ph++) printf "%s{\"name\":\"%s\",\"start_s\":%s}", (ph ? "," : ""), phname[ph], phstart[ph] > json
		printf "],\"arrivals\":[" > json
		for (j = 1; j <= na; j++)
			printf "%s{\"name\":\"%s\",\"start_s\":%s,\"mergeable_pages\":%d}", (j > 1 ? "," : ""), aname[j], astart[aname[j]], aexp[aname[j]] > json
		printf "],\"tuners\":[" > json
		for (i = 1; i <= nt; i++) {
			tu = order[i]
			printf "%s{\"tuner\":\"%s\",\"title\":\"%s\",\"ksmd_cpu_s\":%s,\"ksmd_cpu_ratio_ksmtuned60\":%s,\"ksmd_cpu_phase_s\":{",
				(i > 1 ? "," : ""), tu, title(tu), jnum(cpu[tu]),
				(("ksmtuned" in seen) && cpu["ksmtuned"] > 0) ? jnum(cpu[tu] / cpu["ksmtuned"]) : "null" > json
			for (ph = 1; ph < nph; ph++) printf "%s\"%s\":%s", (ph > 1 ? "," : ""), phname[ph], jnum(cpu[tu, ph]) > json
			printf "},\"ksmd_cpu_bought_s\":{\"gained\":%s,\"busy_no_gain_yet\":%s,\"busy_after_gain\":%s,\"quiet\":%s",
				jnum(cgain[tu] / hz), jnum(cbefore[tu] / hz), jnum(cafter[tu] / hz), jnum(cquiet[tu] / hz) > json
			printf "},\"mean_saved_mib\":%s,\"mean_saved_mib_ksm_merging_pages\":%s,\"mean_saved_mib_pages_sharing\":%s,",
				jnum(meanr[tu]), jnum(meanw[tu]), jnum(means[tu]) > json
			printf "\"best_merged_pct\":%s,\"t90_s\":{", jnum(100 * maxfrac[tu]) > json
			for (j = 1; j <= na; j++) {
				a = aname[j]
				printf "%s\"%s\":%s", (j > 1 ? "," : ""), a, ((tu, a) in t90) ? jnum(t90[tu, a]) : "null" > json
			}
			printf "},\"t90_watched_s\":{" > json
			for (j = 1; j <= na; j++) printf "%s\"%s\":%s", (j > 1 ? "," : ""), aname[j], jnum(win[tu, aname[j]]) > json
			printf "},\"mib_saved_per_ksmd_cpu_s\":%s,\"tuner_cpu_s\":%s,\"min_mem_available_mib\":%d,\"pressure_pct\":%s,",
				jnum(eff[tu]), jnum(own[tu]), minav[tu] / 1024, jnum(press[tu]) > json
			if (!(tu in obase) || obase[tu] == "") printf "\"outside_anon\":null}" > json
			else printf "\"outside_anon\":{\"warmup_mib\":%s,\"max_above_mib\":%s,\"longest_above_s\":%d,\"disturbed\":%s}}",
				jnum(obase[tu] / 1024), jnum(omax[tu]), olong[tu], olong[tu] >= out_s ? "true" : "false" > json
		}
		printf "]" > json
		if (vp) {
			printf ",\"verdict\":{\"pressure\":%s,\"overall\":\"%s\",\"targets\":[", pressure ? "true" : "false", overall > json
			for (j = 1; j <= nkeys; j++)
				printf "%s{\"target\":\"%s\",\"status\":\"%s\",\"figures\":\"%s\"}", (j > 1 ? "," : ""), keys[j], vs[keys[j]], vw[keys[j]] > json
			printf "]}" > json
		} else printf ",\"verdict\":null" > json
		printf "}\n" > json
		close(json)
	}
}
