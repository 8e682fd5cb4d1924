# doctor.sh - `ksmpilotctl doctor` on the command line, on a fake KSM, /proc
# and /sys tree: exit 0 with a real ksmpilotd running on that tree and
# nothing wrong, exit 1 and the finding once it has stopped and left KSM
# stopped, valid JSON with the same findings, a read-only KSM directory
# (as root: a read-only bind mount in a private mount namespace), bad
# usage, and --window 0. Every finding is tested on its own in
# tests/test_doctor.c.
. tests/lib.sh
set -u
make_tmp
CTL=$B/ksmpilotctl
K=$TMPD/sys/kernel/mm/ksm
P=$TMPD/proc
S=$TMPD/state
make_fake_ksm "$K"
echo 156000 > "$K/pages_sharing"
echo 600 > "$K/pages_shared"
echo 600000000 > "$K/general_profit"
mkdir -p "$TMPD/sys/devices/system/node/node0" "$TMPD/sys/kernel/mm/transparent_hugepage" "$P/sys/vm" "$P/2" "$P/300"
echo "always [madvise] never" > "$TMPD/sys/kernel/mm/transparent_hugepage/enabled"
echo 65530 > "$P/sys/vm/max_map_count"
echo ksmd > "$P/2/comm"
echo "2 (ksmd) S 2 0 0 0 -1 2097216 0 0 0 0 500 20 0 0 25 5 1 0 30 0 0" > "$P/2/stat"
# a process with merged memory
echo redis-server > "$P/300/comm"
printf 'redis-server\0*:6379\0' > "$P/300/cmdline"
printf 'ksm_rmap_items 200000\nksm_zero_pages 0\nksm_merging_pages 150000\nksm_process_profit 600000000\nksm_merge_any: yes\nksm_mergeable: yes\n' > "$P/300/ksm_stat"
echo "00400000-00500000 r-xp 00000000 00:00 0" > "$P/300/maps"
doc() { $WRAP $CTL --sysfs-dir "$K" --proc-dir "$P" --sys-dir "$TMPD/sys" --state-dir "$S" --window 1s "$@"; }

# bad usage
doc doctor extra > /dev/null 2>&1; [ $? = 2 ] || fail "an extra argument: not exit 2"
doc doctor --window forever > /dev/null 2>&1; [ $? = 2 ] || fail "a bad --window: not exit 2"
doc doctor --since -1d > /dev/null 2>&1; [ $? = 2 ] || fail "an option of another command: not exit 2"

# ksmpilotd runs on this tree and keeps KSM running: nothing needs action
fake_conf "$TMPD/k.conf" "$S" "[memory]
target_available = 100%"
start_daemon "$TMPD/log" -c "$TMPD/k.conf" --sysfs-dir "$K" --log-target=stderr
wait_file "$K/run" 1
for _ in $(seq 1 50); do [ -s "$S/state" ] && break; sleep 0.1; done
doc doctor > "$TMPD/out" 2>&1
rc=$?
[ $rc = 0 ] || { cat "$TMPD/out"; fail "a healthy tree with ksmpilotd running: exit $rc, not 0"; }
grep -q "^Nothing needs action (exit status 0)" "$TMPD/out" || fail "no verdict line: $(tail -n 3 "$TMPD/out")"
grep -q "^  \[ok\]   ksm-run: ksmd is running (run=1)" "$TMPD/out" || fail "run=1 not reported: $(cat "$TMPD/out")"
grep -q "^  \[ok\]   mergeable-memory: 1 process has mergeable memory" "$TMPD/out" ||
	fail "the mergeable process not seen: $(cat "$TMPD/out")"
doc doctor --json > "$TMPD/json" || fail "doctor --json: exit $?"
grep -q '"healthy": true' "$TMPD/json" || fail "JSON: healthy is not true"
n=$(grep -o '"id": "[a-z-]*"' "$TMPD/json" | sort -u | wc -l)
[ "$n" -ge 11 ] || fail "JSON: $n finding ids, fewer than the checks: $(cat "$TMPD/json")"
if command -v python3 >/dev/null; then
	python3 -m json.tool "$TMPD/json" > /dev/null || fail "doctor --json is not valid JSON: $(cat "$TMPD/json")"
fi

# it stops and restores run=0: KSM stopped, no tuner: action, exit 1
kill -TERM $D
wait $D; rc=$?; untrack $D; [ $rc = 0 ] || fail "daemon exited $rc"
[ "$(cat "$K/run")" = 0 ] || fail "the daemon did not restore run=0"
doc doctor > "$TMPD/out" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$TMPD/out"; fail "KSM stopped without ksmpilotd: exit $rc, not 1"; }
grep -q "^\[ACTION\] ksm-run: KSM is stopped (run=0) and ksmpilotd is not running" "$TMPD/out" ||
	fail "the stopped KSM is not the finding: $(cat "$TMPD/out")"
head -n 1 "$TMPD/out" | grep -q '^\[ACTION\]' || fail "the action does not come first"
grep -q "^         fix:      Start the tuner" "$TMPD/out" || fail "no fix given"
grep -q "^  \[ok\]   ksmd-busy: ksmd is quiet" "$TMPD/out" || fail "--window 1s: ksmd-busy not checked: $(cat "$TMPD/out")"
doc doctor --json > "$TMPD/json"; [ $? = 1 ] || fail "doctor --json with an action: not exit 1"
grep -q '"healthy": false' "$TMPD/json" || fail "JSON: healthy is not false"
grep -q '"id": "ksm-run", "severity": "action"' "$TMPD/json" || fail "JSON: the ksm-run action is missing"

# --window 0: one sample, no wait; the check that needs two says it was not made
doc doctor --window 0 > "$TMPD/out" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$TMPD/out"; fail "--window 0, KSM stopped: exit $rc, not 1"; }
grep -q "^\[ACTION\] ksm-run: KSM is stopped (run=0)" "$TMPD/out" || fail "--window 0: no ksm-run finding: $(cat "$TMPD/out")"
grep -q "^\[info\]   ksmd-busy: Not checked whether ksmd works without progress" "$TMPD/out" &&
	grep -q "evidence: the window was too short" "$TMPD/out" ||
	fail "--window 0: ksmd-busy not said to be unchecked: $(cat "$TMPD/out")"

# KSM missing
doc --sysfs-dir "$TMPD/none" doctor > "$TMPD/out" 2>&1; [ $? = 1 ] || fail "no KSM: not exit 1"
grep -q "^\[ACTION\] ksm-missing: This kernel has no KSM" "$TMPD/out" || fail "ksm-missing not reported"

# a read-only KSM directory, as in a container
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	echo 1 > "$K/run"
	if unshare -m sh -c "mount --bind '$K' '$K' && mount -o remount,bind,ro '$K' && \
		$CTL --sysfs-dir '$K' --proc-dir '$P' --sys-dir '$TMPD/sys' --state-dir '$S' --window 0 doctor" \
		> "$TMPD/out" 2>&1; then
		cat "$TMPD/out"; fail "a read-only KSM directory: exit 0"
	fi
	if grep -q "cannot.*mount\|permission denied" "$TMPD/out"; then
		note "no private mount namespace here: the read-only case is covered by test_doctor only"
	else
		grep -q "^\[ACTION\] ksm-read-only: The KSM knobs cannot be written" "$TMPD/out" ||
			fail "read-only not reported: $(cat "$TMPD/out")"
		grep -q "Read-only file system" "$TMPD/out" || fail "EROFS not in the evidence"
	fi
fi
echo "doctor: passed"
