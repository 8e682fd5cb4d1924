# package.sh - the Debian package end to end, under a real systemd. Builds
# it with `make deb` (lintian included: an error or a warning fails), checks
# its file list against what `make install` installs with the paths of
# debian/rules, builds the package of the previous commit as well, then
# boots the host's own systemd in a container whose root is the host's under
# a throw-away overlay (tests/lib-container.sh), with the host's KSM
# directory bound in, and there:
#   0. next to an enabled, running ksmtuned (Debian's own package), the
#      package installs but neither enables nor starts ksmpilot, and says so
#   1. a fresh install is enabled and started (Debian policy); its STATUS=
#      line says what it does; the catalog is updated; the config is a conffile
#   2. ksmpilotctl status works
#   3. systemctl reload of a good drop-in works; of a broken one it fails,
#      with FILE:LINE in systemctl status, and the old config keeps running
#   R1. a broken config at start leaves the unit failed at once: exit 3, no
#      restart, the error in systemctl status
#   R2. a daemon that fails at every start (exit 1: its state_dir cannot be
#      made) is given up on: failed with start-limit-hit after a bounded
#      number of restarts, where the old unit restarted it forever
#   4. apt-get remove stops it and puts the host's knobs back
#   4b. reinstalled after that remove while ksmtuned is enabled and running:
#      neither enabled nor started, and ksmtuned runs on
#   5. apt-get purge leaves no file of the package behind
#   6. upgrading from the previous commit's package (its shipped config
#      made to differ) keeps an edited /etc/ksmpilot.conf, puts the new one
#      beside it as .dpkg-dist, and restarts the service on it
#   6b. an upgrade (a reinstallation of the same version) while ksmpilot,
#      enabled, is stopped and ksmtuned is enabled: still enabled, and started
#   6c. the same while ksmtuned runs: ksmpilot is not started (its
#      Conflicts= would stop ksmtuned), and the upgrade says why
# The previous commit is HEAD~1 (KSMPILOT_UPGRADE_FROM=REV for another),
# taken with git archive; where it has no debian/ yet, it is built with this
# tree's debian/. Its version is always made lower than this one's
# (UPSTREAM-0~prev1), so that the install is an upgrade. The host's dpkg
# database, /etc and /usr are never touched: they are the lower layer.
# Skips unless root and KSMPILOT_REAL_KSM=1 (tests/lib.sh holds the kernel
# lock, taken once the packages are built, and restores the knobs), off
# Debian, and under the sanitizer and valgrind runs (the package is built
# with Debian's flags, not theirs). About 3 minutes, 2 of them with the lock.
. tests/lib.sh
set -u
[ "${KSMPILOT_VALGRIND:-0}" = 1 ] && skip "the package is not built for valgrind; this test runs in the plain make check"
case " ${CFLAGS:-} " in *-fsanitize*) skip "the package is built with Debian's flags, not the sanitizers; this test runs in the plain make check" ;; esac
[ "${KSMPILOT_REAL_KSM:-0}" = 1 ] ||
	skip "real-kernel test; set KSMPILOT_REAL_KSM=1 to run it (it writes the host's KSM knobs)"
require_root
T0=$(date +%s)
make_tmp
command -v dpkg-deb >/dev/null && command -v apt-get >/dev/null || skip "not a Debian system (dpkg-deb, apt-get)"
dpkg -s ksmpilot > /dev/null 2>&1 && skip "ksmpilot is installed on this host: the container would inherit it"
[ -e /etc/ksmpilot.conf ] && skip "this host has an /etc/ksmpilot.conf: the container would inherit it"
. tests/lib-container.sh
ct_require

# --- the packages -----------------------------------------------------------------------
# never the flags of a calling make (make asan, a package build)
pmake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CFLAGS -u CPPFLAGS -u LDFLAGS make --no-print-directory "$@"; }
export DEB_BUILD_OPTIONS=nocheck DEB_BUILD_PROFILES=nocheck # the suite runs in make check
pmake deb B="$TMPD/b" DEB_OUT="$TMPD/new" > "$TMPD/deb.log" 2>&1 ||
	{ tail -n 40 "$TMPD/deb.log"; fail "make deb failed (lintian included)"; }
