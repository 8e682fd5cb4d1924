# guests.sh - `ksmpilotctl guests` on a fake /proc and KSM tree: the rows
# sorted by saving with their names, the total beside the kernel's own
# figures, the same data in JSON, the file ksmpilotctl inspect leaves for a
# caller that cannot read every ksm_stat, a 6.0-like kernel (ksm_merging_pages
# only: the profit estimated), a kernel with no per-process figures, and
# hostile names. Needs neither root nor KSM.
. tests/lib.sh
set -u
make_tmp
CTL="$WRAP $B/ksmpilotctl"
K=$TMPD/ksm
P=$TMPD/proc
make_fake_ksm "$K"
echo 50500 > "$K/pages_sharing"
echo 200 > "$K/pages_shared"
echo 10 > "$K/ksm_zero_pages"
echo 150000000 > "$K/general_profit"
mkdir -p "$P/self" "$P/sys/vm"
echo "ksm_rmap_items 0" > "$P/self/ksm_stat"
echo 65530 > "$P/sys/vm/max_map_count"
# proc PID COMM KSM_STAT STATM ARG...: a process (KSM_STAT with \n escapes)
proc() {
	local pid=$1 comm=$2 stat=$3 statm=$4
	shift 4
	mkdir -p "$P/$pid"
	printf '%b\n' "$comm" > "$P/$pid/comm"
	printf '%s\0' "$@" > "$P/$pid/cmdline"
	printf '%b' "$stat" > "$P/$pid/ksm_stat"
	printf 'Name:\t%s\nUid:\t107\t107\t107\t107\n' "$comm" > "$P/$pid/status"
	echo "$statm" > "$P/$pid/statm"
	echo "00400000-00500000 r-xp 00000000 00:00 0" > "$P/$pid/maps"
}
stat() { echo "ksm_rmap_items $1\nksm_zero_pages $2\nksm_merging_pages $3\nksm_process_profit $4\nksm_merge_any: no\nksm_mergeable: $5\n"; }
proc 100 qemu-system-x86 "$(stat 2000 10 1000 3000000 yes)" '600000 4000 100 1 0 5000 0' \
	/usr/bin/qemu-system-x86_64 -name guest=web1,debug-threads=on
proc 200 kvm "$(stat 60000 0 50000 200000000 yes)" '900000 100000 100 1 0 5000 0' \
	/usr/bin/kvm -id 105 -name db,debug-threads=on
proc 300 bash "$(stat 0 0 0 0 no)" '1000 500 100 1 0 50 0' /bin/bash
# a name that would paint the terminal
proc 400 'qemu\033[31m' "$(stat 10 0 5 100 yes)" '1000 500 100 1 0 50 0' \
	qemu -name "$(printf 'guest=\033]0;pwned\007x')"
g() { $CTL --sysfs-dir "$K" --proc-dir "$P" "$@"; }

g guests > "$TMPD/out" || fail "guests exited $?"
cat "$TMPD/out"
sed -n 1p "$TMPD/out" | grep -qx "source: $P, read now" || fail "the source is not said: $(sed -n 1p "$TMPD/out")"
sed -n 3p "$TMPD/out" | grep -q '^105:db  *200  *195\.3 ' || fail "db is not first, with 195.3 MiB: $(sed -n 3p "$TMPD/out")"
sed -n 4p "$TMPD/out" | grep -q '^web1  *100  *3\.9 ' || fail "web1 is not second: $(sed -n 4p "$TMPD/out")"
grep -q 'bash' "$TMPD/out" && fail "a process that does not use KSM is listed"
# the merged share: 50000 pages of 100000 resident pages
grep '^105:db' "$TMPD/out" | grep -q ' 50\.0%$' || fail "db's merged share is not 50.0%: $(grep '^105:db' "$TMPD/out")"
grep -q '^TOTAL (3 processes)  *199\.3 ' "$TMPD/out" || fail "no total of 3 processes"
grep -q '^kernel: 197\.3 MiB saved (pages_sharing 50500 + ksm_zero_pages 10, pages_shared 200)' "$TMPD/out" ||
	fail "the kernel's figures are missing: $(grep kernel "$TMPD/out")"
