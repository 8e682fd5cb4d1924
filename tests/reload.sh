# reload.sh - ksmpilotctl reload (the unit's ExecReload=) reports the
# daemon's own verdict: exit 0 when ksmpilotd took the configuration, 3 and
# the FILE:LINE errors when it refused it (the old one keeps running), 5
# (not running) when no daemon runs or the pid is not that daemon's (which
# is then never signalled). The daemon ticks once every 10 minutes here, so the answer can
# only come from the state file it writes at once after each reload. On a
# fake KSM tree; needs neither root nor KSM.
. tests/lib.sh
set -u
make_tmp
CTL=$B/ksmpilotctl
K=$TMPD/ksm
S=$TMPD/state
C=$TMPD/k.conf
make_fake_ksm "$K"
ctl() { $WRAP $CTL -c "$C" "$@"; }
counter() { sed -n "s/^$1=//p" "$S/state"; }
# the decisions logged (log_level = debug: one a tick); a reload brings a
# tick at once, and the next is 10 minutes later
ticks_logged() { grep -c 'saving [0-9]* MiB; run=' "$TMPD/log"; }
wait_tick() { # wait_tick N: until more than N decisions are logged
	for _ in $(seq 1 300); do [ "$(ticks_logged)" -gt "$1" ] && return 0; sleep 0.1; done
	fail "no tick after the reload: $(tail -n 5 "$TMPD/log")"
}

printf '[daemon]\ninterval = 10min\nstate_dir = %s\nlog_level = debug\n[memory]\ntarget_available = 100%%\n[scan]\nsleep_ms_min = 50\nsleep_ms_max = 50\n' \
	"$S" > "$C"

# no daemon
ctl reload > "$TMPD/out" 2>&1
rc=$?
[ $rc = 5 ] || { cat "$TMPD/out"; fail "reload without a daemon: exit $rc, not 5"; }
grep -q "ksmpilotd is not running" "$TMPD/out" || fail "reload without a daemon does not say so: $(cat "$TMPD/out")"
ctl reload 1 2 > /dev/null 2>&1; [ $? = 2 ] || fail "reload with two arguments: expected exit 2"
ctl reload abc > /dev/null 2>&1; [ $? = 2 ] || fail "reload with a bad pid: expected exit 2"
ctl reload 4294967297 > /dev/null 2>&1; [ $? = 2 ] || fail "reload with a pid past INT_MAX: expected exit 2"
# a live process that is not ksmpilotd, and no daemon: not running, at once
sleep 600 &
N=$!
track $N
ctl reload $N > "$TMPD/out" 2>&1
rc=$?
[ $rc = 5 ] || { cat "$TMPD/out"; fail "reload of a pid that is not ksmpilotd, without a daemon: exit $rc, not 5"; }
grep -q "process $N is not ksmpilotd, and no ksmpilotd holds the lock" "$TMPD/out" || fail "reload $N: $(cat "$TMPD/out")"
kill -0 $N 2>/dev/null || fail "reload signalled pid $N, which is not ksmpilotd"

$WRAP $KSMPILOTD -c "$C" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/log" &
D=$!
track $D
for _ in $(seq 1 300); do [ -s "$S/state" ] && break; sleep 0.1; done
[ -s "$S/state" ] || fail "no state file"
wait_file "$K/sleep_millisecs" 50

# a good configuration: taken, exit 0, without waiting for a tick
sed -i 's/^sleep_ms_\(min\|max\) = 50$/sleep_ms_\1 = 60/' "$C"
ctl reload > "$TMPD/out" 2>&1 || { cat "$TMPD/out" "$TMPD/log"; fail "reload of a good configuration failed"; }
grep -q "^ksmpilotd (pid $D) reloaded $C (reload #1)$" "$TMPD/out" || fail "reload output: $(cat "$TMPD/out")"
[ "$(counter reloads)" = 1 ] || fail "state file: reloads=$(counter reloads), not 1"
wait_log "$TMPD/log" "configuration reloaded from $C \(reload #1\)"
wait_file "$K/sleep_millisecs" 60

# no state file yet (a daemon starting) while it holds the lock: reload
# waits for it, rather than calling the daemon not running
kill -STOP $D
mv "$S/state" "$S/state.away"
ctl reload > "$TMPD/wait.out" 2>&1 &
R=$!
track $R
sleep 1
kill -0 $R 2>/dev/null || { cat "$TMPD/wait.out"; fail "reload without a state file gave up while the lock is held"; }
mv "$S/state.away" "$S/state"
kill -CONT $D
wait $R || { cat "$TMPD/wait.out"; fail "reload, once the state file came: exit $?"; }
untrack $R
grep -q "^ksmpilotd (pid $D) reloaded $C (reload #2)$" "$TMPD/wait.out" || fail "reload output: $(cat "$TMPD/wait.out")"

