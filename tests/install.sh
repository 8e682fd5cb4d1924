# install.sh - make install / uninstall into a DESTDIR: files land where the
# variables say, an existing configuration is never overwritten, uninstall
# removes what install put there and leaves an edited configuration alone.
. tests/lib.sh
set -u
make_tmp
D=$TMPD/root
M="make -s --no-print-directory B=$B DESTDIR=$D PREFIX=/usr SYSCONFDIR=/etc SYSTEMDUNITDIR=/lib/systemd/system"

$M install > "$TMPD/out" 2>&1 || { cat "$TMPD/out"; fail "make install failed"; }
for f in usr/sbin/ksmpilotd lib/systemd/system/ksmpilot.service usr/share/man/man8/ksmpilotd.8 \
	usr/share/man/man5/ksmpilot.conf.5 etc/ksmpilot.conf; do
	[ -e "$D/$f" ] || fail "install did not create /$f"
done
grep -q "^ExecStart=/usr/sbin/ksmpilotd -c /etc/ksmpilot.conf" "$D/lib/systemd/system/ksmpilot.service" ||
	fail "installed unit does not point at /usr/sbin and /etc"
grep -q "systemctl" "$TMPD/out" || fail "install does not say how to enable the service"
cmp -s conf/ksmpilot.conf "$D/etc/ksmpilot.conf" || fail "installed config differs from conf/ksmpilot.conf"
# the man pages cite documents that are installed, by their installed path
for m in man8/ksmpilotd.8 man8/ksmpilotctl.8 man5/ksmpilot.conf.5; do
	grep -q "@[A-Z]*@" "$D/usr/share/man/$m" && fail "$m keeps a placeholder: $(grep -o '@[A-Z]*@' "$D/usr/share/man/$m" | head -1)"
	for doc in $(grep -o '/usr/share/doc/ksmpilot/[A-Za-z0-9_.-]*[A-Za-z0-9_-]' "$D/usr/share/man/$m"); do
		[ -f "$D$doc" ] || fail "$m cites $doc, which install did not put there"
	done
done
[ -f "$D/usr/share/doc/ksmpilot/ksmpilotctl-status.schema.json" ] || fail "the JSON schema is not installed"
# bash completion, where bash-completion looks (BASHCOMPDIR)
bcd=$(make -s --no-print-directory PREFIX=/usr -f Makefile print-BASHCOMPDIR 2>/dev/null)
[ -n "$bcd" ] || fail "no BASHCOMPDIR"
for c in ksmpilotd ksmpilotctl; do
	[ -f "$D$bcd/$c" ] || fail "install did not put the completion of $c in $bcd"
done

# an existing, edited config survives a second install and the uninstall
echo "# edited by the admin" >> "$D/etc/ksmpilot.conf"
$M install > "$TMPD/out" 2>&1 || fail "second make install failed"
grep -q "edited by the admin" "$D/etc/ksmpilot.conf" || fail "install overwrote an existing config"
$M uninstall > "$TMPD/out" 2>&1 || { cat "$TMPD/out"; fail "make uninstall failed"; }
for f in usr/sbin/ksmpilotd lib/systemd/system/ksmpilot.service usr/share/man/man8/ksmpilotd.8 \
	usr/share/man/man5/ksmpilot.conf.5; do
	[ -e "$D/$f" ] && fail "uninstall left /$f"
done
grep -q "edited by the admin" "$D/etc/ksmpilot.conf" || fail "uninstall removed an edited config"

# an unedited config goes with the rest
rm -rf "$D"
$M install > /dev/null 2>&1 && $M uninstall > /dev/null 2>&1 || fail "install/uninstall round trip failed"
[ -e "$D/etc/ksmpilot.conf" ] && fail "uninstall left an unedited config"
left=$(find "$D" -type f | head)
[ -z "$left" ] || fail "uninstall left files: $left"
echo "install: passed"