# the sum of the profits beside general_profit: 190.7 + 2.9 + 100 bytes
grep -q "^sum of the processes' profits: 193\.6 MiB; the kernel's general_profit: 143\.1 MiB$" "$TMPD/out" ||
	fail "the profits are not shown side by side: $(grep profits "$TMPD/out")"
grep -q 'can exceed the kernel' "$TMPD/out" || fail "the note on per-process sums is missing"
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$TMPD/out" && fail "a control character reached the terminal"

g guests --json > "$TMPD/json" || fail "guests --json exited $?"
# a --proc-dir that does not exist is named, not blamed on the kernel
$CTL --sysfs-dir "$K" --proc-dir "$TMPD/no-such-proc" guests > "$TMPD/err" 2>&1
rc=$?
[ $rc = 1 ] || fail "guests with a missing --proc-dir: exit $rc, not 1"
grep -q "cannot read $TMPD/no-such-proc: No such file or directory" "$TMPD/err" ||
	fail "guests with a missing --proc-dir: $(cat "$TMPD/err")"
# output that could not be written is a failure, not a success with half a document
if [ -w /dev/full ]; then
	g guests --json > /dev/full 2> /dev/null
	rc=$?
	[ $rc = 1 ] || fail "guests --json to a full device: exit $rc, not 1"
fi
if command -v python3 >/dev/null; then
	python3 -m json.tool "$TMPD/json" > /dev/null || fail "guests --json is not valid JSON: $(cat "$TMPD/json")"
fi
grep -q '"guests": \[{"name": "105:db", "pid": 200, "uid": 107, "comm": "kvm", "merging_pages": 50000' "$TMPD/json" ||
	fail "JSON: the first guest: $(cat "$TMPD/json")"
grep -q '"merged_share": 0.5' "$TMPD/json" || fail "JSON: the merged share"
grep -qF "\"source\": {\"kind\": \"proc\", \"path\": \"$P\", \"age_seconds\": 0}" "$TMPD/json" || fail "JSON: the source: $(cat "$TMPD/json")"
grep -q '"kernel": {"pages_sharing": 50500, "pages_shared": 200, "saving_bytes": 206888960, "general_profit_bytes": 150000000}' "$TMPD/json" ||
	fail "JSON: the kernel's figures: $(cat "$TMPD/json")"

# A caller that cannot read every ksm_stat (root without
# CAP_DAC_READ_SEARCH, as in a confined unit, or another user) gets what
# ksmpilotctl inspect left in state_dir/processes, with its age
mkdir -m 755 "$TMPD/state"
$CTL --state-dir "$TMPD/state" inspect "$P" > /dev/null || fail "inspect exited $?"
sed -i "s/^time=.*/time=$(( $(date +%s) - 90 ))/" "$TMPD/state/processes"
# web1 merges more since: the live tree says 9000 pages, the file 1000
printf '%b' "$(stat 9000 0 9000 30000000 yes)" > "$P/100/ksm_stat"
if [ "$(id -u)" = 0 ]; then
	chown 107 "$P"/*/ksm_stat
	chmod 0400 "$P"/*/ksm_stat
	confined() { setpriv --bounding-set=-dac_override,-dac_read_search -- "$@"; }
else
	chmod 0000 "$P/200/ksm_stat"
	confined() { "$@"; }
fi
confined $CTL --sysfs-dir "$K" --proc-dir "$P" --state-dir "$TMPD/state" guests > "$TMPD/out" ||
	fail "guests from the file exited $?"
sed -n 1p "$TMPD/out" | grep -Eq "^source: $TMPD/state/processes, written by ksmpilotctl inspect (9[0-9]|1[0-9][0-9]) s ago \(this user cannot read [0-9]+ processes' ksm_stat\)$" ||
	fail "the file is not named as the source with its age: $(sed -n 1p "$TMPD/out")"
grep -q '^web1  *100  *3\.9 ' "$TMPD/out" || fail "web1 not as the file has it: $(grep web1 "$TMPD/out")"
grep -q '^105:db  *200  *195\.3 ' "$TMPD/out" || fail "db not as the file has it: $(grep db "$TMPD/out")"
confined $CTL --sysfs-dir "$K" --proc-dir "$P" --state-dir "$TMPD/state" guests --json > "$TMPD/json" ||
	fail "guests --json from the file exited $?"
