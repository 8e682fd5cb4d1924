/* pilot.c - see pilot.h */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include "pilot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "hazard.h"
#include "history.h"
#include "msgid.h"
#include "report.h"
#include "state.h"
#include "util.h"

/* Knobs the controller writes, watched for changes by someone else. */
static const enum ksm_item watched[] = { KSM_RUN, KSM_PAGES_TO_SCAN, KSM_SLEEP_MILLISECS, KSM_ADVISOR_MODE };
#define NWATCHED ARRAY_SIZE(watched)
/* A foreign-change episode ends after this many quiet ticks. */
#define FOREIGN_QUIET_TICKS 30
/* how long a stop waits for memory going offline, or an unmerge, before it leaves the knobs */
#define EXIT_OFFLINE_WAIT_MS 10000

struct pilot {
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
	bool sampler_ready;
	char snap_path[CFG_PATH_MAX + 32];
	int lock_fd;
	int state_dirfd;                /* state_dir, trusted, opened once; -1 without (a dry run) */
	const struct pilot_env *env;

	/* what we wrote last, to see foreign changes */
	bool wrote[KSM_ITEM_COUNT];
	int64_t written[KSM_ITEM_COUNT];
	unsigned foreign_quiet;
	bool foreign_episode;

	/* log-once flags */
	int sample_err_logged;          /* the -errno last logged, 0 = none */
	bool ksmd_missing_logged;
	enum ksm_busy busy_logged;      /* the kernel's work the controller holds for (ksm_busy) */
	bool guest_err_logged, guest_slow_logged, psi_missing_logged;
	uint64_t write_err_logged;      /* KSM_BIT per knob */
	bool defer_floor_logged;        /* the advisor's batch at sleep_ms_max told; again after a reload */
	bool defer_floor_on;            /* ksmd idles above its budget under the advisor's batch ... */
	uint64_t defer_floor_since_ms;  /* ... since */

	struct ctl_decision logged;     /* the last decision logged at info */
	bool have_logged;
	struct ctl_decision last_decision;

	/* published state: set while the lock is held. The state and
	 * controller files are written, and the state file removed at the
	 * stop, through state_dirfd (no walk of state_dir's path each time);
	 * the paths name them in messages, and restore_controller() reads
	 * the controller file by its path at start */
	char state_path[CFG_PATH_MAX + 32];
	char ctl_path[CFG_PATH_MAX + 32];       /* the controller's learned state */
	char boot_id[KSM_BOOT_ID_MAX + 1]; /* this boot's; "" if unknown */
	char status[256];                       /* the last sd_notify STATUS= */
	int64_t started, decided;       /* CLOCK_REALTIME seconds */
	bool held;                      /* the last tick held: published as such */
	uint64_t state_written_ms;      /* monotonic; 0 = never */
	uint64_t ctl_saved_ms;          /* when the controller state was last saved */
	bool state_err_logged, metrics_err_logged, ctl_err_logged;

	/* hazards */
	struct hazard_episode profit;
	bool profit_neg;                /* general_profit < 0 at the last sample */
	int64_t profit_neg_scans;       /* full_scans when it turned negative */
	struct hazard_episode maps;
	struct map_usage map_usage;
	/* state_dir/processes, from ksmpilotctl inspect */
	struct {
		uint64_t next_check_ms;
		bool have_stat;                 /* of the file parsed last */
		struct stat st;
		bool parsed;                    /* map_usage and guests hold its data */
		int64_t time;                   /* its scan time (CLOCK_REALTIME s) */
		enum inspect_status status;
		char why[160];                  /* when not fresh */
		uint64_t blind_since_ms;        /* no fresh data since; 0 = fresh */
		bool blind_logged;
		struct guest_table guests;      /* its processes, for the ksmpilot_guest_* series */
		enum inspect_status shown;      /* what the state file says, and of when */
		int64_t shown_time;
	} inspect;
	unsigned numa_nodes;
	bool numa_hazard;

	/* the duration of the last full scan */
	bool fs_seen;
	int64_t fs_count;               /* full_scans at the last boundary seen */
	uint64_t fs_at_us;              /* when it was seen; 0 = no boundary yet */
	double full_scan_s;             /* < 0 until two boundaries were seen */

	/* the summary record of each history_period */
	struct history hist;
	bool hist_on;

	struct pilot_stats stats;
};

/* What to tell an operator about a rejected write. */
static const char *write_hint(const struct ksm *k, enum ksm_item item, int err)
{
	if (err == -EINVAL && item == KSM_PAGES_TO_SCAN && ksm_has(k, KSM_ADVISOR_MODE))
		return " (the kernel advisor rejects it while advisor_mode=scan-time; see kernel_advisor)";
	if (err == -EBUSY && (item == KSM_MERGE_ACROSS_NODES || item == KSM_MAX_PAGE_SHARING))
		return " (the kernel allows this change only while no page is merged; ksmpilotd never unmerges to force it)";
	if (err == -EROFS || err == -EACCES || err == -EPERM)
		return " (read-only sysfs, or not root?)";
	return "";
}

/* The journal fields of a refused write (ksmpilotd(8), JOURNAL; the
 * catalog): the knob, the value refused as written, the errno. */
static void rejected_fields(struct log_field f[3], enum ksm_item item, const char *value, int err)
{
	log_field_set(&f[0], "KSM_KNOB", "%s", ksm_item_name(item));
	log_field_set(&f[1], "KSM_VALUE", "%s", value);
	log_field_set(&f[2], "ERRNO", "%d", err);
}

/* ---- applying a decision --------------------------------------------------- */

int pilot_apply(struct ksm *k, const struct cfg *cfg, const struct ctl_decision *d, const struct sample *cur,
		 enum ksm_item *bad_item, int64_t *bad_value)
{
	const struct ksm_values *kv = &cur->ksm, *pages_kv = kv;
	int written = 0, r;

	if (d->hold)
		return 0;
	/* Counters carried over (ksmd stopped: read every minute) may miss
	 * memory going offline or an unmerge, which make a write of run wait
	 * in the kernel until they are done: before such a write, read again,
	 * and put it off (-EAGAIN: nothing written). */
	if (cur->ksm_cached && ksm_values_has(kv, KSM_RUN) && kv->v[KSM_RUN] != (d->run ? 1 : 0) &&
	    ksm_busy(k) != KSM_BUSY_NONE)
		return -EAGAIN;
	if (d->run) {
		if (cfg->kernel_advisor == ADVISOR_TAKEOVER && ksm_has(k, KSM_ADVISOR_MODE) &&
		    ksm_values_has(&cur->ksm, KSM_ADVISOR_MODE) && cur->ksm.v[KSM_ADVISOR_MODE] != 0) {
			r = ksm_write(k, KSM_ADVISOR_MODE, 0);
			if (r < 0) {
				*bad_item = KSM_ADVISOR_MODE;
				*bad_value = 0;
				return r;
			}
			written++;
			/* pages_to_scan was reset: write it unconditionally; the
			 * others only if they differ (a write of run, even of the
			 * value it has, waits for an offline or an unmerge) */
			pages_kv = NULL;
		}
		if (d->set_pages) {
			r = ksm_apply(k, KSM_PAGES_TO_SCAN, (int64_t)d->pages_to_scan, pages_kv);
			if (r < 0) {
				*bad_item = KSM_PAGES_TO_SCAN;
				*bad_value = (int64_t)d->pages_to_scan;
				return r;
			}
			written += r;
		}
		r = ksm_apply(k, KSM_SLEEP_MILLISECS, (int64_t)d->sleep_ms, kv);
		if (r < 0) {
			*bad_item = KSM_SLEEP_MILLISECS;
			*bad_value = (int64_t)d->sleep_ms;
			return r;
		}
		written += r;
	}
	r = ksm_apply(k, KSM_RUN, d->run ? 1 : 0, kv);
	if (r < 0) {
		*bad_item = KSM_RUN;
		*bad_value = d->run ? 1 : 0;
		return r;
	}
	return written + r;
}

/* ---- start-up pieces shared with --once ----------------------------------- */

static int open_ksm(struct ksm *k, const char *dir, const struct ksm_io *io)
{
	int r = ksm_open(k, dir, io);

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
	struct log_field f[48];
	char sum[256];
	char probe[32] = "";
	char pass[48] = "";
	char wake[80] = "";
	size_t n = report_fields(f, ARRAY_SIZE(f), s, d);

	report_summary(sum, sizeof(sum), s, d);
	/* a probe that runs above the price says at what effort */
	if (d->t.b_probe > 0 && d->t.u_probe > d->t.u + 0.005)
		snprintf(probe, sizeof(probe), " at effort %.2f", d->t.u_probe);
	/* a rate held to what a pass an interval needs (a probe: three) */
	if (d->t.pass_bound)
		snprintf(pass, sizeof(pass), ", a pass %.0f/s", d->t.rate_pass);
	/* what woke it, and how much new memory it saw */
	if (d->wake != CTL_WAKE_NONE)
		snprintf(wake, sizeof(wake), "; wake=%s, %.0f MiB%s", ctl_wake_name(d->wake), d->wake_bytes / 1048576.0,
			 d->signal == CTL_SIGNAL_LOW     ? " at the low level"
			 : d->signal == CTL_SIGNAL_SWING ? " above the swings"
							 : "");
	log_struct(prio, msgid, f, n,
		   "%s (u=%.2f: P=%.3f I=%.3f D=%.3f; b=%.2f: yield %.2f, probe %.2f%s, churn %.2f, derate %.2f; "
		   "cost %.2fus, cap %.0f%% = %.0f/s%s%s)",
		   sum, d->t.u, d->t.p, d->t.i, d->t.d, d->t.benefit, d->t.b_yield, d->t.b_probe, probe, d->t.b_churn,
		   d->t.derate, d->t.plan_cost_us, d->t.cpu_cap * 100, d->t.rate_cap, pass, wake);
}

/* ---- --once ---------------------------------------------------------------- */

