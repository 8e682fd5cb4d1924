# cli.sh - the command line of ksmpilotd: options, exit codes, --check-config,
# --dump-config, and --once on fake KSM trees. Needs neither root nor KSM.
. tests/lib.sh
set -u
make_tmp
D=$KSMPILOTD

expect_rc() { # expect_rc RC CMD...: run CMD, check its exit code
	local want=$1 rc
	shift
	"$@" >"$TMPD/out" 2>"$TMPD/err"
	rc=$?
	[ "$rc" = "$want" ] || { cat "$TMPD/out" "$TMPD/err"; fail "'$*' exited $rc, expected $want"; }
}

# --help names every option, and every long option ksmpilotd(8) gives
expect_rc 0 $D --help
# (the line after each .TP of OPTIONS; in --help, an option is where a line
# begins, after its short form if it has one)
man_opts=$(awk '/^\.SH OPTIONS/ { o = 1; next } /^\.SH / { o = 0 } o && t { print; t = 0 } o && /^\.TP/ { t = 1 }' \
	docs/ksmpilotd.8 | sed 's/\\-/-/g' | grep -oE -- '(^|[ "])--?[a-zA-Z][a-z-]*' | tr -d ' "' | sort -u)
[ "$(echo "$man_opts" | wc -l)" -ge 16 ] || fail "found only these options in ksmpilotd(8): $man_opts"
help_opts=$(grep -oE -- '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' "$TMPD/out" | grep -oE -- '--?[a-zA-Z][a-z-]*' | sort -u)
for o in $man_opts; do
	echo "$help_opts" | grep -qx -- "$o" || fail "--help does not give $o"
done
# and the man page every option --help gives
for o in $help_opts; do
	echo "$man_opts" | grep -qx -- "$o" || fail "ksmpilotd(8) does not give $o, which --help does"
done
expect_rc 0 $D --version
grep -q '^ksmpilotd [0-9]' "$TMPD/out" || fail "--version output"

# bad usage: exit 2
expect_rc 2 $D --bogus
expect_rc 2 $D extra-argument
expect_rc 2 $D --apply
expect_rc 2 $D --log-target=syslog
expect_rc 2 $D --once --check-config

# the shipped config
expect_rc 0 $D -t -c conf/ksmpilot.conf
grep -qx 'configuration OK' "$TMPD/out" || fail "no 'configuration OK'"

# a bad config: exit 3, each error as FILE:LINE: message
printf '[daemon]\ninterval = 5 parsecs\n[scan]\npages_to_scan_min = -3\n[nope]\n' > "$TMPD/bad.conf"
expect_rc 3 $D --check-config -c "$TMPD/bad.conf"
grep -q "^$(shown "$TMPD/bad.conf"):2: interval" "$TMPD/err" || fail "no FILE:LINE for interval"
grep -q "^$(shown "$TMPD/bad.conf"):4: pages_to_scan_min" "$TMPD/err" || fail "no FILE:LINE for pages_to_scan_min"
grep -q "^$(shown "$TMPD/bad.conf"):5: unknown section" "$TMPD/err" || fail "no FILE:LINE for the section"
[ "$(wc -l < "$TMPD/err")" = 3 ] || fail "expected 3 errors, got: $(cat "$TMPD/err")"
# a missing config given with -c is an error; a drop-in error names the drop-in
expect_rc 3 $D -t -c "$TMPD/missing.conf"
grep -q "missing.conf: cannot read" "$TMPD/err" || fail "missing file not reported"
cp conf/ksmpilot.conf "$TMPD/k.conf"
mkdir "$TMPD/k.conf.d"
printf '[controller]\nmax_cpu = 150\n' > "$TMPD/k.conf.d/50-cap.conf"
expect_rc 3 $D -t -c "$TMPD/k.conf"
grep -q "k.conf.d/50-cap.conf:2: max_cpu" "$TMPD/err" || fail "drop-in error not located"
printf '[controller]\nmax_cpu = 15\n' > "$TMPD/k.conf.d/50-cap.conf"
printf '[controller]\nmax_cpu = 12\n' > "$TMPD/k.conf.d/60-cap.conf"
expect_rc 0 $D --dump-config -c "$TMPD/k.conf"
grep -qx 'max_cpu = 12' "$TMPD/out" || fail "drop-ins not applied in order"

# --dump-config prints every key (the list comes from the binary) and reads
# back to the same configuration; each key set in a file has FILE:LINE above it
expect_rc 0 $D --dump-config -c conf/ksmpilot.conf
cp "$TMPD/out" "$TMPD/dump1.conf"
$D --list-config-keys > "$TMPD/keys" || fail "--list-config-keys failed"
[ "$(wc -l < "$TMPD/keys")" -ge 28 ] || fail "--list-config-keys lists $(wc -l < "$TMPD/keys") keys"
while read -r k; do
	grep -q "^$k = " "$TMPD/dump1.conf" || fail "--dump-config lacks $k"
