# history.sh - the history record end to end, against a real journald: a
# daemon on a fake KSM tree with history_period = 1s writes one summary per
# period and one when it stops; after it has stopped, ksmpilotctl history
# reads them back with sd-journal (text and JSON, from the local journal
# and from --journal-dir) and the figures match what the fake tree did.
# Starts a standalone journald only if none runs. Needs root.
. tests/lib.sh
set -u
require_root
make_tmp
need_journald
CTL="$WRAP $B/ksmpilotctl"
K=$TMPD/ksm
make_fake_ksm "$K"
echo 1000 > "$K/pages_sharing"
echo 10 > "$K/pages_shared"
echo 5 > "$K/full_scans"
echo -200000 > "$K/general_profit"
# log_level = warning: the record is written all the same; idle_interval
# = interval: a period ends at the first tick after it, whatever the
# controller decides about the fake tree (its probe closes after two of
# its full scans, and then the daemon would tick every 2 s)
printf '[daemon]\ninterval = 200ms\nidle_interval = 200ms\nstate_dir = %s\nlog_level = warning\n[memory]\ntarget_available = 100%%\n[metrics]\nhistory_period = 1s\n' \
	"$TMPD/state" > "$TMPD/k.conf"
start=$(date +%s)
# the share of memory not available, before the run and after it
not_available() { awk '/MemTotal/ { t = $2 } /MemAvailable/ { a = $2 } END { print 1 - a / t }' /proc/meminfo; }
na0=$(not_available)
start_daemon "$TMPD/stderr" -c "$TMPD/k.conf" --sysfs-dir "$K" --log-target=journal
wait_file "$K/run" 1
# the kernel side moves on: 3 full scans, pages merged, the profit turns
sleep 1.2
echo 6 > "$K/full_scans"
sleep 0.5
echo 8 > "$K/full_scans"
echo 2000 > "$K/pages_sharing"
echo 4096000 > "$K/general_profit"
sleep 1.3
kill -TERM $D
wait $D; rc=$?; untrack $D; [ $rc = 0 ] || fail "daemon exited $rc"
na1=$(not_available)
# a record forged by another user: anyone may send the MESSAGE_ID and the
# fields, but journald sets _UID; history shows none of it
printf 'MESSAGE=forged\nMESSAGE_ID=27eb3d69c51847cbb6752d84ca60ff1a\nKSM_HISTORY_VERSION=1\nKSM_PERIOD_START=%s\nKSM_PERIOD_SECONDS=1\nKSM_SAVING_BYTES=123456789\nKSM_PERIOD_KSMD_CPU_SECONDS=0\nKSM_PERIOD_FULL_SCANS=0\nKSM_PERIOD_MODE_CHANGES=0\nKSM_PERIOD_PROBES=0\nKSM_PERIOD_PRESSURE_MEAN=0.5\n' \
	"$((start * 1000000))" > "$TMPD/forged"
forged=no
if command -v logger >/dev/null && command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups logger --journald < "$TMPD/forged" ||
		fail "uid 65534 could not send to the journal"
	forged=yes
fi
journald_kept
[ -s "$TMPD/stderr" ] && { cat "$TMPD/stderr"; fail "journal target wrote to stderr"; }
journalctl --sync 2>/dev/null

# the records carry their MESSAGE_ID and fields, whatever log_level says;
# --since: pids wrap (pid_max may be 32768), and an earlier process with
# this pid may have left records of its own
ID=27eb3d69c51847cbb6752d84ca60ff1a
for _ in $(seq 1 50); do
	journalctl -o json --no-pager --since=@$start MESSAGE_ID=$ID _PID=$D > "$TMPD/j.json" 2>/dev/null
	[ "$(wc -l < "$TMPD/j.json")" -ge 3 ] && break
	sleep 0.2
done
n=$(wc -l < "$TMPD/j.json")
[ "$n" -ge 3 ] || fail "expected at least 3 history records from pid $D (2 periods and the stop), got $n"
for f in KSM_HISTORY_VERSION KSM_PERIOD_START KSM_PERIOD_SECONDS KSM_SAVING_BYTES KSM_GENERAL_PROFIT \
	KSM_PERIOD_KSMD_CPU_SECONDS KSM_PERIOD_FULL_SCANS KSM_PERIOD_MODE_CHANGES KSM_PERIOD_PROBES \
	KSM_PERIOD_PRESSURE_MEAN KSM_MODE; do
	head -n 1 "$TMPD/j.json" | grep -q "\"$f\":\"[^\"]" || fail "history record lacks $f: $(head -n 1 "$TMPD/j.json")"
done
grep -q '"PRIORITY":"6"' "$TMPD/j.json" || fail "history record is not at priority info"

# ksmpilotctl history, after the daemon has stopped
if [ $forged = yes ]; then
	for _ in $(seq 1 50); do
		journalctl -o cat --no-pager --since=@$start MESSAGE_ID=$ID _UID=65534 2>/dev/null | grep -q forged && break
		sleep 0.2
	done
	journalctl -o cat --no-pager --since=@$start MESSAGE_ID=$ID _UID=65534 2>/dev/null | grep -q forged ||
		fail "the forged record did not reach the journal"
