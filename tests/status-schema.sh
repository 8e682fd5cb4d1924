# status-schema.sh - ksmpilotctl status --json validated against
# docs/ksmpilotctl-status.schema.json with a real JSON Schema validator
# (Debian's python3-jsonschema), without and with the daemon; and the
# schema is strict enough to reject a misnamed key. Needs neither root nor
# KSM; skips without python3-jsonschema.
. tests/lib.sh
set -u
PY=/usr/bin/python3   # Debian's: python3 on PATH may be another build
SCHEMA=docs/ksmpilotctl-status.schema.json
[ -x $PY ] || skip "$PY missing (apt-get install python3-jsonschema)"
$PY -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema missing (apt-get install python3-jsonschema)"
make_tmp
CTL=$B/ksmpilotctl
K=$TMPD/ksm
S=$TMPD/state
make_fake_ksm "$K"
echo 2621440 > "$K/pages_sharing"

# validate FILE: against the schema (checked itself first)
validate() {
	$PY - "$SCHEMA" "$1" <<'EOP'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
errors = sorted(cls(schema).iter_errors(json.load(open(sys.argv[2]))), key=lambda e: list(e.path))
for e in errors:
    print("%s: %s" % ("/".join(str(p) for p in e.path) or "(top)", e.message))
sys.exit(1 if errors else 0)
EOP
}

$WRAP $CTL --sysfs-dir "$K" --state-dir "$S" status --json > "$TMPD/off.json"
validate "$TMPD/off.json" || fail "status --json without the daemon does not match the schema"
# an old kernel: many nulls
make_fake_ksm "$TMPD/old" old
$WRAP $CTL --sysfs-dir "$TMPD/old" --state-dir "$S" status --json > "$TMPD/old.json"
validate "$TMPD/old.json" || fail "status --json on a 6.1-like tree does not match the schema"
# memory going offline: run reads 5, shown as 1 and offlining
echo 5 > "$K/run"
$WRAP $CTL --sysfs-dir "$K" --state-dir "$S" status --json > "$TMPD/offline.json"
validate "$TMPD/offline.json" || fail "status --json while memory goes offline does not match the schema"
grep -q '"run": 1,' "$TMPD/offline.json" || fail "run 5 not shown as 1: $(cat "$TMPD/offline.json")"
grep -q '"offlining": true' "$TMPD/offline.json" || fail "offlining not shown: $(cat "$TMPD/offline.json")"
$WRAP $CTL --sysfs-dir "$K" --state-dir "$S" status > "$TMPD/offline.txt"
grep -q "^KSM         running (run=1), .*, memory going offline (ksmd waits)$" "$TMPD/offline.txt" ||
	fail "status while memory goes offline: $(head -n 1 "$TMPD/offline.txt")"
echo 0 > "$K/run"

fake_conf "$TMPD/k.conf" "$S" "[memory]
target_available = 100%
guest_cmdline = ^sleep
psi_threshold = 5"
$WRAP $KSMPILOTD -c "$TMPD/k.conf" --sysfs-dir "$K" --log-target=stderr 2> "$TMPD/log" &
D=$!
track $D
for _ in $(seq 1 100); do [ -s "$S/state" ] && break; sleep 0.1; done
$WRAP $CTL --sysfs-dir "$K" --state-dir "$S" status --json > "$TMPD/on.json" || fail "status --json: exit $?"
grep -q '"running": true' "$TMPD/on.json" || fail "the daemon is not seen"
validate "$TMPD/on.json" || fail "status --json with the daemon does not match the schema"

# the schema is not a blank cheque: a renamed or a missing key fails
sed 's/"sleep_millisecs"/"sleep_ms"/' "$TMPD/on.json" > "$TMPD/bad.json"
validate "$TMPD/bad.json" > "$TMPD/why" && fail "the schema accepts sleep_ms"
grep -q "sleep_ms" "$TMPD/why" || fail "the validator does not name sleep_ms: $(cat "$TMPD/why")"
sed 's/"format": 1/"format": 2/' "$TMPD/on.json" > "$TMPD/bad.json"
validate "$TMPD/bad.json" > /dev/null && fail "the schema accepts format 2"
sed 's/"reason": "[a-z-]*", //' "$TMPD/on.json" > "$TMPD/bad.json"
validate "$TMPD/bad.json" > /dev/null && fail "the schema accepts a decision without a reason"
echo "status-schema: passed"