done < "$TMPD/keys"
grep -q '^# conf/ksmpilot.conf:' "$TMPD/dump1.conf" && fail "the shipped file sets no key, but the dump says it does"
expect_rc 0 $D --dump-config -c "$TMPD/dump1.conf"
cmp -s <(grep -v '^#' "$TMPD/out") <(grep -v '^#' "$TMPD/dump1.conf") ||
	fail "--dump-config does not read back identically"
grep -qx "# $TMPD/dump1.conf:4" "$TMPD/out" || fail "--dump-config does not name the line that set interval"
expect_rc 0 $D --dump-config -c "$TMPD/k.conf"
grep -A1 -x "# $TMPD/k.conf.d/60-cap.conf:2" "$TMPD/out" | grep -qx 'max_cpu = 12' ||
	fail "--dump-config does not name the drop-in that set max_cpu"
# --dump-config KEY...: just those, for scripts
expect_rc 0 $D --dump-config -c "$TMPD/k.conf" max_cpu daemon.interval
[ "$(cat "$TMPD/out")" = "max_cpu = 12
interval = 1s" ] || fail "--dump-config KEY: $(cat "$TMPD/out")"
expect_rc 2 $D --dump-config -c "$TMPD/k.conf" max_cpus
grep -q "no configuration key 'max_cpus'; did you mean 'max_cpu'" "$TMPD/err" || fail "no suggestion for a bad KEY"

# --check-config names the files it read, and says when the defaults are in
# force because the main file is missing
expect_rc 0 $D -t -c "$TMPD/k.conf"
[ "$(cat "$TMPD/out")" = "read $TMPD/k.conf
read $TMPD/k.conf.d/50-cap.conf
read $TMPD/k.conf.d/60-cap.conf
configuration OK" ] || fail "--check-config does not name the files: $(cat "$TMPD/out")"
# the default file may be missing: exit 0 and it says so
if [ ! -e /etc/ksmpilot.conf ]; then
	expect_rc 0 $D -t
	grep -qx "/etc/ksmpilot.conf does not exist: the defaults are in force" "$TMPD/out" ||
		fail "--check-config does not say the defaults are in force: $(cat "$TMPD/out")"
	grep -q "^/etc/ksmpilot.conf: warning: ksmpilot.service runs ksmpilotd -c /etc/ksmpilot.conf, which refuses a missing file" "$TMPD/err" ||
		fail "--check-config does not warn that the unit would not start: $(cat "$TMPD/err")"
fi

# --check-config warns when the unit could not write state_dir or the
# textfile (the list comes from systemd/ksmpilot.service.in); exit 0
printf '[daemon]\nstate_dir = /var/tmp/kp\n[metrics]\ntextfile = /srv/m/k.prom\n' > "$TMPD/rw.conf"
expect_rc 0 $D -t -c "$TMPD/rw.conf"
grep -q "^$(shown "$TMPD/rw.conf"):2: warning: state_dir /var/tmp/kp is not writable under ksmpilot.service" "$TMPD/err" ||
	fail "no warning for state_dir: $(cat "$TMPD/err")"
grep -q "^$(shown "$TMPD/rw.conf"):4: warning: textfile /srv/m/k.prom .*add /srv/m with a drop-in" "$TMPD/err" ||
	fail "no warning for textfile: $(cat "$TMPD/err")"
grep -q "/sys/kernel/mm/ksm" "$TMPD/err" || fail "the warning does not list the unit's paths"
tail -n 1 "$TMPD/out" | grep -qx 'configuration OK' || fail "warnings must not fail the check"
printf '[metrics]\ntextfile = /run/ksmpilot/k.prom\n' > "$TMPD/rw.conf"
expect_rc 0 $D -t -c "$TMPD/rw.conf"
grep -q "warning" "$TMPD/err" && fail "a writable textfile was warned about: $(cat "$TMPD/err")"
# node_exporter's directory on Debian is not writable without a drop-in:
# systemd would follow a symlink its parent's owner (prometheus) put there
printf '[metrics]\ntextfile = /var/lib/prometheus/node-exporter/k.prom\n' > "$TMPD/rw.conf"
expect_rc 0 $D -t -c "$TMPD/rw.conf"
grep -q "^$(shown "$TMPD/rw.conf"):2: warning: textfile /var/lib/prometheus/node-exporter/k.prom .*add /var/lib/prometheus/node-exporter with a drop-in" "$TMPD/err" ||
	fail "no warning for the node_exporter directory: $(cat "$TMPD/err")"
# and when guest_cmdline is in quotes, which are then part of the pattern
printf '[memory]\nguest_cmdline = "qemu-kvm"\n' > "$TMPD/q.conf"
expect_rc 0 $D -t -c "$TMPD/q.conf"
grep -q "^$(shown "$TMPD/q.conf"):2: warning: guest_cmdline \"qemu-kvm\" is matched with its quotes" "$TMPD/err" ||
	fail "no warning for a guest_cmdline in quotes: $(cat "$TMPD/err")"

# --check-config looks at the QEMU processes running now: ksmtuned's
# pattern misses QEMU as RHEL starts it
(exec -a /usr/libexec/qemu-kvm sleep 60) &
track $!
for _ in $(seq 1 50); do grep -q qemu-kvm /proc/$!/cmdline 2>/dev/null && break; sleep 0.1; done
printf '[memory]\n\nguest_cmdline = ^qemu-system.*-enable-kvm\n' > "$TMPD/g.conf"
expect_rc 0 $D -t -c "$TMPD/g.conf"
grep -q "^$(shown "$TMPD/g.conf"):3: warning: guest_cmdline matches [0-9]* of the [1-9][0-9]* QEMU processes running now" "$TMPD/err" ||
	fail "no warning about the QEMU processes missed: $(cat "$TMPD/err")"
# an empty one: a note at the line that emptied it
printf '[memory]\n\n\nguest_cmdline =\n' > "$TMPD/g.conf"
expect_rc 0 $D -t -c "$TMPD/g.conf"
grep -q "^$(shown "$TMPD/g.conf"):4: note: [1-9][0-9]* QEMU processes run, and guest_cmdline is empty" "$TMPD/err" ||
	fail "no note about the QEMU processes with an empty guest_cmdline: $(cat "$TMPD/err")"
printf '[memory]\nguest_cmdline = %s\n' "$(awk -F'"' '/define QEMU_GUEST_REGEX/ { print $2 }' src/qemu.h)" > "$TMPD/g.conf"
expect_rc 0 $D -t -c "$TMPD/g.conf"
grep -q "QEMU" "$TMPD/err" && fail "the proposed pattern still misses a QEMU process: $(cat "$TMPD/err")"

# KSM missing: exit 4
expect_rc 4 $D --once -c conf/ksmpilot.conf --sysfs-dir "$TMPD/no-such-dir"
grep -q "KSM is not available" "$TMPD/err" || fail "no clear message for missing KSM"

# --once on a fake 6.8 tree and on a 6.1-like tree; nothing written without --apply
for kind in new old; do
	make_fake_ksm "$TMPD/ksm-$kind" $kind
	printf '[daemon]\nstate_dir = %s/once-state\n[memory]\ntarget_available = 100%%\n' "$TMPD" > "$TMPD/pressure.conf"
	expect_rc 0 $D --once -c "$TMPD/pressure.conf" --sysfs-dir "$TMPD/ksm-$kind"
	for w in inputs: terms: decision: reason run pages_to_scan sleep_millisecs "applied: nothing"; do
		grep -q "$w" "$TMPD/out" || fail "--once output ($kind) lacks '$w'"
	done
	[ "$(cat "$TMPD/ksm-$kind/run")" = 0 ] || fail "--once without --apply wrote run"
done
grep -q "pages_scanned.*not in this kernel" "$TMPD/out" || fail "missing counters not shown"
# a decision to stop (no pressure: all of the fake tree's memory is free)
# writes no knob and wants no rate; it must not read as scanning
printf '[memory]\ntarget_available = 0%%\n' > "$TMPD/calm.conf"
expect_rc 0 $D --once -c "$TMPD/calm.conf" --sysfs-dir "$TMPD/ksm-new"
grep -Eq "^  run +0$" "$TMPD/out" || fail "--once without pressure: run is not 0"
grep -Eq "^  rate +none: ksmd stopped \(run=0\)$" "$TMPD/out" || fail "--once shows a rate for a stopped ksmd: $(cat "$TMPD/out")"
grep -Eq "^  sleep_millisecs +[0-9]" "$TMPD/out" && fail "--once shows a sleep for a stopped ksmd"
# --once --apply writes the decision (pressure: run=1); --dry-run writes nothing
expect_rc 0 $D --once --apply --dry-run -c "$TMPD/pressure.conf" --sysfs-dir "$TMPD/ksm-new"
[ "$(cat "$TMPD/ksm-new/run")" = 0 ] || fail "--dry-run wrote run"
echo "none [scan-time]" > "$TMPD/ksm-new/advisor_mode"
expect_rc 0 $D --once --apply -c "$TMPD/pressure.conf" --sysfs-dir "$TMPD/ksm-new"
[ "$(cat "$TMPD/ksm-new/run")" = 1 ] || fail "--once --apply did not write run=1"
grep -q "^none" "$TMPD/ksm-new/advisor_mode" || fail "takeover did not switch the advisor off"
grep -q "^advisor_mode: switched off (kernel_advisor = takeover); --once does not switch it back on" "$TMPD/out" ||
	fail "--once --apply switched the advisor off without a word: $(cat "$TMPD/out")"
grep -q "applied: [1-9]" "$TMPD/out" || fail "--apply does not report what it wrote"
expect_rc 0 $D --once --apply -c "$TMPD/pressure.conf" --sysfs-dir "$TMPD/ksm-new"
grep -q "^advisor_mode:" "$TMPD/out" && fail "--once --apply speaks of an advisor that was already off"
# a daemon holds the lock of that state_dir: --once --apply refuses to write
# under it (exit 6); --once alone still shows its decision
$D -c "$TMPD/pressure.conf" --sysfs-dir "$TMPD/ksm-new" --dry-run --log-target=stderr 2> "$TMPD/once-daemon.log" &
OD=$!
track $OD
for _ in $(seq 1 100); do [ -s "$TMPD/once-state/lock" ] && break; sleep 0.1; done
[ -s "$TMPD/once-state/lock" ] || { cat "$TMPD/once-daemon.log"; fail "the daemon took no lock"; }
echo 0 > "$TMPD/ksm-new/run"
expect_rc 6 $D --once --apply -c "$TMPD/pressure.conf" --sysfs-dir "$TMPD/ksm-new"
grep -q "a ksmpilotd holds the lock in $TMPD/once-state" "$TMPD/err" || fail "--once --apply under a daemon: $(cat "$TMPD/err")"
[ "$(cat "$TMPD/ksm-new/run")" = 0 ] || fail "--once --apply wrote run under a running daemon"
expect_rc 0 $D --once -c "$TMPD/pressure.conf" --sysfs-dir "$TMPD/ksm-new"
kill $OD
wait $OD
untrack $OD
# memory going offline (run reads 5): the decision is a hold, and --apply says it wrote nothing
echo 5 > "$TMPD/ksm-new/run"
expect_rc 0 $D --once --apply -c "$TMPD/pressure.conf" --sysfs-dir "$TMPD/ksm-new"
grep -q "^applied: nothing (a hold" "$TMPD/out" || fail "--once --apply of a hold: $(grep applied "$TMPD/out")"
[ "$(cat "$TMPD/ksm-new/run")" = 5 ] || fail "--once --apply wrote run while memory goes offline"
echo 0 > "$TMPD/ksm-new/run"

# read-only KSM: --once works, --once --apply exits 5
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	make_fake_ksm "$TMPD/ro"
	cat > "$TMPD/ro.sh" <<EOS
mount --bind "$TMPD/ro" "$TMPD/ro" && mount -o remount,bind,ro "$TMPD/ro" || exit 99
$D --once -c "$TMPD/pressure.conf" --sysfs-dir "$TMPD/ro" >/dev/null 2>&1 || exit 10
$D --once --apply -c "$TMPD/pressure.conf" --sysfs-dir "$TMPD/ro" 2>"$TMPD/ro.err" >/dev/null
exit \$?
EOS
	unshare -m sh "$TMPD/ro.sh"
	rc=$?
	[ $rc = 99 ] && note "cannot mount read-only here; read-only case not checked"
	[ $rc = 99 ] || [ $rc = 5 ] || fail "read-only KSM: --once/--apply gave $rc, expected 5"
	[ $rc = 99 ] || grep -q "cannot be written" "$TMPD/ro.err" || fail "no clear read-only message"
else
	note "not root: read-only case not checked"
fi
# without root: --once and a dry-run daemon work (the state directory is
# not writable: the dry run goes on without the lock)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	asuser="setpriv --reuid=65534 --regid=65534 --clear-groups"
	chmod 755 "$TMPD"
	chmod -R a+rX "$TMPD/ksm-old" "$TMPD/pressure.conf"
	expect_rc 0 $asuser $D --once -c "$TMPD/pressure.conf" --sysfs-dir "$TMPD/ksm-old"
	if [ -e /sys/kernel/mm/ksm/run ]; then
		expect_rc 0 $asuser $D --once -c "$TMPD/pressure.conf"
		expect_rc 5 $asuser $D --once --apply -c "$TMPD/pressure.conf"
	fi
	printf '[daemon]\ninterval = 200ms\nstate_dir = /proc/no-such-dir\n' > "$TMPD/nonroot.conf"
	chmod a+r "$TMPD/nonroot.conf"
	$asuser $D --dry-run -c "$TMPD/nonroot.conf" --sysfs-dir "$TMPD/ksm-old" --log-target=stderr 2>"$TMPD/dry.err" &
	p=$!
	track $p
	wait_log "$TMPD/dry.err" "saving [0-9]+ MiB"
	kill -TERM $p
	wait $p || fail "non-root dry run exited $?"
else
	note "not root: the non-root cases run as the current user only"
fi
echo "cli: all checks passed"
