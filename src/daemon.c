/* daemon.c - see daemon.h */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "msgid.h"
#include "report.h"
#include "util.h"

/* Knobs the controller writes, watched for changes by someone else. */
static const enum ksm_item watched[] = { KSM_RUN, KSM_PAGES_TO_SCAN, KSM_SLEEP_MILLISECS, KSM_ADVISOR_MODE };
#define NWATCHED ARRAY_SIZE(watched)
/* A foreign-change episode ends after this many quiet ticks. */
#define FOREIGN_QUIET_TICKS 30

struct daemon {
	struct daemon_opts opts;
	struct cfg cfg;
	struct ksm ksm;
	struct sampler sampler;
	struct ctl_state ctl;
	struct sample last;
	bool have_last;
	uint64_t last_us;
	struct ksm_snapshot snap;
	bool have_snap;
	char snap_path[CFG_PATH_MAX + 32];
	int lock_fd;
	sd_event *ev;
	sd_event_source *timer;

	/* what we wrote last, to see foreign changes */
	bool wrote[KSM_ITEM_COUNT];
	int64_t written[KSM_ITEM_COUNT];
	unsigned foreign_quiet;
	bool foreign_episode;

	/* log-once flags */
	int sample_err_logged;          /* the -errno last logged, 0 = none */
	bool ksmd_missing_logged;
	uint64_t write_err_logged;      /* KSM_BIT per knob */
	bool cpu_cap_logged;

	struct ctl_decision logged;     /* the last decision logged at info */
	bool have_logged;

	uint64_t reloads, reload_failures, ticks, adjustments, write_errors;
};

/* What to tell an operator about a rejected write. */
static const char *write_hint(enum ksm_item item, int err)
{
	if (err == -EINVAL && item == KSM_PAGES_TO_SCAN)
		return " (the kernel advisor rejects it while advisor_mode=scan-time; see kernel_advisor)";
	if (err == -EBUSY && (item == KSM_MERGE_ACROSS_NODES || item == KSM_MAX_PAGE_SHARING))
		return " (the kernel allows this change only while no page is merged; ksmpilotd never unmerges to force it)";
	if (err == -EROFS || err == -EACCES || err == -EPERM)
		return " (read-only sysfs, or not root?)";
	return "";
}

/* ---- applying a decision --------------------------------------------------- */

int daemon_apply(struct ksm *k, const struct cfg *cfg, const struct ctl_decision *d, const struct sample *cur,
		 enum ksm_item *bad_item)
{
	const struct ksm_values *kv = &cur->ksm;
	int written = 0, r;

	if (d->hold)
		return 0;
	if (d->run) {
		if (cfg->kernel_advisor == ADVISOR_TAKEOVER && ksm_has(k, KSM_ADVISOR_MODE) &&
		    ksm_values_has(&cur->ksm, KSM_ADVISOR_MODE) && cur->ksm.v[KSM_ADVISOR_MODE] != 0) {
			r = ksm_write(k, KSM_ADVISOR_MODE, 0);
			if (r < 0) {
				*bad_item = KSM_ADVISOR_MODE;
				return r;
			}
			written++;
			kv = NULL; /* pages_to_scan was reset: write it unconditionally */
		}
		if (d->set_pages) {
			r = ksm_apply(k, KSM_PAGES_TO_SCAN, (int64_t)d->pages_to_scan, kv);
			if (r < 0) {
				*bad_item = KSM_PAGES_TO_SCAN;
				return r;
			}
			written += r;
		}
		r = ksm_apply(k, KSM_SLEEP_MILLISECS, (int64_t)d->sleep_ms, kv);
		if (r < 0) {
			*bad_item = KSM_SLEEP_MILLISECS;
			return r;
		}
		written += r;
	}
	r = ksm_apply(k, KSM_RUN, d->run ? 1 : 0, kv);
	if (r < 0) {
		*bad_item = KSM_RUN;
		return r;
	}
	return written + r;
}

/* ---- start-up pieces shared with --once ----------------------------------- */

