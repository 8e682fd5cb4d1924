# nspawn.sh - the installed service under a real systemd. Boots the host's
# own systemd in a volatile systemd-nspawn container (the host's /usr, an
# empty /etc and /var, never the real /etc), with the host's KSM directory
# bound over /sys/kernel/mm/ksm inside, installs a TEST_HOOKS build with
# `make install` under /opt/ksmpilot and /etc, and checks:
#   1. systemctl enable --now: active (running) after READY=1, STATUS= shown;
#      the daemon holds no capability (CapEff, CapPrm, CapBnd 0) and cannot
#      read /proc/1/root/etc/hostname or open /proc/1/mem, which root with
#      capabilities can;
#      ksmpilot-inspect.timer, which the unit wants, runs the inspection:
#      a process of another user with mergeable memory is recorded with its
#      mappings in /run/ksmpilot/processes (mode 0600), which needs the
#      inspection's two capabilities, its runs leave nothing in the
#      journal, and the daemon takes the file (inspect=fresh)
#   2. systemctl reload: a good config is taken; a broken one is refused with
#      FILE:LINE and the reload fails, the service keeps running on the old one;
#      one that changes state_dir is taken, the daemon keeping its own
#   3. a hung tick (KSMPILOT_TEST_HANG_AT_TICK) is killed by the watchdog
#      and the service restarted
#   4. a SIGSEGV is restarted (ExecStopPost restores the knobs in between);
#      SIGKILL followed by stop leaves the knobs restored
#   5. systemctl stop applies on_exit=restore to the host's knobs, and stops the inspection timer
#   6. journalctl -o json holds the structured KSM_* fields
#   7. systemd-analyze security scores the installed daemon unit at 0.7 or
#      less, and the inspection unit at 1.3 or less
# A test drop-in shortens WatchdogSec/RestartSec/TimeoutStopSec and turns
# off core dumps and the start rate limit; the shipped hardening is kept.
# Skips unless root and KSMPILOT_REAL_KSM=1 (it writes the host's knobs;
# tests/lib.sh holds the kernel lock and restores them), when
# systemd-nspawn is missing and cannot be installed, or when the container
# does not boot on this machine. Alone: `make nspawn-test`.
. tests/lib.sh
set -u
[ "${KSMPILOT_VALGRIND:-0}" = 1 ] &&
	skip "the daemon in the container cannot run under valgrind; this test runs in the plain make check"
require_real_ksm
T0=$(date +%s) # timed from the kernel lock on
make_tmp

# --- systemd-nspawn ------------------------------------------------------------
. tests/lib-container.sh
ct_require

# --- the test build, installed into a DESTDIR -------------------------------------
# Its own build directory, with the hooks; never with the flags of a calling
# make (make asan passes CFLAGS and LDFLAGS down in MAKEFLAGS and the
# environment): the daemon must run under the unit's system call filter.
HB=build-hooks
hmake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CFLAGS -u LDFLAGS \
		make --no-print-directory B=$HB TEST_HOOKS=1 "$@"
}
hmake $HB/ksmpilotd $HB/tests/workload > "$TMPD/build.log" 2>&1 || { cat "$TMPD/build.log"; fail "make B=$HB TEST_HOOKS=1 failed"; }
if ! grep -q KSMPILOT_TEST_READ $HB/ksmpilotd; then
	# objects from a build without TEST_HOOKS=1: rebuild the one with the hook
	rm -f $HB/pilot.o
	hmake $HB/ksmpilotd > "$TMPD/build.log" 2>&1 || { cat "$TMPD/build.log"; fail "make B=$HB TEST_HOOKS=1 failed"; }
	grep -q KSMPILOT_TEST_READ $HB/ksmpilotd || fail "$HB/ksmpilotd has no test hooks"
fi
DEST=$TMPD/dest
hmake install DESTDIR="$DEST" PREFIX=/opt/ksmpilot SYSCONFDIR=/etc SYSTEMDUNITDIR=/etc/systemd/system \
	> "$TMPD/install.log" 2>&1 || { cat "$TMPD/install.log"; fail "make install into $DEST failed"; }
