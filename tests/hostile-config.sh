# hostile-config.sh - ksmpilotd --check-config on files that are broken on
# purpose: overlong lines, binary junk, NUL bytes, directories, FIFOs,
# devices, symlink loops, unreadable drop-ins, files over 1 MiB, values out of
# range, negative, overflowing or empty. Each must exit exactly 3 (not 0, not
# a signal, not a hang) and say what is wrong, naming the file, and the line
# when a line is at fault. A few boundary cases must pass (exit 0).
# Needs neither root nor KSM; as root, the unreadable cases run as nobody.
. tests/lib.sh
set -u
make_tmp
D=$KSMPILOTD
[ -x "$D" ] || fail "$D not built (run make first)"
ncase=0

# check FILE [RUNNER...]: ksmpilotd --check-config -c FILE; exit code in RC,
# output in $TMPD/out and $TMPD/err. timeout turns a hang into exit 124.
check() {
	local f=$1
	shift
	timeout 60 "$@" $WRAP "$D" --check-config -c "$f" >"$TMPD/out" 2>"$TMPD/err"
	RC=$?
}

# bad_as RUNNER FILE FRAGMENT...: RUNNER ksmpilotd --check-config -c FILE exits
# 3, every line of stderr starts with FILE, FILE.d or a drop-in FILE.d/NAME
# (as shown() names them) and a colon,
# and stderr contains each FRAGMENT (fixed strings). bad FILE FRAGMENT...: the
# same without a runner.
bad_as() {
	local runner=$1 f=$2 frag
	shift 2
	ncase=$((ncase + 1))
	check "$f" $runner
	if [ "$RC" != 3 ]; then
		echo "--- stdout:"; cat "$TMPD/out"; echo "--- stderr:"; cat "$TMPD/err"
		if [ "$RC" -gt 128 ] && [ "$RC" != 124 ]; then
			fail "$f: killed by signal $((RC - 128)), expected exit 3"
		fi
		fail "$f: exit $RC, expected 3"
	fi
	[ -s "$TMPD/err" ] || fail "$f: exit 3 without a message"
	grep -q 'configuration OK' "$TMPD/out" && fail "$f: says 'configuration OK' and exits 3"
	# each file as the messages name it: FILE, FILE.d and what is in it
	local c names
	names=$(shown "$f")$'\n'$(shown "$f.d")
	for c in "$f.d"/*; do [ -e "$c" ] || [ -L "$c" ] && names+=$'\n'$(shown "$c"); done
	NAMES=$names awk '
		BEGIN { n = split(ENVIRON["NAMES"], name, "\n") }
		/^\([0-9]+ more errors\)$/ { next }
		{ for (i = 1; i <= n; i++) if (index($0, name[i] ":") == 1) next }
		{ bad = 1; print "unlocated: " $0 }
		END { exit bad }' "$TMPD/err" || fail "$f: a message does not start with the file name"
	for frag in "$@"; do
		grep -qF -- "$frag" "$TMPD/err" || { cat "$TMPD/err"; fail "$f: no '$frag' in the error"; }
	done
}
bad() { bad_as "" "$@"; }

# good FILE: exit 0 and "configuration OK"
good() {
	check "$1"
	[ "$RC" = 0 ] || { cat "$TMPD/err"; fail "$1: exit $RC, expected 0"; }
	grep -qx 'configuration OK' "$TMPD/out" || fail "$1: no 'configuration OK'"
}

# repeat CHAR N: CHAR N times
repeat() { head -c "$2" /dev/zero | tr '\0' "$1"; }

# junk FILE N SEED: N pseudo-random bytes (a fixed LCG, the same on every run)
junk() {
	local n=$2 x=$3 fmt="" hex i
	for ((i = 0; i < n; i++)); do
		x=$(((x * 1103515245 + 12345) % 2147483648))
		printf -v hex '\\x%02x' $(((x >> 16) & 255))
		fmt+=$hex
	done
	printf "$fmt" > "$1"
}

# --- overlong lines ------------------------------------------------------------
# inih splits lines over 200 bytes in two and shifts every later line number;
# ksmpilotd hands it a long "key = value" as "key=" and keeps the value
# itself, and rejects lines over 1024 characters before inih sees them.
F=$TMPD/long.conf
SF=$(shown "$F") # $F as the messages name it
for n in 196 197 199 200 201 271 272; do
	# guest_cmdline takes 255 characters: n - 16 of them here
	{ echo "[memory]"; echo "guest_cmdline = $(repeat a $((n - 16)))"; } > "$F"
	if [ $n -le 271 ]; then
		good "$F"
	else
		bad "$F" "$SF:2: guest_cmdline: value is longer than 255 characters"
	fi
done
for n in 1024 1025 4000; do
	{ echo "[memory]"; printf 'guest_cmdline = a ;%s\n' "$(repeat c $((n - 19)))"; } > "$F"
	if [ $n = 1024 ]; then
		good "$F"
	else
		bad "$F" "$SF:2: guest_cmdline: line is longer than 1024 characters"
	fi
done
# later line numbers are not shifted; the last line may lack its newline
{ echo "[controller]"; echo ";$(repeat x 1100)"; echo "$(repeat k 250) = 1"; echo "kd = x"; printf 'ki = %s' "$(repeat 9 500)"; } > "$F"
bad "$F" "$SF:2: line is longer than 1024" "$SF:3: unknown key 'kkkk" "$SF:4: kd: 'x' is not a number" "$SF:5: ki: 9999"
[ "$(wc -l < "$TMPD/err")" = 4 ] || { cat "$TMPD/err"; fail "long lines: expected 4 errors"; }
{ echo "[$(repeat s 300)]"; echo "kp = 1"; } > "$F"
bad "$F" "$SF:1: unknown section [ssss"
# one line of 64 KiB, no newline at all
repeat z 65536 > "$F"
bad "$F" "$SF:1: line is longer than 1024"

# --- binary junk, NUL bytes, control characters --------------------------------
F=$TMPD/junk.conf
SF=$(shown "$F")
junk "$F" 4096 42
bad "$F" "$SF:"
[ "$(stat -c %s "$F")" = 4096 ] || fail "junk: wrote $(stat -c %s "$F") bytes, not 4096"
repeat '\377' 4096 > "$F"
bad "$F" "$SF:1: line is longer than 1024"
head -c 4096 "$D" > "$F" # the start of an ELF binary
bad "$F" "$SF:1: binary data (NUL byte)"
printf '[controller]\nkp = 1\0002\nki = 0.25\n' > "$F"
bad "$F" "$SF:2: binary data (NUL byte)"
[ "$(wc -l < "$TMPD/err")" = 1 ] || { cat "$TMPD/err"; fail "NUL: expected one error"; }
printf '[daemon]\n\0\n' > "$F"
bad "$F" "$SF:2: binary data (NUL byte)"
printf '[controller]\nkp = 1\033[31m\nkd = 2\r3\n' > "$F"
bad "$F" "$SF:2: control character 0x1b" "$SF:3: control character 0x0d"

# --- not a regular file --------------------------------------------------------
mkdir "$TMPD/dir.conf"
bad "$TMPD/dir.conf" "$(shown "$TMPD/dir.conf"): cannot read: Is a directory"
mkfifo "$TMPD/fifo.conf"
bad "$TMPD/fifo.conf" "$(shown "$TMPD/fifo.conf"): not a regular file"
ln -s /dev/zero "$TMPD/zero.conf"
bad "$TMPD/zero.conf" "$(shown "$TMPD/zero.conf"): not a regular file"
ln -s loop-b.conf "$TMPD/loop-a.conf"
ln -s loop-a.conf "$TMPD/loop-b.conf"
bad "$TMPD/loop-a.conf" "$(shown "$TMPD/loop-a.conf"): cannot read: Too many levels of symbolic links"
ln -s "$TMPD/self.conf" "$TMPD/self.conf"
bad "$TMPD/self.conf" "$(shown "$TMPD/self.conf"): cannot read: Too many levels of symbolic links"
bad "$TMPD/missing.conf" "$(shown "$TMPD/missing.conf"): cannot read: No such file or directory"

# drop-ins: a good main file, one bad drop-in at a time
M=$TMPD/main.conf
cp conf/ksmpilot.conf "$M"
mkdir "$M.d"
ln -s 10-loop-b.conf "$M.d/10-loop-a.conf"
ln -s 10-loop-a.conf "$M.d/10-loop-b.conf"
bad "$M" "$(shown "$M.d/10-loop-a.conf"): cannot read: Too many levels of symbolic links" \
	"$(shown "$M.d/10-loop-b.conf"): cannot read: Too many levels of symbolic links"
rm "$M.d"/*
mkdir "$M.d/20-dir.conf"
bad "$M" "$(shown "$M.d/20-dir.conf"): cannot read: Is a directory"
rmdir "$M.d/20-dir.conf"
mkfifo "$M.d/30-fifo.conf"
bad "$M" "$(shown "$M.d/30-fifo.conf"): not a regular file"
rm "$M.d/30-fifo.conf"
ln -s "$TMPD/nowhere" "$M.d/40-dangling.conf"
bad "$M" "$(shown "$M.d/40-dangling.conf"): cannot read: No such file or directory"
rm "$M.d/40-dangling.conf"
good "$M" # the empty drop-in directory is fine again
rmdir "$M.d"
: > "$M.d" # a file where the drop-in directory should be
bad "$M" "$(shown "$M.d"): cannot list drop-in directory: Not a directory"
rm "$M.d"

# --- unreadable files (as nobody when root: root reads anything) ---------------
U=$TMPD/unread
mkdir "$U"
cp conf/ksmpilot.conf "$U/k.conf"
mkdir "$U/k.conf.d"
printf '[controller]\nkp = 1\n' > "$U/k.conf.d/50-secret.conf"
chmod 000 "$U/k.conf.d/50-secret.conf"
AS=""
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
		AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
		chmod 755 "$TMPD" "$U" "$U/k.conf.d"
		chmod 644 "$U/k.conf"
	else
		AS=none
	fi
fi
if [ "$AS" = none ] || { [ -z "$AS" ] && cat "$U/k.conf.d/50-secret.conf" >/dev/null 2>&1; }; then
	note "cannot drop privileges here (no setpriv?): unreadable-file cases not checked"
else
	bad_as "$AS" "$U/k.conf" "$(shown "$U/k.conf.d/50-secret.conf"): cannot read: Permission denied"
	chmod 644 "$U/k.conf.d/50-secret.conf"
	chmod 000 "$U/k.conf"
	bad_as "$AS" "$U/k.conf" "$(shown "$U/k.conf"): cannot read: Permission denied"
	chmod 644 "$U/k.conf"
	chmod 000 "$U/k.conf.d"
	bad_as "$AS" "$U/k.conf" "$(shown "$U/k.conf.d"): cannot list drop-in directory: Permission denied"
	chmod 755 "$U/k.conf.d"
fi

# --- size ------------------------------------------------------------------------
# exactly 1 MiB of comments passes, one byte more does not
F=$TMPD/big.conf
SF=$(shown "$F")
{ echo "[daemon]"; yes "# $(repeat c 60)" | head -c $((1048576 - 9 - 2)); echo "#"; } > "$F"
[ "$(stat -c %s "$F")" = 1048576 ] || fail "big.conf is $(stat -c %s "$F") bytes"
good "$F"
echo >> "$F"
bad "$F" "$SF: file is larger than 1048576 bytes"

# --- values ------------------------------------------------------------------------
F=$TMPD/values.conf
SF=$(shown "$F")
# value CONF_LINES FRAGMENT...: [section]/key lines, then the expected errors
value() {
	local text=$1
	shift
	printf '%s\n' "$text" > "$F"
	bad "$F" "$@"
}
value $'[daemon]\ninterval = 50ms' "$SF:2: interval: 50ms is out of range [100ms, 10min]"
value $'[daemon]\ninterval = 11min' "$SF:2: interval: 11min is out of range"
value $'[controller]\nmax_cpu = 0' "$SF:2: max_cpu: 0 is out of range [1, 100]"
value $'[scan]\npages_to_scan_max = 1000001' "$SF:2: pages_to_scan_max: 1000001 is out of range [1, 1000000]"
value $'[scan]\nsleep_ms_min = 0' "$SF:2: sleep_ms_min: 0 is out of range"
# negative sizes, durations and numbers
value $'[memory]\nstop_margin = -1M' "$SF:2: stop_margin: -1M is out of range"
value $'[memory]\ntarget_available = -0.5%' "$SF:2: target_available: -0.5% is out of range"
value $'[controller]\nwake_threshold = -1' "$SF:2: wake_threshold: -1 is out of range"
value $'[memory]\nstop_delay = -1s' "$SF:2: stop_delay: -1s is out of range"
value $'[controller]\nkp = -1' "$SF:2: kp: -1 is out of range"
value $'[scan]\npages_to_scan_min = -3' "$SF:2: pages_to_scan_min: '-3' is not a non-negative integer"
# % over 100
value $'[memory]\ntarget_available = 100.5%' "$SF:2: target_available: 100.5% is out of range (0..100%"
value $'[memory]\nstop_margin = 1000%' "$SF:2: stop_margin: 1000% is out of range"
value $'[memory]\npsi_threshold = 101' "$SF:2: psi_threshold: 101 is out of range [0, 100]"
value $'[controller]\nvolatile_limit = 100.000001' "$SF:2: volatile_limit: 100.000001 is out of range"
value $'[controller]\nchurn_loss = 0' "$SF:2: churn_loss: 0 is out of range [0.1, 25]"
# overflowing numbers
value $'[scan]\npages_to_scan_max = 18446744073709551616' "$SF:2: pages_to_scan_max: 18446744073709551616 is out of range"
value $'[scan]\nsleep_ms_max = 99999999999999999999999999' "$SF:2: sleep_ms_max: 99999999999999999999999999 is out of range"
value $'[memory]\nstop_margin = 18446744073709551616' "$SF:2: stop_margin: 18446744073709551616 is out of range"
value $'[memory]\nstop_margin = 18446744073709551615T' "$SF:2: stop_margin: 18446744073709551615T is out of range"
value $'[memory]\nstop_margin = 1e400' "$SF:2: stop_margin: 1e400 is out of range"
value $'[memory]\ntarget_available = 1e400%' "$SF:2: target_available: 1e400% is out of range"
value $'[controller]\nkd = 1e400' "$SF:2: kd: 1e400 is out of range"
value $'[controller]\nkd = -1e400' "$SF:2: kd: -1e400 is out of range"
value $'[daemon]\ninterval = 18446744073709551616ms' "$SF:2: interval: 18446744073709551616ms is out of range"
value $'[daemon]\ninterval = 1e400h' "$SF:2: interval: 1e400h is out of range"
value $'[controller]\nidle_scan_period = 18446744073709551615h' "$SF:2: idle_scan_period: 18446744073709551615h is out of range"
# not numbers at all
value $'[controller]\nki = nan' "$SF:2: ki: 'nan' is not a number"
value $'[controller]\nki = inf' "$SF:2: ki: 'inf' is not a number"
value $'[controller]\nkp = 0x10' "$SF:2: kp: '0x10' is not a number"
value $'[daemon]\ninterval = 5 parsecs' "$SF:2: interval: '5 parsecs' is not a duration"
# empty values, each type; empty state_dir fails the absolute-path check
value $'[daemon]\ninterval =' "$SF:2: interval: empty value"
value $'[daemon]\ndry_run = ' "$SF:2: dry_run: empty value"
value $'[daemon]\non_exit = ; nothing' "$SF:2: on_exit: empty value"
value $'[memory]\ntarget_available =' "$SF:2: target_available: empty value"
value $'[controller]\nkp =\t' "$SF:2: kp: empty value"
value $'[scan]\npages_to_scan_min =' "$SF:2: pages_to_scan_min: empty value"
value $'[daemon]\nstate_dir =' "$SF:2: state_dir must be an absolute path"
value $'[daemon]\nstate_dir = /run/ksmpilot/../../tmp' "$SF:2: state_dir must not go up with '..'"
# regular expressions: broken, and ones that glibc's regcomp() unrolls into
# too much, that repeat what can match the empty string, or with too many
# anchors (before the checks,
# "a{1,32767}" took 8 GiB and 20 s, "((\b)*){20}" minutes; these cost at
# most ~100 ms without them)
value $'[memory]\nguest_cmdline = (qemu' "$SF:2: guest_cmdline: bad regular expression '(qemu'"
value $'[memory]\nguest_cmdline = a{1,3000}' "$SF:2: guest_cmdline: 'a{1,3000}' is too large once its repetitions"
value $'[memory]\n\nguest_cmdline = ((a{1,20}){1,20}){0,20}' \
	"$SF:3: guest_cmdline: '((a{1,20}){1,20}){0,20}' is too large once its repetitions ({m,n}, +) are unrolled"
value $'[memory]\nguest_cmdline = x++++++++++++++++' "$SF:2: guest_cmdline: 'x++++++++++++++++' is too large"
value $'[memory]\nguest_cmdline = (()*){200}' \
	"$SF:2: guest_cmdline: '(()*){200}' repeats with *, + or a {m,n} of more than one copy something that can match"
value $'[memory]\nguest_cmdline = (a?){2}' \
	"$SF:2: guest_cmdline: '(a?){2}' repeats with *, + or a {m,n} of more than one copy something that can match"
value $'[memory]\nguest_cmdline = (\\<a\\>){9}' "$SF:2: guest_cmdline: '(\\<a\\>){9}' has more than 16 anchors"
value $'[memory]\nguest_cmdline = qemu)' \
	"$SF:2: guest_cmdline: 'qemu)' has a ')' that closes no group; write \\) or [)] for the character"
# a number that underflows is a number near zero, in range
printf '[controller]\nmin_yield = 1e-320\nkp = 1e-400\n[memory]\nguest_cmdline = qemu\\) [)]\n' > "$F"
good "$F"
# all at once: every error reported, each on its own line
value $'[scan]\npages_to_scan_max = 18446744073709551616\n[controller]\nkd = 1e400\n[memory]\nstop_margin = -5M\ntarget_available = 101%\npsi_threshold =' \
	"$SF:2: pages_to_scan_max" "$SF:4: kd" "$SF:6: stop_margin" "$SF:7: target_available" "$SF:8: psi_threshold"
[ "$(wc -l < "$TMPD/err")" = 5 ] || { cat "$TMPD/err"; fail "expected 5 errors"; }

# many errors: at most 32 listed, then a count
for i in $(seq 1 100); do echo "bogus$i = 1"; done > "$F"
bad "$F" "$SF:1: key 'bogus1' outside of any section" "(68 more errors)"

echo "hostile-config: $ncase hostile files rejected with exit 3"