static int open_ksm(struct ksm *k, const char *dir)
{
	int r = ksm_open(k, dir, NULL);

	if (r == -ENOENT || r == -ENOTDIR) {
		log_struct(LOG_ERR, MSGID_KSM_UNAVAILABLE, NULL, 0,
			   "KSM is not available: %s/run does not exist (kernel built without CONFIG_KSM?)", dir);
		return EXIT_NO_KSM;
	}
	if (r < 0) {
		log_struct(LOG_ERR, MSGID_KSM_UNAVAILABLE, NULL, 0, "cannot open KSM directory %s: %s", dir,
			   strerror(-r));
		return EXIT_NO_KSM;
	}
	return EXIT_OK;
}

static int check_writable(const struct ksm *k)
{
	int r = ksm_check_writable(k);

	if (r < 0) {
		log_struct(LOG_ERR, MSGID_KSM_UNAVAILABLE, NULL, 0,
			   "KSM knobs in %s cannot be written (%s): read-only sysfs, as in a container, or not root; "
			   "use --dry-run to decide without writing",
			   k->dir, strerror(-r));
		return EXIT_KSM_READONLY;
	}
	return EXIT_OK;
}

static void log_missing_features(const struct ksm *k)
{
	static const enum ksm_item optional[] = { KSM_GENERAL_PROFIT, KSM_PAGES_SCANNED, KSM_ZERO_PAGES,
						  KSM_PAGES_SKIPPED, KSM_SMART_SCAN, KSM_ADVISOR_MODE };
	char list[256] = "";

	for (size_t i = 0; i < ARRAY_SIZE(optional); i++) {
		char one[64];
		if (ksm_has(k, optional[i]))
			continue;
		snprintf(one, sizeof(one), "%s%s (%s)", list[0] ? ", " : "", ksm_item_name(optional[i]),
			 ksm_item_since(optional[i]));
		strncat(list, one, sizeof(list) - strlen(list) - 1);
	}
	if (list[0])
		log_notice("this kernel lacks %s; working without them%s", list,
			   ksm_has(k, KSM_PAGES_SCANNED) ? "" : " (pages scanned are estimated from the knobs)");
}

static void log_decision_line(int prio, const char *msgid, const struct sample *s, const struct ctl_decision *d)
{
	struct log_field f[40];
	char sum[256];
	size_t n = report_fields(f, ARRAY_SIZE(f), s, d);

	report_summary(sum, sizeof(sum), s, d);
	log_struct(prio, msgid, f, n, "%s (P=%.3f I=%.3f D=%.3f u=%.2f b=%.2f yield=%.4f cost=%.2fus cap=%.0f/s%s%s)", sum,
		   d->t.p, d->t.i, d->t.d, d->t.u, d->t.benefit, d->t.yield, d->t.cost_us, d->t.rate_cap,
		   d->wake != CTL_WAKE_NONE ? " wake=" : "", d->wake != CTL_WAKE_NONE ? ctl_wake_name(d->wake) : "");
}

/* ---- --once ---------------------------------------------------------------- */

int daemon_once(const struct daemon_opts *o, const struct cfg *cfg)
{
	struct ksm k;
	struct sampler sm;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s1, s2;
	uint64_t t1, t2;
	int rc, r;

	rc = open_ksm(&k, o->sysfs_dir);
	if (rc != EXIT_OK)
		return rc;
	if (o->apply && !o->dry_run && (rc = check_writable(&k)) != EXIT_OK)
		goto out_ksm;
	r = sampler_init(&sm, &k, NULL, NULL, o->psi_path);
	if (r == 0)
		r = sampler_set_guest(&sm, cfg->guest_cmdline, cfg->guest_scan_interval_ms);
	if (r < 0) {
		log_err(-r, "cannot set up sampling");
		rc = EXIT_RUNTIME;
		goto out_ksm;
	}
	ctl_init(&st);
	t1 = now_us();
	r = sample_take(&sm, t1 / 1000, &s1);
	if (s1.meminfo_err) {
		log_err(-s1.meminfo_err, "cannot read /proc/meminfo");
		rc = EXIT_RUNTIME;
		goto out;
	}
	ctl_step(cfg, &st, &s1, 0, &d);
	sleep(1);
	t2 = now_us();
	r = sample_take(&sm, t2 / 1000, &s2);
	if (r < 0 && s2.ksm_err)
		log_warn(-s2.ksm_err, "some KSM files could not be read");
	ctl_step(cfg, &st, &s2, (double)(t2 - t1) / 1e6, &d);
	report_block(stdout, cfg, &s2, &d);
	fflush(stdout);
	rc = EXIT_OK;
	if (o->apply && !o->dry_run) {
		enum ksm_item bad = KSM_RUN;
		r = daemon_apply(&k, cfg, &d, &s2, &bad);
		if (r < 0) {
			log_struct(LOG_ERR, MSGID_WRITE_REJECTED, NULL, 0, "cannot write %s/%s: %s%s", k.dir,
				   ksm_item_name(bad), strerror(-r), write_hint(bad, r));
			rc = (r == -EROFS || r == -EACCES || r == -EPERM) ? EXIT_KSM_READONLY : EXIT_RUNTIME;
		} else {
			printf("applied: %d knob%s written\n", r, r == 1 ? "" : "s");
		}
	} else {
		printf("applied: nothing (%s)\n", o->apply ? "dry run" : "no --apply");
	}
out:
	sampler_fini(&sm);
out_ksm:
	ksm_close(&k);
	return rc;
}