for f in opt/ksmpilot/sbin/ksmpilotd etc/ksmpilot.conf etc/systemd/system/ksmpilot.service \
	etc/systemd/system/ksmpilot-inspect.service etc/systemd/system/ksmpilot-inspect.timer; do
	[ -e "$DEST/$f" ] || fail "make install did not create /$f"
done

# --- recognisable knobs, to see on_exit=restore put them back ---------------------
mark_knobs
BEFORE=$(knobs)
note "knobs before: $BEFORE"

# --- boot ---------------------------------------------------------------------------
HOST_WANTS=/etc/systemd/system/multi-user.target.wants/ksmpilot.service
[ -e "$HOST_WANTS" ] && HOST_WANTS="" # already there on the host: not a witness
CT_MASKS="$CT_MASKS ksmtuned.service ksm.service"
# nspawn's own system call filter forbids Landlock (systemd 252): allowed, so
# that the inspection unit's filter is the one tested
ct_boot volatile --bind-ro="$DEST/opt/ksmpilot:/opt/ksmpilot" --bind-ro="$DEST/etc:/run/ksmpilot-etc" \
	--bind-ro="$PWD/$HB/tests:/opt/ksmpilot-tests" --bind="$KSM:/run/host-ksm" \
	--system-call-filter="landlock_create_ruleset landlock_add_rule landlock_restrict_self"
note "container booted $(($(date +%s) - T0)) s after the kernel lock was taken"

# --- install inside -------------------------------------------------------------------
in_ct mount --bind /run/host-ksm /sys/kernel/mm/ksm || fail "cannot bind /run/host-ksm over /sys/kernel/mm/ksm"
in_ct test -w /sys/kernel/mm/ksm/run || fail "/sys/kernel/mm/ksm is not writable in the container"
[ "$(in_ct cat /sys/kernel/mm/ksm/sleep_millisecs)" = 234 ] || fail "the container does not see the host's knobs"
in_ct sh -c 'cp /run/ksmpilot-etc/ksmpilot.conf /etc/ksmpilot.conf &&
	cp /run/ksmpilot-etc/systemd/system/ksmpilot.service /etc/systemd/system/ksmpilot.service &&
	cp /run/ksmpilot-etc/systemd/system/ksmpilot-inspect.service /etc/systemd/system/ &&
	cp /run/ksmpilot-etc/systemd/system/ksmpilot-inspect.timer /etc/systemd/system/ &&
	mkdir -p /etc/systemd/system/ksmpilot-inspect.service.d &&
	printf "[Service]\nStandardOutput=file:/run/inspect.out\n" > /etc/systemd/system/ksmpilot-inspect.service.d/50-test.conf &&
	echo ksmpilot-test-host > /etc/hostname &&
	mkdir -p /etc/systemd/system/ksmpilot.service.d' || fail "cannot install into the container's /etc"
# under pressure at any memory level, so that it runs KSM and writes the knobs
in_ct sh -c 'cat >> /etc/ksmpilot.conf' <<'EOF' || fail "cannot write the config"

# tests/nspawn.sh
[daemon]
interval = 500ms
[memory]
target_available = 100%
[scan]
pages_to_scan_max = 1000
sleep_ms_min = 777
sleep_ms_max = 777
EOF
in_ct sh -c 'cat > /etc/systemd/system/ksmpilot.service.d/50-test.conf' <<'EOF' || fail "cannot write the drop-in"
# tests/nspawn.sh: a quick watchdog and restarts, no core dumps
[Unit]
StartLimitIntervalSec=0
[Service]
WatchdogSec=3s
RestartSec=1s
TimeoutStopSec=10s
LimitCORE=0
Environment="KSMPILOT_TEST_READ=/proc/1/root/etc/hostname /proc/1/mem"
EOF
in_ct systemctl daemon-reload || fail "daemon-reload failed"