NEW=$(ls "$TMPD"/new/ksmpilot_*.deb)
NEWV=$(dpkg-deb -f "$NEW" Version)
note "built $(basename "$NEW"), lintian clean, in $(($(date +%s) - T0)) s"

# The file list: what make install installs with debian/rules' paths, and
# what Debian adds (changelog, copyright, debian/ksmpilot.docs, the lintian
# overrides); dh_compress compresses the man pages and the larger documents
# (not those the man pages cite: checked in 1.).
paths=$(make -s -f debian/rules print-paths) || fail "debian/rules print-paths failed"
# shellcheck disable=SC2086 # $paths is a list of VAR=value
pmake -s -j2 install B="$TMPD/bi" DESTDIR="$TMPD/inst" $paths > "$TMPD/inst.log" 2>&1 ||
	{ cat "$TMPD/inst.log"; fail "make install with the package's paths failed"; }
(cd "$TMPD/inst" && find . ! -type d -o -type d -empty) | sed 's|^\.||' | sort > "$TMPD/want"
{
	echo /usr/share/doc/ksmpilot/changelog.Debian
	echo /usr/share/doc/ksmpilot/copyright
	echo /usr/share/lintian/overrides/ksmpilot
	sed 's|^.*/||; s|^|/usr/share/doc/ksmpilot/|' debian/ksmpilot.docs
} >> "$TMPD/want"
sort -o "$TMPD/want" "$TMPD/want"
dpkg-deb -c "$NEW" | awk '{print $6}' > "$TMPD/all.raw"
sed 's|^\.||; s|/$||' "$TMPD/all.raw" > "$TMPD/all"
# files, and directories that hold nothing
awk '{ n[$0] = 1 } END { for (p in n) { d = 0; for (q in n) if (index(q, p "/") == 1) { d = 1; break } if (!d && p != "") print p } }' \
	"$TMPD/all" | sed 's#^\(/usr/share/\(man\|doc\)/.*\)\.gz$#\1#' | sort > "$TMPD/got"
diff -u "$TMPD/want" "$TMPD/got" > "$TMPD/files.diff" ||
	{ cat "$TMPD/files.diff"; fail "the package's files differ from make install's (- missing, + extra)"; }
for f in /usr/sbin/ksmpilotd /usr/sbin/ksmpilotctl /lib/systemd/system/ksmpilot.service /etc/ksmpilot.conf \
	/etc/ksmpilot.conf.d /usr/lib/systemd/catalog/ksmpilot.catalog /usr/share/man/man8/ksmpilotd.8; do
	grep -qx "$f" "$TMPD/got" || fail "the package lacks $f"
done
# the alert rules as Prometheus's rule_files takes them: not compressed
grep -qx ./usr/share/doc/ksmpilot/examples/ksmpilot-rules.yml "$TMPD/all.raw" ||
	fail "the package lacks /usr/share/doc/ksmpilot/examples/ksmpilot-rules.yml, uncompressed"
note "file list: $(wc -l < "$TMPD/got") entries, as make install plus Debian's own"

# The previous commit's package, at a lower version.
PREV_REV=${KSMPILOT_UPGRADE_FROM:-HEAD~1}
mkdir -p "$TMPD/prev"
if git rev-parse -q --verify "$PREV_REV^{commit}" > /dev/null 2>&1; then
	git archive --format=tar "$PREV_REV" | tar -x -C "$TMPD/prev" || fail "git archive $PREV_REV failed"
	from="$PREV_REV ($(git rev-parse --short "$PREV_REV"))"
else
	# no history (a shallow clone): the upgrade is from this tree itself
	tar --exclude=./build --exclude='./build-*' --exclude-vcs -c . | tar -x -C "$TMPD/prev"
	from="this tree ($PREV_REV is not in this clone)"
fi
if [ ! -d "$TMPD/prev/debian" ]; then
	cp -a debian "$TMPD/prev/"
	from="$from, with this tree's debian/"