int pilot_once(const struct daemon_opts *o, const struct cfg *cfg)
{
	struct ksm k;
	struct sampler sm;
	struct ctl_state st;
	struct ctl_decision d;
	struct sample s1, s2;
	uint64_t t1, t2;
	int rc, r;

	rc = open_ksm(&k, o->sysfs_dir, NULL);
	if (rc != EXIT_OK)
		return rc;
	if (o->apply && !o->dry_run && (rc = check_writable(&k)) != EXIT_OK)
		goto out_ksm;
	if (o->apply && !o->dry_run && state_daemon_running(cfg->state_dir, "/proc", 0)) {
		log_errx("a ksmpilotd holds the lock in %s: --once --apply would write the knobs under it; stop it "
			 "first, or leave out --apply",
			 cfg->state_dir);
		rc = EXIT_LOCKED;
		goto out_ksm;
	}
	r = sampler_init(&sm, &k, NULL, NULL, o->psi_path);
	if (r == 0) {
		sampler_set_psi(&sm, cfg->psi_threshold > 0);
		r = sampler_set_guest(&sm, cfg->guest_cmdline, cfg->guest_scan_interval_ms);
	}
	if (r < 0) {
		log_err(-r, "cannot set up sampling");
		rc = EXIT_RUNTIME;
		goto out_ksm;
	}
	ctl_init(&st);
	t1 = now_us();
	sample_take(&sm, t1 / 1000, &s1);
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
	if (o->apply && !o->dry_run && state_daemon_running(cfg->state_dir, "/proc", 0)) {
		/* one that started during the second between the samples */
		log_errx("a ksmpilotd took the lock in %s meanwhile: nothing written", cfg->state_dir);
		rc = EXIT_LOCKED;
	} else if (o->apply && !o->dry_run) {
		enum ksm_item bad = KSM_RUN;
		int64_t bad_v = 0;
		r = pilot_apply(&k, cfg, &d, &s2, &bad, &bad_v);
		if (r == -EAGAIN) {
			printf("applied: nothing (%s)\n", ksm_busy_name(ksm_busy(&k)));
		} else if (r < 0) {
			struct log_field f[3];
			char v[32];
			ksm_format_value(bad, bad_v, v, sizeof(v));
			rejected_fields(f, bad, v, -r);
			log_struct(LOG_ERR, MSGID_WRITE_REJECTED, f, 3, "cannot write %s to %s/%s: %s%s", v, k.dir,
				   ksm_item_name(bad), strerror(-r), write_hint(&k, bad, r));
			rc = (r == -EROFS || r == -EACCES || r == -EPERM) ? EXIT_KSM_READONLY : EXIT_RUNTIME;
		} else if (d.hold) {
			printf("applied: nothing (a hold: an input unreadable, or the kernel busy)\n");
		} else {
			printf("applied: %d knob%s written\n", r, r == 1 ? "" : "s");
		}
		/* pilot_apply may have switched the advisor off to write
		 * pages_to_scan (then failed or not); no daemon is left to
		 * switch it back on: said from what the knob reads now */
		int64_t adv = 0;
		if (ksm_values_has(&s2.ksm, KSM_ADVISOR_MODE) && s2.ksm.v[KSM_ADVISOR_MODE] != 0 &&
		    ksm_read(&k, KSM_ADVISOR_MODE, &adv) == 0 && adv == 0) {
			printf("advisor_mode: switched off (kernel_advisor = takeover); --once does not switch it back "
			       "on\n");
			log_notice("kernel advisor switched off by --once --apply (kernel_advisor = takeover); it stays "
				   "off: write scan-time to %s/advisor_mode to turn it on again",
				   k.dir);
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

static int take_lock(struct pilot *pl)
{
	char path[CFG_PATH_MAX + 32], buf[32], why[2 * CFG_PATH_MAX + 64];
	int fd;

	/* A dry run writes nothing, so it may go on without the lock, e.g.
	 * as a user who cannot write state_dir. A directory someone other
	 * than root could write is refused either way: root writes the lock,
	 * the snapshot and the state file there, and reads what
	 * ksmpilotctl inspect leaves. */
	fd = dir_open_trusted(pl->cfg.state_dir, true, why, sizeof(why));
	if (fd == -EPERM) {
		log_errx("refusing the state directory: %s; make it root's and not writable by others "
			 "(chown root:root, chmod 0755), or choose another state_dir", why);
		return EXIT_CONFIG;
	}
	if (fd < 0) {
		if (pl->opts.dry_run) {
			log_warn(-fd, "cannot create state directory %s; dry run goes on without the lock",
				 pl->cfg.state_dir);
			return EXIT_OK;
		}
		log_err(-fd, "cannot create state directory %s", pl->cfg.state_dir);
		return EXIT_RUNTIME;
	}
	pl->state_dirfd = fd;
	snprintf(path, sizeof(path), "%s/lock", pl->cfg.state_dir);
	fd = openat(pl->state_dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0644);
	if (fd < 0) {
		if (pl->opts.dry_run) {
			log_warn(errno, "cannot open lock file %s; dry run goes on without the lock", path);
			return EXIT_OK;
		}
		log_err(errno, "cannot open lock file %s", path);
		return EXIT_RUNTIME;
	}
	/* readable by all, whatever the umask: ksmpilotctl status asks it */
	if (fchmod(fd, 0644) < 0)
		log_warn(errno, "cannot make %s readable by all", path);
	/* An OFD lock: ksmpilotctl tests it with F_OFD_GETLK without taking it. */
	if (fcntl(fd, F_OFD_SETLK, &(struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET }) < 0) {
		ssize_t n;
		if (errno != EAGAIN && errno != EACCES) {
			/* ENOLCK, EINVAL: a file system without such locks; a
			 * restart would not bring them */
			int e = errno;
			close(fd);
			if (pl->opts.dry_run) {
				log_warn(e, "cannot lock %s; dry run goes on without the lock", path);
				return EXIT_OK;
			}
			log_err(e, "cannot lock %s; choose a state_dir on a local file system (the default %s is a "
				   "tmpfs)", path, KSMPILOT_RUNSTATEDIR);
			return EXIT_CONFIG;
		}
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		text_sanitize(buf);
		log_errx("another ksmpilotd is already running (pid %s, lock %s)", buf[0] ? buf : "?", path);
		close(fd);
		return EXIT_LOCKED;
	}
	if (ftruncate(fd, 0) == 0) {
		int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
		if (pwrite(fd, buf, (size_t)n, 0) != n)
			log_warn(errno, "cannot write pid to %s", path);
	}
	/* a state file left by an instance that died is not this one's:
	 * until the first tick writes it, status and reload find none */
	if (unlinkat(pl->state_dirfd, "state", 0) < 0 && errno != ENOENT)
		log_warn(errno, "cannot remove the state file left in %s", pl->cfg.state_dir);
	/* and what a write of one that died left half done (not the
	 * processes file's: ksmpilotctl inspect may be writing it now) */
	static const char *const own[] = { "state", "controller", "snapshot" };
	for (size_t i = 0; i < ARRAY_SIZE(own); i++)
		(void)remove_temp_files(pl->state_dirfd, own[i], 0);
	pl->lock_fd = fd;
	return EXIT_OK;
}

/* Whether a snapshot was taken in an earlier boot, which reset the knobs
 * it holds; one that names no boot, or a boot id that cannot be read, is
 * taken for this boot's. */
static bool snapshot_of_earlier_boot(const struct pilot *pl, const struct ksm_snapshot *sn)
{
	return sn->boot_id[0] && pl->boot_id[0] && strcmp(sn->boot_id, pl->boot_id) != 0;
}

/* Keep a snapshot left by an instance that died in this boot; otherwise
 * take one now. */
static int take_snapshot(struct pilot *pl, const struct sample *s)
{
	struct ksm_snapshot old;
	char why[160];
	int r;

	snprintf(pl->snap_path, sizeof(pl->snap_path), "%s/snapshot", pl->cfg.state_dir);
	r = ksm_snapshot_load(&old, pl->snap_path, why, sizeof(why));
	if (r == 0 && snapshot_of_earlier_boot(pl, &old)) {
		log_notice("ignoring the snapshot of pid %ld in %s: it was taken before the last boot, which reset "
			   "the knobs it holds; taking a new one",
			   old.pid, pl->snap_path);
		r = -ESTALE;
	}
	if (r == 0) {
		pl->snap = old;
		pl->have_snap = true;
		log_notice("found the snapshot of a previous run (pid %ld) in %s: on exit, the knobs are restored "
			   "to the state from before it",
			   old.pid, pl->snap_path);
		/* a run with keep left merge_across_nodes out of it: as found,
		 * if this run is to write it */
		if (pl->cfg.merge_across_nodes != MAN_KEEP && !(old.present & KSM_BIT(KSM_MERGE_ACROSS_NODES)) &&
		    ksm_values_has(&s->ksm, KSM_MERGE_ACROSS_NODES)) {
			pl->snap.present |= KSM_BIT(KSM_MERGE_ACROSS_NODES);
			pl->snap.v[KSM_MERGE_ACROSS_NODES] = s->ksm.v[KSM_MERGE_ACROSS_NODES];
			r = ksm_snapshot_save(&pl->snap, pl->snap_path);
			if (r < 0)
				log_warn(-r, "cannot save the snapshot to %s; restore on exit still works from memory",
					 pl->snap_path);
		}
		return 0;
	}
	if (r != -ENOENT && r != -ESTALE)
		log_warnx("ignoring the snapshot %s (%s); taking a new one", pl->snap_path, why);
	ksm_snapshot_from(&pl->snap, &s->ksm, (long)getpid(), (int64_t)time(NULL));
	memcpy(pl->snap.boot_id, pl->boot_id, sizeof(pl->snap.boot_id));
	/* keep leaves merge_across_nodes alone, on exit too: an admin's
	 * change while ksmpilotd runs stays */
	if (pl->cfg.merge_across_nodes == MAN_KEEP)
		pl->snap.present &= ~KSM_BIT(KSM_MERGE_ACROSS_NODES);
	pl->have_snap = true;
	r = ksm_snapshot_save(&pl->snap, pl->snap_path);
	if (r < 0)
		log_warn(-r, "cannot save the start-up snapshot to %s; restore on exit still works from memory",
			 pl->snap_path);
	return 0;
}

static void handle_advisor(struct pilot *pl, const struct sample *s)
{
	bool on;

	if (!ksm_has(&pl->ksm, KSM_ADVISOR_MODE) || !ksm_values_has(&s->ksm, KSM_ADVISOR_MODE))
		return;
	on = s->ksm.v[KSM_ADVISOR_MODE] != 0;
	if (!on) {
		log_debug("kernel advisor present and off");
		return;
	}
	if (pl->cfg.kernel_advisor == ADVISOR_TAKEOVER)
		log_struct(LOG_NOTICE, MSGID_ADVISOR, NULL, 0,
			   "kernel advisor (advisor_mode=scan-time) is on: switching it off while ksmpilotd controls "
			   "the scan rate%s; it is restored on exit (kernel_advisor = takeover)",
			   pl->opts.dry_run ? " (dry run: not written)" : "");
	else
		log_struct(LOG_NOTICE, MSGID_ADVISOR, NULL, 0,
			   "kernel advisor (advisor_mode=scan-time) is on: leaving pages_to_scan to it and controlling "
			   "run and sleep_millisecs only (kernel_advisor = defer)");
}

/* A reload into kernel_advisor = defer, writing (from takeover, or out of
 * a dry run): an advisor that was on at start-up and is off now (takeover
 * switched it off) goes back on as the snapshot had it, so that
 * pages_to_scan is left to it from now on. Returns whether it said
 * something: given back, refused, or not known to have been on. */
static bool give_back_advisor(struct pilot *pl)
{
	const struct ksm_snapshot *sn = &pl->snap;
	int64_t now_v;
	char v[32];
	int r;

	/* read now: the last sample was taken before its tick's writes */
	if (!ksm_has(&pl->ksm, KSM_ADVISOR_MODE) || ksm_read(&pl->ksm, KSM_ADVISOR_MODE, &now_v) < 0 || now_v != 0)
		return false; /* none, unreadable, or on: handle_advisor() says so */
	pl->wrote[KSM_ADVISOR_MODE] = false; /* not set back under defer */
	if (!pl->have_snap || !(sn->present & KSM_BIT(KSM_ADVISOR_MODE))) {
		log_notice("kernel_advisor = defer: the kernel advisor is off, and the start-up snapshot does not say "
			   "whether it was on: left off; ksmpilotd sets pages_to_scan while it is off");
		return true;
	}
	if (sn->v[KSM_ADVISOR_MODE] == 0)
		return false; /* off at start-up too */
	ksm_format_value(KSM_ADVISOR_MODE, sn->v[KSM_ADVISOR_MODE], v, sizeof(v));
	r = ksm_write(&pl->ksm, KSM_ADVISOR_MODE, sn->v[KSM_ADVISOR_MODE]);
	if (r < 0) {
		struct log_field f[3];
		rejected_fields(f, KSM_ADVISOR_MODE, v, -r);
		log_struct(LOG_ERR, MSGID_WRITE_REJECTED, f, 3,
			   "kernel_advisor = defer: cannot switch the kernel advisor back on (advisor_mode=%s): %s; "
			   "ksmpilotd goes on setting pages_to_scan while it is off",
			   v, strerror(-r));
		return true;
	}
	/* switching it on resets pages_to_scan, which is the advisor's now */
	pl->wrote[KSM_PAGES_TO_SCAN] = false;
	sampler_invalidate(&pl->sampler);
	log_struct(LOG_NOTICE, MSGID_ADVISOR, NULL, 0,
		   "kernel advisor switched back on (advisor_mode=%s): leaving pages_to_scan to it and controlling "
		   "run and sleep_millisecs only (kernel_advisor = defer)",
		   v);
	return true;
}

static void note_foreign_changes(struct pilot *pl, const struct sample *s)
{
	bool seen = false;

	for (size_t i = 0; i < NWATCHED; i++) {
		enum ksm_item it = watched[i];
		if (!pl->wrote[it] || !ksm_values_has(&s->ksm, it) || s->ksm.v[it] == pl->written[it])
			continue;
		seen = true;
		pl->stats.foreign_changes++;
		if (!pl->foreign_episode) {
			char a[32], b[32];
			struct log_field f;
			ksm_format_value(it, pl->written[it], a, sizeof(a));
			ksm_format_value(it, s->ksm.v[it], b, sizeof(b));
			log_field_set(&f, "KSM_KNOB", "%s", ksm_item_name(it));
			log_struct(LOG_WARNING, MSGID_FOREIGN_CHANGE, &f, 1,
				   "%s was changed from %s to %s by someone else (another tuner such as ksmtuned, or an "
				   "admin); ksmpilotd sets it back",
				   ksm_item_name(it), a, b);
		}
		pl->wrote[it] = false;
	}
	if (seen) {
		pl->foreign_episode = true;
		pl->foreign_quiet = 0;
	} else if (pl->foreign_episode && ++pl->foreign_quiet >= FOREIGN_QUIET_TICKS) {
		pl->foreign_episode = false;
	}
}

static void remember_writes(struct pilot *pl, const struct ctl_decision *d)
{
	pl->wrote[KSM_RUN] = true;
	pl->written[KSM_RUN] = d->run;
	if (d->run) {
		if (d->set_pages) {
			pl->wrote[KSM_PAGES_TO_SCAN] = true;
			pl->written[KSM_PAGES_TO_SCAN] = (int64_t)d->pages_to_scan;
		}
		pl->wrote[KSM_SLEEP_MILLISECS] = true;
		pl->written[KSM_SLEEP_MILLISECS] = (int64_t)d->sleep_ms;
		if (pl->cfg.kernel_advisor == ADVISOR_TAKEOVER && ksm_has(&pl->ksm, KSM_ADVISOR_MODE)) {
			pl->wrote[KSM_ADVISOR_MODE] = true;
			pl->written[KSM_ADVISOR_MODE] = 0;
		}
	}
}

/* Memory going offline (run reads with KSM_RUN_OFFLINE) or an unmerge under
 * way (run=2): the controller holds, since a write of run would wait for it. */
static enum ksm_busy kernel_busy(const struct sample *s)
{
	return s->ksm_err ? KSM_BUSY_NONE : ksm_busy_of(&s->ksm);
}

static void log_sample_errors(struct pilot *pl, const struct sample *s)
{
	int err = s->meminfo_err ? s->meminfo_err : s->ksm_err;

	if (err && err != pl->sample_err_logged) {
		if (s->meminfo_err)
			log_warn(-err, "cannot read /proc/meminfo; holding the knobs until it reads again");
		else
			log_struct(LOG_WARNING, MSGID_KSM_UNAVAILABLE, NULL, 0,
				   "cannot read the KSM counters in %s (%s); holding the knobs until they read again",
				   pl->ksm.dir, strerror(-err));
	} else if (!err && pl->sample_err_logged) {
		log_notice("inputs readable again");
	}
	pl->sample_err_logged = err;
	if (kernel_busy(s) != KSM_BUSY_NONE && !pl->busy_logged) {
		log_notice("run reads %" PRId64 ": %s, and the kernel would make a write of run wait until it is done; "
			   "holding the knobs until then",
			   s->ksm.v[KSM_RUN], ksm_busy_name(kernel_busy(s)));
		pl->busy_logged = kernel_busy(s);
	} else if (!err && kernel_busy(s) == KSM_BUSY_NONE && pl->busy_logged) {
		log_notice("%s done: run reads %" PRId64,
			   pl->busy_logged == KSM_BUSY_OFFLINE ? "memory offline" : "unmerge", s->ksm.v[KSM_RUN]);
		pl->busy_logged = KSM_BUSY_NONE;
	}
	if (!s->have_ksmd_cpu && !pl->ksmd_missing_logged) {
		log_notice("ksmd is not visible (a PID namespace?): its CPU is estimated from the scan rate at "
			   "%.1f us a page",
			   pl->ctl.cost * 1e6);
		pl->ksmd_missing_logged = true;
	} else if (s->have_ksmd_cpu && pl->ksmd_missing_logged) {
		log_info("ksmd visible again (pid %d)", s->ksmd_pid);
		pl->ksmd_missing_logged = false;
	}
	/* the guest scan, when it ran */
	if (s->guest_scanned && s->guest_err == -EINPROGRESS) {
		if (!pl->guest_slow_logged)
			log_notice("the guest_cmdline scan of /proc read %u processes in %u ms and goes on at the next "
				   "ticks: guest memory keeps the value of the last complete scan until it ends (a very "
				   "large process table, or many long command lines)", s->guest_seen,
				   SAMPLE_GUEST_BUDGET_MS);
		pl->guest_slow_logged = true;
	} else if (s->guest_scanned && s->guest_err && !pl->guest_err_logged) {
		log_warn(-s->guest_err, "the guest_cmdline scan of /proc failed; guest memory keeps the value of "
			 "the last complete scan");
		pl->guest_err_logged = true;
	} else if (s->guest_scanned && !s->guest_err && pl->guest_err_logged) {
		log_info("the guest_cmdline scan of /proc completes again (%u processes)", s->guest_seen);
		pl->guest_err_logged = false;
	}
	/* memory PSI, when psi_threshold asks for it */
	if (pl->cfg.psi_threshold > 0 && !s->have_psi && !pl->psi_missing_logged) {
		log_notice("psi_threshold is set, but %s cannot be read (%s): memory stalls do not count as "
			   "pressure until it can", pl->opts.psi_path ? pl->opts.psi_path : "(no PSI file)",
			   pl->sampler.psi_err ? strerror(-pl->sampler.psi_err) : "no valid \"some avg10=\" line");
		pl->psi_missing_logged = true;
	} else if ((s->have_psi || pl->cfg.psi_threshold <= 0) && pl->psi_missing_logged) {
		if (s->have_psi)
			log_info("memory PSI can be read again");
		pl->psi_missing_logged = false;
	}
}

static bool decision_changed(const struct ctl_decision *a, const struct ctl_decision *b)
{
	double ra = a->run ? a->rate_planned : 0, rb = b->run ? b->rate_planned : 0;

	if (a->run != b->run || a->reason != b->reason || a->mode != b->mode)
		return true;
	/* a large change of rate is news; smaller steps are debug */
	return ra > PILOT_LOG_RATE_FACTOR * rb || rb > PILOT_LOG_RATE_FACTOR * ra;
}

/* Log the decision: at info when it changed (returns true), else debug. */
static bool log_decision(struct pilot *pl, const struct sample *s, const struct ctl_decision *d)
{
	const char *msgid = NULL;
	int prio = LOG_DEBUG;

	if (!pl->have_logged || decision_changed(d, &pl->logged)) {
		prio = LOG_INFO;
		if (pl->have_logged && d->run != pl->logged.run)
			msgid = d->run ? MSGID_KSM_STARTED : MSGID_KSM_STOPPED;
		else if (d->reason == CTL_R_NOTHING_TO_MERGE && pl->logged.reason != CTL_R_NOTHING_TO_MERGE)
			msgid = MSGID_NOTHING_TO_MERGE;
		else if (d->reason == CTL_R_CPU_CAP && pl->logged.reason != CTL_R_CPU_CAP)
			msgid = MSGID_CPU_CAP;
		pl->logged = *d;
		pl->have_logged = true;
	}
	if (log_enabled(prio))
		log_decision_line(prio, msgid, s, d);
	return prio == LOG_INFO;
}

/* kernel_advisor = defer: pages_to_scan is the advisor's, and it raises it
 * while ksmd takes less than a tenth of a CPU, up to advisor_max_pages_to_scan.
 * Idle, that batch every sleep_ms_max may cost more than the idle budget;
 * only the operator can lengthen the sleep further. Once ksmd, sleeping that
 * long, has measured above the budget for 30 s, say so once. */
#define DEFER_FLOOR_MS 30000

static void check_defer_floor(struct pilot *pl, const struct sample *s, const struct ctl_decision *d,
			      uint64_t now_ms)
{
	double share = d->t.cpu_share * 100; /* measured, % of a CPU */
	double budget = fmin(pl->cfg.idle_max_cpu, pl->cfg.max_cpu / 2); /* the controller's idle budget */

	if (d->set_pages || d->run != 1 || d->mode != CTL_MODE_IDLE || d->estimated_cpu || pl->cfg.dry_run ||
	    pl->opts.dry_run || d->sleep_ms < pl->cfg.sleep_ms_max ||
	    (uint64_t)s->ksm.v[KSM_SLEEP_MILLISECS] < pl->cfg.sleep_ms_max || d->rate_planned <= 2 * d->rate ||
	    share <= budget) {
		pl->defer_floor_on = false;
		return;
	}
	if (!pl->defer_floor_on) {
		pl->defer_floor_on = true;
		pl->defer_floor_since_ms = now_ms;
	}
	if (now_ms - pl->defer_floor_since_ms < DEFER_FLOOR_MS || pl->defer_floor_logged)
		return;
	pl->defer_floor_logged = true;
	log_notice("kernel_advisor = defer: idle, the advisor's pages_to_scan=%" PRIu64 " every sleep_ms_max=%" PRIu64
		   " ms keeps ksmd at %.1f%% of a CPU, above the idle budget of %g%% (idle_max_cpu), where %.0f pages/s "
		   "would do; raise sleep_ms_max (up to 60000), or set kernel_advisor = takeover",
		   d->pages_to_scan, d->sleep_ms, share, budget, d->rate);
}

/* ---- hazards ------------------------------------------------------------------ */

/* At start-up and at each sample that read the knob: an admin may change
 * it (after an unmerge) while the daemon runs. */
static void check_numa(struct pilot *pl, const struct sample *s)
{
	bool h;

	if (!ksm_values_has(&s->ksm, KSM_MERGE_ACROSS_NODES))
		return; /* not read at this sample: as it was */
	h = s->ksm.v[KSM_MERGE_ACROSS_NODES] == 1 && pl->numa_nodes > 1;
	if (h && !pl->numa_hazard)
		log_struct(LOG_WARNING, MSGID_NUMA_MERGE, NULL, 0,
			   "merge_across_nodes=1 on a machine with %u NUMA nodes: merged pages may live on a remote "
			   "node, which slows the processes that use them; consider [kernel] merge_across_nodes = 0 "
			   "(it takes effect only while nothing is merged)",
			   pl->numa_nodes);
	else if (!h && pl->numa_hazard)
		log_info("merge_across_nodes=%" PRId64 " now: merges stay within a NUMA node",
			 s->ksm.v[KSM_MERGE_ACROSS_NODES]);
	pl->numa_hazard = h;
}

/* ---- state_dir/processes, from ksmpilotctl inspect ------------------------------ */

static const char *const inspect_names[] = {
	[INSPECT_MISSING] = "missing", [INSPECT_FRESH] = "fresh", [INSPECT_STALE] = "stale",
	[INSPECT_REFUSED] = "refused",
};

static bool inspect_fresh(const struct pilot *pl)
{
	return pl->inspect.status == INSPECT_FRESH;
}

/* Read state_dir/processes when it changed: a regular file of root's (or
 * ours) that parses whole, or nothing. */
static enum inspect_status read_inspect(struct pilot *pl)
{
	struct procscan ps;
	struct stat st;
	char *text = NULL;
	size_t len;
	unsigned line;
	int fd, r;

	if (pl->state_dirfd < 0) {
		snprintf(pl->inspect.why, sizeof(pl->inspect.why), "no state directory");
		return INSPECT_MISSING;
	}
	fd = openat(pl->state_dirfd, "processes", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int err = errno;
		pl->inspect.have_stat = false;
		pl->inspect.parsed = false;
		snprintf(pl->inspect.why, sizeof(pl->inspect.why), "%s",
			 err == ENOENT ? "no such file" : err == ELOOP ? "a symlink" : strerror(err));
		return err == ENOENT ? INSPECT_MISSING : INSPECT_REFUSED;
	}
	r = fstat(fd, &st) < 0 ? -errno : 0;
	if (r == 0 && pl->inspect.have_stat && pl->inspect.parsed && st.st_ino == pl->inspect.st.st_ino &&
	    st.st_dev == pl->inspect.st.st_dev && st.st_size == pl->inspect.st.st_size &&
	    st.st_mtim.tv_sec == pl->inspect.st.st_mtim.tv_sec && st.st_mtim.tv_nsec == pl->inspect.st.st_mtim.tv_nsec) {
		close(fd);
		return INSPECT_FRESH; /* the same file: staleness is judged by the caller */
	}
	pl->inspect.parsed = false;
	pl->inspect.have_stat = false;
	if (r < 0) {
		snprintf(pl->inspect.why, sizeof(pl->inspect.why), "%s", strerror(-r));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(pl->inspect.why, sizeof(pl->inspect.why), "not a regular file");
		r = -EINVAL;
	} else if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(pl->inspect.why, sizeof(pl->inspect.why), "it belongs to uid %lu, not to root",
			 (unsigned long)st.st_uid);
		r = -EPERM;
	} else if (st.st_mode & 022) {
		snprintf(pl->inspect.why, sizeof(pl->inspect.why), "its group or others can write it (mode %04o)",
			 (unsigned)(st.st_mode & 07777));
		r = -EPERM;
	} else if ((r = read_fd(fd, PROCSCAN_FILE_MAX, &text, &len)) < 0) {
		snprintf(pl->inspect.why, sizeof(pl->inspect.why), "cannot read it: %s", strerror(-r));
	} else if ((r = procscan_parse(text, len, &ps, &line)) < 0) {
		if (r == -EBADMSG && line)
			snprintf(pl->inspect.why, sizeof(pl->inspect.why), "line %u does not parse", line);
		else if (r == -EBADMSG)
			snprintf(pl->inspect.why, sizeof(pl->inspect.why), "incomplete");
		else
			snprintf(pl->inspect.why, sizeof(pl->inspect.why), "%s", strerror(-r));
	}
	free(text);
	close(fd);
	if (r < 0)
		return INSPECT_REFUSED;
	hazard_map_usage(&ps, &pl->map_usage);
	guests_free(&pl->inspect.guests);
	if (guests_build(&ps, NULL, NULL, &pl->inspect.guests) < 0)
		memset(&pl->inspect.guests, 0, sizeof(pl->inspect.guests)); /* no guest series this time */
	pl->inspect.time = ps.time;
	procscan_free(&ps);
	pl->inspect.st = st;
	pl->inspect.have_stat = true;
	pl->inspect.parsed = true;
	return INSPECT_FRESH;
}

/* Every INSPECT_CHECK_MS: take what ksmpilotctl inspect left, and log once
 * when there has been nothing fresh for INSPECT_GRACE_MS (the timer is not
 * running, say), once more when it is back. */
static void check_inspect(struct pilot *pl, uint64_t now_ms)
{
	if (now_ms < pl->inspect.next_check_ms)
		return;
	pl->inspect.next_check_ms = now_ms + INSPECT_CHECK_MS;
	pl->inspect.status = read_inspect(pl);
	if (pl->inspect.status == INSPECT_FRESH) {
		int64_t age = (int64_t)time(NULL) - pl->inspect.time;
		if (age > INSPECT_STALE_S || age < -INSPECT_STALE_S) {
			pl->inspect.status = INSPECT_STALE;
			snprintf(pl->inspect.why, sizeof(pl->inspect.why), "written %lld s ago", (long long)age);
		}
	}
	if (inspect_fresh(pl)) {
		if (pl->inspect.blind_logged)
			log_info("ksmpilotctl inspect's data in %s/processes is back: the vm.max_map_count check is on "
				 "again", pl->cfg.state_dir);
		pl->inspect.blind_since_ms = 0;
		pl->inspect.blind_logged = false;
		return;
	}
	if (!pl->inspect.blind_since_ms)
		pl->inspect.blind_since_ms = now_ms ? now_ms : 1;
	if (!pl->inspect.blind_logged && now_ms - pl->inspect.blind_since_ms >= INSPECT_GRACE_MS) {
		struct log_field f;
		log_field_set(&f, "KSM_INSPECT", "%s", inspect_names[pl->inspect.status]);
		log_struct(LOG_WARNING, MSGID_INSPECT_STALE, &f, 1,
			   "no fresh data from ksmpilotctl inspect in %s/processes for %" PRIu64 " minutes (%s: %s): "
			   "the vm.max_map_count check is off until it comes back; is ksmpilot-inspect.timer "
			   "running? (systemctl status ksmpilot-inspect.timer)",
			   pl->cfg.state_dir, INSPECT_GRACE_MS / 60000, inspect_names[pl->inspect.status],
			   pl->inspect.why);
		pl->inspect.blind_logged = true;
	}
}

static void check_hazards(struct pilot *pl, const struct sample *s, uint64_t now_ms)
{
	int e;

	if (ksm_values_has(&s->ksm, KSM_GENERAL_PROFIT)) {
		/* a pair of pages merges at its second visit at the earliest:
		 * until ksmd has been over everything twice, the rmap items of a
		 * large arrival cost before it saves (a host of hundreds of GiB
		 * at max_cpu takes tens of minutes); a hazard only after that.
		 * full_scans is there: a sample without it holds (usable()) */
		bool neg = s->ksm.v[KSM_GENERAL_PROFIT] < 0;
		int64_t scans = s->ksm.v[KSM_FULL_SCANS];

		/* a sample at or above 0 within an episode does not start the
		 * count again: the episode ends only after 10 minutes of them */
		if (neg && ((!pl->profit_neg && !pl->profit.active) || scans < pl->profit_neg_scans))
			pl->profit_neg_scans = scans;
		pl->profit_neg = neg;
		e = hazard_update(&pl->profit,
				  neg && (pl->profit.active || scans - pl->profit_neg_scans >= 2), now_ms,
				  HAZARD_HOLD_MS);
		if (e > 0) {
			struct log_field f;
			log_field_set(&f, "KSM_GENERAL_PROFIT", "%" PRId64, s->ksm.v[KSM_GENERAL_PROFIT]);
			log_struct(LOG_WARNING, MSGID_NEGATIVE_PROFIT, &f, 1,
				   "general_profit has stayed negative over two full scans and %" PRIu64 " minutes (%.1f "
				   "MiB now): the 64-byte rmap items of the pages KSM scans cost more memory than merging "
				   "saves",
				   HAZARD_HOLD_MS / 60000, (double)s->ksm.v[KSM_GENERAL_PROFIT] / (1024.0 * 1024.0));
		} else if (e < 0) {
			log_info("general_profit has been positive again for %" PRIu64 " minutes", HAZARD_HOLD_MS / 60000);
		}
	}
	check_numa(pl, s);
	check_inspect(pl, now_ms);
	if (inspect_fresh(pl)) {
		e = hazard_update(&pl->maps, hazard_maps_near(&pl->map_usage), now_ms, 0);
		if (e > 0) {
			struct log_field f[2];
			log_field_set(&f[0], "KSM_PID", "%d", pl->map_usage.pid);
			log_field_set(&f[1], "KSM_VMAS", "%" PRIu64, pl->map_usage.vmas);
			log_struct(LOG_WARNING, MSGID_MAP_COUNT, f, 2,
				   "process %d (%s) uses KSM and has %" PRIu64 " memory mappings, %.0f%% of "
				   "vm.max_map_count (%" PRIu64 "): MADV_MERGEABLE splits mappings, and past the "
				   "limit its mmap() calls fail",
				   pl->map_usage.pid, pl->map_usage.comm, pl->map_usage.vmas,
				   100.0 * (double)pl->map_usage.vmas / (double)pl->map_usage.max_map_count,
				   pl->map_usage.max_map_count);
		} else if (e < 0) {
			log_info("no KSM process is near vm.max_map_count any more");
		}
	} else if (pl->maps.active || pl->maps.cond) {
		/* the check is off (check_inspect() says so): its episode
		 * ends with no word of a process no longer seen */
		memset(&pl->maps, 0, sizeof(pl->maps));
	}
}

/* ---- the controller's learned state, across a restart ------------------------ */

/* A state saved longer ago than this is not reused: the host has moved on. */
#define CTL_STATE_MAX_AGE_S 600.0
/* It is saved this often (and on exit): a crash loses a minute of learning. */
#define CTL_SAVE_MS 60000u

static void save_controller(struct pilot *pl, const struct sample *s)
{
	char buf[4096];
	int n, r;

	if (!pl->ctl_path[0] || !pl->ctl.primed)
		return;
	n = snprintf(buf, sizeof(buf), "saved=%lld\nboot_id=%s\n", (long long)time(NULL), pl->boot_id);
	if (n < 0 || (size_t)n >= sizeof(buf) || ctl_save(&pl->ctl, s, buf + n, sizeof(buf) - (size_t)n) < 0)
		return;
	r = write_file_at(pl->state_dirfd, "controller", buf, strlen(buf), 0644, false);
	if (r < 0 && !pl->ctl_err_logged)
		log_warn(-r, "cannot save the controller state to %s; a restart will probe again", pl->ctl_path);
	pl->ctl_err_logged = r < 0;
}

/* The value of "key=" in text, or "" (at most len - 1 bytes). */
static void line_value(const char *text, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);

	out[0] = '\0';
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, "\n");
			if (n < len) {
				memcpy(out, p + kl + 1, n);
				out[n] = '\0';
			}
			return;
		}
}

