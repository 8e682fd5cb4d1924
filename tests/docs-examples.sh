# docs-examples.sh - the sample output in the docs has the format the
# binaries print today: the decision lines of README.md, docs/controller.md
# and the journal excerpt of ksmpilotd(8) against a real decision line; the
# labels of the status example of ksmpilotctl(8) and of the --once example
# of ksmpilotd(8), and the terms of the status examples of ksmpilotctl(8)
# and docs/operations.md, against real output. Numbers and reasons may
# differ; the shape may not. On a fake KSM tree; needs neither root nor KSM.
. tests/lib.sh
set -u
make_tmp
K=$TMPD/ksm
S=$TMPD/state
make_fake_ksm "$K"
echo 156000 > "$K/pages_sharing"
echo 600 > "$K/pages_shared"

# shape LINE...: numbers as N, the reason as R; the wake-up (what woke a
# probe, and the new memory it saw), a probe's effort, said only when it is
# above the price, and the pass an interval, said only when it held the
# rate, left out
shape() {
	sed -E -e 's/.*(saving [0-9])/\1/' -e 's/[0-9]+(\.[0-9]+)?/N/g' -e 's/%; [a-z-]+ \(/%; R (/' \
		-e 's/; wake=[a-z-]+, N MiB( at the low level| above the swings)?\)/)/' -e 's/, probe N at effort N,/, probe N,/' \
		-e 's|, a pass N/s([;)])|\1|'
}

# a real decision line, and real status and --once output
fake_conf "$TMPD/k.conf" "$S" "[memory]
target_available = 100%"
$WRAP $KSMPILOTD -c "$TMPD/k.conf" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/log" &
D=$!
track $D
wait_log "$TMPD/log" "saving [0-9]+ MiB; run=1"
for _ in $(seq 1 100); do [ -s "$S/state" ] && break; sleep 0.1; done
$B/ksmpilotctl --sysfs-dir "$K" --state-dir "$S" status > "$TMPD/status" || fail "status: exit $?"
kill -STOP $D
sed -i "s/^updated=.*/updated=1/" "$S/state"
$B/ksmpilotctl --sysfs-dir "$K" --state-dir "$S" status >> "$TMPD/status" # the STALE line
kill -CONT $D
$KSMPILOTD --once -c "$TMPD/k.conf" --sysfs-dir "$K" > "$TMPD/once" 2>&1 || fail "--once: exit $?"
real=$(grep -m1 -E "saving [0-9]+ MiB; run=1" "$TMPD/log" | shape)
[ -n "$real" ] || fail "no decision line in the log"

# the decision lines in the docs
n=0
for f in README.md docs/controller.md docs/ksmpilotd.8; do
	while IFS= read -r line; do
		n=$((n + 1))
		got=$(printf '%s\n' "$line" | sed 's/\\-/-/g' | shape)
		[ "$got" = "$real" ] || fail "$f: the decision line is not the real format:
  doc:  $got
  real: $real"
	done < <(grep -E "saving [0-9]+ MiB; run=1" "$f")
done
[ $n -ge 3 ] || fail "only $n decision lines found in the docs"

# labels: the first 12 columns of each line of the status example
labels=$(cut -c1-12 "$TMPD/status" | sed 's/ *$//' | grep -v '^$' | sort -u)
ex=$(sed -n '/^\.SH EXAMPLES/,/^\.SH [A-Z]/p' docs/ksmpilotctl.8 | sed -n '/^\$ ksmpilotctl status$/,/^\$ /p' |
	grep -v '^\$')
[ -n "$ex" ] || fail "no status example in ksmpilotctl(8)"
while IFS= read -r line; do
	l=$(printf '%s\n' "$line" | cut -c1-12 | sed 's/ *$//')
	[ -z "$l" ] && continue # a continuation line
	echo "$labels" | grep -qxF -- "$l" || fail "ksmpilotctl(8): the status example has '$l', which status does not print"
done <<< "$ex"
# and every label status prints for a running daemon is in the example
for l in KSM Saving Efficiency ksmd Memory ksmpilotd Decision Terms Counters Hazards Kernel; do
	echo "$labels" | grep -qxF "$l" || fail "status no longer prints '$l'"
	printf '%s\n' "$ex" | grep -q "^$l " || fail "ksmpilotctl(8): the status example lacks '$l'"
done

# terms FILE: the items of the first Terms block of a status output, one a
# line, with their numbers as N ("ksmd cost N us a page")
terms() {
	awk '/^Terms / { on = 1; print; next } on && /^            / { print; next } { if (on) exit }' "$1" |
		cut -c13- | tr '\n' ' ' | sed -E 's/, +/\n/g; s/ +$//' | sed -E 's/-?[0-9][0-9.e+-]*/N/g' | sort -u
}
real_terms=$(terms "$TMPD/status")
[ "$(echo "$real_terms" | wc -l)" -ge 20 ] || fail "status printed only these terms: $real_terms"
# every term of the two status examples is one status prints, and the
# reference, ksmpilotctl(8), has them all
printf '%s\n' "$ex" | sed 's/\\-/-/g' > "$TMPD/man-status"
sed -n '/^\$ ksmpilotctl status$/,/^```/p' docs/operations.md > "$TMPD/ops-status"
for f in ops-status man-status; do
	doc_terms=$(terms "$TMPD/$f")
	[ -n "$doc_terms" ] || fail "$f: no Terms in the status example"
	extra=$(comm -23 <(echo "$doc_terms") <(echo "$real_terms"))
	[ -z "$extra" ] || fail "$f: the status example has terms status does not print: $(echo "$extra" | paste -sd'|')"
done
missing=$(comm -13 <(terms "$TMPD/man-status") <(echo "$real_terms"))
[ -z "$missing" ] || fail "ksmpilotctl(8): the status example lacks the terms $(echo "$missing" | paste -sd'|')"

# the --once example: its labels, in order, are the real ones
real_once=$(sed -E 's/^(  [a-zA-Z_ ]+[a-zA-Z_]) {2,}.*/\1/; s/^([a-z]+:).*/\1/' "$TMPD/once" | grep -v '^applied')
doc_once=$(sed -n '/^\$ ksmpilotd \\-\\-once$/,/^\.RE/p' docs/ksmpilotd.8 | grep -v '^\$\|^\.RE' |
	sed -E 's/^(  [a-zA-Z_ ]+[a-zA-Z_]) {2,}.*/\1/; s/^([a-z]+:).*/\1/' | grep -v '^applied')
[ -n "$doc_once" ] || fail "no --once example in ksmpilotd(8)"
[ "$doc_once" = "$real_once" ] || fail "ksmpilotd(8): the --once example is not the real format:
$(diff <(echo "$doc_once") <(echo "$real_once"))"
echo "docs-examples: passed"