fi
# a shipped configuration that differs from this one's, so that the
# upgrade of an edited /etc/ksmpilot.conf is a conffile choice for dpkg
printf '\n# the previous package\n' >> "$TMPD/prev/conf/ksmpilot.conf"
prev_up=$(sed -n 's/^VERSION *:= *//p' "$TMPD/prev/Makefile")
PREVV="$prev_up-0~prev1"
dpkg --compare-versions "$PREVV" lt "$NEWV" || fail "the previous version $PREVV is not below $NEWV"
{
	printf 'ksmpilot (%s) unstable; urgency=medium\n\n  * The package of %s.\n\n' "$PREVV" "$from"
	printf ' -- ksmpilot maintainers <ksmpilot@example.org>  %s\n\n' "$(date -R)"
	cat "$TMPD/prev/debian/changelog"
} > "$TMPD/changelog" && mv "$TMPD/changelog" "$TMPD/prev/debian/changelog"
pmake deb DEB_SRC="$TMPD/prev" B="$TMPD/bp" DEB_OUT="$TMPD/old" DEB_LINTIAN=no > "$TMPD/deb-prev.log" 2>&1 ||
	{ tail -n 40 "$TMPD/deb-prev.log"; fail "building the package of $from failed"; }
OLD=$(ls "$TMPD"/old/ksmpilot_*.deb)
note "built $(basename "$OLD") from $from"

# ksmtuned, as Debian ships it, for the other-tuner check
mkdir -p "$TMPD/debs"
cp "$NEW" "$OLD" "$TMPD/debs/"
if ! dpkg -s ksmtuned > /dev/null 2>&1; then
	(cd "$TMPD/debs" && apt-get download -q ksmtuned > "$TMPD/ksmtuned.log" 2>&1) ||
		cp /var/cache/apt/archives/ksmtuned_*.deb "$TMPD/debs/" 2> /dev/null ||
		note "ksmtuned's package cannot be had: $(tail -n 1 "$TMPD/ksmtuned.log")"
fi
chmod -R a+rX "$TMPD/debs"

# --- the kernel lock: only now, the packages are built -------------------------------------
require_real_ksm
T1=$(date +%s)

# --- the host, before -------------------------------------------------------------------------
host_state() {
	local f
	for f in /usr/sbin/ksmpilotd /lib/systemd/system/ksmpilot.service /etc/ksmpilot.conf /etc/ksmpilot.conf.d \
		/etc/systemd/system/multi-user.target.wants/ksmpilot.service /var/lib/dpkg/info/ksmpilot.list; do
		[ -e "$f" ] && echo "$f"
	done
	dpkg -s ksmpilot 2>/dev/null | grep '^Status'
}
HOST_BEFORE=$(host_state)

# --- boot ----------------------------------------------------------------------------------------
# basic.target: none of the host's own services, which its /etc enables;
# no timers (apt-daily would take the dpkg lock)
CT_KERNEL_ARGS="systemd.unit=basic.target"
CT_MASKS="$CT_MASKS timers.target"
ct_boot overlay --bind-ro="$TMPD/debs:/run/ksmpilot-debs" --bind="$KSM:/run/host-ksm"
in_ct mount --bind /run/host-ksm /sys/kernel/mm/ksm || fail "cannot bind /run/host-ksm over /sys/kernel/mm/ksm"
in_ct test -w /sys/kernel/mm/ksm/run || fail "/sys/kernel/mm/ksm is not writable in the container"
in_ct sh -c '! dpkg -s ksmpilot' > /dev/null 2>&1 || fail "ksmpilot is installed in the container before the test"
# a container image's policy-rc.d (exit 101: start nothing) would keep
# dpkg from starting services, as it does not on a real host
if in_ct test -e /usr/sbin/policy-rc.d; then
	in_ct rm -f /usr/sbin/policy-rc.d
	note "removed the host's /usr/sbin/policy-rc.d inside the container"
fi
# apt_in LOG ARGS...: apt-get in the container, as configuration management runs it
apt_in() {
	local log=$1
	shift
	in_ct apt-get -y -q -o DPkg::Lock::Timeout=60 -o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold "$@" > "$TMPD/$log" 2>&1
}
deb_in() { echo "/run/ksmpilot-debs/$(basename "$1")"; }
# For the purge check: which of the package's paths exist before (/usr/sbin,
# ...), and what is named like the package anywhere it could leave a file.
ct_existing() { in_ct sh -c 'while read -r p; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done; true' < "$TMPD/all"; }
ct_named() { in_ct find /etc /usr /lib /var /run /opt /srv /root -xdev -name '*ksmpilot*' 2>/dev/null | sort; }
EXISTING_BEFORE=$(ct_existing)
NAMED_BEFORE=$(ct_named)