/* Reuse what the last instance learned, when it is fresh, from this boot,
 * and the kernel's counters agree: no new probe after a restart. */
static void restore_controller(struct pilot *pl, const struct sample *s)
{
	struct stat sb;
	char *text = NULL, saved[32], boot[64];
	const char *why = "";
	size_t len;
	int64_t when = 0;
	double age;
	int r;

	if (lstat(pl->ctl_path, &sb) < 0) {
		if (errno != ENOENT) /* ENOENT: none, a first start */
			log_notice("ignoring the controller state %s: %s", pl->ctl_path, strerror(errno));
		return;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022)) {
		log_notice("ignoring the controller state %s: not a regular file owned by uid %u and writable by it "
			   "alone",
			   pl->ctl_path, (unsigned)geteuid());
		return;
	}
	r = read_file(pl->ctl_path, 8192, &text, &len);
	if (r < 0) {
		log_notice("ignoring the controller state %s: %s", pl->ctl_path, strerror(-r));
		return;
	}
	line_value(text, "saved", saved, sizeof(saved));
	line_value(text, "boot_id", boot, sizeof(boot));
	if (parse_i64(saved, 0, INT64_MAX, &when) < 0) {
		why = "no time of saving";
		r = -EINVAL;
	} else if (!pl->boot_id[0] || strcmp(boot, pl->boot_id) != 0) {
		why = "saved before the last boot";
		r = -ESTALE;
	} else {
		age = (double)((int64_t)time(NULL) - when);
		r = ctl_restore(&pl->ctl, text, s, age, CTL_STATE_MAX_AGE_S, &why);
	}
	if (r == 0)
		log_info("controller state restored from %s (saved %llds ago): no new probe", pl->ctl_path,
			 (long long)((int64_t)time(NULL) - when));
	else
		log_notice("not reusing the controller state %s: %s; the controller starts afresh", pl->ctl_path, why);
	free(text);
}