# --- helpers (prop, cursor, wait_journal, wait_knob, ct_fail: tests/lib-container.sh) ---
# wait_restarted N OLDPID [SECONDS]: NRestarts above N, active again, another main pid
wait_restarted() {
	local n=$1 old=$2 t=${3:-30}
	for _ in $(seq 1 $((t * 5))); do
		if [ "$(prop NRestarts)" -gt "$n" ] && [ "$(prop ActiveState)/$(prop SubState)" = active/running ]; then
			local p
			p=$(prop MainPID)
			[ "$p" != 0 ] && [ "$p" != "$old" ] && return 0
		fi
		sleep 0.2
	done
	ct_fail "not restarted in $t s (NRestarts $(prop NRestarts), was $n)"
}

# --- 1. enable --now: active (running) once READY=1 came ----------------------------
C0=$(cursor)
in_ct systemctl enable --now ksmpilot.service > "$TMPD/enable.log" 2>&1 ||
	{ cat "$TMPD/enable.log"; ct_fail "systemctl enable --now ksmpilot failed"; }
# Type=notify: "active" only after READY=1
[ "$(prop ActiveState)/$(prop SubState)" = active/running ] ||
	ct_fail "not active (running) after enable --now: $(prop ActiveState)/$(prop SubState)"
[ "$(in_ct systemctl is-enabled ksmpilot.service)" = enabled ] || ct_fail "not enabled"
for _ in $(seq 1 50); do
	st=$(prop StatusText)
	case $st in *"run="*) break ;; esac
	sleep 0.2
done
case $st in *"run="*) ;; *) ct_fail "StatusText is '$st', not the tick summary (STATUS=)" ;; esac
note "1. active (running), StatusText: $st"
wait_knob run 1
wait_knob sleep_millisecs 777
wait_journal "$C0" "ksmpilotd [0-9.]* starting: config /etc/ksmpilot.conf"
wait_journal "$C0" "ksmd is not visible"                  # no ksmd in the PID namespace: expected
journal_after "$C0" | grep -q "found the snapshot" && ct_fail "a first start found an old snapshot"
PID1=$(prop MainPID)
note "1. the daemon inside writes the host's knobs: $(knobs)"

# --- 1b. no capability, and no way to the root of PID 1 --------------------------------
caps=$(in_ct grep -E '^Cap(Eff|Prm|Bnd|Amb):' "/proc/$PID1/status" | tr -s '\t ' ' ')
for c in CapEff CapPrm CapBnd CapAmb; do
	echo "$caps" | grep -qx "$c: 0000000000000000" || ct_fail "the daemon has capabilities: $(echo "$caps" | tr '\n' ' ')"
done
[ "$(in_ct cat /proc/1/root/etc/hostname)" = ksmpilot-test-host ] ||
	ct_fail "root with its capabilities cannot read /proc/1/root/etc/hostname: the check below proves nothing"
in_ct sh -c 'exec 3< /proc/1/mem' ||
	ct_fail "root with its capabilities cannot open /proc/1/mem: the check below proves nothing"
wait_journal "$C0" "test hook: cannot open /proc/1/root/etc/hostname: Permission denied"
wait_journal "$C0" "test hook: cannot open /proc/1/mem: Permission denied"
journal_after "$C0" | grep -q "test hook: read [0-9]* bytes of /proc/1/" && ct_fail "the daemon read a file of /proc/1"
note "1b. the daemon: $(echo "$caps" | tr '\n' ' '); /proc/1/root/etc/hostname and /proc/1/mem: Permission denied"