/* ---- the service ------------------------------------------------------------- */

static int take_lock(struct daemon *dm)
{
	char path[CFG_PATH_MAX + 32], buf[32];
	int fd;

	/* A dry run writes nothing, so it may go on without the lock, e.g.
	 * as a user who cannot write state_dir. */
	if (mkdir(dm->cfg.state_dir, 0755) < 0 && errno != EEXIST) {
		if (dm->opts.dry_run) {
			log_warn(errno, "cannot create state directory %s; dry run goes on without the lock",
				 dm->cfg.state_dir);
			return EXIT_OK;
		}
		log_err(errno, "cannot create state directory %s", dm->cfg.state_dir);
		return EXIT_RUNTIME;
	}
	snprintf(path, sizeof(path), "%s/lock", dm->cfg.state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		if (dm->opts.dry_run) {
			log_warn(errno, "cannot open lock file %s; dry run goes on without the lock", path);
			return EXIT_OK;
		}
		log_err(errno, "cannot open lock file %s", path);
		return EXIT_RUNTIME;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		log_errx("another ksmpilotd is already running (pid %s, lock %s)", buf[0] ? buf : "?", path);
		close(fd);
		return EXIT_LOCKED;
	}
	if (ftruncate(fd, 0) == 0) {
		int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
		if (pwrite(fd, buf, (size_t)n, 0) != n)
			log_warn(errno, "cannot write pid to %s", path);
	}
	dm->lock_fd = fd;
	return EXIT_OK;
}

/* Keep a snapshot left by an instance that died; otherwise take one now. */
static int take_snapshot(struct daemon *dm, const struct sample *s)
{
	struct ksm_snapshot old;
	int r;

	snprintf(dm->snap_path, sizeof(dm->snap_path), "%s/snapshot", dm->cfg.state_dir);
	r = ksm_snapshot_load(&old, dm->snap_path);
	if (r == 0) {
		dm->snap = old;
		dm->have_snap = true;
		log_notice("found the snapshot of a previous run (pid %ld) in %s: on exit, the knobs are restored "
			   "to the state from before it",
			   old.pid, dm->snap_path);
		return 0;
	}
	if (r == -EINVAL)
		log_warnx("ignoring corrupt snapshot %s", dm->snap_path);
	ksm_snapshot_from(&dm->snap, &s->ksm, (long)getpid(), (int64_t)time(NULL));
	dm->have_snap = true;
	r = ksm_snapshot_save(&dm->snap, dm->snap_path);
	if (r < 0)
		log_warn(-r, "cannot save the start-up snapshot to %s; restore on exit still works from memory",
			 dm->snap_path);
	return 0;
}

static void handle_advisor(struct daemon *dm, const struct sample *s)
{
	bool on;

	if (!ksm_has(&dm->ksm, KSM_ADVISOR_MODE) || !ksm_values_has(&s->ksm, KSM_ADVISOR_MODE))
		return;
	on = s->ksm.v[KSM_ADVISOR_MODE] != 0;
	if (!on) {
		log_debug("kernel advisor present and off");
		return;
	}
	if (dm->cfg.kernel_advisor == ADVISOR_TAKEOVER)
		log_struct(LOG_NOTICE, MSGID_ADVISOR, NULL, 0,
			   "kernel advisor (advisor_mode=scan-time) is on: switching it off while ksmpilotd controls "
			   "the scan rate%s; it is restored on exit (kernel_advisor = takeover)",
			   dm->opts.dry_run ? " (dry run: not written)" : "");
	else
		log_struct(LOG_NOTICE, MSGID_ADVISOR, NULL, 0,
			   "kernel advisor (advisor_mode=scan-time) is on: leaving pages_to_scan to it and controlling "
			   "run and sleep_millisecs only (kernel_advisor = defer)");
}