# a broken one: refused, exit 3 with FILE:LINE, the daemon runs on
printf '[controller]\nmax_cpu = 500\n' >> "$C"
line=$(grep -n '^max_cpu = 500$' "$C" | cut -d: -f1)
ctl reload > "$TMPD/out" 2>&1
rc=$?
[ $rc = 3 ] || { cat "$TMPD/out"; fail "reload of a broken configuration: exit $rc, not 3"; }
grep -q "refused the configuration in $C; the old configuration keeps running" "$TMPD/out" ||
	fail "reload does not say that the daemon refused: $(cat "$TMPD/out")"
grep -q "^$(shown "$C"):$line: .*max_cpu" "$TMPD/out" || fail "reload does not give $(shown "$C"):$line: $(cat "$TMPD/out")"
[ "$(counter reload_failures)" = 1 ] || fail "state file: reload_failures=$(counter reload_failures), not 1"
wait_log "$TMPD/log" "reload #3 failed"
# given another file with -c: the errors of the daemon's own, named by the state file
$WRAP $CTL -c "$TMPD/none.conf" --state-dir "$S" reload > "$TMPD/out" 2>&1
rc=$?
[ $rc = 3 ] || { cat "$TMPD/out"; fail "reload -c of another file, of a broken configuration: exit $rc, not 3"; }
grep -q "^$(shown "$C"):$line: .*max_cpu" "$TMPD/out" ||
	fail "reload -c of another file does not give $(shown "$C"):$line: $(cat "$TMPD/out")"
wait_log "$TMPD/log" "reload #4 failed"
kill -0 $D 2>/dev/null || fail "the daemon died on a broken reload"
[ "$(cat "$K/sleep_millisecs")" = 60 ] || fail "sleep_millisecs changed on a refused reload"

# the pid systemd gives ($MAINPID): that daemon's answer; dry_run turned
# on by it shows in the state file, and nothing more is written
sed -i '/^\[controller\]$/d; /^max_cpu = 500$/d' "$C"
[ "$(counter dry_run)" = 0 ] || fail "state file: dry_run=$(counter dry_run) before the dry run"
sed -i 's/^log_level = debug$/log_level = debug\ndry_run = yes/; s/^sleep_ms_\(min\|max\) = 60$/sleep_ms_\1 = 70/' "$C"
n=$(ticks_logged)
ctl reload $D > "$TMPD/out" 2>&1 || { cat "$TMPD/out"; fail "reload $D failed"; }
grep -q "(reload #5)" "$TMPD/out" || fail "reload $D output: $(cat "$TMPD/out")"
[ "$(counter dry_run)" = 1 ] || fail "state file: dry_run=$(counter dry_run) after a reload turned it on"
wait_log "$TMPD/log" "dry_run = yes: nothing is written to sysfs from now on"
wait_tick "$n" # the tick that would have written 70
[ "$(cat "$K/sleep_millisecs")" = 60 ] || fail "a dry run turned on by a reload wrote sleep_millisecs"
# a pid that is not the daemon's is never signalled
sleep 600 &
other=$!
track $other
ctl --state-dir "$S" reload $other > "$TMPD/out" 2>&1 &
waiter=$!
sleep 1
kill -0 $other 2>/dev/null || fail "reload signalled pid $other, which is not ksmpilotd"
kill $other
wait $waiter
rc=$?
[ $rc = 5 ] || { cat "$TMPD/out"; fail "reload of pid $other: exit $rc, not 5"; }
grep -q "process $other does not exist" "$TMPD/out" || fail "reload of pid $other: $(cat "$TMPD/out")"
kill -0 $D 2>/dev/null || fail "the daemon is gone"

# state_dir changed in the file: the daemon keeps its own until a restart,
# and reload follows it there (the unit's ExecReload gives the pid)
sed -i "s|^state_dir = .*|state_dir = $TMPD/elsewhere|" "$C"
n=$(ticks_logged)
ctl reload $D > "$TMPD/out" 2>&1 || { cat "$TMPD/out" "$TMPD/log"; fail "reload $D after a change of state_dir failed"; }
grep -qF "runs with state_dir $(realpath "$S"), not $TMPD/elsewhere as configured" "$TMPD/out" ||
	fail "reload does not say where the daemon's state_dir is: $(cat "$TMPD/out")"
grep -q "(reload #6)" "$TMPD/out" || fail "reload after a change of state_dir: $(cat "$TMPD/out")"
wait_log "$TMPD/log" "state_dir changes take effect at the next start; keeping $S"
[ ! -e "$TMPD/elsewhere" ] || fail "the daemon made the new state_dir before a restart"

# status of a daemon that holds its lock but whose state file is gone (it
# writes it at reloads and ticks: after the reload's tick, none for 10
# minutes): stale, exit 6
wait_tick "$n"
rm "$S/state"
$WRAP $CTL --sysfs-dir "$K" --state-dir "$S" status > "$TMPD/out" 2>&1
rc=$?
[ $rc = 6 ] || { cat "$TMPD/out"; fail "status with the lock held and no state file: exit $rc, not 6"; }
grep -q "a daemon holds the lock in $S, but its state file cannot be read" "$TMPD/out" ||
	fail "status does not say that a daemon holds the lock: $(cat "$TMPD/out")"
