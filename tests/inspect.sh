# inspect.sh - ksmpilotctl inspect on a fake /proc: it writes
# state_dir/processes (mode 0600) through a safe replace, refuses a state
# directory root cannot trust and a broken configuration, and takes the
# usage it documents; and it runs on the real /proc. Needs neither root nor
# KSM.
. tests/lib.sh
set -u
make_tmp
CTL=$B/ksmpilotctl
P=$TMPD/proc
S=$TMPD/state
ctl() { $WRAP $CTL --state-dir "$S" "$@"; }

mkdir -p "$P/sys/vm" "$P/4242" "$P/77" "$P/self"
echo 100 > "$P/sys/vm/max_map_count"
printf 'ksm_rmap_items 5\nksm_zero_pages 0\nksm_merging_pages 9\nksm_process_profit 100\nksm_merge_any: no\nksm_mergeable: yes\n' \
	> "$P/4242/ksm_stat"
printf 'Name:\tqemu\nUid:\t64055\t64055\t64055\t64055\n' > "$P/4242/status"
printf 'qemu-\033[31mred\n' > "$P/4242/comm"
printf 'qemu-system-x86_64\0-name\0guest=vm1\0' > "$P/4242/cmdline"
for _ in $(seq 1 95); do echo "0-1 r--p 0 00:00 0"; done > "$P/4242/maps"
printf 'ksm_rmap_items 0\n' > "$P/77/ksm_stat" # no KSM use
printf 'ksm_rmap_items 0\n' > "$P/self/ksm_stat" # a kernel with per-process figures

# usage and errors
ctl inspect "$P" extra > /dev/null 2>&1; [ $? = 2 ] || fail "two arguments: expected exit 2"
ctl inspect "$TMPD/none" > /dev/null 2> "$TMPD/err"; [ $? = 1 ] || fail "a missing proc dir: expected exit 1"
grep -q "cannot list $TMPD/none" "$TMPD/err" || fail "missing proc dir message: $(cat "$TMPD/err")"
$CTL --help | grep -q "^  inspect \[PROC_DIR\]" || fail "--help lacks inspect"

# a run: the file, its mode, its content
ctl inspect "$P" > "$TMPD/out" 2>&1 || { cat "$TMPD/out"; fail "inspect failed"; }
grep -q "^1 of 2 processes use KSM; the most memory mappings: pid 4242 (qemu-?\[31mred), 95 of vm.max_map_count 100" "$TMPD/out" ||
	fail "inspect summary: $(cat "$TMPD/out")"
# it says whether Landlock confines it (test_util checks what the confinement allows)
grep -Eq "; written to $S/processes \((confined by Landlock, ABI [1-9][0-9]*|not confined: [^()]*Landlock[^()]*)\)$" "$TMPD/out" ||
	fail "inspect does not say whether it is confined: $(cat "$TMPD/out")"
# under a seccomp filter that forbids Landlock (as a container's may): it
# runs unconfined and says so on standard error, which the unit logs
if [ -z "$WRAP" ] && command -v python3 >/dev/null; then
	python3 - "$CTL" --state-dir "$S" inspect "$P" > "$TMPD/out" 2> "$TMPD/err" <<'PY'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)
# the system call number; landlock_create_ruleset (444 in the common table): EPERM; else allow
prog = insn(0x20, 0, 0, 0) + insn(0x15, 0, 1, 444) + insn(0x06, 0, 0, 0x00050000 | 1) + insn(0x06, 0, 0, 0x7fff0000)
buf = ctypes.create_string_buffer(prog, len(prog))
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fprog = Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:
    sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])
