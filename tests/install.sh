# install.sh - make install / uninstall into a DESTDIR, with a package's
# prefix (/usr) and with the default one (/usr/local): files land where
# systemd and man look for them, /etc/ksmpilot.conf.d/ is created, an
# existing configuration is never overwritten, uninstall removes what install
# put there and leaves an edited configuration alone. make install needs no
# test library: with cmocka hidden from pkg-config it still installs, and
# asks for nothing, while the tests ask for libcmocka-dev. make valgrind and
# make lint name the tools they lack.
. tests/lib.sh
set -u
make_tmp
# never the variables of a calling make (make check PREFIX=..., a package build)
unset MAKEFLAGS MFLAGS MAKELEVEL

# check_prefix PREFIX UNITDIR CATALOGDIR [VARS...]: one install/uninstall cycle
check_prefix() {
	local prefix=$1 unitdir=$2 catdir=$3 D="$TMPD/root$1" f m doc c bcd
	shift 3
	local M="make -s --no-print-directory B=$B DESTDIR=$D PREFIX=$prefix $*"
	rm -rf "$D"
	$M install > "$TMPD/out" 2>&1 || { cat "$TMPD/out"; fail "make install PREFIX=$prefix failed"; }
	for f in $prefix/sbin/ksmpilotd $prefix/sbin/ksmpilotctl $unitdir/ksmpilot.service $catdir/ksmpilot.catalog \
		$prefix/share/man/man8/ksmpilotd.8 $prefix/share/man/man8/ksmpilotctl.8 \
		$prefix/share/man/man5/ksmpilot.conf.5 /etc/ksmpilot.conf $unitdir/ksmpilot-inspect.service \
		$unitdir/ksmpilot-inspect.timer; do
		[ -e "$D$f" ] || fail "install with PREFIX=$prefix did not create $f"
	done
	grep -q "^ExecStart=$prefix/sbin/ksmpilotctl -c /etc/ksmpilot.conf inspect$" "$D$unitdir/ksmpilot-inspect.service" ||
		fail "the inspect unit installed with PREFIX=$prefix does not point at $prefix/sbin and /etc"
	grep -q "@[A-Z]*@" "$D$unitdir/ksmpilot-inspect.service" && fail "unsubstituted @VAR@ in the installed inspect unit"
	[ -d "$D/etc/ksmpilot.conf.d" ] || fail "install with PREFIX=$prefix did not create /etc/ksmpilot.conf.d/"
	grep -q "^ExecStart=$prefix/sbin/ksmpilotd -c /etc/ksmpilot.conf" "$D$unitdir/ksmpilot.service" ||
		fail "the unit installed with PREFIX=$prefix does not point at $prefix/sbin and /etc"
	grep -q "@[A-Z]*@" "$D$unitdir/ksmpilot.service" && fail "unsubstituted @VAR@ in the installed unit"
	grep -q "systemctl" "$TMPD/out" || fail "install does not say how to enable the service"
	cmp -s conf/ksmpilot.conf "$D/etc/ksmpilot.conf" || fail "installed config differs from conf/ksmpilot.conf"
	# the man pages cite documents that are installed, by their installed path
	for m in man8/ksmpilotd.8 man8/ksmpilotctl.8 man5/ksmpilot.conf.5; do
		grep -q "@[A-Z]*@" "$D$prefix/share/man/$m" &&
			fail "$m keeps a placeholder: $(grep -o '@[A-Z]*@' "$D$prefix/share/man/$m" | head -1)"
		for doc in $(grep -o "$prefix/share/doc/ksmpilot/[A-Za-z0-9_.-]*[A-Za-z0-9_-]" "$D$prefix/share/man/$m"); do
			[ -f "$D$doc" ] || fail "$m cites $doc, which install did not put there"
		done
	done
	[ -f "$D$prefix/share/doc/ksmpilot/ksmpilotctl-status.schema.json" ] || fail "the JSON schema is not installed"
	cmp -s contrib/prometheus/ksmpilot-rules.yml "$D$prefix/share/doc/ksmpilot/examples/ksmpilot-rules.yml" ||
		fail "the Prometheus rules are not installed in share/doc/ksmpilot/examples"
	# bash completion, in BASHCOMPDIR
	bcd=$(make -s --no-print-directory PREFIX="$prefix" -f Makefile print-BASHCOMPDIR 2>/dev/null)
	[ -n "$bcd" ] || fail "no BASHCOMPDIR"
	# under a prefix other than /usr, never the distribution's directory,
	# whose files a package owns
	[ "$prefix" = /usr ] || [ "$bcd" = "$prefix/share/bash-completion/completions" ] ||
		fail "PREFIX=$prefix puts the completion in $bcd, not under the prefix"
	for c in ksmpilotd ksmpilotctl; do
		[ -f "$D$bcd/$c" ] || fail "install did not put the completion of $c in $bcd"
	done

	# an existing, edited config survives a second install and the uninstall
	echo "# edited by the admin" >> "$D/etc/ksmpilot.conf"
	$M install > "$TMPD/out" 2>&1 || fail "second make install failed"
	grep -q "edited by the admin" "$D/etc/ksmpilot.conf" || fail "install overwrote an existing config"
	$M uninstall > "$TMPD/out" 2>&1 || { cat "$TMPD/out"; fail "make uninstall failed"; }
	left=$(find "$D" -type f ! -path "$D/etc/ksmpilot.conf")
	[ -z "$left" ] || fail "uninstall (PREFIX=$prefix) left files: $left"
	grep -q "edited by the admin" "$D/etc/ksmpilot.conf" || fail "uninstall removed an edited config"

	# an unedited config goes with the rest, and so does the empty drop-in directory
	rm -rf "$D"
	$M install > /dev/null 2>&1 && $M uninstall > /dev/null 2>&1 || fail "install/uninstall round trip failed"
	left=$(find "$D" -type f -o -name ksmpilot.conf.d)
	[ -z "$left" ] || fail "uninstall (PREFIX=$prefix) left: $left"
	note "PREFIX=$prefix: unit in $unitdir, catalog in $catdir"
}

