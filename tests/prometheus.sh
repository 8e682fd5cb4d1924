# prometheus.sh - the metrics as Prometheus sees them, with Debian's own
# tools: promtool checks and unit-tests the alerting rules in
# contrib/prometheus/, checks the textfile a daemon writes (on a fake KSM
# tree), and a real prometheus-node-exporter, started on a loopback port
# with its textfile collector on a temporary directory, serves the ksmpilot
# series with the daemon's values, the per-guest ones among them (bounded,
# with hostile names escaped). Skips where the tools are missing
# (apt-get install prometheus prometheus-node-exporter).
. tests/lib.sh
set -u
make_tmp
# the page KSM counts, as the daemon takes it (4096 on x86)
PAGE=$(getconf PAGESIZE)
command -v promtool >/dev/null || skip "promtool not installed (Debian package prometheus)"
NE=$(command -v prometheus-node-exporter || command -v node_exporter || true)
RULES=contrib/prometheus

# the rules load, and their unit tests pass
promtool check rules $RULES/ksmpilot-rules.yml > "$TMPD/check" 2>&1 || { cat "$TMPD/check"; fail "promtool check rules"; }
(cd $RULES && promtool test rules ksmpilot-rules.test.yml) > "$TMPD/test" 2>&1 ||
	{ cat "$TMPD/test"; fail "promtool test rules"; }
grep -q SUCCESS "$TMPD/test" || fail "promtool test rules did not report SUCCESS"

# a daemon's textfile, into what will be node_exporter's textfile directory
K=$TMPD/ksm
make_fake_ksm "$K"
echo 156000 > "$K/pages_sharing"
echo 600 > "$K/pages_shared"
echo 44 > "$K/ksm_zero_pages"
echo -81920 > "$K/general_profit"
echo 123456789 > "$K/pages_scanned"
mkdir "$TMPD/textfile"
PROM=$TMPD/textfile/ksmpilot.prom
fake_conf "$TMPD/k.conf" "$TMPD/state" "[memory]
target_available = 100%
[metrics]
textfile = $PROM"
# 25 guests in state_dir/processes, as ksmpilotctl inspect leaves it (the
# format of ksmpilotctl(8)); names with a quote, a backslash and an escape
# sequence: the default guest_series = 20 of them by saving, and "other"
mkdir -m 755 "$TMPD/state"
{
	printf '# ksmpilot processes v1: key=value\nversion=1\ntime=%s\nmax_map_count=65530\n' "$(date +%s)"
	printf 'scanned=300\ndenied=0\nmaps_unreadable=0\ndropped=0\nprocesses=25\n'
	for i in $(seq 1 25); do
		name="vm$i"
		[ $i = 25 ] && name='q"uo\te'
		[ $i = 24 ] && name="$(printf 'esc?]0;x?')"
		printf 'pid=%d\nuid=64055\ncomm=qemu-system-x86\ncmdline=qemu-system-x86_64 -name guest=%s,debug-threads=on\n' \
			$((1000 + i)) "$name"
		printf 'ksm_rmap_items=%d\nksm_zero_pages=0\nksm_merging_pages=%d\nksm_process_profit=%d\nmaps=100\n' \
			$((i * 2000)) $((i * 1000)) $((i * 1000 * PAGE - i * 2000 * 64))
	done
} > "$TMPD/state/processes"
chmod 600 "$TMPD/state/processes"
start_daemon "$TMPD/log" -c "$TMPD/k.conf" --sysfs-dir "$K" --log-target=stderr
for i in $(seq 1 100); do [ -s "$PROM" ] && break; sleep 0.1; done
[ -s "$PROM" ] || fail "no textfile"
promtool check metrics < "$PROM" > "$TMPD/lint" 2>&1 || { cat "$TMPD/lint"; fail "promtool check metrics on the textfile"; }
[ -s "$TMPD/lint" ] && { cat "$TMPD/lint"; fail "promtool check metrics found problems"; }
# the guests: 20 by name (the largest saving first), the 5 smallest as other
[ "$(grep -c '^ksmpilot_guest_saving_bytes{' "$PROM")" = 21 ] || fail "not 20 guests and other: $(grep '^ksmpilot_guest_saving' "$PROM")"
grep -q '^ksmpilot_guest_saving_bytes{guest="q\\"uo\\\\te"} 102400000$' "$PROM" || fail "the quoted name: $(grep 'guest="q' "$PROM")"
grep -q '^ksmpilot_guest_saving_bytes{guest="other"} 61440000$' "$PROM" || fail "other is not vm1..vm5: $(grep other "$PROM")"
grep -q 'guest="vm5"' "$PROM" && fail "vm5 has a series of its own"
grep -q '^ksmpilot_guest_processes{kind="other"} 5$' "$PROM" || fail "the count of other"