# beside_ksmtuned LOG WHAT: with ksmtuned enabled and running, the new
# package installed (WHAT: installation, reinstallation) leaves ksmpilot
# neither enabled nor started, says so, and ksmtuned runs on
beside_ksmtuned() {
	local log=$1 what=$2
	in_ct systemctl enable --now ksmtuned.service > "$TMPD/kt-enable.log" 2>&1 ||
		{ cat "$TMPD/kt-enable.log"; fail "ksmtuned does not start"; }
	apt_in "$log" install "$(deb_in "$NEW")" || { cat "$TMPD/$log"; fail "the $what next to ksmtuned failed"; }
	grep -q "another KSM tuner is enabled or running: ksmtuned.service" "$TMPD/$log" ||
		{ cat "$TMPD/$log"; fail "the $what does not say that ksmtuned runs"; }
	[ "$(in_ct systemctl is-enabled ksmpilot.service)" = disabled ] || ct_fail "the $what enabled ksmpilot next to ksmtuned"
	[ "$(prop ActiveState)" = inactive ] || ct_fail "the $what started ksmpilot next to ksmtuned: $(prop ActiveState)"
	in_ct systemctl --quiet is-active ksmtuned.service || ct_fail "the $what stopped ksmtuned"
}

# --- 0. next to ksmtuned: installed, neither enabled nor started ---------------------------------------
KT=$(ls "$TMPD"/debs/ksmtuned_*.deb 2>/dev/null | head -n 1)
if [ -n "$KT" ] || in_ct dpkg -s ksmtuned > /dev/null 2>&1; then
	if [ -n "$KT" ]; then
		# without its Recommends (qemu-kvm): they are not what is tested,
		# and would be fetched from the network at every run
		apt_in kt.log install --no-install-recommends "$(deb_in "$KT")" ||
			{ cat "$TMPD/kt.log"; fail "cannot install ksmtuned"; }
	fi
	beside_ksmtuned install0.log installation
	note "0. next to a running ksmtuned: installed, $(in_ct systemctl is-enabled ksmpilot.service), $(prop ActiveState)"
	apt_in purge0.log purge ksmpilot || { cat "$TMPD/purge0.log"; fail "apt-get purge failed"; }
fi
# the other tuner, its unit and ksm.service (ksmtuned's too) stop here
in_ct systemctl disable --now ksmtuned.service ksm.service > /dev/null 2>&1
in_ct systemctl --quiet is-enabled ksmtuned.service 2> /dev/null && fail "ksmtuned is still enabled in the container"
[ -n "$KT" ] || in_ct dpkg -s ksmtuned > /dev/null 2>&1 || note "0. not checked: no ksmtuned package here"

# --- 1. a fresh install: enabled and started ------------------------------------------------------------
mark_knobs
BEFORE=$(knobs)
note "knobs before: $BEFORE"
C0=$(cursor)
apt_in install1.log install "$(deb_in "$NEW")" || { cat "$TMPD/install1.log"; fail "apt-get install failed"; }
[ "$(in_ct dpkg-query -W -f '${Version}' ksmpilot)" = "$NEWV" ] || fail "ksmpilot $NEWV is not installed"
[ "$(in_ct systemctl is-enabled ksmpilot.service)" = enabled ] || ct_fail "not enabled on installation"
[ "$(prop ActiveState)/$(prop SubState)" = active/running ] || ct_fail "not running after installation"
st=""
for _ in $(seq 1 50); do
	st=$(prop StatusText)
	case $st in *"run="*) break ;; esac
	sleep 0.2
