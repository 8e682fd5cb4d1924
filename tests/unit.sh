# unit.sh - systemd/ksmpilot.service, ksmpilot-inspect.service and its timer:
# systemd-analyze verify accepts them, and their security exposure scores
# at most 0.7 (the daemon, which holds no capability) and 1.3 (the
# inspection, which holds two). Checked on copies whose paths point into the build tree.
. tests/lib.sh
set -u
command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
make_tmp
# the build tree as an absolute path (KSMPILOT_BUILD may be one already)
case $B in /*) BD=$B ;; *) BD=$PWD/$B ;; esac
U="$TMPD/ksmpilot.service"
sed -e "s|@SBINDIR@|$BD|g" -e "s|@SYSCONFDIR@|$PWD/conf|g" systemd/ksmpilot.service.in > "$U"
grep -q "@[A-Z]*@" "$U" && fail "unsubstituted @VAR@ left in the unit"
systemd-analyze verify --man=no "$U" > "$TMPD/verify" 2>&1 || { cat "$TMPD/verify"; fail "systemd-analyze verify failed"; }
[ -s "$TMPD/verify" ] && { cat "$TMPD/verify"; fail "systemd-analyze verify warned"; }
systemd-analyze security --offline=yes "$U" > "$TMPD/sec" 2>&1
score=$(sed -n 's/.*Overall exposure level for ksmpilot.service: \([0-9.]*\).*/\1/p' "$TMPD/sec")
[ -n "$score" ] || { cat "$TMPD/sec"; fail "no score from systemd-analyze security"; }
note "exposure score $score"
systemd-analyze security --offline=yes --threshold=7 "$U" > /dev/null 2>&1 || fail "score $score is above 0.7"
# the essentials of the contract
for l in Type=notify WatchdogSec= "ExecReload=$BD/ksmpilotctl -c $PWD/conf/ksmpilot.conf reload \$MAINPID$" \
	Restart=on-failure "RestartPreventExitStatus=3 4 5 6$" StartLimitIntervalSec=10min StartLimitBurst=5 \
	"ExecStopPost=.*--restore" ConditionPathExists=/sys/kernel/mm/ksm/run \
	Conflicts=ksmtuned.service "After=ksm.service ksmtuned.service$" ReadWritePaths=/sys/kernel/mm/ksm "CapabilityBoundingSet=$" "AmbientCapabilities=$" \
	PrivateUsers=yes UMask=0077 "SystemCallFilter=~process_vm_readv process_vm_writev"; do
	grep -q "^$l" "$U" || fail "unit lacks $l"
done
# RestartPreventExitStatus= does not cover ExecStartPre=: a failing one
# would restart forever (ksmpilotd checks its configuration itself)
grep -q "^ExecStartPre=" "$U" && fail "the unit has an ExecStartPre=, which RestartPreventExitStatus= does not cover"
# a failing daemon reaches the start limit: StartLimitBurst starts,
# RestartSec apart, fit in StartLimitIntervalSec (systemd's default, five
# in 10 s, is never reached 5 s apart)
usec() { systemd-analyze timespan "$(sed -n "s/^$1=//p" "$U")" | sed -n 's/^ *μs: //p'; }
burst=$(sed -n 's/^StartLimitBurst=//p' "$U")
tries=$(( (burst - 1) * $(usec RestartSec) ))
[ "$tries" -lt "$(usec StartLimitIntervalSec)" ] ||
	fail "$burst starts $(sed -n 's/^RestartSec=//p' "$U") apart do not fit in StartLimitIntervalSec"
# the inspection: a oneshot on a timer, with two capabilities and no more
I="$TMPD/ksmpilot-inspect.service"
sed -e "s|@SBINDIR@|$BD|g" -e "s|@SYSCONFDIR@|$PWD/conf|g" systemd/ksmpilot-inspect.service.in > "$I"
cp systemd/ksmpilot-inspect.timer "$TMPD/"
grep -q "@[A-Z]*@" "$I" && fail "unsubstituted @VAR@ left in the inspect unit"
systemd-analyze verify --man=no "$I" "$TMPD/ksmpilot-inspect.timer" > "$TMPD/verify" 2>&1 ||
	{ cat "$TMPD/verify"; fail "systemd-analyze verify failed on the inspect unit or timer"; }
[ -s "$TMPD/verify" ] && { cat "$TMPD/verify"; fail "systemd-analyze verify warned on the inspect unit or timer"; }
iscore=$(systemd-analyze security --offline=yes "$I" 2>&1 |
	sed -n 's/.*Overall exposure level for ksmpilot-inspect.service: \([0-9.]*\).*/\1/p')
[ -n "$iscore" ] || fail "no score for the inspect unit"
note "inspect unit exposure score $iscore"
systemd-analyze security --offline=yes --threshold=13 "$I" > /dev/null 2>&1 || fail "inspect unit score $iscore is above 1.3"
for l in Type=oneshot "ExecStart=.*ksmpilotctl -c .*ksmpilot.conf inspect$" "CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_SYS_PTRACE$" \
	"AmbientCapabilities=$" NoNewPrivileges=yes ProtectSystem=strict TimeoutStartSec= LogLevelMax=notice RuntimeDirectoryPreserve=yes \
	"TemporaryFileSystem=/etc:ro" "SystemCallFilter=~process_vm_readv process_vm_writev" \
	"StandardOutput=null$" "StandardError=journal$" "SyslogLevel=err$" \
	"SystemCallFilter=landlock_create_ruleset landlock_add_rule landlock_restrict_self$"; do
	grep -q "^$l" "$I" || fail "inspect unit lacks $l"
done
grep -q "^OnUnitActiveSec=1min$" "$TMPD/ksmpilot-inspect.timer" || fail "the timer does not run every minute"
# never on its own: no [Install] (a package would enable and start it with the daemon disabled), stopped with the daemon
grep -q "^BindsTo=ksmpilot.service$" "$TMPD/ksmpilot-inspect.timer" || fail "the timer is not bound to ksmpilot.service"
grep -q "^After=ksmpilot.service$" "$TMPD/ksmpilot-inspect.timer" || fail "the timer does not start after ksmpilot.service"
grep -q "^\[Install\]" "$TMPD/ksmpilot-inspect.timer" && fail "the timer has an [Install] section: it would run without the daemon"
grep -q "^Wants=ksmpilot-inspect.timer$" "$U" || fail "ksmpilot.service does not pull in the inspection timer"
# the journal catalog parses, with one entry per MESSAGE_ID in src/msgid.h
if command -v journalctl >/dev/null; then
	R="$TMPD/root"
	mkdir -p "$R/usr/lib/systemd/catalog" "$R/var/lib/systemd/catalog"
	cp systemd/ksmpilot.catalog "$R/usr/lib/systemd/catalog/"
	journalctl --root="$R" --update-catalog > "$TMPD/cat.err" 2>&1 || { cat "$TMPD/cat.err"; fail "catalog does not parse"; }
	got=$(journalctl --root="$R" --list-catalog 2>/dev/null | grep -c ' ksmpilot: ')
	want=$(grep -c '^#define MSGID_' src/msgid.h)
	[ "$got" = "$want" ] || fail "catalog lists $got entries, src/msgid.h defines $want"
fi
echo "unit: score $score, inspect unit $iscore, passed"