if [ -z "$NE" ]; then
	note "prometheus-node-exporter not installed: the scrape is not tested"
	skip "prometheus-node-exporter not installed (the rules and the textfile passed promtool)"
fi

# http_get PORT PATH: the body of a GET on 127.0.0.1 (bash's /dev/tcp:
# no curl needed)
http_get() {
	local port=$1 path=$2
	exec 3<>/dev/tcp/127.0.0.1/"$port" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
	sed '1,/^\r$/d' <&3
	exec 3<&-
}

# node_exporter on a free loopback port, the textfile collector only
started=""
for try in 1 2 3 4 5; do
	port=$(( 20000 + (RANDOM * 7 + $$ + try * 101) % 40000 ))
	"$NE" --web.listen-address=127.0.0.1:$port --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$TMPD/textfile" > "$TMPD/ne.log" 2>&1 &
	NPID=$!
	track $NPID
	for i in $(seq 1 50); do
		if http_get $port /metrics > "$TMPD/scrape" 2>/dev/null && [ -s "$TMPD/scrape" ]; then
			started=$port
			break
		fi
		kill -0 $NPID 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$started" ] && break
	stop_pid $NPID
done
[ -n "$started" ] || fail "node_exporter did not start: $(tail -n 5 "$TMPD/ne.log")"
note "node_exporter pid $NPID on 127.0.0.1:$port"

# the ksmpilot series, as the daemon wrote them, with no textfile error
grep -q '^node_textfile_scrape_error 0$' "$TMPD/scrape" || fail "node_exporter reports a textfile error: $(grep textfile "$TMPD/scrape")"
# value NAME: the scraped value of the series NAME (node_exporter may write
# 6.39156224e+08 for 639156224)
value() { awk -v n="$1" '$1 == n { print $2 + 0; exit }' "$TMPD/scrape"; }
[ "$(value ksmpilot_saving_bytes)" = $(( (156000 + 44) * PAGE )) ] ||
	fail "scrape: ksmpilot_saving_bytes is not the fake tree's saving: $(value ksmpilot_saving_bytes)"
[ "$(value ksmpilot_general_profit_bytes)" = -81920 ] || fail "scrape: general_profit: $(value ksmpilot_general_profit_bytes)"
[ "$(value ksmpilot_pages_scanned_total)" = 123456789 ] || fail "scrape: pages_scanned: $(value ksmpilot_pages_scanned_total)"
# the mode as an enum: one series per mode, the current one 1
[ "$(grep -c '^ksmpilot_controller_mode{mode="[a-z]*"} [01]$' "$TMPD/scrape")" = 3 ] &&
	[ "$(grep -c '^ksmpilot_controller_mode{.*} 1$' "$TMPD/scrape")" = 1 ] ||
	fail "scrape: mode: $(grep controller_mode "$TMPD/scrape")"
grep -q '^ksmpilot_pressure_ratio{source="combined"} ' "$TMPD/scrape" || fail "scrape: pressure"
grep -q '^# TYPE ksmpilot_foreign_changes_total counter$' "$TMPD/scrape" || fail "scrape: counter type"
grep -q '^ksmpilot_guest_saving_bytes{guest="vm6"} 2.4576e+07$\|^ksmpilot_guest_saving_bytes{guest="vm6"} 24576000$' "$TMPD/scrape" ||
	fail "scrape: the guest vm6: $(grep 'guest="vm6"' "$TMPD/scrape")"
for m in ksmpilot_build_info ksmpilot_last_update_timestamp_seconds ksmpilot_ksmd_cpu_cap_ratio ksmpilot_hazard \
	ksmpilot_ksmd_cpu_allowed_ratio ksmpilot_ksmd_cpu_seconds_total ksmpilot_inspect_fresh \
	ksmpilot_effort_term ksmpilot_merge_yield_ratio; do
	grep -q "^${m}[ {]" "$TMPD/scrape" || fail "scrape: $m missing"
done
grep '^ksmpilot_\|^# [A-Z]* ksmpilot_' "$TMPD/scrape" | promtool check metrics > "$TMPD/lint2" 2>&1 ||
	{ cat "$TMPD/lint2"; fail "promtool check metrics on the scrape"; }
# the daemon's exit removes the file: the series go with it
kill -TERM $D
wait $D; rc=$?; untrack $D; [ $rc = 0 ] || fail "daemon exited $rc"
http_get $port /metrics > "$TMPD/scrape2"
grep -q '^ksmpilot_' "$TMPD/scrape2" && fail "ksmpilot series still served after the daemon stopped"
grep -q '^node_textfile_scrape_error 0$' "$TMPD/scrape2" || fail "textfile error after the stop"
echo "prometheus: passed"
