/* daemon.c - see daemon.h. Signal handlers are sd-event sources, so they
 * run in the loop, never inside a tick. */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "util.h"

struct loop {
	struct pilot *pilot;
	sd_event *ev;
	sd_event_source *timer;
};

static void schedule(struct loop *l, uint64_t usec)
{
	sd_event_source_set_time_relative(l->timer, usec);
	sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct loop *l = userdata;

	(void)src;
	(void)usec;
	pilot_tick(l->pilot, now_us());
	schedule(l, pilot_next_tick_us(l->pilot));
	return 0;
}

static int on_sighup(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
	struct loop *l = userdata;

	(void)src;
	(void)si;
	sd_notify(0, "RELOADING=1");
	if (pilot_reload(l->pilot) == 0)
		schedule(l, 0); /* apply the new configuration now, not an interval later */
	sd_notify(0, "READY=1");
	return 0;
}

static int on_term(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
	(void)userdata;
	log_info("received %s, stopping", strsignal((int)si->ssi_signo));
	sd_event_exit(sd_event_source_get_event(src), 0);
	return 0;
}

static int setup(struct loop *l)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	int r;

	r = sd_event_default(&l->ev);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(sigs); i++)
		r = sd_event_add_signal(l->ev, NULL, sigs[i] | SD_EVENT_SIGNAL_PROCMASK,
					sigs[i] == SIGHUP ? on_sighup : on_term, l);
	if (r >= 0)
		r = sd_event_add_time_relative(l->ev, &l->timer, CLOCK_MONOTONIC, 0, 1000, on_timer, l);
	if (r >= 0)
		r = sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
	/* pings WATCHDOG=1 by itself when systemd set WATCHDOG_USEC */
	if (r >= 0)
		r = sd_event_set_watchdog(l->ev, true);
	return r < 0 ? r : 0;
}

int daemon_run(const struct daemon_opts *o, const struct cfg *cfg)
{
	struct loop l = { 0 };
	sigset_t set;
	int rc, r;

	/* A SIGTERM during start-up must wait for the loop, which applies
	 * on_exit, rather than kill the daemon with the knobs changed. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	rc = pilot_new(&l.pilot, o, cfg, NULL);
	if (rc != EXIT_OK)
		return rc;
	r = setup(&l);
	if (r < 0) {
		log_err(-r, "cannot set up the event loop");
		rc = EXIT_RUNTIME;
	} else {
		sd_notify(0, "READY=1\nSTATUS=started");
		r = sd_event_loop(l.ev);
		sd_notify(0, "STOPPING=1");
		if (r < 0) {
			log_err(-r, "event loop failed");
			rc = EXIT_RUNTIME;
		}
	}
	pilot_stop(l.pilot);
	sd_event_source_unref(l.timer);
	sd_event_unref(l.ev);
	pilot_free(l.pilot);
	return rc;
}
