# journal.sh - --log-target=journal sends records with SYSLOG_IDENTIFIER,
# PRIORITY, MESSAGE_ID and the documented structured fields; read back with
# journalctl -o json. Starts a standalone journald only if none is running,
# and stops that same one afterwards. Uses a fake KSM tree.
. tests/lib.sh
set -u
require_root
make_tmp
need_journald

K=$TMPD/ksm
make_fake_ksm "$K"
echo "none [scan-time]" > "$K/advisor_mode"
fake_conf "$TMPD/k.conf" "$TMPD/state" "[memory]
target_available = 100%"
start=$(date +%s)
start_daemon "$TMPD/stderr" -c "$TMPD/k.conf" --sysfs-dir "$K" --log-target=journal
wait_file "$K/run" 1
sleep 1
kill -TERM $D
wait $D; rc=$?; untrack $D; [ $rc = 0 ] || fail "daemon exited $rc"
journald_kept
[ -s "$TMPD/stderr" ] && { cat "$TMPD/stderr"; fail "journal target wrote to stderr"; }

journalctl --sync 2>/dev/null
J="$TMPD/j.json"
# --since: pids wrap (pid_max may be 32768), and an earlier daemon with
# this pid may have left records of its own
for _ in $(seq 1 50); do
	journalctl -o json --no-pager --since=@$start SYSLOG_IDENTIFIER=ksmpilotd _PID=$D > "$J" 2>/dev/null
	grep -q '"KSM_REASON"' "$J" && grep -q 'stopped after' "$J" && break
	sleep 0.2
done
[ -s "$J" ] || fail "no records from pid $D in the journal"
decision=$(grep '"KSM_RUN"' "$J" | head -n 1)
[ -n "$decision" ] || fail "no decision record"
for f in KSM_RUN KSM_PAGES_TO_SCAN KSM_SLEEP_MS KSM_REASON KSM_MEM_AVAILABLE_BYTES KSM_PAGES_SHARING \
	KSM_PAGES_UNSHARED KSM_PAGES_VOLATILE KSMD_CPU_PERCENT KSM_EFFORT KSM_EFFORT_PROBE KSM_BENEFIT PRIORITY; do
	echo "$decision" | grep -q "\"$f\":\"[^\"]" || fail "decision record lacks $f: $decision"
done
echo "$decision" | grep -q '"KSM_RUN":"1"' || fail "KSM_RUN is not 1: $decision"
echo "$decision" | grep -q '"SYSLOG_IDENTIFIER":"ksmpilotd"' || fail "no SYSLOG_IDENTIFIER"
grep '"switching it off' "$J" > /dev/null || grep -q 'switching it off' "$J" || fail "advisor message missing"
grep 'switching it off' "$J" | grep -q '"MESSAGE_ID":"7baaa8ff00254759b272184d3eb0c628"' ||
	fail "advisor message has no MESSAGE_ID"

# a configuration that does not parse: its errors go to the journal at
# priority err, each naming the file and line, so that journalctl -p err
# shows why the service did not start
printf '[daemon]\ninterval = soon\n' > "$TMPD/bad.conf"
start=$(date +%s)
$KSMPILOTD -c "$TMPD/bad.conf" --sysfs-dir "$K" --log-target=journal 2> "$TMPD/bad.err" &
B=$!
wait $B; rc=$?
[ $rc = 3 ] || fail "a bad configuration: exit $rc, not 3"
[ -s "$TMPD/bad.err" ] && { cat "$TMPD/bad.err"; fail "a bad configuration's errors went to stderr"; }
journalctl --sync 2>/dev/null
for _ in $(seq 1 50); do
	journalctl -o json --no-pager --since=@$start SYSLOG_IDENTIFIER=ksmpilotd _PID=$B > "$J" 2>/dev/null
	grep -q 'bad.conf:2' "$J" && break
	sleep 0.2
done
grep 'bad.conf:2' "$J" | grep -q '"PRIORITY":"3"' || { cat "$J"; fail "the configuration error is not in the journal at priority err"; }
# the same with stderr the journal's stream, as under the unit (systemd-cat
# connects it; the unit's $JOURNAL_STREAM is made by hand): the errors go
# through the stream, which journald ties to the unit, at priority err
if command -v systemd-cat > /dev/null; then
	tag=ksmpilot-test-$$
	start=$(date +%s)
	# shellcheck disable=SC2016 # expanded by the inner shell
	systemd-cat -t "$tag" -- sh -c 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$@"' sh \
		$KSMPILOTD -c "$TMPD/bad.conf" --sysfs-dir "$K"
	rc=$?
	[ $rc = 3 ] || fail "a bad configuration under a journal stream: exit $rc, not 3"
	journalctl --sync 2>/dev/null
	for _ in $(seq 1 50); do
		journalctl -o json --no-pager --since=@$start SYSLOG_IDENTIFIER="$tag" > "$J" 2>/dev/null
		grep -q 'bad.conf:2' "$J" && break
		sleep 0.2
	done
	grep 'bad.conf:2' "$J" | grep -q '"_TRANSPORT":"stdout"' ||
		{ cat "$J"; fail "the configuration error did not go through the journal stream"; }
	grep 'bad.conf:2' "$J" | grep -q '"PRIORITY":"3"' ||
		{ cat "$J"; fail "the configuration error is not at priority err on the journal stream"; }
	grep 'bad.conf:2' "$J" | grep -q '"MESSAGE":"<3>' && fail "the priority prefix was logged as text"
fi
echo "journal: passed"
