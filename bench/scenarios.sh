# scenarios.sh - sourced by bench/run: the scenarios, their parameters and
# their plans.
#
# A scenario is a function plan_NAME. It says, in whole seconds since the
# tuner started, when each phase begins and when groups of workload
# processes (tests/workload.c) are launched or stopped, through ph, launch,
# halt and finish below. Every size and timing comes from a parameter
# (pv KEY, set with --size, --seed and --set KEY=VALUE), so that the same
# kinds of scenario can be run at other sizes and timings. Every tuner of a
# batch runs the same plan: plan_write puts it in plan.txt, which bench/run,
# bench/summary.awk and bench/plot read.
#
# A launch names the mergeable arrival it belongs to; the time to 90% merged
# is measured per arrival, from its own processes. Memory that cannot merge
# (no MADV_MERGEABLE, or only unique and volatile pages) belongs to no
# arrival ("-").

# shellcheck disable=SC2034 # read by bench/run, which sources this
SCENARIOS="arrivals neighbour unmergeable staggered cow"
PATTERNS=4              # repeated patterns of the mergeable pages (workload -P)
INTERVAL_MS=100         # volatile pages are rewritten this often (workload -i)

declare -A PARAM PARAM_DEF PARAM_SMOKE PARAM_MIN PARAM_HELP
PARAM_KEYS=()

# param SCENARIO KEY DEFAULT SMOKE MIN HELP: declare a parameter
param() {
	PARAM_KEYS+=("$1.$2")
	PARAM_DEF[$1.$2]=$3
	PARAM_SMOKE[$1.$2]=$4
	PARAM_MIN[$1.$2]=$5
	PARAM_HELP[$1.$2]=$6
}

# Seconds unless the name says otherwise. Defaults: about 22 minutes for
# the five scenarios, per tuner. --smoke uses the SMOKE column.
#     scenario    key          default smoke min help
param arrivals    warmup       20      1     1   "warm-up: the tuner runs, the machine is short, no workload yet"
param arrivals    arrive       90      3     1   "phase arrive: GUESTS processes of mergeable memory arrive"
param arrivals    steady       45      1     0   "phase steady: nothing new"
param arrivals    churn        45      2     0   "phase churn: CHURN_PROCS processes of volatile memory that never merges arrive"
param arrivals    replace      90      3     1   "phase replace: half the guests leave, as many new ones (another pattern) arrive"
param arrivals    guests       4       4     2   "processes of the first arrival (even)"
param arrivals    churn_procs  2       2     1   "processes of the churn phase"
param neighbour   warmup       20      1     1   "warm-up"
param neighbour   arrive       90      3     1   "phase arrive: GUESTS processes of mergeable memory arrive and merge"
param neighbour   noise        180     4     1   "phase noise: the neighbour allocates and frees unmergeable memory in bursts"
param neighbour   late         60      2     1   "phase late: LATE_GUESTS processes of new mergeable memory arrive; the neighbour goes on"
param neighbour   guests       4       4     1   "processes of the first arrival"
param neighbour   late_guests  2       2     1   "processes of the late arrival"
param neighbour   burst        384     96    1   "MiB of the neighbour's largest burst (not MADV_MERGEABLE)"
param neighbour   period_ms    6000    2000  100 "ms from the start of one burst to the next"
param neighbour   hold_ms      3000    1000  1   "ms a burst keeps its memory"
param neighbour   jitter       50      50    0   "% of randomness: burst sizes in [100-J, 100]% of BURST, holds and periods within J% both ways"
param unmergeable warmup       20      1     1   "warm-up"
param unmergeable unmergeable  90      3     1   "phase unmergeable: JUNK_PROCS processes of MADV_MERGEABLE memory that cannot merge arrive"
param unmergeable arrive       90      3     1   "phase arrive: GUESTS processes of mergeable memory arrive; the others stay"
param unmergeable junk_procs   2       2     1   "processes of the unmergeable arrival"
param unmergeable volatile     50      50    0   "% of the unmergeable memory rewritten every ${INTERVAL_MS} ms (the rest: unique pages)"
param unmergeable guests       4       4     1   "processes of the mergeable arrival"
param staggered   warmup       20      1     1   "warm-up"
param staggered   guests       5       3     1   "guests, one process each, all of the same pattern (the same image)"
param staggered   gap_min      20      2     1   "shortest time between two guests"
param staggered   gap_max      40      3     1   "longest time between two guests (each gap is drawn from the seed)"
param staggered   tail         60      2     1   "time after the last guest"
param cow         warmup       20      1     1   "warm-up"
param cow         arrive       90      3     1   "phase arrive: GUESTS processes of mergeable memory arrive and merge"
param cow         cow          150     4     1   "phase cow: the guests rewrite merged pages at a steady rate"
param cow         guests       4       4     1   "processes of the arrival"
param cow         rate         20      20    1   "% of each guest's mergeable pages rewritten a minute (with the pattern they held)"

