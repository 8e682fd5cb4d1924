# completion.sh - the bash completion of ksmpilotd and ksmpilotctl
# (contrib/bash-completion/), through bash's own complete -p and compgen:
# options, commands, option arguments, configuration keys after
# --dump-config (from the binary); and, where bash-completion is installed,
# that it finds them where make install puts them. Needs neither root nor
# KSM.
. tests/lib.sh
set -u
make_tmp
command -v bash > /dev/null || skip "no bash"

# comp CMD WORD...: what completing the last WORD gives, sorted, one a line
comp() {
	local cmd=$1
	shift
	bash --norc --noprofile -c '
		source contrib/bash-completion/ksmpilotd
		source contrib/bash-completion/ksmpilotctl
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		fn=$(complete -p "$(basename "$0")" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		[ -n "$fn" ] || exit 3
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort' "$cmd" "$B/$cmd" "$@"
}
expect() { # expect "WANTED" CMD WORD...
	local want=$1 got
	shift
	got=$(comp "$@")
	[ "$got" = "$want" ] || fail "completing '$*': got [$(echo $got)], want [$(echo $want)]"
}

# registered for both commands
bash --norc --noprofile -c 'source contrib/bash-completion/ksmpilotd; complete -p ksmpilotd' |
	grep -qx 'complete -F _ksmpilotd ksmpilotd' || fail "complete -p ksmpilotd"
bash --norc --noprofile -c 'source contrib/bash-completion/ksmpilotctl; complete -p ksmpilotctl' |
	grep -qx 'complete -F _ksmpilotctl ksmpilotctl' || fail "complete -p ksmpilotctl"

# ksmpilotd: options from --help, arguments, keys after --dump-config
expect "--dump-config" ksmpilotd --dump-c
expect "--check-config
--config" ksmpilotd --c
for o in $($B/ksmpilotd --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
	comp ksmpilotd -- | grep -qx -- "$o" || fail "ksmpilotd: $o is not offered"
done
expect "auto
journal
stderr" ksmpilotd --log-target ""
expect $'max_cpu\nmax_cpu_burst' ksmpilotd -c conf/ksmpilot.conf --dump-config max_c
keys=$(comp ksmpilotd --dump-config "")
[ "$keys" = "$($B/ksmpilotd --list-config-keys | sort)" ] || fail "the keys after --dump-config are not the binary's"
[ "$(echo "$keys" | wc -l)" -ge 28 ] || fail "only $(echo "$keys" | wc -l) keys offered"
expect "" ksmpilotd --once ""
mkdir "$TMPD/cfgs" && touch "$TMPD/cfgs/a.conf" "$TMPD/cfgs/b.conf"
expect "$TMPD/cfgs/a.conf" ksmpilotd -c "$TMPD/cfgs/a"
expect "$TMPD/cfgs" ksmpilotd --sysfs-dir "$TMPD/cf"

# ksmpilotctl: commands and options from --help, files after import-ksmtuned
cmds=$(comp ksmpilotctl "")
echo "$cmds" | grep -qx status || fail "ksmpilotctl: status not offered: $cmds"
echo "$cmds" | grep -qx import-ksmtuned || fail "ksmpilotctl: import-ksmtuned not offered"
expect "status" ksmpilotctl st
expect "status" ksmpilotctl --state-dir /tmp st
expect "--json" ksmpilotctl status --js
expect "$TMPD/cfgs/b.conf" ksmpilotctl import-ksmtuned "$TMPD/cfgs/b"
expect "$TMPD/cfgs/a.conf" ksmpilotctl import-ksmtuned -o "$TMPD/cfgs/a"
expect "" ksmpilotctl status ""
# the --opt=value form, as bash splits it at the '='
expect "status" ksmpilotctl --state-dir = /tmp st
expect "$TMPD/cfgs/a.conf" ksmpilotctl --config = "$TMPD/cfgs/a"
comp ksmpilotctl --config = | grep -qx Makefile || fail "ksmpilotctl --config=: no file offered"
expect "" ksmpilotctl history --since = -2
expect "$TMPD/cfgs/a.conf" ksmpilotd --config = "$TMPD/cfgs/a"
# the options are --help's, not words of its descriptions (journalctl -u)
opts=$(comp ksmpilotctl -)
echo "$opts" | grep -qx -- -u && fail "ksmpilotctl: -u offered, from the text of --help"
for o in $($B/ksmpilotctl --help | sed -nE 's/^ +(-.*)$/\1/p' | sed -E 's/  .*//' | grep -oE -- '--?[a-zA-Z][a-z-]*'); do
	echo "$opts" | grep -qx -- "$o" || fail "ksmpilotctl: $o is not offered"
done
# every option's argument is skipped to find the command, directories
# after a DIR, nothing after a time
expect "guests" ksmpilotctl --proc-dir /tmp gu
expect "history" ksmpilotctl --since -7d hi
expect "$TMPD/cfgs" ksmpilotctl --proc-dir "$TMPD/cf"
expect "$TMPD/cfgs" ksmpilotctl doctor --sys-dir "$TMPD/cf"
expect "" ksmpilotctl history --since ""

# installed where bash-completion finds it on its own (lazy loading by name)
if [ -r /usr/share/bash-completion/bash_completion ]; then
	make -s --no-print-directory B=$B DESTDIR="$TMPD/root" PREFIX=/usr install > /dev/null 2>&1 ||
		fail "make install failed"
	# without the flags of a make that runs this test (make asan): they
	# would make it print "Entering directory" into the value
	bcd=$(MAKEFLAGS="" MAKELEVEL="" make -s --no-print-directory PREFIX=/usr print-BASHCOMPDIR)
	for c in ksmpilotd ksmpilotctl; do
		XDG_DATA_DIRS="$TMPD/root${bcd%/bash-completion/completions}" bash --norc --noprofile -c '
			source /usr/share/bash-completion/bash_completion
			__load_completion "$0" && complete -p "$0"' "$c" > "$TMPD/out" 2>&1 ||
			fail "bash-completion does not load the installed completion of $c: $(cat "$TMPD/out")"
		grep -q -- "-F _$c $c" "$TMPD/out" || fail "bash-completion loaded another completion for $c"
	done
else
	note "bash-completion not installed: its loading of the installed files not checked"
fi
echo "completion: passed"
