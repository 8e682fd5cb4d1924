/* ctl_doctor.c - `ksmpilotctl doctor [--json]`: why nothing merges. It
 * samples KSM and ksmd, looks at /proc, sysfs and ksmpilotd's state for a
 * window (--window, default 2 s), and prints findings with their evidence
 * and fix. Exit 0 when healthy, 1 when a finding needs action. See
 * ksmpilotctl(8). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "doctor.h"
#include "guest.h"
#include "json.h"
#include "util.h"

#define DEFAULT_WINDOW_MS 2000

static void print_text(const struct doctor_report *r)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < r->n; i++) {
		const struct doctor_finding *f = &r->f[i];

		if (f->severity == DOCTOR_OK) {
			ok++;
			continue;
		}
		printf("%-8s %s: %s\n", f->severity == DOCTOR_ACTION ? "[ACTION]" : "[info]", f->id, f->summary);
		if (f->evidence[0])
			printf("         evidence: %s\n", f->evidence);
		if (f->fix[0])
			printf("         fix:      %s\n", f->fix);
	}
	if (ok) {
		printf("%s%u checks passed:\n", ok < r->n ? "\n" : "", ok);
		for (unsigned i = 0; i < r->n; i++)
			if (r->f[i].severity == DOCTOR_OK)
				printf("  [ok]   %s: %s%s%s%s\n", r->f[i].id, r->f[i].summary, r->f[i].evidence[0] ? " (" : "",
				       r->f[i].evidence, r->f[i].evidence[0] ? ")" : "");
	}
	printf("\n%s\n", doctor_needs_action(r) ? "Some findings need action (exit status 1)."
						 : "Nothing needs action (exit status 0).");
}

static int print_json(const struct doctor_report *r)
{
	struct json j;

	json_begin(&j, stdout, false);
	json_object_open(&j);
	json_kv_int(&j, "format", 1);
	json_kv_bool(&j, "healthy", !doctor_needs_action(r));
	json_key(&j, "findings");
	json_array_open(&j);
	for (unsigned i = 0; i < r->n; i++) {
		json_object_open(&j);
		json_kv_string(&j, "id", r->f[i].id);
		json_kv_string(&j, "severity", doctor_severity_name(r->f[i].severity));
		json_kv_string(&j, "summary", r->f[i].summary);
		json_kv_string(&j, "evidence", r->f[i].evidence);
		json_kv_string(&j, "fix", r->f[i].fix);
		json_object_close(&j);
	}
	json_array_close(&j);
	json_object_close(&j);
	return json_end(&j) < 0 ? CTL_FAIL : CTL_OK;
}

int ctl_doctor(const struct ctl_opts *o, int argc, char **argv)
{
	struct doctor_paths paths = { .ksm_dir = o->sysfs, .proc_dir = o->proc_dir, .sys_dir = o->sys_dir };
	struct doctor_input *in = NULL;
	struct doctor_report *rep = NULL;
	struct cfg *cfg = NULL;
	uint64_t window_ms = DEFAULT_WINDOW_MS;
	char libvirt[CFG_PATH_MAX + 32];
	int rc = CTL_FAIL;

	if (argc > 0) {
		fprintf(stderr, "ksmpilotctl: doctor: unexpected argument '%s'\n", argv[0]);
		return CTL_USAGE;
	}
	if (o->window && parse_duration_ms(o->window, 0, 600000, &window_ms) < 0) {
		fprintf(stderr, "ksmpilotctl: doctor: --window: '%s' is not a duration from 0 to 10min (2s, 500ms)\n",
			o->window);
		return CTL_USAGE;
	}
	cfg = malloc(sizeof(*cfg));
	in = calloc(1, sizeof(*in));
	rep = calloc(1, sizeof(*rep));
	if (!cfg || !in || !rep || ctl_load_config(o, cfg) < 0)
		goto out;
	paths.state_dir = cfg->state_dir;
	/* guest names from libvirt's pid files, under the same root as /proc
	 * when that is a test tree */
	if (strcmp(o->proc_dir, "/proc") == 0)
		snprintf(libvirt, sizeof(libvirt), "%s", GUEST_LIBVIRT_DIR);
	else
		snprintf(libvirt, sizeof(libvirt), "%s/../run/libvirt/qemu", o->proc_dir);
	paths.libvirt_dir = libvirt;
	doctor_sample(&paths, &in->before);
	if (doctor_gather(&paths, cfg, in) < 0)
		goto out;
	/* the rest of the window after the /proc walk; none at all with
	 * --window 0, whose checks that need two samples say so */
	if (window_ms == 0) {
		in->after = in->before;
	} else {
		int64_t left = (int64_t)window_ms - ((int64_t)now_ms() - in->before.ms);
		if (left > 0) {
			struct timespec ts = { (time_t)(left / 1000), (long)(left % 1000) * 1000000L };
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		doctor_sample(&paths, &in->after);
	}
	doctor_check(in, rep);
	if (o->json) {
		rc = print_json(rep);
	} else {
		print_text(rep);
		rc = fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
	}
	if (rc == CTL_OK && doctor_needs_action(rep))
		rc = CTL_FAIL;
out:
	if (in)
		doctor_input_free(in);
	free(in);
	free(rep);
	free(cfg);
	return rc;
}
