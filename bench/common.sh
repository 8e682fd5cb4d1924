# common.sh - sourced by bench/run and bench/tickcost, after tests/lib.sh.
#
# The kernel lock (re-entrant for a caller that already holds it) and the
# packages the benchmark needs. Finding other tuners (ksmtuned_pids,
# ksmpilotd_pids) is in tests/lib.sh, which the tests share.

die() { # die RC MESSAGE: exit with RC (the traps clean up)
	local rc=$1
	shift
	echo "bench: error: $*" >&2
	exit "$rc"
}
say() { echo "bench: $*"; }

# Exit codes of bench/run and bench/tickcost.
# shellcheck disable=SC2034 # used by the scripts that source this
BENCH_EXIT_FAIL=1       # the benchmark failed (a tuner or workload died, ...)
# shellcheck disable=SC2034 # used by the scripts that source this
BENCH_EXIT_USAGE=2      # bad command line
BENCH_EXIT_MISSING=3    # a package is missing and cannot be installed
BENCH_EXIT_MACHINE=4    # the machine does not fit (no KSM, too little memory, not root, another tuner runs)

# take_kernel_lock: hold flock $KERNEL_LOCK on fd 9 for the rest of the run.
# A caller that already holds it (tests/bench-smoke.sh, through
# require_real_ksm) passes its fd 9 down: flock on that same open file
# description succeeds at once, where opening the file again would wait for
# ourselves. Children are started with 9>&- so that none keeps the lock.
take_kernel_lock() {
	local have want
	have=$(readlink "/proc/$$/fd/9" 2>/dev/null || true)
	want=$(readlink -f "$KERNEL_LOCK" 2>/dev/null || echo "$KERNEL_LOCK")
	if [ -n "$have" ] && [ "$have" = "$want" ] && flock -n 9; then
		say "holding the kernel lock $KERNEL_LOCK taken by the caller"
		return 0
	fi
	mkdir -p "$(dirname "$KERNEL_LOCK")"
	exec 9>"$KERNEL_LOCK"
	if ! flock -n 9; then
		say "waiting for the kernel lock $KERNEL_LOCK (a test or another benchmark holds it)"
		flock -w 3600 9 || die $BENCH_EXIT_MACHINE "kernel lock $KERNEL_LOCK busy for an hour"
	fi
}

# install_packages PKG...: apt-get install what is missing (root only).
install_packages() {
	[ $# -gt 0 ] || return 0
	command -v apt-get >/dev/null 2>&1 || die $BENCH_EXIT_MISSING "missing $*, and no apt-get to install it"
	[ "$(id -u)" = 0 ] || die $BENCH_EXIT_MISSING "missing $*: run as root, or: sudo apt-get install $*"
	say "installing $* with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" </dev/null >"${BENCH_APT_LOG:-/dev/null}" 2>&1 ||
		{ apt-get update </dev/null >>"${BENCH_APT_LOG:-/dev/null}" 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" </dev/null \
			>>"${BENCH_APT_LOG:-/dev/null}" 2>&1; } ||
		die $BENCH_EXIT_MISSING "apt-get install $* failed${BENCH_APT_LOG:+ (see $BENCH_APT_LOG)}"
}

# install_ksmtuned: install Debian's ksmtuned if it is missing, and make sure
# that the install started nothing: the package enables ksm.service (which
# runs "ksmctl start", run=1) and ksmtuned.service. Call it only after
# checking that no ksmtuned ran before, so that any found now is ours.
install_ksmtuned() {
	local p
	[ -x /usr/sbin/ksmtuned ] && return 0
	install_packages ksmtuned
	if [ -d /run/systemd/system ]; then
		systemctl stop ksmtuned.service ksm.service >/dev/null 2>&1 || true
		systemctl disable ksmtuned.service ksm.service >/dev/null 2>&1 || true
		say "ksmtuned was installed for the benchmark: its services were stopped and disabled"
		say "(enable them again with: systemctl enable --now ksm.service ksmtuned.service)"
	fi
	for p in $(ksmtuned_pids); do
		say "stopping ksmtuned pid $p started by the package install"
		stop_pid "$p"
	done
}

# untrack PID: forget a pid stopped in the normal course, so that the exit
# trap never signals a reused pid
untrack() {
	local p n=""
	for p in $CLEANUP_PIDS; do [ "$p" = "$1" ] || n="$n $p"; done
	CLEANUP_PIDS=$n
}