static void note_foreign_changes(struct daemon *dm, const struct sample *s)
{
	bool seen = false;

	for (size_t i = 0; i < NWATCHED; i++) {
		enum ksm_item it = watched[i];
		if (!dm->wrote[it] || !ksm_values_has(&s->ksm, it) || s->ksm.v[it] == dm->written[it])
			continue;
		seen = true;
		if (!dm->foreign_episode) {
			char a[32], b[32];
			struct log_field f;
			ksm_format_value(it, dm->written[it], a, sizeof(a));
			ksm_format_value(it, s->ksm.v[it], b, sizeof(b));
			log_field_set(&f, "KSM_KNOB", "%s", ksm_item_name(it));
			log_struct(LOG_WARNING, MSGID_FOREIGN_CHANGE, &f, 1,
				   "%s was changed from %s to %s by someone else (another tuner such as ksmtuned, or an "
				   "admin); ksmpilotd sets it back",
				   ksm_item_name(it), a, b);
		}
		dm->wrote[it] = false;
	}
	if (seen) {
		dm->foreign_episode = true;
		dm->foreign_quiet = 0;
	} else if (dm->foreign_episode && ++dm->foreign_quiet >= FOREIGN_QUIET_TICKS) {
		dm->foreign_episode = false;
	}
}

static void remember_writes(struct daemon *dm, const struct ctl_decision *d)
{
	dm->wrote[KSM_RUN] = true;
	dm->written[KSM_RUN] = d->run;
	if (d->run) {
		if (d->set_pages) {
			dm->wrote[KSM_PAGES_TO_SCAN] = true;
			dm->written[KSM_PAGES_TO_SCAN] = (int64_t)d->pages_to_scan;
		}
		dm->wrote[KSM_SLEEP_MILLISECS] = true;
		dm->written[KSM_SLEEP_MILLISECS] = (int64_t)d->sleep_ms;
		if (dm->cfg.kernel_advisor == ADVISOR_TAKEOVER && ksm_has(&dm->ksm, KSM_ADVISOR_MODE)) {
			dm->wrote[KSM_ADVISOR_MODE] = true;
			dm->written[KSM_ADVISOR_MODE] = 0;
		}
	}
}

static void log_sample_errors(struct daemon *dm, const struct sample *s)
{
	int err = s->meminfo_err ? s->meminfo_err : s->ksm_err;

	if (err && err != dm->sample_err_logged) {
		if (s->meminfo_err)
			log_warn(-err, "cannot read /proc/meminfo; holding the knobs until it reads again");
		else
			log_struct(LOG_WARNING, MSGID_KSM_UNAVAILABLE, NULL, 0,
				   "cannot read the KSM counters in %s (%s); holding the knobs until they read again",
				   dm->ksm.dir, strerror(-err));
	} else if (!err && dm->sample_err_logged) {
		log_notice("inputs readable again");
	}
	dm->sample_err_logged = err;
	if (!s->have_ksmd_cpu && !dm->ksmd_missing_logged) {
		log_notice("ksmd is not visible (a PID namespace?): its CPU is estimated from the scan rate at "
			   "%.1f us a page",
			   dm->ctl.cost * 1e6);
		dm->ksmd_missing_logged = true;
	} else if (s->have_ksmd_cpu && dm->ksmd_missing_logged) {
		log_info("ksmd visible again (pid %d)", s->ksmd_pid);
		dm->ksmd_missing_logged = false;
	}
}

static bool decision_changed(const struct ctl_decision *a, const struct ctl_decision *b)
{
	double ra = a->run ? a->rate_planned : 0, rb = b->run ? b->rate_planned : 0;

	if (a->run != b->run || a->reason != b->reason || a->mode != b->mode)
		return true;
	/* a rate change by half or more is news; smaller steps are debug */
	return ra > 1.5 * rb || rb > 1.5 * ra;
}