PY
	rc=$?
	if [ $rc = 77 ]; then
		note "no seccomp filter could be set here: the run under one is not tried"
	else
		[ $rc = 0 ] || { cat "$TMPD/err"; fail "inspect under a filter forbidding Landlock: exit $rc"; }
		grep -q "(not confined: a seccomp filter forbids Landlock, in a container perhaps)$" "$TMPD/out" ||
			fail "the summary under a filter: $(cat "$TMPD/out")"
		grep -q "^ksmpilotctl: inspect: not confined: a seccomp filter forbids Landlock.*must allow landlock_create_ruleset" \
			"$TMPD/err" || fail "nothing on standard error under a filter that forbids Landlock: $(cat "$TMPD/err")"
	fi
fi
[ "$(stat -c %a "$S/processes")" = 600 ] || fail "processes mode is $(stat -c %a "$S/processes"), not 600"
[ "$(stat -c %a "$S")" = 755 ] || fail "the state directory was created with mode $(stat -c %a "$S")"
head -n 1 "$S/processes" | grep -q "^# ksmpilot processes v1" || fail "processes header"
for l in version=1 max_map_count=100 processes=1 pid=4242 uid=64055 "comm=qemu-?\[31mred" \
	"cmdline=qemu-system-x86_64 -name guest=vm1" ksm_merging_pages=9 ksm_mergeable=1 maps=95; do
	grep -qx -- "$l" "$S/processes" || fail "processes lacks the line '$l'"
done
grep -q "$(printf '\033')" "$S/processes" && fail "an escape character reached the processes file"
[ "$(ls -A "$S" | wc -l)" = 1 ] || fail "inspect left more than the processes file: $(ls -A "$S")"

# a FIFO or a symlink in place of the file is replaced, not opened
rm "$S/processes"
mkfifo "$S/processes"
timeout 20 $CTL --state-dir "$S" inspect "$P" > /dev/null 2>&1 || fail "inspect with a FIFO at processes failed or hung"
[ -f "$S/processes" ] || fail "the FIFO was not replaced"
rm "$S/processes"
echo keep > "$TMPD/victim"
ln -s "$TMPD/victim" "$S/processes"
ctl inspect "$P" > /dev/null 2>&1 || fail "inspect with a symlink at processes failed"
[ "$(cat "$TMPD/victim")" = keep ] || fail "inspect wrote through a symlink"

# a state directory anyone can write is refused (exit 3), and nothing written
chmod 0777 "$S"
rm -f "$S/processes"
ctl inspect "$P" > /dev/null 2> "$TMPD/err"; rc=$?
[ $rc = 3 ] || fail "an untrusted state directory: exit $rc, expected 3"
grep -q "refusing the state directory: $S can be written by anyone (mode 0777)" "$TMPD/err" ||
	fail "untrusted state directory message: $(cat "$TMPD/err")"
[ -e "$S/processes" ] && fail "inspect wrote into an untrusted state directory"
chmod 0755 "$S"

# the configuration names state_dir; a broken one is refused (exit 3)
fake_conf "$TMPD/k.conf" "$TMPD/state2"
$WRAP $CTL -c "$TMPD/k.conf" inspect "$P" > /dev/null 2>&1 || fail "inspect with -c failed"
[ -s "$TMPD/state2/processes" ] || fail "inspect did not write into the configured state_dir"
printf '[controller]\nmax_cpu = 500\n' >> "$TMPD/k.conf"
$WRAP $CTL -c "$TMPD/k.conf" inspect "$P" > /dev/null 2> "$TMPD/err"; rc=$?
[ $rc = 3 ] || fail "a broken configuration: exit $rc, expected 3"
grep -q "k.conf:[0-9]*: max_cpu" "$TMPD/err" || fail "the broken configuration's error is not shown: $(cat "$TMPD/err")"

# the real /proc: this shell's own process is not a KSM user, but inspect
# runs, and counts what it could not read
ctl inspect > "$TMPD/out" 2>&1 || { cat "$TMPD/out"; fail "inspect on /proc failed"; }
grep -q "processes use KSM" "$TMPD/out" || fail "inspect on /proc: $(cat "$TMPD/out")"
echo "inspect: passed"
