# hostile-names.sh - text another user controls, end to end: a process
# whose name holds an escape sequence, a newline and bytes that are not
# UTF-8, with mergeable memory (a copy of tests/workload.c under that
# name), and a configuration path with such bytes. ksmpilotctl inspect
# records the name sanitised; ksmpilotd takes it into its state file and
# its log without a control character; status and status --json print no
# escape, not even of the configuration path, and the JSON is valid JSON
# and UTF-8.
# Needs neither root nor KSM: the workload only marks its own memory
# mergeable, and the daemon runs on a fake KSM tree.
. tests/lib.sh
set -u
make_tmp
CTL=$B/ksmpilotctl
K=$TMPD/ksm
S=$TMPD/state
make_fake_ksm "$K"
ESC=$(printf '\033')

# a process named "\e]0;x\a\nk=v\xff" (comm keeps 15 bytes of the name)
EVIL="$TMPD/$(printf '\033]0;x\007\nk=v\377')"
cp "$WORKLOAD" "$EVIL"
"$EVIL" -s 1 -p 1 -t 120 -f "$TMPD/wl.pid" > /dev/null 2>&1 &
track $!
for _ in $(seq 1 100); do [ -s "$TMPD/wl.pid" ] && break; sleep 0.1; done
WL=$(head -n 1 "$TMPD/wl.pid")
[ -n "$WL" ] || fail "the workload did not start"
grep -q "ksm_mergeable: yes" "/proc/$WL/ksm_stat" 2>/dev/null ||
	skip "this kernel shows no ksm_mergeable in /proc/PID/ksm_stat (before 6.x): nothing marks the process as a KSM user"

# a configuration path with an escape and bytes that are not UTF-8
CD="$TMPD/$(printf 'c\033[31m\377')"
mkdir -p "$CD"
C="$CD/k.conf"
fake_conf "$C" "$S" "[memory]
target_available = 100%"

$WRAP $CTL -c "$C" inspect > "$TMPD/inspect.out" 2>&1 || { cat "$TMPD/inspect.out"; fail "inspect failed"; }
rec=$(sed -n "/^pid=$WL\$/,/^maps=/p" "$S/processes")
[ -n "$rec" ] || fail "inspect did not record the workload (pid $WL)"
echo "$rec" | grep -qx 'comm=?]0;x??k=v?' || fail "comm not sanitised as expected: $(echo "$rec" | grep '^comm=' | od -c | head -3)"
grep -q "$ESC" "$S/processes" && fail "an escape character reached the processes file"
[ "$(grep -c '^pid=' "$S/processes")" = "$(sed -n 's/^processes=//p' "$S/processes")" ] ||
	fail "a newline in a name added a record or a key"
grep -q "$ESC" "$TMPD/inspect.out" && fail "an escape character reached inspect's output"

# the daemon takes the file: the worst process's name in its state file,
# without a control character. It names a process only while it is near
# vm.max_map_count: the file keeps that process alone (others of the host
# may have more mappings), and its limit is made that process's mappings.
maps=$(echo "$rec" | sed -n 's/^maps=//p')
{
	sed -n '1,/^processes=/p' "$S/processes" | sed "s/^processes=.*/processes=1/; s/^max_map_count=.*/max_map_count=$maps/"
	echo "$rec"
} > "$TMPD/processes"
cat "$TMPD/processes" > "$S/processes" # its mode and owner kept
$WRAP $KSMPILOTD -c "$C" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/log" &
D=$!
track $D
for _ in $(seq 1 100); do grep -qx inspect=fresh "$S/state" 2>/dev/null && break; sleep 0.1; done
grep -qx inspect=fresh "$S/state" || { cat "$TMPD/log"; fail "the daemon did not take the processes file: $(grep '^inspect' "$S/state")"; }
grep -q "^map_count_pid=$WL$" "$S/state" || fail "the process near the limit is not named: $(grep '^map_count' "$S/state")"
grep -qx 'map_count_comm=?]0;x??k=v?' "$S/state" || fail "map_count_comm: $(grep '^map_count_comm' "$S/state")"
# (the configuration path is the administrator's text, written as given;
# what status prints of it is checked below)
grep -q "$ESC]0;x" "$S/state" && fail "the process name's escape reached the state file"
grep -q "$ESC]0;x" "$TMPD/log" && fail "the process name's escape reached the log"

# status, text and JSON
$WRAP $CTL -c "$C" --sysfs-dir "$K" status > "$TMPD/status" 2>&1
grep -q "$ESC" "$TMPD/status" && fail "an escape character reached status"
$WRAP $CTL -c "$C" --sysfs-dir "$K" status --json > "$TMPD/json" 2> "$TMPD/json.err"
grep -q "$ESC" "$TMPD/json" && fail "an escape character reached status --json"
if command -v python3 > /dev/null; then
	python3 -c 'import json, sys; json.loads(open(sys.argv[1], "rb").read().decode("utf-8", "strict"))' "$TMPD/json" ||
		fail "status --json is not valid JSON in valid UTF-8: $(od -c "$TMPD/json" | head -5)"
fi
kill -TERM $D
wait $D; rc=$?; untrack $D; [ $rc = 0 ] || fail "daemon exited $rc"
echo "hostile-names: passed"