# a package: the distribution's directories
check_prefix /usr /lib/systemd/system /usr/lib/systemd/catalog SYSTEMDUNITDIR=/lib/systemd/system \
	CATALOGDIR=/usr/lib/systemd/catalog
# a source install: systemd's directories for local units and catalogs, by default
check_prefix /usr/local /usr/local/lib/systemd/system /usr/local/lib/systemd/catalog
if command -v systemd-analyze >/dev/null; then
	systemd-analyze unit-paths 2>/dev/null | grep -qx /usr/local/lib/systemd/system ||
		fail "systemd does not look for units in /usr/local/lib/systemd/system here"
fi

# make install without cmocka: a pkg-config that does not know it, and an
# apt-get that records being called
mkdir -p "$TMPD/bin" "$TMPD/b"
cat > "$TMPD/bin/pkg-config" <<EOF
#!/bin/sh
case " \$* " in *" cmocka "*) exit 1 ;; esac
exec $(command -v pkg-config) "\$@"
EOF
cat > "$TMPD/bin/apt-get" <<EOF
#!/bin/sh
echo "apt-get \$*" >> "$TMPD/apt-get.called"
exit 1
EOF
chmod +x "$TMPD/bin/pkg-config" "$TMPD/bin/apt-get"
# a fresh build directory (a few seconds), built and installed by make install alone
PATH="$TMPD/bin:$PATH" make -s -j2 --no-print-directory B="$TMPD/b" DESTDIR="$TMPD/nocmocka" install \
	> "$TMPD/out" 2>&1 || { cat "$TMPD/out"; fail "make install fails when cmocka is missing"; }