static void notify_status(struct pilot *pl, const char *status)
{
	/* only when it changed: each sd_notify is a socket and a message */
	if (strcmp(status, pl->status) == 0)
		return;
	snprintf(pl->status, sizeof(pl->status), "%s", status);
	sd_notifyf(0, "STATUS=%s", status);
}

/* ---- the state file and the Prometheus textfile ------------------------------ */

/* Say once per textfile when its directory can be written by someone other
 * than root (node_exporter's textfile directory often belongs to its
 * user): the writes are safe (a new file of a random name, renamed into
 * place), but that user can remove or replace the metrics. And remove
 * what a write that died left there half done: node_exporter reads only
 * *.prom, but nothing else would ever remove it. */
static void check_textfile_dir(const struct pilot *pl)
{
	char dir[CFG_PATH_MAX];
	const char *slash = strrchr(pl->cfg.textfile, '/');
	struct stat st;
	int fd;

	if (!pl->cfg.textfile[0] || !slash)
		return;
	snprintf(dir, sizeof(dir), "%.*s", slash == pl->cfg.textfile ? 1 : (int)(slash - pl->cfg.textfile),
		 pl->cfg.textfile);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return; /* the first write says why */
	}
	if (st.st_uid != 0 && st.st_uid != geteuid())
		log_notice("the Prometheus textfile directory %s belongs to uid %lu: that user can remove or replace "
			   "ksmpilotd's metrics (never make root write elsewhere)", dir, (unsigned long)st.st_uid);
	else if (st.st_mode & 022)
		log_notice("the Prometheus textfile directory %s can be written by %s (mode %04o): they can remove or "
			   "replace ksmpilotd's metrics (never make root write elsewhere)", dir,
			   (st.st_mode & 002) ? "anyone" : "its group", (unsigned)(st.st_mode & 07777));
	/* older than a minute: another daemon (a dry run needs no lock) may
	 * be writing the same textfile now */
	(void)remove_temp_files(fd, slash + 1, 60); /* a failure: the next start tries again */
	close(fd);
}