static void log_decision(struct daemon *dm, const struct sample *s, const struct ctl_decision *d)
{
	const char *msgid = NULL;
	int prio = LOG_DEBUG;

	if (!dm->have_logged || decision_changed(d, &dm->logged)) {
		prio = LOG_INFO;
		if (dm->have_logged && d->run != dm->logged.run)
			msgid = d->run ? MSGID_KSM_STARTED : MSGID_KSM_STOPPED;
		else if (d->reason == CTL_R_NOTHING_TO_MERGE && dm->logged.reason != CTL_R_NOTHING_TO_MERGE)
			msgid = MSGID_NOTHING_TO_MERGE;
		else if (d->reason == CTL_R_CPU_CAP && dm->logged.reason != CTL_R_CPU_CAP)
			msgid = MSGID_CPU_CAP;
		dm->logged = *d;
		dm->have_logged = true;
	}
	if (log_enabled(prio))
		log_decision_line(prio, msgid, s, d);
}

static void tick(struct daemon *dm)
{
	struct sample s;
	struct ctl_decision d;
	uint64_t now = now_us();
	double dt = dm->have_last ? (double)(now - dm->last_us) / 1e6 : 0;
	char sum[256];
	int r;

	dm->ticks++;
	sample_take(&dm->sampler, now / 1000, &s);
	log_sample_errors(dm, &s);
	if (!s.meminfo_err && !s.ksm_err)
		note_foreign_changes(dm, &s);
	ctl_step(&dm->cfg, &dm->ctl, &s, dt, &d);
	if (d.hold) {
		sd_notifyf(0, "STATUS=holding: inputs unreadable (%s)", strerror(-dm->sample_err_logged));
		return;
	}
	dm->last = s;
	dm->have_last = true;
	dm->last_us = now;

	if (!dm->cfg.dry_run && !dm->opts.dry_run) {
		enum ksm_item bad = KSM_RUN;
		r = daemon_apply(&dm->ksm, &dm->cfg, &d, &s, &bad);
		if (r < 0) {
			dm->write_errors++;
			if (!(dm->write_err_logged & KSM_BIT(bad))) {
				struct log_field f[2];
				log_field_set(&f[0], "KSM_KNOB", "%s", ksm_item_name(bad));
				log_field_set(&f[1], "ERRNO", "%d", -r);
				log_struct(LOG_ERR, MSGID_WRITE_REJECTED, f, 2, "the kernel rejected a write to %s/%s: %s%s",
					   dm->ksm.dir, ksm_item_name(bad), strerror(-r), write_hint(bad, r));
				dm->write_err_logged |= KSM_BIT(bad);
			}
		} else {
			if (r > 0)
				dm->adjustments++;
			dm->write_err_logged = 0;
			remember_writes(dm, &d);
		}
	}
	log_decision(dm, &s, &d);
	report_summary(sum, sizeof(sum), &s, &d);
	sd_notifyf(0, "STATUS=%s", sum);
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct daemon *dm = userdata;

	(void)usec;
	tick(dm);
	sd_event_source_set_time_relative(src, dm->cfg.interval_ms * 1000);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
}

