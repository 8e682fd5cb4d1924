# status.sh - ksmpilotctl status: exit codes (running, not running, stale),
# a stale state file flagged with where to look, human units, the pressure
# as target/available/short, the same facts in the text and the JSON, the
# options after the command, an overlong --state-dir in every command that
# reads state_dir, and times the calendar cannot hold. On a fake KSM tree;
# needs neither root nor KSM.
. tests/lib.sh
set -u
make_tmp
CTL=$B/ksmpilotctl
K=$TMPD/ksm
S=$TMPD/state
make_fake_ksm "$K"
echo 2621440 > "$K/pages_sharing"      # 10 GiB
# the NUMA hazard counts this machine's nodes: off, whatever they are
echo 0 > "$K/merge_across_nodes"
echo 1000 > "$K/pages_shared"
ctl() { $WRAP $CTL --sysfs-dir "$K" --state-dir "$S" "$@"; }

# options after the command, as before it
$CTL status --sysfs-dir "$K" --state-dir "$S" > "$TMPD/out" 2>&1
[ $? = 5 ] || { cat "$TMPD/out"; fail "status --state-dir DIR (after the command): expected exit 5 (not running)"; }
grep -q "^ksmpilotd   not running" "$TMPD/out" || fail "options after the command: $(cat "$TMPD/out")"

# a --state-dir longer than a state_dir holds is refused, not cut, by
# every command (inspect would write into the cut name, reload wait on it)
long=/$(head -c 300 /dev/zero | tr '\0' d)
for cmd in status reload inspect guests doctor; do
	timeout 20 $CTL $cmd --sysfs-dir "$K" --state-dir "$long" > "$TMPD/out" 2>&1
	[ $? = 2 ] || { cat "$TMPD/out"; fail "$cmd: an overlong --state-dir: expected exit 2"; }
	grep -q "state-dir: longer than 255 bytes" "$TMPD/out" || fail "$cmd: no message for an overlong --state-dir"
done

# human units
ctl status > "$TMPD/out" 2>&1
grep -q "^Saving      10.0 GiB," "$TMPD/out" || fail "saving not in GiB: $(grep Saving "$TMPD/out")"
grep -Eq "^Memory      target [0-9.]+ [KMGT]iB, available [0-9.]+ [KMGT]iB, short " "$TMPD/out" ||
	fail "memory line: $(grep Memory "$TMPD/out")"

# the daemon, under pressure, with the guest scan on
fake_conf "$TMPD/k.conf" "$S" "[memory]
target_available = 100%
guest_cmdline = ^sleep
guest_scan_interval = 10s"
(exec sleep 120) &
track $!
$WRAP $KSMPILOTD -c "$TMPD/k.conf" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/log" &
D=$!
track $D
for _ in $(seq 1 100); do grep -q '^guest_processes=' "$S/state" 2>/dev/null && break; sleep 0.1; done
grep -q '^guest_processes=' "$S/state" || fail "no state file with the guests"
ctl status > "$TMPD/out" 2>&1 || { cat "$TMPD/out"; fail "status with the daemon: exit $?"; }
ctl status --json > "$TMPD/json" || fail "status --json with the daemon: exit $?"
grep -Eq "^Memory      target [0-9.]+ [MG]iB, available [0-9.]+ [KMG]iB, short [0-9.]+ [KMG]iB" "$TMPD/out" ||
	fail "no shortfall shown under pressure: $(grep Memory "$TMPD/out")"
grep -Eq "^ksmpilotd   running, pid $D, started [0-9-]+ [0-9:]+ \(([0-9]+s|[0-9]+min [0-9]+s) ago\)" "$TMPD/out" ||
	fail "started: $(grep ksmpilotd "$TMPD/out")"
# the same facts both ways
json_has() { grep -q -- "$1" "$TMPD/json" || fail "JSON lacks $1: $(cat "$TMPD/json")"; }
text_has() { grep -Eq -- "$1" "$TMPD/out" || fail "text lacks $1: $(cat "$TMPD/out")"; }
g=$(sed -n 's/^guest_processes=//p' "$S/state")
text_has "^Guests      .* resident in $g process(es)? matching guest_cmdline"
json_has "\"guests\": {\"processes\": $g, \"resident_bytes\": [0-9]"
text_has "^Decision    [a-z-]+ since"
json_has '"reason": "[a-z-]*"'
json_has "\"pid\": $D,"
json_has '"sleep_millisecs": '
grep -q '"sleep_ms"' "$TMPD/json" && fail "JSON still names sleep_ms"
json_has '"format": 1, "version": "'
text_has "^Hazards     none"
json_has '"hazards": {"negative_profit": false, "map_count": null, "numa_merge": false}'
text_has "^Terms       error [-+0-9.e]+, "
json_has '"terms": {"error": '

# a minute without a rewrite is not stale yet (an idle daemon writes every 30 s)
kill -STOP $D
sed -i "s/^updated=.*/updated=$(( $(date +%s) - 60 ))/" "$S/state"
ctl status > "$TMPD/out" 2>&1
rc=$?
[ $rc = 0 ] || { cat "$TMPD/out"; fail "a state written 60 s ago: exit $rc, expected 0"; }
grep -q "^STALE" "$TMPD/out" && fail "a state written 60 s ago is called stale"
# an age of minutes keeps its seconds: 1min 35s, not 1min
sed -i "s/^updated=.*/updated=$(( $(date +%s) - 95 ))/" "$S/state"
ctl status > "$TMPD/out" 2>&1
grep -Eq "last updated [0-9]+min [0-9]+s ago" "$TMPD/out" || fail "an age of minutes: $(grep STALE "$TMPD/out")"
# stale: the daemon holds the lock but stopped updating its state file
sed -i "s/^updated=.*/updated=$(( $(date +%s) - 7200 ))/" "$S/state"
ctl status > "$TMPD/out" 2>&1
rc=$?
[ $rc = 6 ] || { cat "$TMPD/out"; fail "a stale state: exit $rc, expected 6"; }
text_has "^STALE       the state file was last updated 2h 0min ago, and should be at least every 30s: ksmpilotd may be hung; look at journalctl -u ksmpilot"
ctl status --json > "$TMPD/json"
[ $? = 6 ] || fail "a stale state, --json: expected exit 6"
json_has '"running": true, "stale": true'
# a time the calendar cannot hold: no garbage, no uninitialised read
sed -i "s/^started=.*/started=9223372036854775807/; s/^decided=.*/decided=-5/" "$S/state"
ctl status > "$TMPD/out" 2>&1
text_has "^ksmpilotd   running, pid $D, started \(invalid time\)$"
text_has "^Decision    [a-z-]+ since \(invalid time\): "
# a state file of another instance, one that died, while this daemon
# holds the lock: not this one's, whatever its pid shows
sed -i "s/^pid=.*/pid=$$/; s/^updated=.*/updated=$(date +%s)/; s/^started=.*/started=$(date +%s)/" "$S/state"
ctl status > "$TMPD/out" 2>&1
rc=$?
[ $rc = 6 ] || { cat "$TMPD/out"; fail "a state file of another instance, the lock held: exit $rc, expected 6"; }
text_has "^ksmpilotd   STALE: a daemon holds the lock in $S, but the state file is from pid $$, another instance"
kill -CONT $D
kill -TERM $D
wait $D; rc=$?; untrack $D; [ $rc = 0 ] || fail "daemon exited $rc"

echo "status: passed"
