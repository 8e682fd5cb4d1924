# storm.sh - thousands of SIGHUPs, one in four with a broken config,
# interleaved with ticks at 100 ms, then SIGTERM. The daemon never crashes,
# ends on the last good config, exits 0 with on_exit applied; its open file
# descriptors stay constant and its RSS grows by less than 256 KiB after
# warm-up. Signals coalesce, so each SIGHUP waits for the reload counter in
# the log to move. KSMPILOT_TEST_SCALE shortens it. Fake KSM tree; no root.
. tests/lib.sh
set -u
make_tmp
K=$TMPD/ksm
make_fake_ksm "$K"
N=$(awk -v s="${KSMPILOT_TEST_SCALE:-1}" 'BEGIN { n = int(2000 * s); print (n < 40 ? 40 : n) }')
C=$TMPD/k.conf
LOG=$TMPD/log
good() { # good SLEEP: a valid config with both sleep bounds at SLEEP
	printf '[daemon]\ninterval = 100ms\nstate_dir = %s\nlog_level = info\n[memory]\ntarget_available = 100%%\n[scan]\nsleep_ms_min = %s\nsleep_ms_max = %s\n' \
		"$TMPD/state" "$1" "$1" > "$C.new" && mv "$C.new" "$C"
}
bad() {
	printf '[daemon]\ninterval = soon\n[scan]\nsleep_ms_min = 1\n' > "$C.new" && mv "$C.new" "$C"
}
reloads() { grep -c "reload #" "$LOG"; }

good 500
$WRAP $KSMPILOTD -c "$C" --sysfs-dir "$K" --log-target=stderr 2> "$LOG" &
D=$!
track $D
wait_file "$K/sleep_millisecs" 500

fds() { ls /proc/$D/fd | wc -l; }
rss() { awk '/^VmRSS/ {print $2}' /proc/$D/status; }
last_good=500
for i in $(seq 1 "$N"); do
	before=$(reloads)
	if [ $((i % 4)) = 0 ]; then
		bad
	else
		last_good=$((100 + i % 800))
		good $last_good
	fi
	kill -HUP $D || fail "daemon gone at SIGHUP $i"
	for _ in $(seq 1 500); do
		[ "$(reloads)" -gt "$before" ] && break
		sleep 0.01
	done
	[ "$(reloads)" -gt "$before" ] || fail "reload $i never logged"
	if [ "$i" = 50 ]; then # warm-up done
		fds0=$(fds)
		rss0=$(rss)
	fi
done
kill -0 $D || fail "daemon died during the storm"
# one more broken reload: the last good config stays in effect
bad
kill -HUP $D
wait_log "$LOG" "reload #$((N + 1)) failed"
wait_file "$K/sleep_millisecs" $last_good
fds1=$(fds)
rss1=$(rss)
note "$N reloads; fds $fds0 -> $fds1; RSS $rss0 -> $rss1 KiB"
[ "$fds1" = "$fds0" ] || fail "open file descriptors went from $fds0 to $fds1"
# valgrind and ASan hold freed memory in quarantine: RSS says nothing there
if [ -z "${KSMPILOT_WRAP:-}" ] && ! ldd "$KSMPILOTD" 2>/dev/null | grep -q libasan; then
	[ $((rss1 - rss0)) -lt 256 ] || fail "RSS grew by $((rss1 - rss0)) KiB after warm-up"
fi
failed=$(grep -c "reload #[0-9]* failed" "$LOG")
[ "$failed" -ge $((N / 4)) ] || fail "only $failed failed reloads logged"
grep -q "KSM_REASON\|saving" "$LOG" || fail "no tick ran during the storm"

kill -TERM $D
wait $D
rc=$?
untrack $D
[ $rc = 0 ] || { tail -n 20 "$LOG"; fail "exit $rc after SIGTERM"; }
[ "$(cat "$K/run")" = 0 ] || fail "on_exit: run not restored"
[ "$(cat "$K/sleep_millisecs")" = 20 ] || fail "on_exit: sleep_millisecs not restored"
grep -q "knobs restored" "$LOG" || fail "on_exit not logged"
echo "storm: passed ($N reloads)"