# params_init SMOKE: every parameter at its default (SMOKE=1: the smoke values)
params_init() {
	local k
	for k in "${PARAM_KEYS[@]}"; do
		if [ "$1" = 1 ]; then PARAM[$k]=${PARAM_SMOKE[$k]}; else PARAM[$k]=${PARAM_DEF[$k]}; fi
	done
}

# param_set KEY=VALUE: KEY is SCENARIO.KEY, or KEY for every scenario that has it
param_set() {
	local kv=$1 key val k n=0
	key=${kv%%=*}
	val=${kv#*=}
	[ "$key" != "$kv" ] || { echo "bench: --set needs KEY=VALUE, not '$kv'" >&2; return 1; }
	[[ $val =~ ^[0-9]+$ ]] && [ ${#val} -le 9 ] ||
		{ echo "bench: --set $key: '$val' is not a whole number" >&2; return 1; }
	val=$((10#$val))
	for k in "${PARAM_KEYS[@]}"; do
		[ "$k" = "$key" ] || [ "${k#*.}" = "$key" ] || continue
		[ "$val" -ge "${PARAM_MIN[$k]}" ] ||
			{ echo "bench: --set $k=$val: at least ${PARAM_MIN[$k]}" >&2; return 1; }
		PARAM[$k]=$val
		n=$((n + 1))
	done
	[ $n -gt 0 ] || { echo "bench: --set: no scenario has a parameter '$key' (bench/run --help lists them)" >&2; return 1; }
}

# params_help: the parameter table of --help
params_help() {
	local k s=""
	for k in "${PARAM_KEYS[@]}"; do
		if [ "${k%%.*}" != "$s" ]; then
			s=${k%%.*}
			printf '  %s\n' "$s"
		fi
		printf '    %-12s %6s  %s\n' "${k#*.}" "${PARAM_DEF[$k]}" "${PARAM_HELP[$k]}"
	done
}

# ---- building a plan -----------------------------------------------------------
# Filled by the plan_NAME functions; written by plan_write.
PLAN_SCEN=""
PLAN_PH=()              # "NAME START"
PLAN_EV=()              # "T SEQ launch|halt ..."
PLAN_END=0
PLAN_SEQ=0

pv() { echo "${PARAM[$PLAN_SCEN.$1]}"; }

# mergeable_pages SIZE_MIB MERGEABLE%: mergeable pages of one process, as
# workload.c lays them out (MERGEABLE of every 100 pages)
mergeable_pages() {
	local pages=$(($1 * 256)) m=$2 rem
	rem=$((pages % 100))
	[ "$rem" -gt "$m" ] && rem=$m
	echo $((pages / 100 * m + rem))
}

ph() { PLAN_PH+=("$1 $2"); }

# launch T GROUP ARRIVAL PROCS SIZE_MIB MERGEABLE% VOLATILE% TAG [WORKLOAD ARGS...]
# ARRIVAL: the mergeable arrival this group belongs to, or - for memory that
# cannot merge (no madvise: -n; bursts: -b; or MERGEABLE% 0).
launch() {
	local t=$1 g=$2 arr=$3 procs=$4 size=$5 m=$6 v=$7 tag=$8 exp=0 nomerge=0 bursts=0 a
	shift 8
	for a in "$@"; do
		case $a in -n) nomerge=1 ;; -b) bursts=1 ;; esac
	done
	[ $nomerge = 0 ] && [ $bursts = 0 ] && exp=$((procs * $(mergeable_pages "$size" "$m")))
	if [ "$arr" = - ]; then
		exp=0
	elif [ "$exp" = 0 ]; then
		die $BENCH_EXIT_USAGE "scenario $PLAN_SCEN: arrival $arr of group $g has no mergeable page"
	fi
	PLAN_SEQ=$((PLAN_SEQ + 1))
	PLAN_EV+=("$t $PLAN_SEQ launch $g $arr $procs $size $exp $nomerge -s $size -p $procs -m $m -v $v -P $PATTERNS -i $INTERVAL_MS -T $tag $*")
}

# halt T GROUP: stop a group (its processes exit)
halt() {
	PLAN_SEQ=$((PLAN_SEQ + 1))
	PLAN_EV+=("$1 $PLAN_SEQ halt $2")
}

finish() { PLAN_END=$1; }

# plan_write SCENARIO FILE: run plan_SCENARIO and write FILE
plan_write() {
	local s=$1 f=$2 i=0 p peak=0 cur=0 t kind g rest
	local -A gmem
	PLAN_SCEN=$s PLAN_PH=() PLAN_EV=() PLAN_END=0 PLAN_SEQ=0
	"plan_$s" || return 1
	[ "$PLAN_END" -gt 0 ] || die $BENCH_EXIT_USAGE "scenario $s: no end"
	{
		echo "# bench/run plan of the scenario $s: phases and events in seconds since the tuner started"
		echo "scenario $s"
		echo "seed $SEED"
		echo "size $SIZE"
		for p in "${PARAM_KEYS[@]}"; do
			[ "${p%%.*}" = "$s" ] && echo "param ${p#*.} ${PARAM[$p]}"
		done
		for p in "${PLAN_PH[@]}"; do
			echo "phase $i $p"
			i=$((i + 1))
		done
		echo "end $PLAN_END"
		# the events in time order; at equal times, in the order given
		printf '%s\n' "${PLAN_EV[@]}" | sort -s -n -k1,1 -k2,2 | while read -r t _ kind g rest; do
			echo "$kind $t $g $rest"
		done
	} >"$f.tmp" || return 1
	# the peak of workload memory, with nothing merged
	while read -r kind t g arr procs size rest; do
		case $kind in
		launch) gmem[$g]=$((procs * size)); cur=$((cur + procs * size)) ;;
		halt) cur=$((cur - ${gmem[$g]:-0})); gmem[$g]=0 ;;
		*) continue ;;
		esac
		[ $cur -gt $peak ] && peak=$cur
	done <"$f.tmp"
	echo "peak_mib $peak" >>"$f.tmp"
	mv "$f.tmp" "$f"
}