# --- 1c. the inspection, started by the timer the daemon's unit wants --------------------
[ "$(in_ct systemctl is-active ksmpilot-inspect.timer)" = active ] || ct_fail "ksmpilot-inspect.timer is not active"
for _ in $(seq 1 100); do in_ct test -s /run/ksmpilot/processes && break; sleep 0.2; done
in_ct test -s /run/ksmpilot/processes || {
	in_ct systemctl status --no-pager -l ksmpilot-inspect.service | head -n 20
	ct_fail "the timer did not run the inspection in 20 s"
}
# a process of another user with mergeable memory: its ksm_stat is 0400 and
# its maps need ptrace read access
in_ct sh -c 'setpriv --reuid=65534 --regid=65534 --clear-groups /opt/ksmpilot-tests/workload -s 8 -p 1 -t 300 -f /tmp/wl.pid > /dev/null 2>&1 &'
for _ in $(seq 1 100); do in_ct test -s /tmp/wl.pid && break; sleep 0.2; done
WL=$(in_ct head -n 1 /tmp/wl.pid)
[ -n "$WL" ] || ct_fail "the workload did not start in the container"
IC=$(cursor)
in_ct systemctl start ksmpilot-inspect.service || ct_fail "ksmpilot-inspect.service failed"
P=$(in_ct cat /run/ksmpilot/processes)
echo "$P" | grep -qx "pid=$WL" || ct_fail "the inspection did not record the workload (pid $WL): $P"
rec=$(echo "$P" | sed -n "/^pid=$WL\$/,/^pid=/p")
echo "$rec" | grep -qx "uid=65534" || ct_fail "the workload's uid: $rec"
echo "$rec" | grep -qx "ksm_mergeable=1" || ct_fail "no ksm_mergeable=1 (ksm_stat not read?): $rec"
echo "$rec" | grep -q "^maps=[1-9]" || ct_fail "no maps count for the workload (no ptrace read access?): $rec"
[ "$(in_ct stat -c '%a %U' /run/ksmpilot/processes)" = "600 root" ] ||
	ct_fail "processes is $(in_ct stat -c '%a %U' /run/ksmpilot/processes), not 600 root"
# the same command without the two capabilities cannot read them
in_ct setpriv --bounding-set=-all --inh-caps=-all /opt/ksmpilot/sbin/ksmpilotctl --state-dir /tmp/nocaps inspect \
	> "$TMPD/nocaps.out" 2>&1 || { cat "$TMPD/nocaps.out"; ct_fail "inspect without capabilities failed"; }
in_ct grep -qx "pid=$WL" /tmp/nocaps/processes && ct_fail "inspect without capabilities read the workload's ksm_stat"
in_ct grep -q "^denied=[1-9]" /tmp/nocaps/processes || ct_fail "inspect without capabilities was not denied: $(cat "$TMPD/nocaps.out")"
# quiet in the journal, cheap, and taken by the daemon
ilog=$(journal_after "$IC" ksmpilot-inspect.service)
[ -z "$ilog" ] || ct_fail "a successful inspection logged: $ilog"
t0=$(in_ct systemctl show -p ExecMainStartTimestampMonotonic --value ksmpilot-inspect.service)
t1=$(in_ct systemctl show -p ExecMainExitTimestampMonotonic --value ksmpilot-inspect.service)
for _ in $(seq 1 100); do in_ct grep -qx inspect=fresh /run/ksmpilot/state && break; sleep 0.2; done
in_ct grep -qx inspect=fresh /run/ksmpilot/state || ct_fail "the daemon did not take the inspection's data: $(in_ct grep '^inspect' /run/ksmpilot/state)"
in_ct kill "$WL" 2>/dev/null
# under the unit's whole sandbox, its system call filter included, Landlock confines it
# (where the kernel has Landlock: the run without the unit's sandbox says so)
if grep -q "(not confined: \(the kernel has no Landlock\|Landlock is off in the kernel\)" "$TMPD/nocaps.out"; then
	note "1c. this kernel has no Landlock: the inspection unit's confinement is not checked"
else
	in_ct grep -q "(confined by Landlock, ABI [1-9][0-9]*)$" /run/inspect.out ||
		ct_fail "the inspection unit is not confined by Landlock: $(in_ct cat /run/inspect.out)"
fi
note "1c. inspection: $(in_ct grep -o '(confined[^)]*)' /run/inspect.out) in its unit; pid $WL of uid 65534 recorded with $(echo "$rec" | grep '^maps='); without capabilities: $(in_ct grep '^denied=' /tmp/nocaps/processes); $(( (${t1:-0} - ${t0:-0}) / 1000 )) ms from start to exit; nothing in the journal; the daemon reads it (inspect=fresh); $(grep -o '(\(not \)*confined[^)]*)' "$TMPD/nocaps.out")"