static void publish(struct pilot *pl, const struct sample *s, const struct ctl_decision *d, uint64_t now_ms,
		    bool changed)
{
	struct state_info si;
	int r;
	int64_t inspect_time = pl->inspect.parsed ? pl->inspect.time : 0;
	bool inspect_moved = pl->inspect.status != pl->inspect.shown || inspect_time != pl->inspect.shown_time;

	if (changed)
		pl->decided = (int64_t)time(NULL);
	/* rewritten when the decision or what inspect left changed (read every
	 * INSPECT_CHECK_MS), and at least every STATE_REFRESH(_IDLE)_MS */
	if (!changed && !inspect_moved && pl->state_written_ms &&
	    now_ms - pl->state_written_ms < (d->mode == CTL_MODE_ACTIVE ? STATE_REFRESH_MS : STATE_REFRESH_IDLE_MS))
		return;
	pl->state_written_ms = now_ms ? now_ms : 1;
	pl->inspect.shown = pl->inspect.status;
	pl->inspect.shown_time = inspect_time;
	memset(&si, 0, sizeof(si));
	si.pid = (long)getpid();
	si.started = pl->started;
	si.updated = (int64_t)time(NULL);
	si.decided = pl->decided;
	si.config_path = pl->opts.config_path;
	si.interval_ms = pl->cfg.interval_ms;
	si.dry_run = pl->opts.dry_run || pl->cfg.dry_run;
	si.kernel_advisor = pl->cfg.kernel_advisor;
	si.ticks = pl->stats.ticks;
	si.adjustments = pl->stats.adjustments;
	si.write_errors = pl->stats.write_errors;
	si.reloads = pl->stats.reloads;
	si.reload_failures = pl->stats.reload_failures;
	si.s = s;
	si.d = d;
	si.hazard_profit = pl->profit.active;
	si.hazard_maps = pl->maps.active;
	si.maps = pl->map_usage;
	/* a process is named only while it is near the limit (the hazard),
	 * from data the check uses: the file is readable by every user, the
	 * mappings of others are not */
	if (!inspect_fresh(pl) || !pl->maps.active)
		si.maps.pid = 0;
	si.inspect = inspect_names[pl->inspect.status];
	si.inspect_time = inspect_time;
	si.hazard_numa = pl->numa_hazard;
	si.numa_nodes = pl->numa_nodes;
	if (now_ms - pl->ctl_saved_ms >= CTL_SAVE_MS || !pl->ctl_saved_ms) {
		save_controller(pl, s);
		pl->ctl_saved_ms = now_ms ? now_ms : 1;
	}
	si.hazard_foreign = pl->foreign_episode;
	si.mode_changes = pl->stats.mode_changes;
	si.probes = pl->stats.probes;
	si.foreign_changes = pl->stats.foreign_changes;
	si.full_scan_s = pl->full_scan_s;
	si.max_cpu = pl->cfg.max_cpu / 100.0;
	/* ksmpilotd cannot read other users' ksm_stat: the per-guest series
	 * come from what ksmpilotctl inspect left, while it is fresh */
	si.guests = inspect_fresh(pl) ? &pl->inspect.guests : NULL;
	si.guest_series = (unsigned)pl->cfg.guest_series;
	if (pl->state_path[0]) {
		r = state_write(pl->state_dirfd, "state", &si);
		if (r < 0 && !pl->state_err_logged)
			log_warn(-r, "cannot write the state file %s", pl->state_path);
		pl->state_err_logged = r < 0;
	}
	if (pl->cfg.textfile[0]) {
		r = metrics_write(pl->cfg.textfile, &si);
		if (r < 0 && !pl->metrics_err_logged)
			log_warn(-r, "cannot write the Prometheus textfile %s%s", pl->cfg.textfile,
				 r == -EACCES ? " (ksmpilotd holds no capability: its directory must be root's, or "
						"writable by others)"
					      : "");
		pl->metrics_err_logged = r < 0;
	}
}

