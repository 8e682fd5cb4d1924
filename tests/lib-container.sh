# lib-container.sh - sourced after tests/lib.sh by the tests that boot the
# host's own systemd in a systemd-nspawn container (nspawn.sh, package.sh).
# Not a test itself.
#
# ct_require                  skip unless systemd, nsenter and systemd-nspawn
#                             are there (installs systemd-container if it can)
# ct_boot MODE [ARG]...       boot the container $NAME in the background and
#                             wait until its boot is done (running or
#                             degraded), or skip where it does not boot here.
#                             ARGs go to systemd-nspawn before -b (binds);
#                             CT_KERNEL_ARGS after it (masks, systemd.unit=).
#                             Sets NSPAWN (its pid) and LEADER (the
#                             container's init, for nsenter). MODE:
#   volatile  -D / --volatile=yes: the host's /usr read-only, an empty /etc
#             and /var in a tmpfs.
#   overlay   the host's whole root under an overlay whose upper layer is a
#             tmpfs, mounted in a mount namespace of its own: /usr, /etc and
#             the dpkg database are writable inside, so apt-get and dpkg
#             work, and every change is gone with the namespace when the
#             container stops, even if this test is killed. (nspawn refuses
#             --volatile=overlay for the directory /.)
# in_ct CMD...                run CMD in the container, in a clean environment
# ct_stop                     shut it down (done at exit too) and remove the
#                             cgroups nspawn left behind
# mark_knobs, knobs           set recognisable knobs on the host (run=0,
#                             pages_to_scan=123, sleep_millisecs=234, the
#                             advisor off); print them all on one line
# prop, cursor, journal_after, wait_journal, wait_prop, wait_knob, ct_fail
#                             ksmpilot.service inside, seen from the host

NAME=${NAME:-ksmpilot-test-$$}
NSPAWN="" LEADER=""
CT_KERNEL_ARGS=${CT_KERNEL_ARGS:-}
# never wanted in a test container
CT_MASKS="systemd-firstboot.service systemd-timesyncd.service postgresql.service apt-daily.service
	apt-daily-upgrade.service"

ct_require() {
	local f sysd=""
	for f in /usr/lib/systemd/systemd /lib/systemd/systemd; do [ -x "$f" ] && sysd=$f && break; done
	[ -n "$sysd" ] || skip "systemd is not installed: nothing to boot"
	command -v nsenter >/dev/null || skip "nsenter (util-linux) is missing"
	command -v unshare >/dev/null || skip "unshare (util-linux) is missing"
	command -v systemd-nspawn >/dev/null && return 0
	command -v apt-get >/dev/null || skip "systemd-nspawn is missing (package systemd-container) and there is no apt-get"
	note "installing systemd-container (systemd-nspawn)"
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd-container ||
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd-container; }
	} > "$TMPD/apt.log" 2>&1
	command -v systemd-nspawn >/dev/null ||
		{ tail -n 5 "$TMPD/apt.log"; skip "systemd-nspawn is missing and apt-get install systemd-container failed"; }
}

# nspawn --keep-unit creates payload/ and supervisor/ cgroups below ours and
# leaves them (empty) behind: remove those that were not there before.
CT_CG_DIRS=""
ct_cg_own() { # "mountpoint/own-path" of the unified and name=systemd hierarchies
	local mp p
	mp=$(findmnt -n -t cgroup2 -o TARGET | head -n1)
	p=$(sed -n 's/^0:://p' /proc/self/cgroup)
	[ -n "$mp" ] && [ -n "$p" ] && echo "$mp${p%/}"
	mp=$(findmnt -n -t cgroup -o TARGET,OPTIONS | awk '/name=systemd/{print $1; exit}')
	p=$(sed -n 's/^[0-9]*:name=systemd://p' /proc/self/cgroup)
	[ -n "$mp" ] && [ -n "$p" ] && echo "$mp${p%/}"
}

ct_stop() {
	local d
	[ -n "$NSPAWN" ] || return 0
	if kill -0 "$NSPAWN" 2>/dev/null; then
		# SIGTERM: nspawn asks the container's systemd to shut down
		kill -TERM "$NSPAWN" 2>/dev/null
		for _ in $(seq 1 300); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$NSPAWN" 2>/dev/null; then
			echo "# the container did not shut down in 30 s: killing it"
			# killing PID 1 of the container kills its whole PID namespace
			[ -n "$LEADER" ] && kill -KILL "$LEADER" 2>/dev/null
			for _ in $(seq 1 50); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$NSPAWN" 2>/dev/null
		fi
	fi
	wait "$NSPAWN" 2>/dev/null
	NSPAWN=""
	for d in $CT_CG_DIRS; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
	rmdir "/run/systemd/nspawn/propagate/$NAME" 2>/dev/null
	return 0
}

in_ct() {
	timeout -k 5 120 nsenter -t "$LEADER" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		SYSTEMD_PAGER= SYSTEMD_COLORS=0 DEBIAN_FRONTEND=noninteractive "$@"
}

ct_boot_failed() {
	echo "--- console:"; tail -n 20 "$TMPD/console.log"
	skip "the container does not boot here: $*"
}

