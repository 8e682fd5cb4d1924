# lib.sh - sourced by the shell tests and the benchmark.
#
# Real-kernel tests call require_real_ksm first. It skips unless
# KSMPILOT_REAL_KSM=1 (make check may run on a production node, where
# unmerging guests would hurt), takes the kernel lock shared by every test
# and the benchmark, saves the KSM knobs and installs a cleanup trap that
# stops what the test started, gives hugepages back, unmerges only if ksmd
# was stopped and nothing was merged before, and restores every knob it
# changed (advisor_mode last), on success, on failure and on a signal. It
# skips where other processes have memory marked mergeable.

B=${KSMPILOT_BUILD:-build}
KSMPILOTD="$B/ksmpilotd"
WORKLOAD="$B/tests/workload"
# With KSMPILOT_VALGRIND=1 the runner sets KSMPILOT_WRAP to a valgrind line.
WRAP=${KSMPILOT_WRAP:-}
KSM=/sys/kernel/mm/ksm
KERNEL_LOCK=/run/lock/ksmpilot-kernel.lock
KNOBS="run pages_to_scan sleep_millisecs advisor_mode merge_across_nodes use_zero_pages max_page_sharing smart_scan"

CLEANUP_PIDS=""
CLEANUP_CMDS=""
TMPD=""

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
note() { echo "# $*"; }

# make_tmp: a private temporary directory, removed at exit
make_tmp() {
	TMPD=$(mktemp -d "${TMPDIR:-/tmp}/ksmpilot-test.XXXXXX") || fail "mktemp"
}