done
case $st in *"run="*) ;; *) ct_fail "StatusText is '$st', not what it does (STATUS=)" ;; esac
wait_journal "$C0" "ksmpilotd [0-9.]* starting: config /etc/ksmpilot.conf"
in_ct journalctl --list-catalog 2>/dev/null | grep -q " ksmpilot: " || fail "the journal catalog was not updated"
in_ct dpkg-query -W -f '${Conffiles}' ksmpilot | grep -q "^ /etc/ksmpilot.conf " || fail "/etc/ksmpilot.conf is not a conffile"
in_ct man -w ksmpilotd > /dev/null 2>&1 || fail "man ksmpilotd finds no page"
for doc in $(in_ct sh -c 'zcat /usr/share/man/man[58]/ksmpilot*.gz' |
	grep -o '/usr/share/doc/ksmpilot/[A-Za-z0-9_.-]*[A-Za-z0-9_-]' | sort -u); do
	in_ct test -f "$doc" || fail "the man pages cite $doc, which the package does not install"
done
PID=$(prop MainPID)
note "1. enabled and running (pid $PID): $st"

# --- 2. ksmpilotctl status ---------------------------------------------------------------------------
in_ct ksmpilotctl status > "$TMPD/status" 2>&1 || { cat "$TMPD/status"; ct_fail "ksmpilotctl status failed"; }
grep -q "^ksmpilotd   running, pid $PID" "$TMPD/status" || { cat "$TMPD/status"; ct_fail "ksmpilotctl status does not see the daemon"; }
note "2. ksmpilotctl status: $(grep -m1 '^Decision' "$TMPD/status")"

# --- 3. reload: a good drop-in is taken, a broken one fails visibly ---------------------------------------
DROPIN=/etc/ksmpilot.conf.d/50-test.conf
in_ct sh -c "printf '[memory]\ntarget_available = 100%%\n[scan]\nsleep_ms_min = 777\nsleep_ms_max = 777\n' > $DROPIN"
C=$(cursor)
in_ct systemctl reload ksmpilot.service > "$TMPD/reload.log" 2>&1 || { cat "$TMPD/reload.log"; ct_fail "reload of a good drop-in failed"; }
wait_journal "$C" "configuration reloaded from /etc/ksmpilot.conf \(reload #1\)"
wait_knob sleep_millisecs 777
in_ct sh -c "printf '[controller]\nmax_cpu = 500\n' >> $DROPIN"
bad_line=$(in_ct grep -n '^max_cpu = 500$' $DROPIN | cut -d: -f1)
C=$(cursor)
in_ct systemctl reload ksmpilot.service > "$TMPD/reload.log" 2>&1 && ct_fail "systemctl reload of a broken drop-in succeeded"
grep -q "failed" "$TMPD/reload.log" || fail "systemctl reload says nothing: $(cat "$TMPD/reload.log")"
in_ct systemctl status --no-pager -l -n 20 ksmpilot.service > "$TMPD/status" 2>&1
grep -q "$DROPIN:$bad_line: .*max_cpu" "$TMPD/status" || { cat "$TMPD/status"; fail "systemctl status does not show $DROPIN:$bad_line"; }
grep -q "refused the configuration" "$TMPD/status" || { cat "$TMPD/status"; fail "systemctl status does not say the reload was refused"; }
sleep 2 # ticks on whatever configuration is in effect
[ "$(prop ActiveState)/$(prop SubState)" = active/running ] || ct_fail "not running after a refused reload"
[ "$(prop MainPID)" = "$PID" ] || ct_fail "the main pid changed on a refused reload"
[ "$(ksm_read sleep_millisecs)" = 777 ] || ct_fail "sleep_millisecs is $(ksm_read sleep_millisecs) after a refused reload"
note "3. reload: taken; broken: '$(head -n 1 "$TMPD/reload.log")', still running on the old config"

# --- R1. a broken config at start: failed at once, no restart ------------------------------------------
C=$(cursor)
in_ct systemctl restart ksmpilot.service > "$TMPD/restart.log" 2>&1 && ct_fail "a start with a broken config succeeded"
[ "$(prop ActiveState)" = failed ] || ct_fail "ActiveState is $(prop ActiveState)/$(prop SubState), not failed, after a bad start"
[ "$(prop Result)" = exit-code ] && [ "$(prop ExecMainStatus)" = 3 ] ||
	ct_fail "Result $(prop Result), status $(prop ExecMainStatus): not exit code 3"