ct_boot() {
	local mode=$1 d s m state deadline kargs=""
	shift
	for d in $(ct_cg_own); do
		for s in payload supervisor; do [ -d "$d/$s" ] || CT_CG_DIRS="$CT_CG_DIRS $d/$s"; done
	done
	on_cleanup ct_stop
	for m in $CT_MASKS; do kargs="$kargs systemd.mask=$m"; done
	# shellcheck disable=SC2086 # word splitting of the kernel arguments is wanted
	case $mode in
	volatile)
		systemd-nspawn -D / --volatile=yes --register=no --keep-unit --private-network -M "$NAME" \
			"$@" --console=passive -b $kargs $CT_KERNEL_ARGS < /dev/null > "$TMPD/console.log" 2>&1 &
		;;
	overlay)
		mkdir -p "$TMPD/ct-upper" "$TMPD/ct-root"
		unshare -m --propagation private sh -c '
			mount -t tmpfs -o mode=0755,size=4g ksmpilot-test "$1" && mkdir "$1/upper" "$1/work" &&
			mount -t overlay ksmpilot-test -o "lowerdir=/,upperdir=$1/upper,workdir=$1/work" "$2" || exit 1
			shift 2
			exec systemd-nspawn -D "$@"' sh "$TMPD/ct-upper" "$TMPD/ct-root" \
			"$TMPD/ct-root" --register=no --keep-unit --private-network -M "$NAME" \
			"$@" --console=passive -b $kargs $CT_KERNEL_ARGS < /dev/null > "$TMPD/console.log" 2>&1 &
		;;
	*) fail "ct_boot: unknown mode $mode" ;;
	esac
	NSPAWN=$!
	# the leader is nspawn's child that is PID 1 in its own PID namespace
	for _ in $(seq 1 300); do
		kill -0 "$NSPAWN" 2>/dev/null || ct_boot_failed "systemd-nspawn exited"
		for d in $(pgrep -P "$NSPAWN"); do
			grep -qP '^NSpid:\t[0-9]+\t1$' "/proc/$d/status" 2>/dev/null && LEADER=$d && break
		done
		[ -n "$LEADER" ] && break
		sleep 0.1
	done
	[ -n "$LEADER" ] || ct_boot_failed "no container init after 30 s"
	state=""
	deadline=$(($(date +%s) + 90))
	while [ "$(date +%s)" -lt $deadline ]; do
		kill -0 "$NSPAWN" 2>/dev/null || ct_boot_failed "systemd-nspawn exited during the boot"
		state=$(in_ct timeout 10 systemctl is-system-running --wait 2>/dev/null)
		case $state in
		running | degraded) break ;;
		esac
		sleep 0.5
	done
	case $state in
	running) ;;
	degraded) note "the container booted degraded: $(in_ct systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')" ;;
	*) ct_boot_failed "system state '$state' after 90 s" ;;
	esac
	note "container $NAME ($mode; nspawn $NSPAWN, init $LEADER) booted"
}

mark_knobs() {
	[ -e "$KSM/advisor_mode" ] && [ "$(ksm_mode)" != none ] && echo none > "$KSM/advisor_mode"
	echo 0 > "$KSM/run"
	echo 123 > "$KSM/pages_to_scan"
	echo 234 > "$KSM/sleep_millisecs"
}
knobs() {
	local k
	for k in run pages_to_scan sleep_millisecs merge_across_nodes use_zero_pages max_page_sharing smart_scan; do
		[ -e "$KSM/$k" ] && printf '%s=%s ' "$k" "$(ksm_read $k)"
	done
	[ -e "$KSM/advisor_mode" ] && printf 'advisor_mode=%s' "$(ksm_mode)"
}

prop() { in_ct systemctl show -p "$1" --value ksmpilot.service; }
# cursor: now, by the container's clock, for journal_after. A time, not the
# journal's cursor: --after-cursor showed nothing after an entry that was
# in the journal (nspawn.sh's SIGSEGV step, now and then), and a wait on it
# then timed out.
cursor() { in_ct date +%s.%N; }
# journal_after TIME [UNIT]: the unit's journal lines logged after TIME
journal_after() {
	local t=$1 u=${2:-ksmpilot.service}
	in_ct journalctl -u "$u" --no-pager -q -o short-unix --since="@${t%.*}" | awk -v t="$t" '$1 + 0 > t + 0'
}
ct_fail() {
	echo "--- systemctl status:"; in_ct systemctl status --no-pager -l ksmpilot.service | head -n 20
	echo "--- journal:"; in_ct journalctl -u ksmpilot.service --no-pager -n 40
	fail "$*"
}
# wait_journal TIME PATTERN [SECONDS]: a unit journal line after TIME (from cursor) matches
wait_journal() {
	local c=$1 pat=$2 t=${3:-20}
	for _ in $(seq 1 $((t * 5))); do
		journal_after "$c" | grep -qE -- "$pat" && return 0
		sleep 0.2
	done
	ct_fail "no journal line matching '$pat' in $t s"
}
# wait_prop PROP VALUE [SECONDS]
wait_prop() {
	local t=${3:-20} v=""
	for _ in $(seq 1 $((t * 5))); do
		v=$(prop "$1")
		[ "$v" = "$2" ] && return 0
		sleep 0.2
	done
	ct_fail "$1 is '$v', not '$2', after $t s"
}
# wait_knob KNOB VALUE [SECONDS]: the host's knob, written from inside
wait_knob() {
	local t=${3:-20}
	for _ in $(seq 1 $((t * 5))); do
		[ "$(ksm_read "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	ct_fail "$KSM/$1 is '$(ksm_read "$1")', not '$2', after $t s"
}
