# daemon.sh - the service on a fake KSM tree: it writes the knobs, refuses a
# second instance, notices a knob changed by someone else, keeps the old
# configuration on a bad SIGHUP, takes a good one, and applies on_exit
# (restore, stop, leave) on SIGTERM/SIGINT; after a crash the next instance
# restores to the state from before the first. Needs neither root nor KSM.
. tests/lib.sh
set -u
make_tmp
K=$TMPD/ksm
S=$TMPD/state
C=$TMPD/k.conf
LOG=$TMPD/log

start() { # start: run the daemon in the background, PID in DPID
	$WRAP $KSMPILOTD -c "$C" --sysfs-dir "$K" --log-target=stderr "$@" 2>>"$LOG" &
	DPID=$!
	track $DPID
}
stop() { # stop SIGNAL: signal the daemon, wait, check it exited 0
	kill -"$1" $DPID
	wait $DPID
	local rc=$?
	untrack $DPID
	[ $rc = 0 ] || { tail -n 30 "$LOG"; fail "daemon exited $rc after SIG$1"; }
}
fresh_tree() {
	rm -rf "$K"
	make_fake_ksm "$K"
	echo "none [scan-time]" > "$K/advisor_mode" # the advisor on, as a 6.8 kernel may have it
	echo 500 > "$K/pages_to_scan"
}
pressure="[memory]
target_available = 100%"

# --- normal run, foreign change, reloads, restore on SIGTERM -------------------
fresh_tree
fake_conf "$C" "$S" "$pressure"
: > "$LOG"
start
wait_file "$K/run" 1
[ "$(cat "$K/advisor_mode")" = none ] || fail "takeover did not switch the advisor off"
wait_log "$LOG" "switching it off"
[ -s "$S/snapshot" ] || fail "no start-up snapshot in $S"
grep -qx "run=0" "$S/snapshot" || fail "snapshot does not hold run=0"
grep -qx "advisor_mode=scan-time" "$S/snapshot" || fail "snapshot does not hold the advisor"

# a second instance is refused with exit 6
$KSMPILOTD -c "$C" --sysfs-dir "$K" --log-target=stderr 2>"$TMPD/second.err"
rc=$?
[ $rc = 6 ] || fail "second instance exited $rc, expected 6"
grep -q "already running (pid $DPID" "$TMPD/second.err" || fail "second instance message: $(cat "$TMPD/second.err")"

# someone else changes a knob: one warning, and ksmpilotd sets it back
echo 0 > "$K/run"
wait_log "$LOG" "run was changed from 1 to 0 by someone else"
wait_file "$K/run" 1
echo 0 > "$K/run"
wait_file "$K/run" 1
[ "$(grep -c 'by someone else' "$LOG")" = 1 ] || fail "the foreign change was warned more than once in one episode"

# SIGHUP with a broken config: the old one keeps running
cp "$C" "$C.good"
printf '[controller]\nmax_cpu = 500\n' >> "$C"
kill -HUP $DPID
wait_log "$LOG" "reload #1 failed"
grep -q "k.conf:[0-9]*: max_cpu" "$LOG" || fail "reload error does not name FILE:LINE"
kill -0 $DPID || fail "daemon died on a bad reload"
echo 0 > "$K/run"
wait_file "$K/run" 1 # still controlling, on the old config

# SIGHUP with a good config: taken
cp "$C.good" "$C"
printf '[scan]\nsleep_ms_min = 777\nsleep_ms_max = 777\n' >> "$C"
kill -HUP $DPID
wait_log "$LOG" "configuration reloaded .*reload #2"
wait_file "$K/sleep_millisecs" 777

# SIGTERM: on_exit=restore puts every knob back, the advisor too
stop TERM
[ "$(cat "$K/run")" = 0 ] || fail "run not restored"
# (pages_to_scan belongs to the advisor switched back on: the kernel resets it)
[ "$(cat "$K/sleep_millisecs")" = 20 ] || fail "sleep_millisecs not restored"
[ "$(cat "$K/advisor_mode")" = scan-time ] || fail "advisor_mode not restored"
[ ! -e "$S/snapshot" ] || fail "snapshot left after a clean exit"
grep -q "knobs restored (run=0 sleep_millisecs=20 advisor_mode=scan-time; pages_to_scan left to the advisor)" "$LOG" ||
	fail "restore not logged, or it names a pages_to_scan it did not write: $(grep "knobs restored" "$LOG")"

# --- a crash, then --restore (the unit's ExecStopPost) --------------------------
fresh_tree
cp "$C.good" "$C"
: > "$LOG"
start
wait_file "$K/run" 1
$KSMPILOTD --restore -c "$C" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/restore.err"
[ $? = 6 ] || fail "--restore under a running daemon did not refuse with exit 6"
kill -KILL $DPID
wait $DPID 2>/dev/null
untrack $DPID
[ -s "$S/snapshot" ] || fail "snapshot gone after a crash"
# --dry-run writes nothing, so it does not go with --restore, which would
# still remove the snapshot
$KSMPILOTD --restore --dry-run -c "$C" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/restore.err"
[ $? = 2 ] || fail "--restore --dry-run was not refused with exit 2"
[ -s "$S/snapshot" ] || fail "--restore --dry-run removed the snapshot"
$WRAP $KSMPILOTD --restore -c "$C" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/restore.err" ||
	{ cat "$TMPD/restore.err"; fail "--restore failed"; }