in_ct systemctl status --no-pager -l -n 20 ksmpilot.service > "$TMPD/status" 2>&1
grep -q "$DROPIN:$bad_line: .*max_cpu" "$TMPD/status" || { cat "$TMPD/status"; fail "systemctl status does not show the config error"; }
sleep 7 # longer than RestartSec=5s: a restart would have come
[ "$(prop NRestarts)" = 0 ] && [ "$(prop ActiveState)" = failed ] ||
	ct_fail "restarted after a bad config: NRestarts $(prop NRestarts), $(prop ActiveState)"
[ "$(knobs)" = "$BEFORE" ] || { echo "before: $BEFORE"; echo "now:    $(knobs)"; ct_fail "the knobs are not restored after the failed start"; }
# the inspection is bound to the daemon: a failed daemon leaves no timer running
[ "$(in_ct systemctl is-active ksmpilot-inspect.timer)" != active ] ||
	ct_fail "ksmpilot-inspect.timer still runs while ksmpilot.service failed"
note "R1. broken config at start: failed at once, exit 3, no restart; the knobs are back"
in_ct sed -i '/^\[controller\]$/d; /^max_cpu = 500$/d' $DROPIN
in_ct systemctl reset-failed ksmpilot.service

# --- R2. failing at every start: given up after a bounded number of tries ----------------------------------
# a state_dir below a file: mkdir fails (ENOTDIR), ksmpilotd exits 1, which
# Restart=on-failure restarts
in_ct sh -c "printf '[daemon]\nstate_dir = /etc/ksmpilot.conf/state\n' >> $DROPIN"
C=$(cursor)
t=$(date +%s)
in_ct systemctl restart ksmpilot.service > /dev/null 2>&1 && ct_fail "a start with an impossible state_dir succeeded"
# between tries the unit is activating (auto-restart); failed once given up
for _ in $(seq 1 450); do
	[ "$(prop ActiveState)" = failed ] && break
	sleep 0.2
done
[ "$(prop ActiveState)" = failed ] ||
	ct_fail "still $(prop ActiveState)/$(prop SubState) after 90 s (NRestarts $(prop NRestarts)): a restart loop"
n=$(prop NRestarts)
wait_journal "$C" "Start request repeated too quickly"
tries=$(journal_after "$C" | grep -c "cannot create state directory /etc/ksmpilot.conf/state")
[ "$tries" -ge 2 ] || ct_fail "$tries failed starts logged: Restart=on-failure did not restart it"
sleep 7 # longer than RestartSec=5s: given up means no more restarts
[ "$(prop ActiveState)" = failed ] && [ "$(prop NRestarts)" = "$n" ] ||
	ct_fail "restarted after the start limit: $(prop ActiveState), NRestarts $n -> $(prop NRestarts)"
note "R2. failing at every start: $tries tries ($n restarts) in $(($(date +%s) - t)) s, then failed for good"
in_ct sed -i '/^\[daemon\]$/d; /^state_dir = /d' $DROPIN
in_ct systemctl reset-failed ksmpilot.service
in_ct systemctl start ksmpilot.service || ct_fail "no start once the state_dir is fixed"
wait_knob sleep_millisecs 777

# --- 4. remove: stopped, the knobs back ------------------------------------------------------------------
apt_in remove.log remove ksmpilot || { cat "$TMPD/remove.log"; fail "apt-get remove failed"; }
in_ct pgrep -x ksmpilotd > /dev/null && fail "ksmpilotd still runs after apt-get remove"
[ "$(prop ActiveState)" = inactive ] || fail "ksmpilot.service is $(prop ActiveState) after apt-get remove"
[ "$(knobs)" = "$BEFORE" ] || { echo "before: $BEFORE"; echo "after:  $(knobs)"; fail "apt-get remove did not restore the knobs"; }
in_ct test -e /etc/ksmpilot.conf || fail "apt-get remove removed the conffile (only purge may)"
note "4. removed: stopped, knobs restored: $(knobs)"

