/* report.c - see report.h */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#define MiB (1024.0 * 1024.0)

double report_saved_bytes(const struct sample *s)
{
	double pages = (double)s->ksm.v[KSM_PAGES_SHARING];

	if (ksm_values_has(&s->ksm, KSM_ZERO_PAGES))
		pages += (double)s->ksm.v[KSM_ZERO_PAGES];
	return pages * CTL_PAGE_SIZE;
}

static void counter(FILE *f, const struct sample *s, enum ksm_item i)
{
	if (ksm_values_has(&s->ksm, i))
		fprintf(f, "  %-22s %" PRId64 "\n", ksm_item_name(i), s->ksm.v[i]);
	else
		fprintf(f, "  %-22s (not in this kernel; since %s)\n", ksm_item_name(i), ksm_item_since(i));
}

void report_block(FILE *f, const struct cfg *cfg, const struct sample *s, const struct ctl_decision *d)
{
	static const enum ksm_item counters[] = { KSM_PAGES_SHARED, KSM_PAGES_SHARING, KSM_PAGES_UNSHARED,
						  KSM_PAGES_VOLATILE, KSM_FULL_SCANS, KSM_PAGES_SCANNED,
						  KSM_PAGES_SKIPPED, KSM_ZERO_PAGES, KSM_GENERAL_PROFIT };
	const struct ctl_terms *t = &d->t;

	fprintf(f, "inputs:\n");
	fprintf(f, "  %-22s %.0f MiB\n", "MemTotal", (double)s->mem_total / MiB);
	fprintf(f, "  %-22s %.0f MiB (setpoint %.0f MiB)\n", "MemAvailable", (double)s->mem_available / MiB,
		(double)t->setpoint / MiB);
	fprintf(f, "  %-22s %.0f MiB\n", "MemFree", (double)s->mem_free / MiB);
	if (s->have_ksmd_cpu)
		fprintf(f, "  %-22s %.2f s total, %.1f%% of a core now\n", "ksmd CPU", s->ksmd_cpu_s,
			t->cpu_share * 100);
	else
		fprintf(f, "  %-22s not visible (estimated %.1f%% from the scan rate)\n", "ksmd CPU",
			t->cpu_share * 100);
	if (cfg->psi_threshold > 0)
		fprintf(f, "  %-22s %s%.2f%%\n", "PSI some avg10", s->have_psi ? "" : "unavailable ",
			s->psi_some_avg10);
	if (cfg->guest_cmdline[0])
		fprintf(f, "  %-22s %.0f MiB in %u processes\n", "guest RSS", (double)s->guest_rss / MiB,
			s->guest_count);
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		counter(f, s, counters[i]);
	fprintf(f, "  %-22s run=%" PRId64 " pages_to_scan=%" PRId64 " sleep_millisecs=%" PRId64 "%s\n", "knobs now",
		s->ksm.v[KSM_RUN], s->ksm.v[KSM_PAGES_TO_SCAN], s->ksm.v[KSM_SLEEP_MILLISECS],
		ksm_values_has(&s->ksm, KSM_ADVISOR_MODE) && s->ksm.v[KSM_ADVISOR_MODE] ? " advisor=scan-time" : "");
	fprintf(f, "  %-22s %.0f MiB\n", "saved", report_saved_bytes(s) / MiB);

	fprintf(f, "terms:\n");
	fprintf(f, "  %-22s %+.4f (memory %+.4f", "error", t->error, t->error_mem);
	/* NaN: set, but not known yet (the first scan) or not on this kernel */
	if (cfg->guest_cmdline[0] && isnan(t->error_guest))
		fprintf(f, ", guests not scanned yet");
	else if (cfg->guest_cmdline[0])
		fprintf(f, ", guests %+.4f", t->error_guest);
	if (cfg->psi_threshold > 0 && isnan(t->error_psi))
		fprintf(f, ", psi not on this kernel");
	else if (cfg->psi_threshold > 0)
		fprintf(f, ", psi %+.4f", t->error_psi);
	fprintf(f, ")\n");
	fprintf(f, "  %-22s P=%.3f I=%.3f D=%.3f -> u=%.3f; a probe's %.3f\n", "effort", t->p, t->i, t->d, t->u,
		t->u_probe);
	fprintf(f, "  %-22s b=%.3f = max(max(b_yield %.3f, b_churn %.3f) x derate %.2f, b_probe %.3f)\n", "benefit",
		t->benefit, t->b_yield, t->b_churn, t->derate, t->b_probe);
	fprintf(f, "  %-22s yield %.4f merged a page scanned, %.0f breaks/s, churn %.2f, probe %.0f pages\n", "evidence",
		t->yield, t->breaks, t->churn, t->probe_pages);
	fprintf(f, "  %-22s %.0f MiB above the known level (noise %.0f MiB)\n", "anonymous memory",
		t->anon_excess / MiB, t->anon_noise / MiB);
	fprintf(f, "  %-22s %.2f us/page (planned with %.2f); cap %.0f%% of a core (burst left %.0f%%) allows %.0f pages/s\n",
		"cost", t->cost_us, t->plan_cost_us, t->cpu_cap * 100, t->burst * 100, t->rate_cap);
	fprintf(f, "  %-22s %.0f pages/s scanned; idle rate %.0f pages/s; a pass an interval %.0f pages/s%s\n", "scan",
		t->scanned_rate, t->rate_idle, t->rate_pass, t->pass_bound ? " (held to it)" : "");

	fprintf(f, "decision:\n");
	fprintf(f, "  %-22s %s\n", "reason", ctl_reason_name(d->reason));
	fprintf(f, "  %-22s %s\n", "mode", ctl_mode_name(d->mode));
	fprintf(f, "  %-22s %d\n", "run", d->run);
	if (!d->run) {
		/* nothing scans: the knobs are not written, and no rate is wanted */
		fprintf(f, "  %-22s not written while ksmd is stopped\n", "pages_to_scan");
		fprintf(f, "  %-22s not written while ksmd is stopped\n", "sleep_millisecs");
		fprintf(f, "  %-22s none: ksmd stopped (run=0)\n", "rate");
		return;
	}
	if (d->set_pages)
		fprintf(f, "  %-22s %" PRIu64 "\n", "pages_to_scan", d->pages_to_scan);
	else
		fprintf(f, "  %-22s %" PRIu64 " (left to the kernel advisor)\n", "pages_to_scan", d->pages_to_scan);
	fprintf(f, "  %-22s %" PRIu64 "\n", "sleep_millisecs", d->sleep_ms);
	fprintf(f, "  %-22s %.0f pages/s wanted, %.0f planned\n", "rate", d->rate, d->rate_planned);
}