[ "$(cat "$K/run")" = 0 ] || fail "--restore: run not restored"
[ "$(cat "$K/advisor_mode")" = scan-time ] || fail "--restore: advisor not restored"
[ -e "$S/snapshot" ] && fail "--restore left the snapshot"
$KSMPILOTD --restore -c "$C" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/restore.err" ||
	fail "--restore without a snapshot failed"
grep -q "nothing to restore" "$TMPD/restore.err" || fail "--restore without a snapshot says nothing"
# a broken config does not stop the restore (defaults, said so)
start
wait_file "$K/run" 1
kill -KILL $DPID
wait $DPID 2>/dev/null
untrack $DPID
echo 1 > "$K/run"
printf '[daemon]\ninterval = 1s\nstate_dir = %s\n[bogus]\n' "$S" > "$TMPD/broken.conf"
$KSMPILOTD --restore -c "$TMPD/broken.conf" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/restore.err" ||
	{ cat "$TMPD/restore.err"; fail "--restore with a broken config failed"; }
grep -q "broken.conf:4: .*bogus" "$TMPD/restore.err" || fail "--restore does not name the error: $(cat "$TMPD/restore.err")"
grep -q "values that parsed .*state_dir $S" "$TMPD/restore.err" || fail "--restore with a broken config says nothing"
[ "$(cat "$K/run")" = 0 ] || fail "--restore with a broken config: the snapshot in the configured state_dir was not applied"
[ -e "$S/snapshot" ] && fail "--restore with a broken config left the snapshot"

# --- --restore refuses a snapshot root cannot trust, or one that does not parse whole
# (exit 1, the reason named, nothing written, the snapshot kept for a look)
echo 1 > "$K/run"
echo 777 > "$K/pages_to_scan"
refused() { # refused TEXT MODE REASON
	printf '%b' "$1" > "$S/snapshot"
	chmod "$2" "$S/snapshot"
	$KSMPILOTD --restore -c "$C" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/restore.err"
	local rc=$?
	[ $rc = 1 ] || fail "--restore of a snapshot with $3 exited $rc, not 1"
	grep -q "refusing the snapshot $S/snapshot: .*$3" "$TMPD/restore.err" ||
		fail "--restore does not say why it refuses ($3): $(cat "$TMPD/restore.err")"
	[ "$(cat "$K/run")/$(cat "$K/pages_to_scan")" = 1/777 ] || fail "--restore wrote a knob from a refused snapshot ($3)"
	[ -e "$S/snapshot" ] || fail "--restore removed a refused snapshot ($3)"
}
refused '# ksmpilot snapshot v1\npid=1\ntime=2\nrun=0\npages_to_scan=4294967295\n' 0644 \
	"line 5: pages_to_scan=4294967295 is not a value the kernel had here"
refused '# ksmpilot snapshot v1\npid=1\ntime=2\nrun=0\n' 0666 "others can write it"
refused '# ksmpilot snapshot v1\npid=1\ntime=2\nrun=0\nrun=1\n' 0644 "line 5: run twice"
refused '# ksmpilot snapshot v1\npid=1\ntime=2\nrun=0\npages_to_scan=100' 0644 "cut short"
if [ "$(id -u)" = 0 ]; then
	printf '# ksmpilot snapshot v1\npid=1\ntime=2\nrun=0\n' > "$S/snapshot"
	chown 65534 "$S/snapshot"
	refused '# ksmpilot snapshot v1\npid=1\ntime=2\nrun=0\n' 0644 "belongs to uid 65534, not to root"
fi
# a snapshot of an earlier boot (a state_dir that outlives a boot): the boot
# reset what it holds, so nothing is written and the snapshot goes
if [ -r /proc/sys/kernel/random/boot_id ]; then
	rm -f "$S/snapshot"
	printf '# ksmpilot snapshot v1\npid=1\ntime=2\nboot_id=0\nrun=0\npages_to_scan=100\n' > "$S/snapshot"
	chmod 0644 "$S/snapshot"
	$KSMPILOTD --restore -c "$C" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/restore.err" ||
		{ cat "$TMPD/restore.err"; fail "--restore of a snapshot of an earlier boot failed"; }
	grep -q "taken before the last boot.*nothing restored" "$TMPD/restore.err" ||
		fail "--restore does not say the snapshot is of an earlier boot: $(cat "$TMPD/restore.err")"
	[ "$(cat "$K/run")/$(cat "$K/pages_to_scan")" = 1/777 ] || fail "--restore wrote a knob from a snapshot of an earlier boot"
	[ -e "$S/snapshot" ] && fail "--restore kept a snapshot of an earlier boot"
