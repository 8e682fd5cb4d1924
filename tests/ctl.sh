# ctl.sh - ksmpilotctl status (text and JSON) with and without the daemon,
# the state file and the Prometheus textfile end to end, on a fake KSM tree.
# Needs neither root nor KSM.
. tests/lib.sh
set -u
make_tmp
CTL=$B/ksmpilotctl
K=$TMPD/ksm
S=$TMPD/state
make_fake_ksm "$K"
echo 156000 > "$K/pages_sharing"
echo 600 > "$K/pages_shared"
ctl() { $WRAP $CTL --sysfs-dir "$K" --state-dir "$S" "$@"; }

# usage and errors
$CTL > /dev/null 2>&1; [ $? = 2 ] || fail "no command: expected exit 2"
$CTL frobnicate > /dev/null 2>&1; [ $? = 2 ] || fail "unknown command: expected exit 2"
$CTL --sysfs-dir "$TMPD/none" --state-dir "$S" status > /dev/null 2>&1; [ $? = 4 ] || fail "no KSM: expected exit 4"
$CTL --help | grep -q "import-ksmtuned" || fail "--help lacks import-ksmtuned"
for d in "" run/ksmpilot /run/../tmp/x; do
	$CTL --sysfs-dir "$K" --state-dir "$d" status > /dev/null 2> "$TMPD/err"
	[ $? = 2 ] || fail "--state-dir '$d': expected exit 2"
	grep -q "^ksmpilotctl: --state-dir: '$d' is not an absolute path" "$TMPD/err" ||
		{ cat "$TMPD/err"; fail "--state-dir '$d': not said"; }
done

# a broken configuration: every error said (the ones past the table
# counted), then the defaults, with the state directory in use
{ echo "[daemon]"; for i in $(seq 1 40); do echo "bogus$i = 1"; done; } > "$TMPD/bad.conf"
$CTL --sysfs-dir "$K" --state-dir "$S" -c "$TMPD/bad.conf" status > /dev/null 2> "$TMPD/err"
[ "$(grep -c "^$(shown "$TMPD/bad.conf"):[0-9]*: unknown key" "$TMPD/err")" = 32 ] || { cat "$TMPD/err"; fail "broken config: not 32 errors"; }
grep -qx "ksmpilotctl: and 8 more errors" "$TMPD/err" || { cat "$TMPD/err"; fail "broken config: the errors past 32 not counted"; }
grep -qx "ksmpilotctl: using the defaults (state directory $S)" "$TMPD/err" ||
	{ cat "$TMPD/err"; fail "broken config: not the --state-dir in use"; }

# without the daemon: the kernel side, and "not running" (exit 5)
ctl status > "$TMPD/out" 2>&1
[ $? = 5 ] || { cat "$TMPD/out"; fail "status without the daemon: expected exit 5"; }
grep -q "^ksmpilotd   not running" "$TMPD/out" || fail "status does not say the daemon is not running"
grep -q "^Saving      609.4 MiB" "$TMPD/out" || fail "status does not show the saving: $(grep Saving "$TMPD/out")"
grep -q "^Kernel .*has general_profit" "$TMPD/out" || fail "status does not list the features"
ctl status --json > "$TMPD/json"
[ $? = 5 ] || fail "status --json without the daemon: expected exit 5"
grep -q '"running": false' "$TMPD/json" || fail "JSON: running is not false"
grep -q '"pages_sharing": 156000' "$TMPD/json" || fail "JSON: pages_sharing"
if command -v python3 >/dev/null; then
	python3 -m json.tool "$TMPD/json" > /dev/null || fail "status --json is not valid JSON: $(cat "$TMPD/json")"
fi