/* ---- full scans and the history record ---------------------------------------- */

/* The time between the last two full_scans increments seen at the ticks
 * (a tick's resolution, 10 s while ksmd idles and its counters are read
 * every SAMPLE_QUIET_MS; time with run=0 included). */
static void note_full_scan(struct pilot *pl, const struct sample *s, uint64_t now)
{
	int64_t fs;

	if (!ksm_values_has(&s->ksm, KSM_FULL_SCANS))
		return;
	fs = s->ksm.v[KSM_FULL_SCANS];
	if (pl->fs_seen && fs > pl->fs_count) {
		if (pl->fs_at_us && now > pl->fs_at_us)
			pl->full_scan_s = (double)(now - pl->fs_at_us) / 1e6 / (double)(fs - pl->fs_count);
		pl->fs_at_us = now;
	} else if (pl->fs_seen && fs < pl->fs_count) {
		pl->fs_at_us = 0; /* the counter went back: start over */
	}
	pl->fs_seen = true;
	pl->fs_count = fs;
}

/* Write the summary of the period that ends at now, and start the next. */
static void write_history(struct pilot *pl, uint64_t now)
{
	struct log_field f[HISTORY_MAX_FIELDS];
	char msg[512];
	size_t n;

	n = history_fields(&pl->hist, now, &pl->last, &pl->last_decision, f, ARRAY_SIZE(f));
	history_message(&pl->hist, now, &pl->last, msg, sizeof(msg));
	log_data(LOG_INFO, MSGID_HISTORY, f, n, "%s", msg);
	history_start(&pl->hist, now, (int64_t)time(NULL));
}

/* The record of the period so far, where one has begun; none for a
 * period of no length (a stop right after its first tick), which has no
 * share of a core to say. */
static void write_history_so_far(struct pilot *pl, uint64_t now)
{
	if (pl->hist_on && pl->hist.ticks && pl->have_last && now > pl->hist.start_us)
		write_history(pl, now);
}

static void note_history(struct pilot *pl, const struct sample *s, const struct ctl_decision *d, double dt,
			 bool mode_changed, bool probe, uint64_t now)
{
	if (pl->cfg.history_period_ms == 0) {
		/* turned off by a reload: the period so far, as at a stop */
		write_history_so_far(pl, now);
		pl->hist_on = false;
		return;
	}
	if (!pl->hist_on) {
		/* turned on again by a reload: the counters since it was
		 * turned off belong to no period */
		pl->hist.have_prev = false;
		history_start(&pl->hist, now, (int64_t)time(NULL));
		pl->hist_on = true;
	}
	history_add(&pl->hist, s, d, dt, mode_changed, probe);
	if (history_due(&pl->hist, now, pl->cfg.history_period_ms))
		write_history(pl, now);
}

#ifdef KSMPILOT_TEST_HOOKS
/* Test builds only (make TEST_HOOKS=1): KSMPILOT_TEST_HANG_AT_TICK=N makes
 * tick N hang, so that a test can watch systemd's watchdog kill it;
 * KSMPILOT_TEST_READ="PATH..." makes the first tick try to read each
 * PATH (separated by spaces) and log what happened, so that a test can see
 * what the daemon, under its unit, can reach. */
static void test_hook_read(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n < 0)
		log_notice("test hook: cannot %s %s: %s", fd < 0 ? "open" : "read", path, strerror(errno));
	else
		log_notice("test hook: read %zd bytes of %s", n, path);
	if (fd >= 0)
		close(fd);
}

static void test_hook_tick(uint64_t tick)
{
	const char *e = getenv("KSMPILOT_TEST_HANG_AT_TICK"), *r = getenv("KSMPILOT_TEST_READ");

	if (r && tick == 1) {
		char paths[1024], *save = NULL;
		snprintf(paths, sizeof(paths), "%s", r);
		for (char *p = strtok_r(paths, " ", &save); p; p = strtok_r(NULL, " ", &save))
			test_hook_read(p);
	}
	if (e && strtoull(e, NULL, 10) == tick) {
		log_warnx("test hook: tick %" PRIu64 " hangs", tick);
		for (;;)
			pause();
	}
}
#endif

void pilot_tick(struct pilot *pl, uint64_t now)
{
	struct sample s;
	struct ctl_decision d;
	bool changed, mode_changed;
	double dt = pl->have_last ? (double)(now - pl->last_us) / 1e6 : 0;
	char sum[256];
	int r;

	pl->stats.ticks++;
#ifdef KSMPILOT_TEST_HOOKS
	test_hook_tick(pl->stats.ticks);
#endif
	sample_take(&pl->sampler, now / 1000, &s);
	log_sample_errors(pl, &s);
	if (!s.meminfo_err && !s.ksm_err && kernel_busy(&s) == KSM_BUSY_NONE)
		note_foreign_changes(pl, &s);
	ctl_step(&pl->cfg, &pl->ctl, &s, dt, &d);
	if (d.hold) {
		/* the controller did not see what this sample read: the next
		 * one reads it again rather than carry it over */
		sampler_invalidate(&pl->sampler); /* held, unseen */
		if (kernel_busy(&s) != KSM_BUSY_NONE)
			snprintf(sum, sizeof(sum), "holding: %s (run=%" PRId64 ")", ksm_busy_name(kernel_busy(&s)),
				 s.ksm.v[KSM_RUN]);
		else
			snprintf(sum, sizeof(sum), "holding: inputs unreadable (%s)", strerror(-pl->sample_err_logged));
		notify_status(pl, sum);
		/* a daemon that holds is alive: the state file and the metrics
		 * say so (reason hold), with the last sample it could read */
		if (pl->have_last)
			publish(pl, &pl->last, &d, now / 1000, !pl->held);
		pl->held = true;
		return;
	}
	/* copy-on-write breaks matter while ksmd runs, and are counted every
	 * few samples while it idles; a stopped ksmd's counters do not move */
	sampler_set_vmstat(&pl->sampler, d.run == 1, d.mode == CTL_MODE_IDLE);
	sampler_set_quiet(&pl->sampler, ctl_counters_quiet(&d, &s));
	mode_changed = pl->have_last && d.mode != pl->last_decision.mode;
	pl->stats.mode_changes += mode_changed;
	pl->stats.probes += d.wake != CTL_WAKE_NONE;
	pl->last = s;
	pl->last_decision = d;
	pl->have_last = true;
	pl->last_us = now;
	note_full_scan(pl, &s, now);

	if (!pl->cfg.dry_run && !pl->opts.dry_run) {
		enum ksm_item bad = KSM_RUN;
		int64_t bad_v = 0;
		r = pilot_apply(&pl->ksm, &pl->cfg, &d, &s, &bad, &bad_v);
		if (r != 0)
			sampler_invalidate(&pl->sampler); /* not the knobs as they were */
		if (r == -EAGAIN) {
			/* put off while the kernel is busy: nothing written, so
			 * nothing to take for this daemon's values later */
		} else if (r < 0) {
			pl->stats.write_errors++;
			if (!(pl->write_err_logged & KSM_BIT(bad))) {
				struct log_field f[3];
				char v[32];
				ksm_format_value(bad, bad_v, v, sizeof(v));
				rejected_fields(f, bad, v, -r);
				log_struct(LOG_ERR, MSGID_WRITE_REJECTED, f, 3,
					   "the kernel rejected a write of %s to %s/%s: %s%s", v, pl->ksm.dir,
					   ksm_item_name(bad), strerror(-r), write_hint(&pl->ksm, bad, r));
				pl->write_err_logged |= KSM_BIT(bad);
			}
		} else {
			if (r > 0)
				pl->stats.adjustments++;
			pl->write_err_logged = 0;
			remember_writes(pl, &d);
		}
	}
	changed = log_decision(pl, &s, &d) || pl->held;
	pl->held = false;
	check_defer_floor(pl, &s, &d, now / 1000);
	check_hazards(pl, &s, now / 1000);
	publish(pl, &s, &d, now / 1000, changed);
	note_history(pl, &s, &d, dt, mode_changed, d.wake != CTL_WAKE_NONE, now);
	report_summary(sum, sizeof(sum), &s, &d);
	notify_status(pl, sum);
}

uint64_t pilot_next_tick_us(const struct pilot *pl)
{
	/* idle or stopped: sample less often; new memory is still noticed
	 * within idle_interval */
	if (!pl->have_last)
		return pl->cfg.interval_ms * 1000;
	return ctl_interval_ms(&pl->cfg, &pl->last_decision) * 1000;
}