[ -e "$TMPD/apt-get.called" ] && fail "make install asked apt-get for: $(cat "$TMPD/apt-get.called")"
[ -e "$TMPD/nocmocka/usr/local/sbin/ksmpilotd" ] || fail "make install without cmocka installed no daemon"
grep -qi cmocka "$TMPD/out" && fail "make install mentions cmocka: $(cat "$TMPD/out")"
# the tests do need it, and say so
PATH="$TMPD/bin:$PATH" make -s --no-print-directory B="$TMPD/b" "$TMPD/b/.test-deps" > "$TMPD/out" 2>&1 &&
	fail "the test dependency check passed without cmocka"
grep -q "libcmocka-dev" "$TMPD/out" || fail "the test dependency check does not name libcmocka-dev: $(cat "$TMPD/out")"
note "make install without cmocka: installed, nothing asked of apt-get"

# make valgrind and make lint name the tools they miss, with the command
# that installs them: dnf's, by file, where dnf is the package manager
mkdir -p "$TMPD/min"
for c in sh make mkdir id pkg-config awk; do ln -s "$(command -v $c)" "$TMPD/min/$c"; done
PATH="$TMPD/min" make -s --no-print-directory B="$TMPD/b" valgrind-deps > "$TMPD/out" 2>&1 &&
	fail "make valgrind's tool check passed without valgrind"
grep -q "^Missing the tools of make valgrind: valgrind$" "$TMPD/out" ||
	fail "make valgrind does not name valgrind: $(cat "$TMPD/out")"
printf '#!/bin/sh\nexit 1\n' > "$TMPD/min/dnf"
chmod +x "$TMPD/min/dnf"
PATH="$TMPD/min" make -s --no-print-directory B="$TMPD/b" lint-deps > "$TMPD/out" 2>&1 &&
	fail "make lint's tool check passed without its tools"
grep -q "^    sudo dnf install /usr/bin/cppcheck /usr/bin/clang-tidy /usr/bin/shellcheck $" "$TMPD/out" ||
	fail "make lint does not give dnf's command: $(cat "$TMPD/out")"
note "make valgrind and make lint name their missing tools"

# a fresh Debian has no pkg-config: the command printed installs it with
# the libraries (an apt-get that fails, so that root gets the message too)
mkdir -p "$TMPD/nopc"
for c in sh make mkdir id awk cc touch; do ln -s "$(command -v $c)" "$TMPD/nopc/$c"; done
printf '#!/bin/sh\nexit 1\n' > "$TMPD/nopc/apt-get"
chmod +x "$TMPD/nopc/apt-get"
PATH="$TMPD/nopc" make -s --no-print-directory CC=cc B="$TMPD/b2" "$TMPD/b2/.deps" > "$TMPD/out" 2>&1 &&
	fail "the build dependency check passed without pkg-config"
grep -q "^    sudo apt-get install pkg-config libsystemd-dev " "$TMPD/out" ||
	fail "without pkg-config, the command printed is not apt-get's: $(cat "$TMPD/out")"
note "without pkg-config: $(grep 'sudo apt-get install' "$TMPD/out" | sed 's/^ *//')"

# under sudo, make deb (as make run and make rpm) hands a relative build
# directory back to the calling user, even when it fails (here at once: no
# source tree), so that make check and make clean can write there afterwards
if [ "$(id -u)" = 0 ] && command -v dpkg-buildpackage > /dev/null && command -v dh > /dev/null &&
	command -v lintian > /dev/null; then
	gb="build-giveback.$$"
	SUDO_UID=65534 SUDO_GID=65534 make -s --no-print-directory B="$gb" DEB_SRC=/nonexistent deb > "$TMPD/out" 2>&1 &&
		{ rm -rf "$gb"; fail "make deb succeeded without a source tree"; }
	owner=$(stat -c %u:%g "$gb" 2>/dev/null)
	rm -rf "$gb"
	[ "$owner" = 65534:65534 ] || fail "sudo make deb left the build directory owned by ${owner:-nobody: not made}"
	note "sudo make deb: the build directory goes back to the caller"
fi
echo "install: passed"