# ---- the scenarios --------------------------------------------------------------------
# Today's phases: an arrival, a steady phase, volatile memory that never
# merges, then half of the guests replaced by new mergeable memory.
plan_arrivals() {
	local w a s c r n h t
	w=$(pv warmup) a=$(pv arrive) s=$(pv steady) c=$(pv churn) r=$(pv replace) n=$(pv guests)
	[ $((n % 2)) = 0 ] || die $BENCH_EXIT_USAGE "arrivals.guests must be even, not $n"
	h=$((n / 2))
	ph warm-up 0
	ph arrive "$w"
	launch "$w" a1 arrive $h "$SIZE" 60 10 1
	launch "$w" a2 arrive $h "$SIZE" 60 10 1
	t=$((w + a))
	if [ "$s" -gt 0 ]; then ph steady $t; t=$((t + s)); fi
	if [ "$c" -gt 0 ]; then
		ph churn $t
		launch $t churn - "$(pv churn_procs)" "$SIZE" 0 80 3
		t=$((t + c))
	fi
	ph replace $t
	halt $t a2
	launch $t b replace $h "$SIZE" 60 10 2
	finish $((t + r))
}

# Guests arrive and merge; then a build-like neighbour allocates and frees
# unmergeable memory in bursts; late in the noise, new mergeable memory
# arrives: does the tuner still respond?
plan_neighbour() {
	local w a no l t
	w=$(pv warmup) a=$(pv arrive) no=$(pv noise) l=$(pv late)
	[ "$(pv jitter)" -le 100 ] || die $BENCH_EXIT_USAGE "neighbour.jitter is a percentage (0-100)"
	ph warm-up 0
	ph arrive "$w"
	launch "$w" guests arrive "$(pv guests)" "$SIZE" 60 10 1
	t=$((w + a))
	ph noise $t
	launch $t neighbour - 1 "$(pv burst)" 0 0 5 -n -b "$(pv period_ms)" -H "$(pv hold_ms)" -j "$(pv jitter)" -S "$SEED"
	t=$((t + no))
	ph late $t
	launch $t late late "$(pv late_guests)" "$SIZE" 60 10 2
	finish $((t + l))
}