# --- 4b. reinstalled after remove, ksmtuned enabled meanwhile: neither started nor enabled -------------
# apt-get remove keeps the unit's links, and dpkg gives the old version to
# the postinst as to an upgrade
if [ -n "$KT" ] || in_ct dpkg -s ksmtuned > /dev/null 2>&1; then
	beside_ksmtuned reinstall.log reinstallation
	note "4b. reinstalled next to a running ksmtuned: $(in_ct systemctl is-enabled ksmpilot.service), $(prop ActiveState)"
	in_ct systemctl disable --now ksmtuned.service ksm.service > /dev/null 2>&1
	mark_knobs # what ksmtuned wrote
	[ "$(knobs)" = "$BEFORE" ] || { echo "before: $BEFORE"; echo "now:    $(knobs)"; fail "the knobs are not as before after 4b"; }
else
	note "4b. not checked: no ksmtuned package here"
fi

# --- 5. purge: nothing of the package left ------------------------------------------------------------------
in_ct rm -f $DROPIN # the test's own file, not the package's
apt_in purge.log purge ksmpilot || { cat "$TMPD/purge.log"; fail "apt-get purge failed"; }
in_ct dpkg -s ksmpilot > /dev/null 2>&1 && fail "dpkg still knows ksmpilot after purge"
left=$(diff <(echo "$EXISTING_BEFORE") <(ct_existing) | sed -n 's/^> //p' | tr '\n' ' ')
[ -z "$left" ] || fail "apt-get purge left paths of the package: $left"
named=$(ct_named)
[ "$named" = "$NAMED_BEFORE" ] || { diff <(echo "$NAMED_BEFORE") <(echo "$named"); fail "apt-get purge left files named ksmpilot"; }
in_ct journalctl --list-catalog 2>/dev/null | grep -q " ksmpilot: " && fail "the catalog still has ksmpilot's entries after purge"
note "5. purged: none of the package's $(grep -c . "$TMPD/all") paths left, no file named ksmpilot"

# --- 6. upgrade from the previous commit: the edited config is kept -----------------------------------------
apt_in install-old.log install "$(deb_in "$OLD")" || { cat "$TMPD/install-old.log"; fail "installing $(basename "$OLD") failed"; }
[ "$(prop ActiveState)" = active ] || ct_fail "the previous package's service is not running"
in_ct sh -c "printf '\n# edited by the admin\n[memory]\ntarget_available = 100%%\n[scan]\nsleep_ms_min = 345\nsleep_ms_max = 345\n' >> /etc/ksmpilot.conf"
in_ct systemctl restart ksmpilot.service || ct_fail "restart on the edited config failed"
wait_knob sleep_millisecs 345
OLDPID=$(prop MainPID)
C=$(cursor)
apt_in upgrade.log install "$(deb_in "$NEW")" || { cat "$TMPD/upgrade.log"; fail "the upgrade to $NEWV failed"; }
[ "$(in_ct dpkg-query -W -f '${Version}' ksmpilot)" = "$NEWV" ] || fail "not upgraded to $NEWV"
in_ct grep -q "^# edited by the admin$" /etc/ksmpilot.conf || fail "the upgrade replaced the edited /etc/ksmpilot.conf"
in_ct test -e /etc/ksmpilot.conf.dpkg-old && fail "the upgrade moved the edited config to /etc/ksmpilot.conf.dpkg-old"
in_ct test -e /etc/ksmpilot.conf.dpkg-dist ||
	fail "no /etc/ksmpilot.conf.dpkg-dist: dpkg made no conffile choice, so the kept edit shows nothing"
[ "$(prop ActiveState)/$(prop SubState)" = active/running ] || ct_fail "not running after the upgrade"
[ "$(prop MainPID)" != "$OLDPID" ] || ct_fail "the upgrade did not restart the service"
wait_journal "$C" "ksmpilotd [0-9.]* starting"
wait_knob sleep_millisecs 345
grep -q "Setting up ksmpilot ($NEWV)" "$TMPD/upgrade.log" || fail "no 'Setting up ksmpilot ($NEWV)' in the upgrade"
note "6. upgraded $PREVV -> $NEWV: edited config kept, restarted (pid $OLDPID -> $(prop MainPID)), sleep_millisecs 345"