int pilot_reload(struct pilot *pl)
{
	struct cfg_errors *errs = calloc(1, sizeof(*errs));
	struct cfg *next = malloc(sizeof(*next));
	int r;

	if (!errs || !next) {
		log_errx("reload: out of memory; keeping the old configuration");
		free(errs);
		free(next);
		return -ENOMEM;
	}
	r = cfg_load(pl->opts.config_path, pl->opts.config_explicit, next, errs);
	/* cfg_validate() compiled the bare pattern; the sampler's wrapped one
	 * can still fail (REG_ESPACE), and that is a failed reload too. The
	 * sampler keeps the old pattern when it does. */
	if (r == 0 && sampler_set_guest(&pl->sampler, next->guest_cmdline, next->guest_scan_interval_ms) < 0) {
		cfg_error(errs, "guest_cmdline: cannot compile '%s'", next->guest_cmdline);
		r = -EINVAL;
	}
	if (r < 0) {
		pl->stats.reload_failures++;
		for (unsigned i = 0; i < errs->n; i++)
			log_errx("%s", errs->msg[i]);
		log_struct(LOG_ERR, MSGID_RELOAD_FAILED, NULL, 0,
			   "reload #%" PRIu64 " failed: %u error%s in %s; the old configuration keeps running",
			   pl->stats.reloads + pl->stats.reload_failures, errs->n + errs->dropped,
			   errs->n + errs->dropped == 1 ? "" : "s", pl->opts.config_path);
	} else {
		if (strcmp(next->textfile, pl->cfg.textfile) != 0) {
			/* the old file would export frozen values for ever */
			int u;
			if (pl->cfg.textfile[0] && pl->state_written_ms && (u = unlink_nofollow(pl->cfg.textfile)) < 0 &&
			    u != -ENOENT)
				log_warn(-u, "cannot remove the old Prometheus textfile %s", pl->cfg.textfile);
			pl->metrics_err_logged = false;
		}
		if (strcmp(next->state_dir, pl->cfg.state_dir) != 0) {
			log_warnx("state_dir changes take effect at the next start; keeping %s", pl->cfg.state_dir);
			memcpy(next->state_dir, pl->cfg.state_dir, sizeof(next->state_dir));
		}
		sampler_set_psi(&pl->sampler, next->psi_threshold > 0);
		if (next->merge_across_nodes != pl->cfg.merge_across_nodes)
			log_notice("merge_across_nodes is applied at start-up; restart to apply the new value");
		if (pl->opts.dry_run && !next->dry_run)
			log_warnx("dry_run = no takes effect at the next start; still a dry run");
		else if (!pl->opts.dry_run && next->dry_run != pl->cfg.dry_run)
			log_notice(next->dry_run ? "dry_run = yes: nothing is written to sysfs from now on; on exit, "
						   "on_exit still puts back what this daemon wrote"
						 : "dry_run = no: the knobs are written again");
		if (next->dry_run && !pl->cfg.dry_run)
			memset(pl->wrote, 0, sizeof(pl->wrote)); /* no longer set back: not foreign */
		ctl_reconfigure(next, &pl->ctl, pl->have_last ? &pl->last : NULL);
		bool was_defer = pl->cfg.kernel_advisor == ADVISOR_DEFER && !pl->cfg.dry_run && !pl->opts.dry_run;
		bool now_defer = next->kernel_advisor == ADVISOR_DEFER && !next->dry_run && !pl->opts.dry_run;
		bool said = false, policy_changed = next->kernel_advisor != pl->cfg.kernel_advisor;
		pl->cfg.kernel_advisor = next->kernel_advisor;
		if (pl->have_last && now_defer && !was_defer)
			said = give_back_advisor(pl);
		if (pl->have_last && !said && policy_changed)
			handle_advisor(pl, &pl->last);
		bool new_textfile = strcmp(next->textfile, pl->cfg.textfile) != 0;
		pl->cfg = *next;
		if (new_textfile) {
			check_textfile_dir(pl);
			pl->state_written_ms = 0; /* publish at the next tick */
		}
		log_set_level(pl->cfg.log_level);
		pl->stats.reloads++;
		pl->defer_floor_logged = false; /* said again if the new sleep_ms_max does not help */
		log_info("configuration reloaded from %s (reload #%" PRIu64 ")", pl->opts.config_path,
			 pl->stats.reloads + pl->stats.reload_failures);
	}
	/* The state file counts reloads and refused reloads: `ksmpilotctl
	 * reload` (the unit's ExecReload=) waits for it, so write it now.
	 * Before the first tick there is nothing to write; that tick will. */
	if (pl->have_last) {
		pl->state_written_ms = 0;
		publish(pl, &pl->last, &pl->last_decision, pl->last_us / 1000, false);
	}
	free(errs);
	free(next);
	return r < 0 ? -EINVAL : 0;
}

/* The kernel's work (ksm_busy) that still goes on after waiting up to ms
 * for it to end (memory offlining takes seconds, mostly; an unmerge, a
 * second or so a GiB merged), or KSM_BUSY_NONE. */
static enum ksm_busy busy_outlasts(struct ksm *k, int ms)
{
	for (int waited = 0;; waited += 100) {
		enum ksm_busy b = ksm_busy(k);
		if (b == KSM_BUSY_NONE || waited >= ms)
			return b;
		(void)nanosleep(&(struct timespec){ .tv_nsec = 100000000L }, NULL); /* 100 ms */
	}
}

static const char *busy_still(enum ksm_busy b)
{
	return b == KSM_BUSY_OFFLINE ? "memory is still going offline" : "an unmerge (run=2) is still under way";
}

/* How long a write of run or merge_across_nodes waits for memory going
 * offline or an unmerge before it gives up: the kernel's write would wait
 * for it in D state, past the watchdog and the unit's timeouts. */
static int offline_wait_ms(const struct pilot *pl)
{
	return pl->env && pl->env->offline_wait_ms > 0 ? pl->env->offline_wait_ms : EXIT_OFFLINE_WAIT_MS;
}

/* Put the knobs back as on_exit says. Returns true when nothing failed. */
static bool apply_on_exit(struct pilot *pl)
{
	uint64_t failed = 0;
	int errs[KSM_ITEM_COUNT] = { 0 }, wait_ms;
	enum ksm_busy busy;

	if (pl->opts.dry_run) {
		log_info("dry run: knobs left as they were");
		return true;
	}
	if (pl->cfg.on_exit == ON_EXIT_LEAVE) {
		log_info("on_exit=leave: knobs left as set");
		return true;
	}
	if (!pl->have_snap)
		return true;
	wait_ms = offline_wait_ms(pl);
	busy = busy_outlasts(&pl->ksm, wait_ms);
	if (busy != KSM_BUSY_NONE) {
		log_warn(EBUSY,
			 "on_exit=%s: %s after %d s, and a write of run would wait until it is done: knobs left as "
			 "set; the snapshot %s stays for ksmpilotd --restore or the next start",
			 on_exit_name(pl->cfg.on_exit), busy_still(busy), (wait_ms + 999) / 1000, pl->snap_path);
		return false;
	}
	ksm_restore(&pl->ksm, &pl->snap, pl->cfg.on_exit == ON_EXIT_STOP, &failed, errs); /* failed says it */
	if (pl->cfg.on_exit == ON_EXIT_STOP) {
		int w = ksm_write(&pl->ksm, KSM_RUN, 0);
		if (w < 0) {
			failed |= KSM_BIT(KSM_RUN);
			errs[KSM_RUN] = -w;
		}
	}
	/* merge_across_nodes changes only while nothing is merged, and a
	 * restore never unmerges: the value of start-up stays, as a notice */
	if ((failed & KSM_BIT(KSM_MERGE_ACROSS_NODES)) && errs[KSM_MERGE_ACROSS_NODES] == EBUSY) {
		int64_t now_v;
		char at[32] = "as it is";
		failed &= ~KSM_BIT(KSM_MERGE_ACROSS_NODES);
		if (ksm_read(&pl->ksm, KSM_MERGE_ACROSS_NODES, &now_v) == 0)
			snprintf(at, sizeof(at), "at %" PRId64, now_v);
		log_notice("on_exit=%s: merge_across_nodes left %s, not restored to %" PRId64
			   ": pages are merged, and the kernel changes it only while none are",
			   on_exit_name(pl->cfg.on_exit), at, pl->snap.v[KSM_MERGE_ACROSS_NODES]);
	}
	for (int i = 0; i < KSM_ITEM_COUNT; i++) {
		if (!(failed & KSM_BIT(i)))
			continue;
		struct log_field f[3];
		char v[32];
		ksm_format_value((enum ksm_item)i,
				 i == KSM_RUN && pl->cfg.on_exit == ON_EXIT_STOP ? 0 : pl->snap.v[i], v, sizeof(v));
		rejected_fields(f, (enum ksm_item)i, v, errs[i]);
		log_struct(LOG_ERR, MSGID_WRITE_REJECTED, f, 3, "on_exit=%s: cannot restore %s=%s: %s%s",
			   on_exit_name(pl->cfg.on_exit), ksm_item_name((enum ksm_item)i), v, strerror(errs[i]),
			   write_hint(&pl->ksm, (enum ksm_item)i, -errs[i]));
	}
	if (!failed) {
		char run[8], pages[32], sleep_ms[32], adv[32];
		bool has_adv = (pl->snap.present & KSM_BIT(KSM_ADVISOR_MODE)) && ksm_has(&pl->ksm, KSM_ADVISOR_MODE);
		/* with the advisor on, pages_to_scan is the kernel's: ksm_restore()
		 * does not write it, and the snapshot's value is not what is there */
		bool adv_on = has_adv && pl->snap.v[KSM_ADVISOR_MODE] != 0;

		ksm_format_value(KSM_RUN, pl->cfg.on_exit == ON_EXIT_STOP ? 0 : pl->snap.v[KSM_RUN], run, sizeof(run));
		ksm_format_value(KSM_PAGES_TO_SCAN, pl->snap.v[KSM_PAGES_TO_SCAN], pages, sizeof(pages));
		ksm_format_value(KSM_SLEEP_MILLISECS, pl->snap.v[KSM_SLEEP_MILLISECS], sleep_ms, sizeof(sleep_ms));
		ksm_format_value(KSM_ADVISOR_MODE, pl->snap.v[KSM_ADVISOR_MODE], adv, sizeof(adv));
		log_info("on_exit=%s: knobs restored (run=%s%s%s sleep_millisecs=%s%s%s%s)", on_exit_name(pl->cfg.on_exit),
			 run, adv_on ? "" : " pages_to_scan=", adv_on ? "" : pages, sleep_ms,
			 has_adv ? " advisor_mode=" : "", has_adv ? adv : "",
			 adv_on ? "; pages_to_scan left to the advisor" : "");
	}
	return failed == 0;
}


/* [kernel] merge_across_nodes: only while nothing is merged; never unmerge
 * to force it. */