$WRAP $CTL --sysfs-dir "$K" --state-dir "$S" status --json > "$TMPD/out" 2>&1
[ $? = 6 ] || fail "status --json with the lock held and no state file: not exit 6"
grep -q '"daemon": {"running": false, "stale": true}' "$TMPD/out" || fail "status --json: $(cat "$TMPD/out")"

# a lock with no pid in it yet (the daemon has not written it) proves
# nothing: reload then signals only a ksmpilotd, never whatever pid a
# state file names, and never a pid below 1 (0: its own process group)
kill -STOP $D
lockpid=$(cat "$S/lock")
: > "$S/lock"
sleep 600 &
V=$!
track $V
printf '# ksmpilot state v1\npid=%s\nreloads=0\nreload_failures=0\nconfig=%s\n' $V "$C" > "$S/state"
$WRAP $CTL --state-dir "$S" reload > "$TMPD/out" 2>&1 &
R=$!
track $R
sleep 1
kill -0 $V 2>/dev/null || fail "reload signalled pid $V, named by a state file while the lock named no pid"
kill $R
wait $R
untrack $R
sed -i 's/^pid=.*/pid=0/' "$S/state"
setsid -w $WRAP $CTL --state-dir "$S" reload > "$TMPD/out" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$TMPD/out"; fail "reload of a state file with pid=0: exit $rc, not 1"; }
grep -qF "cannot read $S/state: not a state file" "$TMPD/out" || fail "reload of pid=0: $(cat "$TMPD/out")"
# nor is such a file a running daemon's for status: a daemon holds the lock, the file is not its own
$WRAP $CTL --sysfs-dir "$K" --state-dir "$S" status > "$TMPD/out" 2>&1
rc=$?
[ $rc = 6 ] || { cat "$TMPD/out"; fail "status of a state file with pid=0: exit $rc, not 6 (stale)"; }
# nor a pid that the lock names too: both files are the daemon's to write,
# and the process signalled must hold the lock open
printf '%s\n' $V > "$S/lock"
sed -i "s/^pid=.*/pid=$V/" "$S/state"
$WRAP $CTL --state-dir "$S" reload > "$TMPD/out" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$TMPD/out"; fail "reload of a pid named by the state file and the lock: exit $rc, not 1"; }
grep -qF "does not hold $S/lock open: not signalled" "$TMPD/out" || fail "reload of a pid that holds no lock: $(cat "$TMPD/out")"
kill -0 $V 2>/dev/null || fail "reload signalled pid $V, which holds no lock"
rm "$S/state"
printf '%s\n' "$lockpid" > "$S/lock"
kill -CONT $D

# a configuration whose path the state file cannot give exactly: one
# with a byte that is not UTF-8 (a '?' there), one longer than the 255
# bytes a value keeps. After a refusal, reload points to the daemon's log
# rather than read another file ("cannot read", or its errors)
refused_to_log() { # refused_to_log NAME CONF
	local name=$1 conf=$2 st=$TMPD/state-$1 rc
	mkdir -p "$TMPD/ksm-$name" "$(dirname "$conf")"
	make_fake_ksm "$TMPD/ksm-$name"
	printf '[daemon]\ninterval = 10min\nstate_dir = %s\n[scan]\nsleep_ms_min = 50\nsleep_ms_max = 50\n' "$st" > "$conf"
	$WRAP $KSMPILOTD -c "$conf" --sysfs-dir "$TMPD/ksm-$name" --log-target=stderr 2> "$TMPD/log-$name" &
	D2=$!
	track $D2
	for _ in $(seq 1 300); do [ -s "$st/state" ] && break; sleep 0.1; done
	[ -s "$st/state" ] || fail "$name: no state file"
	printf '[controller]\nmax_cpu = 500\n' >> "$conf"
	$WRAP $CTL -c "$conf" reload $D2 > "$TMPD/out" 2>&1
	rc=$?
	[ $rc = 3 ] || { cat "$TMPD/out"; fail "$name: reload of a broken configuration: exit $rc, not 3"; }
	grep -qF "its errors are in its log (journalctl -u ksmpilot): the state file's path may be cut" "$TMPD/out" ||
		fail "$name: reload does not point to the log: $(cat "$TMPD/out")"
	! grep -q "cannot read\|max_cpu" "$TMPD/out" || fail "$name: reload read another file: $(cat "$TMPD/out")"
	wait_log "$TMPD/log-$name" "reload #1 failed"
	kill -0 $D2 2>/dev/null || fail "$name: the daemon died on a broken reload"
	kill $D2
	wait $D2
	untrack $D2
}
refused_to_log byte "$TMPD/odd"$'\xff'"/k.conf"
refused_to_log long "$TMPD/$(printf 'l%.0s' $(seq 1 250))/k.conf"
echo "reload: passed"