# --- 2. reload: a good config is taken, a broken one refused ---------------------------
C=$(cursor)
in_ct sed -i 's/^sleep_ms_\(min\|max\) = 777$/sleep_ms_\1 = 555/' /etc/ksmpilot.conf
in_ct systemctl reload ksmpilot.service || ct_fail "systemctl reload failed"
wait_journal "$C" "configuration reloaded from /etc/ksmpilot.conf \(reload #1\)"
wait_knob sleep_millisecs 555
note "2. reload #1 taken: sleep_millisecs 555"

C=$(cursor)
in_ct sed -i 's/^sleep_ms_\(min\|max\) = 555$/sleep_ms_\1 = 999/' /etc/ksmpilot.conf
in_ct sh -c 'printf "[controller]\nmax_cpu = 500\n" >> /etc/ksmpilot.conf'
bad_line=$(in_ct grep -n '^max_cpu = 500$' /etc/ksmpilot.conf | cut -d: -f1)
in_ct systemctl reload ksmpilot.service > "$TMPD/reload.log" 2>&1 &&
	ct_fail "systemctl reload of a broken config succeeded"
wait_journal "$C" "reload #2 failed"
wait_journal "$C" "/etc/ksmpilot.conf:$bad_line: max_cpu"
sleep 1.5 # three ticks on whatever configuration is in effect
[ "$(prop ActiveState)/$(prop SubState)" = active/running ] || ct_fail "not running after a broken reload"
[ "$(prop MainPID)" = "$PID1" ] || ct_fail "the main pid changed on a broken reload"
[ "$(ksm_read sleep_millisecs)" = 555 ] ||
	ct_fail "sleep_millisecs is $(ksm_read sleep_millisecs): the broken config was (partly) applied"
note "2. broken reload refused at /etc/ksmpilot.conf:$bad_line, still running on the old config"
# back to the good one: ksmpilotd checks it at every later start
in_ct sed -i -e 's/^sleep_ms_\(min\|max\) = 999$/sleep_ms_\1 = 555/' -e '/^max_cpu = 500$/d' /etc/ksmpilot.conf
in_ct /opt/ksmpilot/sbin/ksmpilotd --check-config -c /etc/ksmpilot.conf > /dev/null ||
	ct_fail "the restored config does not pass --check-config"
# a changed state_dir: the daemon keeps /run/ksmpilot until a restart, and
# the reload finds it there (PrivateUsers= gives ExecReload a user
# namespace of its own, where the daemon's /proc/PID/fd cannot be read:
# through $RUNTIME_DIRECTORY)
C=$(cursor)
in_ct sed -i 's|^;state_dir = /run/ksmpilot$|state_dir = /var/tmp/ksmpilot-elsewhere|' /etc/ksmpilot.conf
in_ct grep -q '^state_dir = /var/tmp/ksmpilot-elsewhere$' /etc/ksmpilot.conf ||
	ct_fail "no ;state_dir line to change in /etc/ksmpilot.conf"
in_ct systemctl reload ksmpilot.service > "$TMPD/reload.log" 2>&1 ||
	{ cat "$TMPD/reload.log"; ct_fail "systemctl reload after a change of state_dir failed"; }
wait_journal "$C" "runs with state_dir /run/ksmpilot, not /var/tmp/ksmpilot-elsewhere as configured"
wait_journal "$C" "state_dir changes take effect at the next start; keeping /run/ksmpilot"
wait_journal "$C" "configuration reloaded from /etc/ksmpilot.conf \(reload #3\)"
in_ct sed -i 's|^state_dir = /var/tmp/ksmpilot-elsewhere$|;state_dir = /run/ksmpilot|' /etc/ksmpilot.conf
note "2b. state_dir changed: reload #3 taken, the daemon keeps /run/ksmpilot until a restart"

