# bench-plan.sh - the benchmark's plans without running them (bench/run
# --plan): the same seed gives the same plans, the staggered gaps stay within
# their bounds, parameters reach the plan, bad parameters are refused, each
# scenario's workload fits the memory budget, and a full run at the defaults
# is expected to take at most about 2 hours. Needs no root and no KSM.
. tests/lib.sh
set -u
make_tmp

plan() { bash bench/run --plan "$@" 2>&1; }

# the same seed, the same plans; another seed, other gaps
plan --seed 42 >"$TMPD/a" || fail "bench/run --plan --seed 42 failed: $(cat "$TMPD/a")"
plan --seed 42 >"$TMPD/b" || fail "bench/run --plan --seed 42 failed (second run)"
cmp -s "$TMPD/a" "$TMPD/b" || fail "two plans with the same seed differ: $(diff "$TMPD/a" "$TMPD/b" | head -n 5)"
gaps() { awk '$1 == "scenario" { s = $2 } s == "staggered" && $1 == "launch" { printf "%s ", $2 }' "$1"; }
for s in 1 2 3 4 5 6 7 8; do
	plan --seed $s --scenario staggered --set guests=12 >"$TMPD/s$s" || fail "--plan --seed $s failed"
	gaps "$TMPD/s$s" >>"$TMPD/allgaps"
	echo >>"$TMPD/allgaps"
	awk '$1 == "launch" { if (p != "" && ($2 - p < 20 || $2 - p > 40)) bad = 1; p = $2 } END { exit bad }' "$TMPD/s$s" ||
		fail "seed $s: a staggered gap outside 20-40 s: $(gaps "$TMPD/s$s")"
done
[ "$(sort -u "$TMPD/allgaps" | wc -l)" -ge 7 ] || fail "8 seeds gave only $(sort -u "$TMPD/allgaps" | wc -l) different sets of gaps"
note "staggered launches (seed 1): $(head -n1 "$TMPD/allgaps")"

# every scenario, its phases, and the guests' mergeable pages per workload.c's layout
for s in arrivals neighbour unmergeable staggered cow; do
	grep -q "^=== $s: " "$TMPD/a" || fail "no plan for $s"
done
grep -q '^launch 20 a1 arrive 2 256 78672 0 -s 256 -p 2 -m 60 -v 10 ' "$TMPD/a" || fail "arrivals: unexpected first launch: $(grep -m1 '^launch' "$TMPD/a")"
awk '$1 == "launch" && $3 == "neighbour" && / -n / && / -b 6000 / && / -S 42/ { ok = 1 } END { exit !ok }' "$TMPD/a" ||
	fail "neighbour: the neighbour is not launched without madvise, in bursts, with the seed"

# parameters reach the plan; --phases sets the arrivals scenario
plan --seed 1 --scenario neighbour,cow --size 128 --set noise=30 --set cow.rate=60 --set burst=200 >"$TMPD/c" ||
	fail "--set failed: $(cat "$TMPD/c")"
grep -q '^phase 3 late 140$' "$TMPD/c" || fail "neighbour.noise=30 did not move the late phase: $(grep '^phase' "$TMPD/c" | tr '\n' ' ')"
grep -q ' -s 200 -p 1 .* -n -b 6000 ' "$TMPD/c" || fail "neighbour.burst=200 not in the plan"
# 128 MiB: 19688 mergeable pages; 60% a minute: 196 pages a second
grep -q ' -c 196 -d 90 ' "$TMPD/c" || fail "cow.rate=60 at 128 MiB: expected -c 196: $(grep ' -c ' "$TMPD/c")"
plan --scenario arrivals --phases 5,6,7,8,9 >"$TMPD/d" || fail "--phases failed: $(cat "$TMPD/d")"
[ "$(awk '$1 == "phase" { printf "%s ", $4 } $1 == "end" { print $2 }' "$TMPD/d")" = "0 5 11 18 26 35" ] ||
	fail "--phases 5,6,7,8,9: phases $(awk '$1 == "phase" || $1 == "end"' "$TMPD/d" | tr '\n' ' ')"

# bad parameters: exit 2 and a message naming them
bad() { # bad PATTERN ARGS...
	local pat=$1 out rc
	shift
	out=$(plan "$@")
	rc=$?
	[ $rc = 2 ] || fail "bench/run --plan $*: exit $rc, expected 2 ($out)"
	grep -q -- "$pat" <<<"$out" || fail "bench/run --plan $*: no '$pat' in: $out"
}
bad "unknown scenario 'nope'" --scenario nope
bad "unknown tuner 'x'" --tuners ksmpilot,x
bad "no scenario has a parameter 'nope'" --set nope=1
bad "not a whole number" --set noise=1.5
bad "arrivals.warmup=0: at least 1" --set warmup=0
bad "arrivals.guests must be even" --set arrivals.guests=3
bad "staggered.gap_max (10) is below staggered.gap_min (20)" --scenario staggered --set gap_max=10
bad "neighbour.jitter is a percentage" --set jitter=150
bad "--phases needs 5 numbers" --phases 1,2,3
bad "--seed" --seed -4
bad "--size" --size 0
note "bad parameters refused"

# the memory budget: every scenario's peak of workload memory (nothing
# merged yet) leaves the 1.5 GiB floor above it when 4 GiB are left
awk '/^=== / { n++; sub(/.*peak /, ""); if ($1 + 1536 + 256 > 4096) { print "too much: " $0; bad = 1 } }
	END { exit bad || n != 5 }' "$TMPD/a" || fail "a scenario's peak does not fit the budget: $(grep '^===' "$TMPD/a")"

# a full run at the defaults: at most about 2 hours
exp=$(sed -n 's/^expected duration: about \([0-9]*\) min.*/\1/p' "$TMPD/a")
[ -n "$exp" ] || fail "no expected duration in the plan output"
[ "$exp" -le 120 ] || fail "a full run would take about $exp minutes, more than 2 hours"
note "full run at the defaults: about $exp min"
smoke=$(plan --smoke --seed 1 | sed -n 's/^expected duration: about \([0-9]*\) min \([0-9]*\) s.*/\1 \2/p')
[ -n "$smoke" ] && [ "${smoke% *}" -lt 2 ] || fail "--smoke would take $smoke (min s)"
echo "PASS: bench-plan"