static void set_merge_across_nodes(struct pilot *pl, struct sample *s)
{
	int r, wait_ms;
	enum ksm_busy busy;

	if (pl->cfg.merge_across_nodes == MAN_KEEP || pl->opts.dry_run)
		return;
	if (!ksm_has(&pl->ksm, KSM_MERGE_ACROSS_NODES)) {
		log_notice("merge_across_nodes = %d asked, but this kernel has no merge_across_nodes (CONFIG_NUMA=n?)",
			   pl->cfg.merge_across_nodes);
		return;
	}
	wait_ms = offline_wait_ms(pl);
	busy = s->ksm.v[KSM_MERGE_ACROSS_NODES] != pl->cfg.merge_across_nodes ? busy_outlasts(&pl->ksm, wait_ms)
									       : KSM_BUSY_NONE;
	if (busy != KSM_BUSY_NONE) {
		log_warn(EBUSY,
			 "merge_across_nodes = %d not written: %s after %d s, and the write would wait until it is "
			 "done; restart ksmpilotd to apply it",
			 pl->cfg.merge_across_nodes, busy_still(busy), (wait_ms + 999) / 1000);
		return;
	}
	r = ksm_apply(&pl->ksm, KSM_MERGE_ACROSS_NODES, pl->cfg.merge_across_nodes, &s->ksm);
	if (r < 0) {
		struct log_field f[3];
		char v[32];
		ksm_format_value(KSM_MERGE_ACROSS_NODES, pl->cfg.merge_across_nodes, v, sizeof(v));
		rejected_fields(f, KSM_MERGE_ACROSS_NODES, v, -r);
		log_struct(LOG_ERR, MSGID_WRITE_REJECTED, f, 3, "cannot set merge_across_nodes=%d: %s%s",
			   pl->cfg.merge_across_nodes, strerror(-r), write_hint(&pl->ksm, KSM_MERGE_ACROSS_NODES, r));
	} else if (r > 0) {
		log_info("merge_across_nodes set to %d", pl->cfg.merge_across_nodes);
		s->ksm.v[KSM_MERGE_ACROSS_NODES] = pl->cfg.merge_across_nodes;
		/* the next sample reads it, not the value it cached before */
		sampler_invalidate_knobs(&pl->sampler);
	}
}

int pilot_new(struct pilot **out, const struct daemon_opts *o, const struct cfg *cfg, const struct pilot_env *env)
{
	static const struct pilot_env no_env;
	struct pilot *pl;
	struct sample s;
	int rc, r;

	if (!env)
		env = &no_env;
	pl = calloc(1, sizeof(*pl));
	if (!pl) {
		log_errx("out of memory");
		if (env->proc_ops && env->proc_ops->destroy)
			env->proc_ops->destroy(env->proc_ctx);
		return EXIT_RUNTIME;
	}
	pl->opts = *o;
	pl->cfg = *cfg;
	pl->env = env;
	pl->lock_fd = -1;
	pl->state_dirfd = -1;
	pl->full_scan_s = -1;
	ctl_init(&pl->ctl);
	/* Dry or live is fixed at start-up: a live run takes the snapshot
	 * that on_exit restores from. */
	pl->opts.dry_run = o->dry_run || cfg->dry_run;

	rc = open_ksm(&pl->ksm, o->sysfs_dir, env->ksm_io);
	if (rc != EXIT_OK)
		goto fail;
	if (!pl->opts.dry_run && (rc = check_writable(&pl->ksm)) != EXIT_OK)
		goto fail;
	rc = take_lock(pl);
	if (rc != EXIT_OK)
		goto fail;
	r = sampler_init(&pl->sampler, &pl->ksm, env->proc_ops, env->proc_ctx, o->psi_path);
	pl->sampler_ready = r == 0;
	if (r == 0) {
		sampler_set_psi(&pl->sampler, pl->cfg.psi_threshold > 0);
		r = sampler_set_guest(&pl->sampler, pl->cfg.guest_cmdline, pl->cfg.guest_scan_interval_ms);
	}
	if (r < 0) {
		log_err(-r, "cannot set up sampling");
		rc = EXIT_RUNTIME;
		goto fail;
	}
	sample_take(&pl->sampler, now_ms(), &s);
	if (s.meminfo_err || s.ksm_err) {
		if (s.meminfo_err)
			log_err(-s.meminfo_err, "cannot read /proc/meminfo");
		else
			log_struct(LOG_ERR, MSGID_KSM_UNAVAILABLE, NULL, 0, "cannot read the KSM counters in %s: %s",
				   pl->ksm.dir, strerror(-s.ksm_err));
		rc = EXIT_RUNTIME;
		goto fail;
	}
	log_info("ksmpilotd %s starting: config %s, KSM in %s, interval %.1fs%s", KSMPILOT_VERSION, o->config_path,
		 pl->ksm.dir, (double)pl->cfg.interval_ms / 1000.0, pl->opts.dry_run ? ", dry run" : "");
	log_missing_features(&pl->ksm);
	boot_id_read(pl->boot_id, sizeof(pl->boot_id));
	if (!pl->opts.dry_run)
		take_snapshot(pl, &s);
	handle_advisor(pl, &s);
	set_merge_across_nodes(pl, &s);
	pl->numa_nodes = hazard_numa_nodes(env->numa_dir ? env->numa_dir : "/sys/devices/system/node");
	check_numa(pl, &s);
	check_textfile_dir(pl);
	pl->started = (int64_t)time(NULL);
	pl->decided = pl->started;
	if (pl->lock_fd >= 0) {
		snprintf(pl->state_path, sizeof(pl->state_path), "%s/state", pl->cfg.state_dir);
		snprintf(pl->ctl_path, sizeof(pl->ctl_path), "%s/controller", pl->cfg.state_dir);
		restore_controller(pl, &s);
	}
	*out = pl;
	return EXIT_OK;
fail:
	pilot_free(pl);
	return rc;
}

bool pilot_stop(struct pilot *pl)
{
	bool ok;

	/* the knobs first: the record and the file after them may wait on a
	 * busy journal or disk past the unit's stop timeout */
	ok = apply_on_exit(pl);
	/* the period so far, so that history has no gap before a restart */
	write_history_so_far(pl, pl->last_us);
	/* what the controller learned, for the next start */
	if (pl->have_last)
		save_controller(pl, &pl->last);

	if (ok && pl->have_snap)
		unlink(pl->snap_path);
	/* no state, and no metrics, from a daemon that is gone */
	if (pl->state_path[0])
		unlinkat(pl->state_dirfd, "state", 0);
	if (pl->cfg.textfile[0] && pl->state_written_ms)
		unlink_nofollow(pl->cfg.textfile);
	log_info("stopped after %" PRIu64 " ticks, %" PRIu64 " adjustments, %" PRIu64 " reloads", pl->stats.ticks,
		 pl->stats.adjustments, pl->stats.reloads);
	return ok;
}

void pilot_free(struct pilot *pl)
{
	if (!pl)
		return;
	if (pl->sampler_ready)
		sampler_fini(&pl->sampler);
	else if (pl->env && pl->env->proc_ops && pl->env->proc_ops->destroy)
		pl->env->proc_ops->destroy(pl->env->proc_ctx);
	if (pl->lock_fd >= 0)
		close(pl->lock_fd);
	if (pl->state_dirfd >= 0)
		close(pl->state_dirfd);
	ksm_close(&pl->ksm);
	guests_free(&pl->inspect.guests);
	free(pl);
}

const struct pilot_stats *pilot_stats(const struct pilot *pl)
{
	return &pl->stats;
}

const struct cfg *pilot_cfg(const struct pilot *pl)
{
	return &pl->cfg;
}

const struct ctl_decision *pilot_last_decision(const struct pilot *pl)
{
	return pl->have_last ? &pl->last_decision : NULL;
}

const struct sample *pilot_last_sample(const struct pilot *pl)
{
	return pl->have_last ? &pl->last : NULL;
}

/* --restore's read of the snapshot: EXIT_OK with *found, or the exit
 * status of a refusal, said. */
static int restore_load(struct pilot *pl, bool *found)
{
	char why[160];
	int r = ksm_snapshot_load(&pl->snap, pl->snap_path, why, sizeof(why));

	*found = r == 0;
	if (r == -ENOENT)
		log_info("no snapshot in %s: nothing to restore", pl->cfg.state_dir);
	else if (r < 0)
		log_errx("refusing the snapshot %s: %s; nothing restored", pl->snap_path, why);
	return r < 0 && r != -ENOENT ? EXIT_RUNTIME : EXIT_OK;
}

int pilot_restore_only(const struct daemon_opts *o, const struct cfg *cfg)
{
	struct pilot *pl = calloc(1, sizeof(*pl));
	char why[2 * CFG_PATH_MAX + 64];
	bool found;
	int rc, r;

	if (!pl) {
		log_errx("out of memory");
		return EXIT_RUNTIME;
	}
	pl->opts = *o;
	pl->opts.dry_run = false;
	pl->cfg = *cfg;
	pl->lock_fd = -1;
	pl->state_dirfd = -1;
	rc = open_ksm(&pl->ksm, o->sysfs_dir, NULL);
	if (rc != EXIT_OK)
		goto out;
	/* the directory first: a snapshot is only as good as where it lies */
	r = dir_open_trusted(pl->cfg.state_dir, false, why, sizeof(why));
	if (r == -ENOENT) {
		log_info("no state directory %s: nothing to restore", pl->cfg.state_dir);
		goto out;
	}
	if (r < 0) {
		if (r == -EPERM)
			log_errx("refusing the state directory: %s; nothing restored", why);
		else
			log_err(-r, "cannot open the state directory %s; nothing restored", pl->cfg.state_dir);
		rc = r == -EPERM ? EXIT_CONFIG : EXIT_RUNTIME;
		goto out;
	}
	close(r);
	snprintf(pl->snap_path, sizeof(pl->snap_path), "%s/snapshot", pl->cfg.state_dir);
	rc = restore_load(pl, &found);
	if (rc != EXIT_OK || !found)
		goto out;
	/* never under a running daemon's feet */
	rc = take_lock(pl);
	if (rc != EXIT_OK)
		goto out;
	/* again under the lock: a daemon may have started, and died, since */
	rc = restore_load(pl, &found);
	if (rc != EXIT_OK || !found)
		goto out;
	pl->have_snap = true;
	boot_id_read(pl->boot_id, sizeof(pl->boot_id));
	if (snapshot_of_earlier_boot(pl, &pl->snap)) {
		if (unlinkat(pl->state_dirfd, "snapshot", 0) < 0)
			log_warn(errno, "the snapshot of pid %ld in %s was taken before the last boot, which reset the "
				 "knobs it holds: nothing restored; cannot remove it",
				 pl->snap.pid, pl->snap_path);
		else
			log_notice("the snapshot of pid %ld in %s was taken before the last boot, which reset the knobs "
				   "it holds: nothing restored, the snapshot removed",
				   pl->snap.pid, pl->snap_path);
		goto out;
	}
	rc = check_writable(&pl->ksm);
	if (rc != EXIT_OK)
		goto out;
	log_notice("restoring the knobs from the snapshot of pid %ld (on_exit=%s)", pl->snap.pid,
		   on_exit_name(pl->cfg.on_exit));
	if (apply_on_exit(pl))
		unlinkat(pl->state_dirfd, "snapshot", 0);
	else
		rc = EXIT_RUNTIME;
out:
	if (pl->lock_fd >= 0)
		close(pl->lock_fd);
	if (pl->state_dirfd >= 0)
		close(pl->state_dirfd);
	ksm_close(&pl->ksm);
	free(pl);
	return rc;
}