static void reload(struct daemon *dm)
{
	struct cfg_errors *errs = calloc(1, sizeof(*errs));
	struct cfg next;
	int r;

	sd_notify(0, "RELOADING=1");
	if (!errs) {
		log_errx("reload: out of memory; keeping the old configuration");
		sd_notify(0, "READY=1");
		return;
	}
	r = cfg_load(dm->opts.config_path, dm->opts.config_explicit, &next, errs);
	if (r < 0) {
		dm->reload_failures++;
		for (unsigned i = 0; i < errs->n; i++)
			log_errx("%s", errs->msg[i]);
		log_struct(LOG_ERR, MSGID_RELOAD_FAILED, NULL, 0,
			   "reload #%" PRIu64 " failed: %u error%s in %s; the old configuration keeps running",
			   dm->reloads + dm->reload_failures, errs->n + errs->dropped,
			   errs->n + errs->dropped == 1 ? "" : "s", dm->opts.config_path);
	} else {
		if (strcmp(next.state_dir, dm->cfg.state_dir) != 0) {
			log_warnx("state_dir changes take effect at the next start; keeping %s", dm->cfg.state_dir);
			memcpy(next.state_dir, dm->cfg.state_dir, sizeof(next.state_dir));
		}
		r = sampler_set_guest(&dm->sampler, next.guest_cmdline, next.guest_scan_interval_ms);
		if (r < 0)
			log_warnx("guest_cmdline: cannot compile '%s'", next.guest_cmdline);
		if (dm->opts.dry_run && !next.dry_run)
			log_warnx("dry_run = no takes effect at the next start; still a dry run");
		ctl_reconfigure(&next, &dm->ctl, dm->have_last ? &dm->last : NULL);
		if (next.kernel_advisor != dm->cfg.kernel_advisor && dm->have_last)
			handle_advisor(dm, &dm->last);
		dm->cfg = next;
		log_set_level(dm->cfg.log_level);
		dm->reloads++;
		log_info("configuration reloaded from %s (reload #%" PRIu64 ")", dm->opts.config_path,
			 dm->reloads + dm->reload_failures);
		/* apply the new configuration now, not an interval later */
		sd_event_source_set_time_relative(dm->timer, 0);
		sd_event_source_set_enabled(dm->timer, SD_EVENT_ONESHOT);
	}
	free(errs);
	sd_notify(0, "READY=1");
}

static int on_sighup(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
	(void)src;
	(void)si;
	reload(userdata);
	return 0;
}

static int on_term(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
	(void)userdata;
	log_info("received %s, stopping", strsignal((int)si->ssi_signo));
	sd_event_exit(sd_event_source_get_event(src), 0);
	return 0;
}

/* Put the knobs back as on_exit says. Returns true when nothing failed. */
static bool apply_on_exit(struct daemon *dm)
{
	uint64_t failed = 0;
	int errs[KSM_ITEM_COUNT] = { 0 };
	int r;

	if (dm->opts.dry_run) {
		log_info("dry run: knobs left as they were");
		return true;
	}
	if (dm->cfg.on_exit == ON_EXIT_LEAVE) {
		log_info("on_exit=leave: knobs left as set");
		return true;
	}
	if (!dm->have_snap)
		return true;
	r = ksm_restore(&dm->ksm, &dm->snap, dm->cfg.on_exit == ON_EXIT_STOP, &failed, errs);
	if (dm->cfg.on_exit == ON_EXIT_STOP) {
		int w = ksm_write(&dm->ksm, KSM_RUN, 0);
		if (w < 0) {
			failed |= KSM_BIT(KSM_RUN);
			errs[KSM_RUN] = -w;
		}
	}
	for (int i = 0; i < KSM_ITEM_COUNT; i++) {
		if (!(failed & KSM_BIT(i)))
			continue;
		log_struct(LOG_ERR, MSGID_WRITE_REJECTED, NULL, 0, "on_exit=%s: cannot restore %s: %s%s",
			   on_exit_name(dm->cfg.on_exit), ksm_item_name((enum ksm_item)i), strerror(errs[i]),
			   write_hint((enum ksm_item)i, -errs[i]));
	}
	if (!failed) {
		char run[8], pages[32], sleep_ms[32], adv[32];
		ksm_format_value(KSM_RUN, dm->cfg.on_exit == ON_EXIT_STOP ? 0 : dm->snap.v[KSM_RUN], run, sizeof(run));
		ksm_format_value(KSM_PAGES_TO_SCAN, dm->snap.v[KSM_PAGES_TO_SCAN], pages, sizeof(pages));
		ksm_format_value(KSM_SLEEP_MILLISECS, dm->snap.v[KSM_SLEEP_MILLISECS], sleep_ms, sizeof(sleep_ms));
		ksm_format_value(KSM_ADVISOR_MODE, dm->snap.v[KSM_ADVISOR_MODE], adv, sizeof(adv));
		log_info("on_exit=%s: knobs restored (run=%s pages_to_scan=%s sleep_millisecs=%s%s%s)",
			 on_exit_name(dm->cfg.on_exit), run, pages, sleep_ms,
			 (dm->snap.present & KSM_BIT(KSM_ADVISOR_MODE)) ? " advisor_mode=" : "",
			 (dm->snap.present & KSM_BIT(KSM_ADVISOR_MODE)) ? adv : "");
	}
	(void)r;
	return failed == 0;
}