fi
rm -f "$S/snapshot"
# a state directory others can write: refused with exit 3
chmod 0777 "$S"
$KSMPILOTD --restore -c "$C" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/restore.err"
rc=$?
[ $rc = 3 ] || fail "--restore in a state directory anyone can write exited $rc, not 3"
grep -q "refusing the state directory: .* can be written by anyone" "$TMPD/restore.err" ||
	fail "--restore does not say why it refuses the directory: $(cat "$TMPD/restore.err")"
chmod 0755 "$S"

# --- a crash, then a restart: restore to the state from before the first -----
fresh_tree
cp "$C.good" "$C"
: > "$LOG"
start
wait_file "$K/run" 1
CRASHED=$DPID
kill -KILL $DPID
wait $DPID 2>/dev/null
untrack $DPID
[ -s "$S/snapshot" ] || fail "snapshot gone after a crash"
: > "$LOG"
start
wait_log "$LOG" "found the snapshot of a previous run \\(pid $CRASHED\\)"
stop TERM
[ "$(cat "$K/run")" = 0 ] || fail "after a crash: run not restored to the original"
[ "$(cat "$K/advisor_mode")" = scan-time ] || fail "after a crash: advisor not restored to the original"

# --- on_exit=stop: run=0 on exit, other knobs restored; SIGINT works too -----
fresh_tree
echo "[none] scan-time" > "$K/advisor_mode"
echo 1 > "$K/run"
fake_conf "$C" "$S" "on_exit = stop
$pressure"
: > "$LOG"
start
wait_log "$LOG" "KSM_PAGES_TO_SCAN|pages/s"
for _ in $(seq 1 300); do [ "$(cat "$K/pages_to_scan")" != 500 ] && break; sleep 0.1; done
[ "$(cat "$K/pages_to_scan")" != 500 ] || fail "pages_to_scan not written in 30 s"
stop INT
[ "$(cat "$K/run")" = 0 ] || fail "on_exit=stop left run=$(cat "$K/run")"
[ "$(cat "$K/pages_to_scan")" = 500 ] || fail "pages_to_scan not restored: $(cat "$K/pages_to_scan")"
[ "$(cat "$K/sleep_millisecs")" = 20 ] || fail "on_exit=stop: sleep_millisecs not restored"
grep -q "knobs restored (run=0 pages_to_scan=500 sleep_millisecs=20 advisor_mode=none)" "$LOG" ||
	fail "on_exit=stop: restore not logged as done: $(grep "knobs restored" "$LOG")"

# --- on_exit=leave: the knobs stay as set -----------------------------------------
# start_leaving: a fresh tree, a daemon with on_exit=leave and its sleep at 333
start_leaving() {
	fresh_tree
	fake_conf "$C" "$S" "on_exit = leave
[scan]
sleep_ms_min = 333
sleep_ms_max = 333
$pressure"
	: > "$LOG"
	start
	wait_file "$K/sleep_millisecs" 333
}
start_leaving
stop TERM
[ "$(cat "$K/run")" = 1 ] || fail "on_exit=leave changed run"
[ "$(cat "$K/sleep_millisecs")" = 333 ] || fail "on_exit=leave changed sleep_millisecs"

# --- SIGHUP and SIGTERM queued together: the reload, then the exit, and no
# tick between them (the reload asks for one at once; signalfd hands over
# SIGHUP first). Stopped with SIGSTOP, the daemon finds both pending when
# it goes on; with on_exit=leave, a tick would leave the new sleep behind.
start_leaving
sed -i 's/^sleep_ms_\(min\|max\) = 333$/sleep_ms_\1 = 444/' "$C"
kill -STOP $DPID
kill -HUP $DPID
kill -TERM $DPID
kill -CONT $DPID
wait $DPID
rc=$?
untrack $DPID
[ $rc = 0 ] || { tail -n 30 "$LOG"; fail "daemon exited $rc after SIGHUP and SIGTERM together"; }
grep -q "configuration reloaded" "$LOG" || { tail -n 30 "$LOG"; fail "the SIGHUP queued before the SIGTERM was not taken"; }
[ "$(cat "$K/sleep_millisecs")" = 333 ] ||
	{ tail -n 30 "$LOG"; fail "a tick ran after SIGTERM: sleep_millisecs=$(cat "$K/sleep_millisecs"), the reloaded 444"; }

# --- dry run: decides and logs, writes nothing, takes no snapshot ---------------
fresh_tree
fake_conf "$C" "$S" "$pressure"
: > "$LOG"
start --dry-run
wait_log "$LOG" "saving [0-9]+ MiB"
sleep 1
stop TERM
[ "$(cat "$K/run")" = 0 ] || fail "dry run wrote run"
[ "$(cat "$K/advisor_mode")" = "none [scan-time]" ] || fail "dry run touched the advisor"
[ ! -e "$S/snapshot" ] || fail "dry run took a snapshot"
echo "daemon: all checks passed"
