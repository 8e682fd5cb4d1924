# rpm.sh - rpm/ksmpilot.spec builds with Debian's rpm (`make rpm`:
# rpmbuild -bb --nodeps against the libraries installed here, systemd's RPM
# macros from rpm/macros.systemd-fallback), and the package holds what
# `make install` installs with the spec's paths, the docs the spec adds and
# nothing else (rpm -qlp), with /etc/ksmpilot.conf as a noreplace config
# file, the versions of the spec and the Makefile agreeing, and scriptlets
# that preset, stop and try-restart the unit (the fallback's text; with a
# distribution's own macros, no macro left unexpanded). Skips without
# rpmbuild: make check installs nothing but the build dependencies (.ci/run
# installs rpm); and inside rpmbuild (the spec's %check), which is already
# the spec's build.
. tests/lib.sh
set -u
make_tmp
# never the flags or variables of a calling make
pmake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CFLAGS -u CPPFLAGS -u LDFLAGS make --no-print-directory "$@"; }
command -v rpmbuild > /dev/null || skip "rpmbuild is missing (apt-get install rpm)"
[ -z "${RPM_BUILD_ROOT:-}" ] || skip "inside rpmbuild: this is the spec's build already"
# as make rpm decides it
fallback=no
rpm --eval '%{?systemd_post:x}' | grep -q x || fallback=yes
sbindir=$(rpm --eval '%{_sbindir}')

pmake rpm B="$TMPD/b" RPM_OUT="$TMPD/rpm" > "$TMPD/rpm.log" 2>&1 || { tail -n 40 "$TMPD/rpm.log"; fail "make rpm failed"; }
# not the -debuginfo and -debugsource packages a distribution's macros add
RPM=$(ls "$TMPD"/rpm/RPMS/*/ksmpilot-[0-9]*.rpm)
[ "$(echo "$RPM" | wc -l)" = 1 ] || fail "not one ksmpilot package: $RPM"
note "built $(basename "$RPM")"

want=$(sed -n 's/^VERSION *:= *//p' Makefile)
got=$(rpm -qp --qf '%{VERSION}' "$RPM")
[ "$got" = "$want" ] || fail "the spec's Version is $got, the Makefile's $want"

# the spec's paths, as its %install passes them to make install
paths=$(rpmspec --load=rpm/macros.systemd-fallback -P rpm/ksmpilot.spec 2> /dev/null |
	sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep -m1 "make install DESTDIR" | tr ' \t' '\n\n' |
	grep -E '^[A-Z]+=' | grep -v '^DESTDIR=\|^INSTALL=')
echo "$paths" | grep -q "^SYSTEMDUNITDIR=" || fail "no make install line with the paths in the spec's %install"
# shellcheck disable=SC2086 # a list of VAR=value
pmake -s -j2 install B="$TMPD/bi" DESTDIR="$TMPD/inst" $paths > "$TMPD/inst.log" 2>&1 ||
	{ cat "$TMPD/inst.log"; fail "make install with the spec's paths failed"; }
docdir=$(echo "$paths" | sed -n 's/^DOCDIR=//p')
{
	(cd "$TMPD/inst" && find . -mindepth 1) | sed 's|^\.||'
	# the docs the spec installs besides
	sed -n 's|^install -p -m 0644 \(.*\) %{buildroot}%{_pkgdocdir}/$|\1|p' rpm/ksmpilot.spec | tr ' ' '\n' |
		sed "s|^.*/||; s|^|$docdir/|"
} | sort -u > "$TMPD/want"
# rpm lists only what it owns: the parents of owned paths that are not
# owned themselves (/usr, /usr/sbin, ...) are left out; so is the debug
# link, and the license rpm itself puts in /usr/share/licenses (%license)
rpm -qlp "$RPM" | grep -v '^/usr/lib/.build-id\|^/usr/share/licenses/' | sed 's|\.gz$||' | sort > "$TMPD/got"
rpm -qlp "$RPM" | grep -qx '/usr/share/licenses/ksmpilot[^/]*/LICENSE' || fail "the rpm has no LICENSE"
comm -13 "$TMPD/want" "$TMPD/got" > "$TMPD/extra"
[ -s "$TMPD/extra" ] && fail "the rpm has what make install does not install: $(tr '\n' ' ' < "$TMPD/extra")"
# everything make install installs that is not a shared directory
while read -r p; do
	grep -qx "$p" "$TMPD/got" && continue
	[ -d "$TMPD/inst$p" ] && [ -n "$(grep "^$p/" "$TMPD/got")" ] && ! grep -q ksmpilot <<< "$p" && continue
	fail "the rpm lacks $p, which make install installs"
done < "$TMPD/want"
for f in "$sbindir/ksmpilotd" "$sbindir/ksmpilotctl" /usr/lib/systemd/system/ksmpilot.service /etc/ksmpilot.conf \
	/etc/ksmpilot.conf.d /usr/lib/systemd/catalog/ksmpilot.catalog /usr/share/man/man8/ksmpilotd.8; do
	grep -qx "$f" "$TMPD/got" || fail "the rpm lacks $f"
done
note "file list: $(wc -l < "$TMPD/got") paths, as make install plus the docs"

[ "$(rpm -qp --configfiles "$RPM")" = /etc/ksmpilot.conf ] || fail "config files: $(rpm -qp --configfiles "$RPM")"
rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$RPM" | grep -qx "/etc/ksmpilot.conf cn" ||
	fail "/etc/ksmpilot.conf is not %config(noreplace)"
rpm -qp --scripts "$RPM" > "$TMPD/scripts"
grep -n '%{\|%systemd\|%_' "$TMPD/scripts" && fail "a macro is left unexpanded in the scriptlets"
if [ $fallback = yes ]; then
	want=("preset ksmpilot.service" "disable --now ksmpilot.service" "try-restart ksmpilot.service" "daemon-reload")
else
	want=(ksmpilot.service ksmpilot-inspect.timer) # the distribution's own text
fi
for s in "${want[@]}" "another KSM tuner is enabled or running"; do
	grep -q -- "$s" "$TMPD/scripts" || { cat "$TMPD/scripts"; fail "the scriptlets lack '$s'"; }
done
echo "rpm: passed"