# with the daemon: its decision, terms and counters; the textfile
fake_conf "$TMPD/k.conf" "$S" "[memory]
target_available = 100%
[metrics]
textfile = $TMPD/ksmpilot.prom"
$WRAP $KSMPILOTD -c "$TMPD/k.conf" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/log" &
D=$!
track $D
# the state file is written before the textfile, at the same tick
for _ in $(seq 1 300); do [ -s "$S/state" ] && [ -s "$TMPD/ksmpilot.prom" ] && break; sleep 0.1; done
[ -s "$S/state" ] || fail "no state file in 30 s"
[ -s "$TMPD/ksmpilot.prom" ] || fail "no textfile in 30 s"
head -n 1 "$S/state" | grep -q "^# ksmpilot state v1" || fail "state file header"
ctl status > "$TMPD/out" 2>&1 || fail "status failed with the daemon (exit $?)"
grep -q "^ksmpilotd   running, pid $D" "$TMPD/out" || { cat "$TMPD/out"; fail "status does not see the daemon"; }
grep -Eq "^Decision    [a-z-]+ since" "$TMPD/out" || { cat "$TMPD/out"; fail "status does not show the decision"; }
grep -q "^Terms       error" "$TMPD/out" || fail "status does not show the terms"
ctl status --json > "$TMPD/json"
grep -q '"running": true' "$TMPD/json" || fail "JSON: running is not true"
grep -q "\"pid\": $D" "$TMPD/json" || fail "JSON: pid"
grep -Eq '"reason": "[a-z-]+"' "$TMPD/json" || fail "JSON: reason"
if command -v python3 >/dev/null; then
	python3 -m json.tool "$TMPD/json" > /dev/null || fail "status --json is not valid JSON: $(cat "$TMPD/json")"
fi
[ "$(stat -c %a "$TMPD/ksmpilot.prom")" = 644 ] || fail "textfile mode is not 0644"
grep -q '^ksmpilot_setpoint_bytes [0-9]*$' "$TMPD/ksmpilot.prom" || fail "textfile lacks the setpoint"
grep -Eq '^ksmpilot_decision_reason\{reason="[a-z-]+"\} 1$' "$TMPD/ksmpilot.prom" || fail "textfile lacks the reason"
cp "$S/state" "$TMPD/state.saved"

kill -TERM $D
wait $D; rc=$?; untrack $D; [ $rc = 0 ] || fail "daemon exited $rc"
[ -e "$S/state" ] && fail "state file left after exit"
[ -e "$TMPD/ksmpilot.prom" ] && fail "textfile left after exit"

# a state file left by a daemon that died: not running
cp "$TMPD/state.saved" "$S/state"
ctl status > "$TMPD/out" 2>&1
[ $? = 5 ] || fail "a state file left behind: expected exit 5"
grep -q "^ksmpilotd   not running (a state file from pid $D remains)" "$TMPD/out" ||
	fail "a state file left behind not recognised: $(cat "$TMPD/out")"
# import-ksmtuned: the output passes ksmpilotd --check-config; problems go to
# stderr as FILE:LINE and give exit 3; an unreadable file gives exit 1
cat > "$TMPD/ksmtuned.conf" <<'EOC'
# Configuration file for ksmtuned.
KSM_MONITOR_INTERVAL=60
export KSM_NPAGES_MAX="2500"   # more
KSM_THRES_COEF='25'
DEBUG=1
EOC
$CTL import-ksmtuned "$TMPD/ksmtuned.conf" > "$TMPD/imported.conf" 2> "$TMPD/imp.err" || fail "import exited $?"
$KSMPILOTD --check-config -c "$TMPD/imported.conf" > /dev/null || fail "imported config does not pass --check-config"
$KSMPILOTD --dump-config -c "$TMPD/imported.conf" > "$TMPD/dump"
grep -qx "pages_to_scan_max = 2500" "$TMPD/dump" || fail "KSM_NPAGES_MAX not imported"
grep -qx "target_available = 25%" "$TMPD/dump" || fail "KSM_THRES_COEF not imported"
grep -qx "log_level = info" "$TMPD/dump" || fail "DEBUG=1 is not imported as info"
grep -q "^# DEBUG=1 (line 5): " "$TMPD/imported.conf" || fail "DEBUG=1 has no note"
# standard input, and -o FILE: the same output, written whole
$CTL import-ksmtuned - < "$TMPD/ksmtuned.conf" > "$TMPD/stdin.conf" 2>/dev/null || fail "import from - exited $?"
diff <(sed -n '/^\[daemon\]/,$p' "$TMPD/imported.conf") <(sed -n '/^\[daemon\]/,$p' "$TMPD/stdin.conf") > /dev/null ||
	fail "import from - differs"