# MADV_MERGEABLE memory that cannot merge (unique and volatile pages), then
# a mergeable arrival beside it.
plan_unmergeable() {
	local w u a t
	w=$(pv warmup) u=$(pv unmergeable) a=$(pv arrive)
	[ "$(pv volatile)" -le 100 ] || die $BENCH_EXIT_USAGE "unmergeable.volatile is a percentage (0-100)"
	ph warm-up 0
	ph unmergeable "$w"
	launch "$w" junk - "$(pv junk_procs)" "$SIZE" 0 "$(pv volatile)" 3
	t=$((w + u))
	ph arrive $t
	launch $t guests arrive "$(pv guests)" "$SIZE" 60 10 1
	finish $((t + a))
}

# One guest every GAP_MIN to GAP_MAX seconds, the gaps drawn from the seed
# (a 64-bit LCG, so that the same seed gives the same gaps on any machine).
plan_staggered() {
	local w n lo hi x i t
	w=$(pv warmup) n=$(pv guests) lo=$(pv gap_min) hi=$(pv gap_max)
	[ "$hi" -ge "$lo" ] || die $BENCH_EXIT_USAGE "staggered.gap_max ($hi) is below staggered.gap_min ($lo)"
	ph warm-up 0
	x=$((SEED ^ 0x5DEECE66D))
	t=$w
	for ((i = 1; i <= n; i++)); do
		ph "g$i" $t
		launch $t "g$i" "g$i" 1 "$SIZE" 60 10 1
		x=$((x * 6364136223846793005 + 1442695040888963407))
		[ $i -lt "$n" ] && t=$((t + lo + ((x >> 33) & 0x7fffffff) % (hi - lo + 1)))
	done
	finish $((t + $(pv tail)))
}

# Guests arrive and merge; then each rewrites RATE% of its mergeable pages
# a minute. A rewritten page gets the pattern it held: the write breaks the
# merge (COW) and the page can merge again at KSM's next visit. So the
# churn is a trade-off for the tuner (re-merging wins memory back and costs
# scanning), and the mergeable memory stays the same, so the savings of two
# tuners compare. Pages that got fresh data instead would only be
# unmergeable memory, which the unmergeable scenario covers.
plan_cow() {
	local w a c n rate
	w=$(pv warmup) a=$(pv arrive) c=$(pv cow) n=$(pv guests)
	# pages a second per process, at least 1
	rate=$(($(mergeable_pages "$SIZE" 60) * $(pv rate) / 6000))
	[ $rate -ge 1 ] || rate=1
	ph warm-up 0
	ph arrive "$w"
	launch "$w" guests arrive "$n" "$SIZE" 60 10 1 -c $rate -d "$a" -S "$SEED"
	ph cow $((w + a))
	finish $((w + a + c))
}