# --- 6b. an upgrade keeps the administrator's choice: enabled, though stopped, beside an enabled ksmtuned ------
# (dpkg runs the preinst with "upgrade" for a reinstallation of an installed
# version too, as for any upgrade)
if [ -n "$KT" ] || in_ct dpkg -s ksmtuned > /dev/null 2>&1; then
	in_ct systemctl enable ksmtuned.service > /dev/null 2>&1 || fail "cannot enable ksmtuned"
	in_ct systemctl stop ksmpilot.service
	apt_in upgrade2.log install --reinstall "$(deb_in "$NEW")" || { cat "$TMPD/upgrade2.log"; fail "the reinstallation of $NEWV failed"; }
	grep -q "another KSM tuner" "$TMPD/upgrade2.log" && { cat "$TMPD/upgrade2.log"; fail "an upgrade took it for a first installation"; }
	[ "$(in_ct systemctl is-enabled ksmpilot.service)" = enabled ] || ct_fail "an upgrade disabled the ksmpilot the administrator enabled"
	[ "$(prop ActiveState)/$(prop SubState)" = active/running ] || ct_fail "an upgrade did not start the enabled ksmpilot again"
	in_ct systemctl disable ksmtuned.service > /dev/null 2>&1
	note "6b. upgraded beside an enabled ksmtuned, ksmpilot stopped: $(in_ct systemctl is-enabled ksmpilot.service), $(prop ActiveState)"
	# 6c. the same with ksmtuned running: ksmpilot is not started, since
	# its Conflicts= would stop ksmtuned without a word; the upgrade says so
	in_ct systemctl start ksmtuned.service > /dev/null 2>&1 || fail "cannot start ksmtuned"
	in_ct systemctl stop ksmpilot.service
	apt_in upgrade3.log install --reinstall "$(deb_in "$NEW")" || { cat "$TMPD/upgrade3.log"; fail "the reinstallation of $NEWV failed"; }
	[ "$(in_ct systemctl is-enabled ksmpilot.service)" = enabled ] || ct_fail "an upgrade disabled the ksmpilot the administrator enabled"
	[ "$(prop ActiveState)" = inactive ] || ct_fail "an upgrade started ksmpilot beside a running ksmtuned: $(prop ActiveState)"
	in_ct systemctl --quiet is-active ksmtuned.service || ct_fail "an upgrade stopped the running ksmtuned"
	grep -q "not started after the upgrade: another KSM tuner" "$TMPD/upgrade3.log" &&
		grep -q "runs: ksmtuned.service. Two tuners" "$TMPD/upgrade3.log" ||
		{ cat "$TMPD/upgrade3.log"; fail "the upgrade does not say why ksmpilot was not started"; }
	grep -q "systemctl disable --now ksmtuned && systemctl start ksmpilot" "$TMPD/upgrade3.log" ||
		{ cat "$TMPD/upgrade3.log"; fail "the upgrade does not say how to switch"; }
	grep -Eq $'^(en|dis)abled\r?$' "$TMPD/upgrade3.log" && { cat "$TMPD/upgrade3.log"; fail "a stray line of deb-systemd-helper"; }
	in_ct systemctl stop ksmtuned.service ksm.service > /dev/null 2>&1
	mark_knobs # what ksm.service and ksmtuned wrote
	note "6c. upgraded beside a running ksmtuned, ksmpilot stopped: $(in_ct systemctl is-enabled ksmpilot.service), $(prop ActiveState), ksmtuned still ran"
fi
apt_in purge2.log purge ksmpilot || { cat "$TMPD/purge2.log"; fail "the last purge failed"; }
[ "$(knobs)" = "$BEFORE" ] || { echo "before: $BEFORE"; echo "after:  $(knobs)"; fail "the last purge did not restore the knobs"; }

# --- the host is as it was ---------------------------------------------------------------------------------
ct_stop
[ "$(host_state)" = "$HOST_BEFORE" ] || { echo "before: $HOST_BEFORE"; echo "after:  $(host_state)"; fail "the host changed"; }
pgrep -f "systemd-nspawn .*-M $NAME" > /dev/null && fail "a systemd-nspawn for $NAME is still running"
for d in $CT_CG_DIRS; do [ -d "$d" ] && fail "cgroup $d left behind"; done
echo "package: all checks passed in $(($(date +%s) - T0)) s, $(($(date +%s) - T1)) s of them with the kernel lock"