static int setup_loop(struct daemon *dm)
{
	int r;

	r = sd_event_default(&dm->ev);
	if (r < 0)
		return r;
	r = sd_event_add_signal(dm->ev, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_term, dm);
	if (r >= 0)
		r = sd_event_add_signal(dm->ev, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_term, dm);
	if (r >= 0)
		r = sd_event_add_signal(dm->ev, NULL, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_sighup, dm);
	if (r >= 0)
		r = sd_event_add_time_relative(dm->ev, &dm->timer, CLOCK_MONOTONIC, 0, 1000, on_timer, dm);
	if (r >= 0)
		r = sd_event_source_set_enabled(dm->timer, SD_EVENT_ONESHOT);
	if (r >= 0)
		r = sd_event_set_watchdog(dm->ev, true);
	return r < 0 ? r : 0;
}

int daemon_run(const struct daemon_opts *o, const struct cfg *cfg)
{
	struct daemon *dm;
	struct sample s;
	int rc, r;

	dm = calloc(1, sizeof(*dm));
	if (!dm) {
		log_errx("out of memory");
		return EXIT_RUNTIME;
	}
	dm->opts = *o;
	dm->cfg = *cfg;
	dm->lock_fd = -1;
	ctl_init(&dm->ctl);
	/* Dry or live is fixed at start-up: a live run takes the snapshot
	 * that on_exit restores from. */
	dm->opts.dry_run = o->dry_run || cfg->dry_run;

	rc = open_ksm(&dm->ksm, o->sysfs_dir);
	if (rc != EXIT_OK)
		goto out_free;
	if (!dm->opts.dry_run && (rc = check_writable(&dm->ksm)) != EXIT_OK)
		goto out_ksm;
	rc = take_lock(dm);
	if (rc != EXIT_OK)
		goto out_ksm;
	r = sampler_init(&dm->sampler, &dm->ksm, NULL, NULL, o->psi_path);
	if (r == 0)
		r = sampler_set_guest(&dm->sampler, dm->cfg.guest_cmdline, dm->cfg.guest_scan_interval_ms);
	if (r < 0) {
		log_err(-r, "cannot set up sampling");
		rc = EXIT_RUNTIME;
		goto out_lock;
	}
	sample_take(&dm->sampler, now_ms(), &s);
	if (s.meminfo_err || s.ksm_err) {
		if (s.meminfo_err)
			log_err(-s.meminfo_err, "cannot read /proc/meminfo");
		else
			log_struct(LOG_ERR, MSGID_KSM_UNAVAILABLE, NULL, 0, "cannot read the KSM counters in %s: %s",
				   dm->ksm.dir, strerror(-s.ksm_err));
		rc = EXIT_RUNTIME;
		goto out_sampler;
	}
	log_info("ksmpilotd %s starting: config %s, KSM in %s, interval %.1fs%s", KSMPILOT_VERSION, o->config_path,
		 dm->ksm.dir, (double)dm->cfg.interval_ms / 1000.0, dm->opts.dry_run ? ", dry run" : "");
	log_missing_features(&dm->ksm);
	if (!dm->opts.dry_run)
		take_snapshot(dm, &s);
	handle_advisor(dm, &s);

	r = setup_loop(dm);
	if (r < 0) {
		log_err(-r, "cannot set up the event loop");
		rc = EXIT_RUNTIME;
		goto out_loop;
	}
	sd_notify(0, "READY=1\nSTATUS=started");
	r = sd_event_loop(dm->ev);
	sd_notify(0, "STOPPING=1");
	rc = r < 0 ? EXIT_RUNTIME : EXIT_OK;
	if (r < 0)
		log_err(-r, "event loop failed");
	if (apply_on_exit(dm) && dm->have_snap)
		unlink(dm->snap_path);
	log_info("stopped after %" PRIu64 " ticks, %" PRIu64 " adjustments, %" PRIu64 " reloads", dm->ticks,
		 dm->adjustments, dm->reloads);
out_loop:
	sd_event_source_unref(dm->timer);
	sd_event_unref(dm->ev);
out_sampler:
	sampler_fini(&dm->sampler);
out_lock:
	if (dm->lock_fd >= 0)
		close(dm->lock_fd);
out_ksm:
	ksm_close(&dm->ksm);
out_free:
	free(dm);
	return rc;
}