fi
$CTL history --since=@$start --json > "$TMPD/h.json" || fail "history --json exited $?"
if [ $forged = yes ]; then
	grep -q 123456789 "$TMPD/h.json" && fail "history shows a record another user sent: $(cat "$TMPD/h.json")"
	note "a record sent by uid 65534 with the MESSAGE_ID and every field is in the journal, not in history"
else
	note "no logger --journald or setpriv: no forged record tried"
fi
if command -v python3 >/dev/null; then
	python3 -m json.tool "$TMPD/h.json" > /dev/null || fail "history --json is not valid JSON: $(cat "$TMPD/h.json")"
fi
# this daemon's records, one per line
tr '{' '\n' < "$TMPD/h.json" | grep "\"pid\": $D," > "$TMPD/mine" || fail "no record of pid $D in: $(cat "$TMPD/h.json")"
[ "$(wc -l < "$TMPD/mine")" = "$n" ] || fail "history shows $(wc -l < "$TMPD/mine") records of pid $D, the journal $n"
num() { sed -n "s/.*\"$1\": \([-0-9.e+]*\).*/\1/p"; }
scans=$(num full_scans < "$TMPD/mine" | awk '{ s += $1 } END { print s }')
[ "$scans" = 3 ] || fail "full scans over the records: $scans, the fake tree did 3"
probes=$(num probes < "$TMPD/mine" | awk '{ s += $1 } END { print s }')
[ "$probes" -ge 1 ] || fail "the start is a probe, but the records count $probes"
last=$(tail -n 1 "$TMPD/mine")
[ "$(echo "$last" | num saving_bytes)" = 8192000 ] || fail "the last saving is not 2000 pages: $last"
[ "$(echo "$last" | num general_profit_bytes)" = 4096000 ] || fail "the last profit is not 4096000: $last"
first=$(head -n 1 "$TMPD/mine")
[ "$(echo "$first" | num general_profit_bytes)" = -200000 ] || fail "the first profit is not -200000: $first"
p=$(echo "$first" | num period_seconds)
# a period ends at the first tick after its second: later when the machine stalls
awk -v p="$p" 'BEGIN { exit !(p >= 0.9 && p <= 10) }' || fail "a full period lasted $p s, not 1 s or a little more"
pm=$(echo "$first" | num pressure_mean)
# with the setpoint at MemTotal, the pressure is the share of memory not
# available: within what it was before and after the run (other work on the
# host moves it), give or take 0.05
awk -v p="$pm" -v a="$na0" -v b="$na1" 'BEGIN { lo = a < b ? a : b; hi = a < b ? b : a
	exit !(p > 0 && p > lo - 0.05 && p < hi + 0.05) }' ||
	fail "the mean pressure is $pm; with target_available = 100% it should be within $na0 and $na1"

# the text: a trend line for each, and one row per record
LC_ALL=C.UTF-8 $CTL history --since=@$start > "$TMPD/h.txt" || fail "history exited $?"
grep -q "^saving    .*[▁▂▃▄▅▆▇█]" "$TMPD/h.txt" || fail "no saving sparkline: $(cat "$TMPD/h.txt")"
grep -q "^ksmd CPU  " "$TMPD/h.txt" || fail "no ksmd CPU sparkline"
grep -q "^period ending" "$TMPD/h.txt" || fail "no table header"
[ "$(grep -c ' 7\.8 ' "$TMPD/h.txt")" -ge 1 ] || fail "no row shows the 7.8 MiB saving: $(cat "$TMPD/h.txt")"
LC_ALL=C $CTL history --since=@$start > "$TMPD/h.ascii"
grep -q "^saving    [_.:=+*#-]" "$TMPD/h.ascii" || fail "the C locale does not get an ASCII sparkline"
LC_ALL=C grep -q $'[\x80-\xff]' "$TMPD/h.ascii" && fail "non-ASCII output in the C locale"

# --journal-dir reads the journal files themselves: those of this machine,
# in /var/log/journal when the journal is kept, else in /run/log/journal
mid=$(cat /etc/machine-id 2>/dev/null)
found=""
for jdir in /var/log/journal/$mid /run/log/journal/$mid; do
	[ -n "$mid" ] && [ -d "$jdir" ] || continue
	$CTL history --journal-dir "$jdir" --since=@$start --json > "$TMPD/d.json" || fail "--journal-dir $jdir exited $?"
	grep -q "\"pid\": $D," "$TMPD/d.json" && found=$jdir && break
done
[ -n "$found" ] || fail "history --journal-dir shows the records of pid $D from neither /var/log/journal/$mid nor /run/log/journal/$mid"
$CTL history --journal-dir "$TMPD/none" > /dev/null 2>&1; [ $? = 1 ] || fail "a missing journal directory: not exit 1"
$CTL history --since=lastweek > /dev/null 2>&1; [ $? = 2 ] || fail "a bad --since: not exit 2"
$CTL history --window 1 > /dev/null 2>&1; [ $? = 2 ] || fail "an option of another command: not exit 2"
# nothing in the future
$CTL history --since=@$(( $(date +%s) + 3600 )) > "$TMPD/empty" || fail "an empty history exited $?"
grep -q "^no history records since" "$TMPD/empty" || fail "an empty history says nothing: $(cat "$TMPD/empty")"
echo "history: passed"