grep -Eq "\"source\": \{\"kind\": \"file\", \"path\": \"$TMPD/state/processes\", \"age_seconds\": (9[0-9]|1[0-9][0-9])\}" "$TMPD/json" ||
	fail "JSON: the file as the source: $(cat "$TMPD/json")"
# old: said so
sed -i "s/^time=.*/time=$(( $(date +%s) - 400 ))/" "$TMPD/state/processes"
confined $CTL --sysfs-dir "$K" --proc-dir "$P" --state-dir "$TMPD/state" guests | sed -n 1p | grep -q 'STALE: is ksmpilot-inspect.timer running?' ||
	fail "a file 400 s old is not called stale"
# no file: the rows this caller can read, and why the file was not taken
rm "$TMPD/state/processes"
confined $CTL --sysfs-dir "$K" --proc-dir "$P" --state-dir "$TMPD/state" guests > "$TMPD/out" || fail "guests without the file exited $?"
grep -qx "source: $P, read now" "$TMPD/out" || fail "without the file the source is not the proc directory: $(sed -n 1p "$TMPD/out")"
grep -Eq "^[0-9]+ process(es' ksm_stat|'s ksm_stat) could not be read \(ksm_stat is root's to read\); state_dir/processes: No such file or directory\.$" "$TMPD/out" ||
	fail "no word on the unreadable processes and the missing file: $(tail -2 "$TMPD/out")"
chown "$(id -u)" "$P"/*/ksm_stat
chmod 0644 "$P"/*/ksm_stat

# a name of two-byte characters: the table cuts it between two of them,
# and pads it by characters, so that the columns after it line up
proc 500 qemu-system-x86 "$(stat 10 0 4 100 yes)" '1000 500 100 1 0 50 0' \
	qemu -name "guest=aaaωωωωωωωωωωωωωωωωωωωω"
g guests > "$TMPD/out" || fail "guests with a name of two-byte characters exited $?"
row=$(grep '^aaaω' "$TMPD/out")
echo "$row" | grep -q '^aaaωωωωωωωωωω  *500 ' || fail "a name of two-byte characters not cut between two: $row"
w=$(printf '%s' "${row%%500 *}500" | LC_ALL=C.UTF-8 wc -m)
[ "$w" = $((24 + 9)) ] || fail "the name of two-byte characters is padded to $w characters with the pid, not 33: $row"
rm -rf "$P/500"

# 5.19 and 6.0: ksm_merging_pages alone, so no profit: it is estimated
rm "$P/100/ksm_stat" "$P/200/ksm_stat" "$P/300/ksm_stat" "$P/400/ksm_stat" "$P/self/ksm_stat"
for p in 100 200 400; do echo 1000 > "$P/$p/ksm_merging_pages"; done
echo 0 > "$P/self/ksm_merging_pages"
g guests > "$TMPD/out" || fail "guests on a 6.0-like tree exited $?"
grep -q '^web1 .* ~3\.9 ' "$TMPD/out" || fail "the estimated profit is not marked: $(grep web1 "$TMPD/out")"
grep -q '^~ profit estimated' "$TMPD/out" || fail "no note on the estimate"
# before 5.19: nothing per process
rm "$P/self/ksm_merging_pages"
g guests > "$TMPD/out" 2> "$TMPD/err"; [ $? = 1 ] || fail "no per-process figures: not exit 1"
grep -q "no per-process KSM figures" "$TMPD/err" || fail "no reason given: $(cat "$TMPD/err")"
# and inspect writes no file, which the daemon would take for fresh data
# with no process near vm.max_map_count
$CTL --state-dir "$TMPD/state-old" inspect "$P" > /dev/null 2> "$TMPD/err"; [ $? = 1 ] || fail "inspect without per-process figures: not exit 1"
grep -q "no per-process KSM figures.*nothing written" "$TMPD/err" || fail "inspect gives no reason: $(cat "$TMPD/err")"
[ -e "$TMPD/state-old/processes" ] && fail "inspect wrote a processes file without per-process figures"
# usage
g guests extra > /dev/null 2>&1; [ $? = 2 ] || fail "an extra argument: not exit 2"
g guests --window 1 > /dev/null 2>&1; [ $? = 2 ] || fail "an option of another command: not exit 2"
echo "guests: passed"