# a pipe named as a file (<(ssh node cat /etc/ksmtuned.conf)): read as a stream
$CTL import-ksmtuned <(cat "$TMPD/ksmtuned.conf") > "$TMPD/pipe.conf" 2> "$TMPD/pipe.err" ||
	fail "import from a pipe exited $?: $(cat "$TMPD/pipe.err")"
diff <(sed -n '/^\[daemon\]/,$p' "$TMPD/imported.conf") <(sed -n '/^\[daemon\]/,$p' "$TMPD/pipe.conf") > /dev/null ||
	fail "import from a pipe differs"
# and a named FIFO, its writer started first
mkfifo "$TMPD/fifo"
cat "$TMPD/ksmtuned.conf" > "$TMPD/fifo" &
timeout 10 $CTL import-ksmtuned "$TMPD/fifo" > "$TMPD/fifo.conf" 2> "$TMPD/fifo.err" ||
	fail "import from a FIFO exited $?: $(cat "$TMPD/fifo.err")"
wait
diff <(sed -n '/^\[daemon\]/,$p' "$TMPD/imported.conf") <(sed -n '/^\[daemon\]/,$p' "$TMPD/fifo.conf") > /dev/null ||
	fail "import from a FIFO differs"
$CTL import-ksmtuned -o "$TMPD/o.conf" "$TMPD/ksmtuned.conf" > "$TMPD/o.out" 2>/dev/null || fail "import -o exited $?"
[ -s "$TMPD/o.out" ] && fail "import -o also wrote to standard output"
cmp -s "$TMPD/o.conf" "$TMPD/imported.conf" || fail "import -o FILE differs from standard output"
$CTL import-ksmtuned "$TMPD/ksmtuned.conf" -o "$TMPD/no-dir/o.conf" > /dev/null 2>&1
[ $? = 1 ] || fail "import -o into a missing directory: expected exit 1"
$CTL status -o "$TMPD/x" > /dev/null 2>&1
[ $? = 2 ] || fail "status -o: expected exit 2"
# every key of the catalogue is in the output, as in the shipped file
$KSMPILOTD --list-config-keys | while read -r k; do
	grep -Eq "^;?$k = " "$TMPD/imported.conf" || fail "the import lacks $k"
done || exit 1
# and what ksmtuned's rule makes of the QEMU processes running
(exec -a /usr/libexec/qemu-kvm sleep 60) &
track $!
for _ in $(seq 1 50); do grep -q qemu-kvm /proc/$!/cmdline 2>/dev/null && break; sleep 0.1; done
$CTL import-ksmtuned "$TMPD/ksmtuned.conf" > "$TMPD/q.conf" 2> "$TMPD/q.err" || fail "import with a QEMU process exited $?"
grep -q "warning: ksmtuned's pattern .* matches [0-9]* of the [1-9][0-9]* QEMU processes running now" "$TMPD/q.err" ||
	fail "the import does not count the QEMU processes: $(cat "$TMPD/q.err")"
tr '\n' ' ' < "$TMPD/q.conf" | grep -q "Of the [1-9][0-9]* QEMU processes running at the import" ||
	fail "the output does not count the QEMU processes"
grep -q "ksmtuned.conf:2: warning: .*KSM_MONITOR_INTERVAL" "$TMPD/imp.err" || fail "meaningless setting not reported"
echo 'KSM_NPAGES_MAX=$(nproc)' >> "$TMPD/ksmtuned.conf"
$CTL import-ksmtuned "$TMPD/ksmtuned.conf" > "$TMPD/imported.conf" 2> "$TMPD/imp.err"
[ $? = 3 ] || fail "an unimportable line did not give exit 3"
grep -q "ksmtuned.conf:6: error:" "$TMPD/imp.err" || fail "the bad line is not named"
$KSMPILOTD --check-config -c "$TMPD/imported.conf" > /dev/null || fail "partial import does not pass --check-config"
$CTL import-ksmtuned "$TMPD/none.conf" > /dev/null 2>&1
[ $? = 1 ] || fail "a missing file did not give exit 1"
echo "ctl: passed"