# on_cleanup CMD: run CMD at exit (after the processes are stopped)
on_cleanup() { CLEANUP_CMDS="$CLEANUP_CMDS
$1"; }

# shipped_value KEY: KEY's value in conf/ksmpilot.conf as ksmpilotd reads it
# (--dump-config: defaults included); empty when it cannot be read
shipped_value() {
	"$KSMPILOTD" -c conf/ksmpilot.conf --dump-config 2>/dev/null | awk -F' = ' -v k="$1" '$1 == k { print $2; exit }'
}

# track PID: stop PID (TERM, then KILL) at exit
track() { CLEANUP_PIDS="$CLEANUP_PIDS $1"; }
# untrack PID: PID was waited for; its number may be reused, leave it alone
untrack() {
	local p l=""
	for p in $CLEANUP_PIDS; do [ "$p" = "$1" ] || l="$l $p"; done
	CLEANUP_PIDS=$l
}

# start_daemon STDERR ARGS...: ksmpilotd ARGS in the background (under
# $WRAP), its stderr to STDERR; D is its pid, stopped at exit
start_daemon() {
	local err=$1
	shift
	$WRAP $KSMPILOTD "$@" 2> "$err" &
	D=$!
	track $D
}

# term_daemon LOG: SIGTERM to the daemon D, which must exit 0 (else the
# tail of LOG and a failure); D is not signalled again at exit
term_daemon() {
	local rc
	kill -TERM $D
	wait $D
	rc=$?
	untrack $D
	[ $rc = 0 ] || { tail -n 20 "$1"; fail "daemon exited $rc on SIGTERM"; }
}

# stop_pid PID: SIGTERM, SIGKILL after 10 s; PID is then no longer tracked
# (its number may be reused)
stop_pid() {
	local p=$1
	untrack "$p"
	kill -TERM "$p" 2>/dev/null || return 0
	for _ in $(seq 1 100); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

ksm_read() { cat "$KSM/$1" 2>/dev/null; }
# advisor_mode reads "[none] scan-time": print the selected word
# tracked_pages: the pages KSM tracks (stable, sharing, unstable, volatile)
tracked_pages() {
	echo $(( $(ksm_read pages_shared) + $(ksm_read pages_sharing) + $(ksm_read pages_unshared) + $(ksm_read pages_volatile) ))
}

ksm_mode() { sed -n 's/.*\[\(.*\)\].*/\1/p' "$KSM/advisor_mode" 2>/dev/null; }

ksm_save() {
	local k
	SAVED_SHARED=$(ksm_read pages_shared)
	SAVED_ZERO=$(ksm_read ksm_zero_pages) # pages merged with the zero page (6.6+)
	for k in $KNOBS; do
		[ -e "$KSM/$k" ] || continue
		if [ "$k" = advisor_mode ]; then
			eval "SAVED_$k=\$(ksm_mode)"
		else
			eval "SAVED_$k=\$(ksm_read $k)"
		fi
	done
}

ksm_restore() {
	local k v
	# The advisor is touched only if the test changed it: writing it
	# resets what it learned. pages_to_scan cannot be written while it is
	# on, and is its own while it stays on.
	if [ -e "$KSM/advisor_mode" ] && [ -n "${SAVED_advisor_mode:-}" ] && [ "$(ksm_mode)" != "$SAVED_advisor_mode" ]; then
		echo none > "$KSM/advisor_mode" 2>/dev/null
	fi
	# Unmerge (run=2) only where ksmd was stopped and nothing at all was
	# merged before the test (pages_shared and ksm_zero_pages 0), and
	# something is merged now: the test's own pages, or pages that only
	# the test's ksmd can have merged. Never where ksmd ran before: its
	# merges since are the host's, and it prunes what the test left.
	if [ "${SAVED_run:-1}" = 0 ] && [ "${SAVED_SHARED:-1}" = 0 ] && [ "${SAVED_ZERO:-0}" = 0 ] &&
		{ [ "$(ksm_read pages_shared)" != 0 ] || [ "$(ksm_read ksm_zero_pages)" != "${SAVED_ZERO:-}" ]; }; then
		echo 2 > "$KSM/run"
		for _ in $(seq 1 600); do
			[ "$(ksm_read pages_shared)" = 0 ] && break
			sleep 0.2
		done
	fi
	for k in pages_to_scan sleep_millisecs merge_across_nodes use_zero_pages max_page_sharing smart_scan run; do
		[ -e "$KSM/$k" ] || continue
		[ "$k" = pages_to_scan ] && [ -e "$KSM/advisor_mode" ] && [ "$(ksm_mode)" = scan-time ] && continue
		eval "v=\${SAVED_$k:-}"
		[ -n "$v" ] || continue
		[ "$(ksm_read $k)" = "$v" ] || echo "$v" > "$KSM/$k" 2>/dev/null || echo "# cannot restore $k=$v"
	done
	if [ -e "$KSM/advisor_mode" ] && [ -n "${SAVED_advisor_mode:-}" ] && [ "$(ksm_mode)" != "$SAVED_advisor_mode" ]; then
		echo "$SAVED_advisor_mode" > "$KSM/advisor_mode"
	fi
}

cleanup() {
	local rc=$? p
	# a second Ctrl-C must not cut the restore short: exit in a trap
	# ends the shell without running the rest
	trap '' INT TERM HUP
	for p in $CLEANUP_PIDS; do stop_pid "$p"; done
	[ -n "$CLEANUP_CMDS" ] && eval "$CLEANUP_CMDS"
	# memory back first: an unmerge needs a page for every merged one
	[ -n "$HUGE_SAVED" ] && echo "$HUGE_SAVED" > /proc/sys/vm/nr_hugepages
	[ "${KSM_SAVED:-0}" = 1 ] && ksm_restore
	[ -n "$TMPD" ] && rm -rf "$TMPD"
	exit $rc
}
HUGE_SAVED=""
trap cleanup EXIT
trap 'exit 130' INT TERM

# ksmtuned_pids: pids of every running ksmtuned (the Debian script runs as
# "/bin/bash /usr/sbin/ksmtuned"; bench/run's fallback copy as
# ".../ksmtuned-script").
ksmtuned_pids() {
	pgrep -f '^(/usr)?(/bin/)?(ba)?sh (/usr/sbin/ksmtuned|[^ ]*/ksmtuned-script)( |$)|^/usr/sbin/ksmtuned( |$)' || true
}

# ksmpilotd_pids: "PID: COMMAND LINE" of every running ksmpilotd that may
# write the real KSM knobs. Left out: those pointed at another tree
# (--sysfs-dir, as the tests on fake trees do); --dry-run, --once without
# --apply, --check-config, --dump-config, --help and --version runs; and
# daemons whose configuration says dry_run = yes (read through /proc/PID/root
# and /proc/PID/cwd, so also inside a container).
ksmpilotd_pids() {
	local p args a sysfs conf next real
	for p in $(pgrep -x ksmpilotd); do
		args=$(tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null) || continue
		real=1 sysfs="" conf=/etc/ksmpilot.conf next=""
		while read -r a; do
			if [ -n "$next" ]; then
				printf -v "$next" '%s' "$a"
				next=""
				continue
			fi
			case $a in
			--dry-run|-t|--check-config|--dump-config|-h|--help|-V|--version) real=0 ;;
			--once) [[ $args == *--apply* ]] || real=0 ;;
			--sysfs-dir=*) sysfs=${a#*=} ;;
			--sysfs-dir) next=sysfs ;;
			--config=*) conf=${a#*=} ;;
			-c|--config) next=conf ;;
			-c*) conf=${a#-c} ;;
			esac
		done <<<"$args"
		if [ -n "$sysfs" ]; then
			[[ $sysfs == /* ]] && sysfs=/proc/$p/root$sysfs || sysfs=/proc/$p/cwd/$sysfs
			[ "$(readlink -f "$sysfs")" = "$(readlink -f "$KSM")" ] || real=0
		fi
		[[ $conf == /* ]] && conf=/proc/$p/root$conf || conf=/proc/$p/cwd/$conf
		if [ $real = 1 ] && [ -x "$KSMPILOTD" ] &&
			"$KSMPILOTD" -c "$conf" --dump-config 2>/dev/null | grep -qx 'dry_run = yes'; then
			real=0
		fi
		[ $real = 1 ] && echo "$p: $(echo "$args" | tr '\n' ' ' | tr -cd '[:print:]' | cut -c1-200)"
	done
	return 0
}

# other_tuner: what else tunes KSM, as "ksmtuned is running (...): stop it
# first (...)", or nothing
other_tuner() {
	local p
	p=$(ksmtuned_pids | paste -sd' ')
	[ -z "$p" ] || { echo "ksmtuned is running (pid $p): stop it first (systemctl stop ksmtuned)"; return 0; }
	p=$(ksmpilotd_pids | head -n 3 | tr '\n' ';')
	[ -z "$p" ] || echo "ksmpilotd is running on $KSM (pid $p): stop it first (systemctl stop ksmpilot)"
	return 0
}

require_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }

require_real_ksm() {
	[ "${KSMPILOT_REAL_KSM:-0}" = 1 ] ||
		skip "real-kernel test; set KSMPILOT_REAL_KSM=1 to run it (it merges and unmerges pages)"
	require_root
	[ -e "$KSM/run" ] || skip "$KSM/run is missing: kernel without CONFIG_KSM"
	[ -w "$KSM/run" ] || skip "$KSM is read-only here (a container?)"
	mkdir -p "$(dirname "$KERNEL_LOCK")"
	exec 9>"$KERNEL_LOCK"
	note "waiting for the kernel lock $KERNEL_LOCK"
	flock -w 3600 9 || skip "kernel lock $KERNEL_LOCK busy for an hour"
	# another tuner would move the knobs the test checks; this tree's own
	# daemon is one an earlier test left behind
	local other p
	other=$(other_tuner)
	if [ -n "$other" ]; then
		for p in $(pgrep -x ksmpilotd); do
			[ "$(readlink "/proc/$p/exe")" = "$(readlink -f "$KSMPILOTD")" ] &&
				fail "ksmpilotd $p of this tree ($KSMPILOTD) still runs on $KSM: left by an earlier test?"
		done
		skip "$other"
	fi
	# memory others marked mergeable (a node's guests): this test's ksmd
	# would merge it, and its cleanup unmerge it
	other=$(foreign_mergeable)
	[ -z "$other" ] ||
		skip "processes have memory marked mergeable (pid $other): this test's ksmd would merge it and its cleanup unmerge it; run it where nothing else uses KSM"
	ksm_save
	KSM_SAVED=1
}

# foreign_mergeable: the pids (the first five) of processes with memory
# marked mergeable (VmFlags "mg" in smaps: madvise(MADV_MERGEABLE),
# prctl(PR_SET_MEMORY_MERGE), systemd's MemoryKSM=), this shell aside
foreign_mergeable() {
	local f p n=0 out=""
	for f in /proc/[0-9]*/smaps; do
		p=${f#/proc/}
		p=${p%/smaps}
		[ "$p" = "$$" ] && continue
		grep -qs '^VmFlags:.* mg' "$f" || continue
		out="$out${out:+ }$p"
		n=$((n + 1))
		[ $n -lt 5 ] || break
	done
	echo "$out"
}

shown() { # shown PATH: PATH as a configuration message names it, per
	# ksmpilot.conf(5): whole up to 128 bytes, else its last 125 behind
	# "..." (exact for printable ASCII, as a test's paths are under such a
	# TMPDIR)
	local LC_ALL=C p=$1
	if [ ${#p} -le 128 ]; then
		printf '%s\n' "$p"
	else
		printf '...%s\n' "${p:$((${#p} - 125))}"
	fi
}

json_ok() { # json_ok FILE: valid JSON (with jq or python3 when either is there)
	if command -v jq >/dev/null 2>&1; then jq -e . "$1" >/dev/null
	elif command -v python3 >/dev/null 2>&1; then python3 -m json.tool "$1" >/dev/null
	else head -c1 "$1" | grep -q '{'
	fi
}

# meminfo_mib KEY: a /proc/meminfo figure in MiB (MemTotal, MemAvailable)
meminfo_mib() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' /proc/meminfo; }

# hugepage_kib: the default hugepage size in KiB (nr_hugepages counts
# these: 2048 on x86-64, 1 GiB where the host boots with
# default_hugepagesz=1G), or nothing
hugepage_kib() { awk '$1 == "Hugepagesize:" { print $2 }' /proc/meminfo; }

# reserve_hugepages LEAVE_MIB: take memory out of MemAvailable until about
# LEAVE_MIB is left (real pressure); restored at exit.
reserve_hugepages() {
	local leave=$1 avail cur want got hp
	[ -w /proc/sys/vm/nr_hugepages ] || skip "cannot reserve hugepages here"
	hp=$(hugepage_kib)
	[ "${hp:-0}" -gt 0 ] || skip "no Hugepagesize in /proc/meminfo"
	cur=$(cat /proc/sys/vm/nr_hugepages)
	HUGE_SAVED=$cur
	avail=$(meminfo_mib MemAvailable)
	[ "$avail" -gt $((leave + 1024)) ] || { note "only $avail MiB available: no hugepages reserved"; return 0; }
	# in hugepages of this machine's size, rounded down: never more
	want=$((cur + (avail - leave) * 1024 / hp))
	echo "$want" > /proc/sys/vm/nr_hugepages
	got=$(awk '/HugePages_Total/{print $2}' /proc/meminfo)
	note "reserved $((got - cur)) hugepages; MemAvailable now $(meminfo_mib MemAvailable) MiB"
}

# reserve_pressure: real pressure for a real-kernel test: about 15% of
# MemTotal left available (within 1.5-3 GiB), below the 20% setpoint. Skips
# where MemAvailable does not end below the setpoint (hugepages
# refused, or memory that something else frees meanwhile).
reserve_pressure() {
	local total leave avail
	total=$(meminfo_mib MemTotal)
	leave=$((total * 15 / 100))
	[ $leave -gt 3072 ] && leave=3072
	[ $leave -lt 1536 ] && leave=1536
	reserve_hugepages $leave
	avail=$(meminfo_mib MemAvailable)
	[ "$avail" -lt $((total * 20 / 100 - 64)) ] ||
		skip "could not make memory pressure: MemAvailable $avail MiB after the reservation, not 64 MiB below 20% of MemTotal ($((total * 20 / 100)) MiB)"
}

# require_unmerged WHY: skip where something else merged pages already
require_unmerged() {
	[ "$(ksm_read pages_shared)" = 0 ] || skip "pages are merged already (pages_shared=$(ksm_read pages_shared)): $1"
	[ "$(ksm_read ksm_zero_pages)" = "" ] || [ "$(ksm_read ksm_zero_pages)" = 0 ] ||
		skip "pages are merged already (ksm_zero_pages=$(ksm_read ksm_zero_pages)): $1"
}

# skip_if_pressure_lost STATE: where the daemon's state file (STATE) says
# that memory is no longer short and /proc/meminfo agrees (MemAvailable at
# or above the shipped 20% setpoint), skip: something else freed memory, and
# a test that waits for the daemon to settle under pressure cannot go on.
# Where the daemon says so with memory still short, the caller fails.
skip_if_pressure_lost() {
	local total avail
	grep -q '^reason=\(no-pressure\|pressure-fading\)$' "$1" 2>/dev/null || return 0
	total=$(meminfo_mib MemTotal)
	avail=$(meminfo_mib MemAvailable)
	[ "$avail" -ge $((total * 20 / 100)) ] || return 0
	skip "memory pressure lost meanwhile (MemAvailable $avail MiB, above 20% of MemTotal; the daemon: $(grep '^reason=' "$1")): something else freed memory"
}

# merged_pages PID...: sum of ksm_merging_pages of the given processes
merged_pages() {
	local p s=0 v
	for p in "$@"; do
		v=$(cat /proc/$p/ksm_merging_pages 2>/dev/null || echo 0)
		s=$((s + v))
	done
	echo $s
}

# merged_at_least N PID...: the given processes have N pages merged or more
merged_at_least() {
	local n=$1
	shift
	[ "$(merged_pages "$@")" -ge "$n" ]
}

# start_workload PIDFILE ARGS...: start the generator, wait until ready
start_workload() {
	local pf=$1
	shift
	rm -f "$pf"
	"$WORKLOAD" -f "$pf" "$@" >/dev/null &
	track $!
	WORKLOAD_PID=$!
	for _ in $(seq 1 300); do
		[ -s "$pf" ] && return 0
		kill -0 $WORKLOAD_PID 2>/dev/null || fail "workload exited early"
		sleep 0.1
	done
	fail "workload not ready after 30 s"
}

# wait_for SECONDS CMD...: poll CMD every second until it succeeds
wait_for() {
	local t=$1
	shift
	for _ in $(seq 1 "$t"); do
		"$@" && return 0
		sleep 1
	done
	return 1
}

# make_fake_ksm DIR: a fake /sys/kernel/mm/ksm with the files of 6.8+ at
# their kernel defaults; "old" as a second argument makes a 6.1-like tree.
make_fake_ksm() {
	local d=$1 k
	mkdir -p "$d"
	for k in run:0 pages_to_scan:100 sleep_millisecs:20 merge_across_nodes:1 use_zero_pages:0 \
		max_page_sharing:256 stable_node_chains_prune_millisecs:2000 pages_shared:0 pages_sharing:0 \
		pages_unshared:0 pages_volatile:0 full_scans:0 stable_node_chains:0 stable_node_dups:0; do
		echo "${k#*:}" > "$d/${k%%:*}"
	done
	[ "${2:-}" = old ] && return 0
	for k in general_profit:0 pages_scanned:0 ksm_zero_pages:0 smart_scan:1 pages_skipped:0 \
		advisor_target_scan_time:200 advisor_max_cpu:70 advisor_min_pages_to_scan:500 \
		advisor_max_pages_to_scan:30000; do
		echo "${k#*:}" > "$d/${k%%:*}"
	done
	echo "[none] scan-time" > "$d/advisor_mode"
}

# fake_conf FILE STATE_DIR [EXTRA_LINES]: a config for a daemon on a fake tree
fake_conf() {
	printf '[daemon]\ninterval = 200ms\nstate_dir = %s\nlog_level = debug\n%s\n' "$2" "${3:-}" > "$1"
}

# wait_log FILE PATTERN [SECONDS]: wait until FILE has a line matching PATTERN
wait_log() {
	local f=$1 pat=$2 t=${3:-30}
	for _ in $(seq 1 $((t * 10))); do
		grep -qE -- "$pat" "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "--- $f:"; tail -n 30 "$f"
	fail "timed out waiting for '$pat' in $f"
}

# wait_file FILE VALUE [SECONDS]: wait until FILE holds VALUE
wait_file() {
	local f=$1 v=$2 t=${3:-30}
	for _ in $(seq 1 $((t * 10))); do
		[ "$(cat "$f" 2>/dev/null)" = "$v" ] && return 0
		sleep 0.1
	done
	fail "timed out waiting for $f to hold '$v' (it holds '$(cat "$f" 2>/dev/null)')"
}

# need_journald: a journald to log to. Starts a standalone one only when
# none runs (never a second: it would steal the sockets) and stops that
# same one at exit; skips when there is none to start. Needs root.
need_journald() {
	local jd=/lib/systemd/systemd-journald token
	command -v journalctl >/dev/null || skip "journalctl not installed"
	# a socket without a journald behind it is left from an earlier stop
	JOURNALD_PID=$(pgrep -x -o systemd-journal)
	if [ -z "$JOURNALD_PID" ]; then
		[ -x $jd ] || skip "no journald running and none to start"
		touch "$TMPD/before-journald"
		$jd > "$TMPD/journald.log" 2>&1 &
		JPID=$!
		JOURNALD_PID=$JPID
		track $JPID
		# a socket left by an earlier journald exists already: wait for
		# the one this journald binds (it makes it anew)
		for _ in $(seq 1 50); do
			[ -S /run/systemd/journal/socket ] && [ /run/systemd/journal/socket -nt "$TMPD/before-journald" ] && break
			sleep 0.1
		done
		sleep 0.5
		kill -0 $JPID 2>/dev/null || skip "standalone journald did not start: $(cat "$TMPD/journald.log")"
		note "started journald (pid $JPID)"
	fi
	# it takes records: one through the native socket, read back
	token="probe-$$-$RANDOM"
	printf 'MESSAGE=%s\nSYSLOG_IDENTIFIER=ksmpilot-test-probe\n' "$token" | logger --journald 2>/dev/null
	for _ in $(seq 1 20); do
		journalctl --no-pager -q -t ksmpilot-test-probe 2>/dev/null | grep -q "$token" && return 0
		sleep 0.1
	done
	skip "journald (pid $JOURNALD_PID) takes no records: its socket is gone or taken by another journald"
}

# journald_kept: skip when the journald found or started by need_journald
# went away during the test (another test on the machine stopped its own):
# what was logged meanwhile is not in the journal.
journald_kept() {
	kill -0 "$JOURNALD_PID" 2>/dev/null ||
		skip "journald (pid $JOURNALD_PID) was stopped by someone else during the test"
}