# --- 3. a hung tick: the watchdog kills it, systemd restarts it ---------------------------
in_ct sh -c 'printf "[Service]\nEnvironment=KSMPILOT_TEST_HANG_AT_TICK=6\n" > /etc/systemd/system/ksmpilot.service.d/60-hang.conf'
in_ct systemctl daemon-reload
# the cursor before the restart: after it, a loaded machine may already be
# past the hang's line
C=$(cursor)
in_ct systemctl restart ksmpilot.service || ct_fail "restart with the hang hook failed"
n=$(prop NRestarts)
old=$(prop MainPID)
wait_journal "$C" "test hook: tick 6 hangs"
wait_journal "$C" "Watchdog timeout"
wait_restarted "$n" "$old"
journal_after "$C" | grep -q "Failed with result 'watchdog'" || ct_fail "no \"Failed with result 'watchdog'\""
note "3. watchdog: $(journal_after "$C" | grep -m1 -o 'Watchdog timeout.*'); NRestarts $n -> $(prop NRestarts)"
# no hang from now on: drop the hook and kill the instance that will hang again
in_ct rm -f /etc/systemd/system/ksmpilot.service.d/60-hang.conf
in_ct systemctl daemon-reload
n=$(prop NRestarts)
old=$(prop MainPID)
in_ct systemctl kill --signal=SIGKILL ksmpilot.service
wait_restarted "$n" "$old"
in_ct cat "/proc/$(prop MainPID)/environ" | tr '\0' '\n' | grep -q KSMPILOT_TEST_HANG_AT_TICK &&
	ct_fail "the restarted instance still has the hang hook"

# --- 4. SIGSEGV: restarted ---------------------------------------------------------------------
sleep 1
n=$(prop NRestarts)
old=$(prop MainPID)
C=$(cursor)
in_ct kill -SEGV "$old" || ct_fail "cannot signal the main pid $old"
wait_restarted "$n" "$old"
wait_journal "$C" "status=11/SEGV"
# the failure stopped the inspection timer (BindsTo=); the restart brings it back
for _ in $(seq 1 100); do [ "$(in_ct systemctl is-active ksmpilot-inspect.timer)" = active ] && break; sleep 0.2; done
[ "$(in_ct systemctl is-active ksmpilot-inspect.timer)" = active ] ||
	ct_fail "ksmpilot-inspect.timer is not active again after the automatic restart"
# ExecStopPost put the knobs back from the snapshot before the restart
wait_journal "$C" "restoring the knobs from the snapshot"
wait_knob sleep_millisecs 555
note "4. SIGSEGV of pid $old: restarted as pid $(prop MainPID), NRestarts $n -> $(prop NRestarts)"

# --- 4b. killed, then stopped before the restart: ExecStopPost restores -----------------------
C=$(cursor)
in_ct systemctl kill --signal=SIGKILL ksmpilot.service
in_ct systemctl stop ksmpilot.service
wait_journal "$C" "restoring the knobs from the snapshot"
[ "$(knobs)" = "$BEFORE" ] || { echo "before: $BEFORE"; echo "after:  $(knobs)"; ct_fail "a killed and stopped service left the knobs changed"; }
in_ct test -e /run/ksmpilot/snapshot && ct_fail "the snapshot is left after ExecStopPost"
note "4b. SIGKILL then stop: ExecStopPost restored the knobs: $(knobs)"
in_ct systemctl start ksmpilot.service || ct_fail "start after 4b failed"
wait_knob sleep_millisecs 555
# the daemon's start brings its inspection timer back
[ "$(in_ct systemctl is-active ksmpilot-inspect.timer)" = active ] ||
	ct_fail "ksmpilot-inspect.timer is not active again with the daemon"

# --- 5. stop: on_exit=restore puts the host's knobs back --------------------------------------
[ "$(knobs)" != "$BEFORE" ] || ct_fail "the knobs are as before the start: nothing to restore"
C=$(cursor)
in_ct systemctl stop ksmpilot.service || ct_fail "systemctl stop failed"
[ "$(prop ActiveState)" = inactive ] || ct_fail "ActiveState $(prop ActiveState) after stop"
[ "$(prop Result)" = success ] || ct_fail "Result $(prop Result) after stop"
wait_journal "$C" "knobs restored"
AFTER=$(knobs)
[ "$AFTER" = "$BEFORE" ] || { echo "before: $BEFORE"; echo "after:  $AFTER"; ct_fail "stop did not restore the knobs"; }
in_ct test -e /run/ksmpilot/snapshot && ct_fail "the snapshot is left after a clean stop"
# the inspection is part of the daemon: it runs only while the daemon does
[ "$(in_ct systemctl is-active ksmpilot-inspect.timer)" = inactive ] ||
	ct_fail "ksmpilot-inspect.timer still runs after ksmpilot.service stopped"