void report_summary(char *buf, size_t len, const struct sample *s, const struct ctl_decision *d)
{
	if (!d->run) { /* no rate, and no knob is written */
		snprintf(buf, len, "saving %.0f MiB; run=0; ksmd %.1f%%; %s", report_saved_bytes(s) / MiB,
			 d->t.cpu_share * 100, ctl_reason_name(d->reason));
		return;
	}
	snprintf(buf, len, "saving %.0f MiB; run=%d, %.0f pages/s (%" PRIu64 "/%" PRIu64 "ms); ksmd %.1f%%; %s",
		 report_saved_bytes(s) / MiB, d->run, d->run ? d->rate_planned : 0.0, d->pages_to_scan, d->sleep_ms,
		 d->t.cpu_share * 100, ctl_reason_name(d->reason));
}

size_t report_fields(struct log_field *f, size_t max, const struct sample *s, const struct ctl_decision *d)
{
	const struct ctl_terms *t = &d->t;
	size_t n = 0;

#define F(name, ...)                                              \
	do {                                                      \
		if (n < max)                                      \
			log_field_set(&f[n++], name, __VA_ARGS__); \
	} while (0)
	F("KSM_RUN", "%d", d->run);
	F("KSM_PAGES_TO_SCAN", "%" PRIu64, d->pages_to_scan);
	F("KSM_SLEEP_MS", "%" PRIu64, d->sleep_ms);
	F("KSM_REASON", "%s", ctl_reason_name(d->reason));
	F("KSM_MODE", "%s", ctl_mode_name(d->mode));
	F("KSM_RATE", "%.0f", d->rate);
	F("KSM_MEM_AVAILABLE_BYTES", "%" PRIu64, s->mem_available);
	F("KSM_MEM_TOTAL_BYTES", "%" PRIu64, s->mem_total);
	F("KSM_SETPOINT_BYTES", "%" PRIu64, t->setpoint);
	F("KSM_PAGES_SHARING", "%" PRId64, s->ksm.v[KSM_PAGES_SHARING]);
	F("KSM_PAGES_UNSHARED", "%" PRId64, s->ksm.v[KSM_PAGES_UNSHARED]);
	F("KSM_PAGES_VOLATILE", "%" PRId64, s->ksm.v[KSM_PAGES_VOLATILE]);
	if (ksm_values_has(&s->ksm, KSM_GENERAL_PROFIT))
		F("KSM_GENERAL_PROFIT", "%" PRId64, s->ksm.v[KSM_GENERAL_PROFIT]);
	F("KSMD_CPU_PERCENT", "%.2f", t->cpu_share * 100);
	if (s->have_ksmd_cpu)
		F("KSMD_CPU_SECONDS", "%.2f", s->ksmd_cpu_s);
	F("KSM_ERROR", "%.5f", t->error);
	F("KSM_P", "%.4f", t->p);
	F("KSM_I", "%.4f", t->i);
	F("KSM_D", "%.4f", t->d);
	F("KSM_EFFORT", "%.4f", t->u);
	F("KSM_EFFORT_PROBE", "%.4f", t->u_probe);
	F("KSM_BENEFIT", "%.4f", t->benefit);
	F("KSM_B_YIELD", "%.4f", t->b_yield);
	F("KSM_B_PROBE", "%.4f", t->b_probe);
	F("KSM_B_CHURN", "%.4f", t->b_churn);
	F("KSM_DERATE", "%.4f", t->derate);
	F("KSM_PROBE_PAGES", "%.0f", t->probe_pages);
	F("KSM_BREAKS", "%.1f", t->breaks);
	F("KSM_CPU_CAP_PERCENT", "%.2f", t->cpu_cap * 100);
	F("KSM_YIELD", "%.5f", t->yield);
	F("KSM_COST_US", "%.3f", t->cost_us);
	F("KSM_PLAN_COST_US", "%.3f", t->plan_cost_us);
	F("KSM_RATE_CAP", "%.0f", t->rate_cap);
	F("KSM_RATE_PASS", "%.0f", t->rate_pass);
	if (d->wake != CTL_WAKE_NONE) {
		F("KSM_WAKE", "%s", ctl_wake_name(d->wake));
		F("KSM_WAKE_BYTES", "%.0f", d->wake_bytes);
		F("KSM_WAKE_SIGNAL", "%s", ctl_signal_name(d->signal));
	}
#undef F
	return n;
}