note "5. stop restored the knobs: $AFTER; the inspection timer stopped with the daemon"

# --- 6. the structured fields in the journal -------------------------------------------------------
in_ct journalctl -u ksmpilot.service -o json --no-pager > "$TMPD/journal.json"
line=$(grep '"_SYSTEMD_UNIT":"ksmpilot.service"' "$TMPD/journal.json" | grep '"KSM_REASON":"' | tail -n 1)
[ -n "$line" ] || ct_fail "no decision with KSM_REASON in journalctl -o json"
for f in SYSLOG_IDENTIFIER KSM_RUN KSM_PAGES_TO_SCAN KSM_SLEEP_MS KSM_REASON KSM_MODE KSM_RATE \
	KSM_MEM_AVAILABLE_BYTES KSM_MEM_TOTAL_BYTES KSM_SETPOINT_BYTES KSM_PAGES_SHARING KSMD_CPU_PERCENT; do
	echo "$line" | grep -q "\"$f\":\"" || ct_fail "the decision entry has no $f: $line"
done
echo "$line" | grep -q '"SYSLOG_IDENTIFIER":"ksmpilotd"' || ct_fail "SYSLOG_IDENTIFIER is not ksmpilotd"
echo "$line" | grep -q '"KSM_SLEEP_MS":"555"' || ct_fail "KSM_SLEEP_MS is not the configured 555: $line"
grep -q '"KSM_SLEEP_MS":"777"' "$TMPD/journal.json" || ct_fail "no decision with the first config's KSM_SLEEP_MS=777"
note "6. journal fields: $(echo "$line" | grep -o '"KSM_[A-Z_]*":"[^"]*"' | head -n 8 | tr '\n' ' ')"

# --- 7. the security score of the installed unit ------------------------------------------------------
U=/etc/systemd/system/ksmpilot.service
score=$(in_ct systemd-analyze security --offline=yes "$U" 2>&1 | sed -n 's/.*Overall exposure level for ksmpilot.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || ct_fail "no score from systemd-analyze security --offline=yes $U"
in_ct systemd-analyze security --offline=yes --threshold=7 "$U" > /dev/null 2>&1 || ct_fail "offline score $score is above 0.7"
# the loaded unit, with the test drop-in, as systemd sees it
live=$(in_ct systemd-analyze security ksmpilot.service 2>&1 | sed -n 's/.*Overall exposure level for ksmpilot.service: \([0-9.]*\).*/\1/p')
[ -n "$live" ] || ct_fail "no score from systemd-analyze security ksmpilot.service"
in_ct systemd-analyze security --threshold=7 ksmpilot.service > /dev/null 2>&1 || ct_fail "live score $live is above 0.7"
iscore=$(in_ct systemd-analyze security ksmpilot-inspect.service 2>&1 | sed -n 's/.*Overall exposure level for ksmpilot-inspect.service: \([0-9.]*\).*/\1/p')
[ -n "$iscore" ] || ct_fail "no score from systemd-analyze security ksmpilot-inspect.service"
in_ct systemd-analyze security --threshold=13 ksmpilot-inspect.service > /dev/null 2>&1 || ct_fail "inspection score $iscore is above 1.3"
note "7. exposure: $score offline (installed unit), $live for the loaded unit, $iscore for the inspection"

# --- shut the container down, and check it left nothing -------------------------------------------
ct_stop
[ -n "$HOST_WANTS" ] && [ -e "$HOST_WANTS" ] && fail "the container wrote into the host's /etc ($HOST_WANTS)"
[ -e "/run/systemd/nspawn/propagate/$NAME" ] && fail "nspawn left /run/systemd/nspawn/propagate/$NAME"
pgrep -f "systemd-nspawn .*-M $NAME" > /dev/null && fail "a systemd-nspawn for $NAME is still running"
for d in $CT_CG_DIRS; do [ -d "$d" ] && fail "cgroup $d left behind"; done
echo "nspawn: all checks passed in $(($(date +%s) - T0)) s"
