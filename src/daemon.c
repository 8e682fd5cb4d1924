/* daemon.c - see daemon.h. Signal handlers are sd-event sources, so they
 * run in the loop, never inside a tick. The tick is not an sd-event timer:
 * the loop waits for the next one as the timeout of sd_event_run(), so an
 * idle tick costs a wake-up and what the tick reads, and no timer re-armed
 * and read as well (three system calls fewer a tick, with the gettid()
 * sd_event_default() would add). */
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
	uint64_t next_us; /* CLOCK_MONOTONIC: when the next tick is due */
};

static void schedule(struct loop *l, uint64_t usec)
{
	l->next_us = now_us() + usec;
}

/* One tick, and when the next is due. Not inlined: bench/tickcost counts
 * a tick's instructions as this function's. */
static __attribute__((noinline)) void on_timer(struct loop *l)
{
	pilot_tick(l->pilot, now_us());
	schedule(l, pilot_next_tick_us(l->pilot));
}

/* sd_event_loop(), with the tick as the wait's timeout. The signals come
 * first: a SIGTERM queued during start-up stops the daemon before its
 * first tick writes a knob, and nothing ticks after an exit was asked
 * for. sd_event_run() dispatches one source a call, and signalfd hands
 * over the lowest signal first: a SIGHUP queued with a SIGTERM comes
 * first, and the tick its reload asks for would run before the SIGTERM is
 * seen. So after a dispatch the loop looks again, without waiting, before
 * it ticks: the three signals, each coalesced, drain within
 * DISPATCH_MAX calls, and a flood of them cannot hold the ticks off for
 * longer. The loop never reaches SD_EVENT_FINISHED, so an exit source
 * (sd_event_add_exit()) would never run; there is none. Returns the exit
 * code, or a negative errno. */
#define DISPATCH_MAX 4
static int run_loop(struct loop *l)
{
	unsigned dispatched = 0;

	for (;;) {
		uint64_t now = now_us();
		int code, r;

		r = sd_event_run(l->ev, l->next_us > now && !dispatched ? l->next_us - now : 0);
		if (r < 0)
			return r;
		if (sd_event_get_exit_code(l->ev, &code) >= 0)
			return code;
		if (r > 0 && ++dispatched < DISPATCH_MAX)
			continue;
		dispatched = 0;
		if (now_us() >= l->next_us)
			on_timer(l);
	}
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

	/* not sd_event_default(): the default loop checks its thread with
	 * a gettid() at every iteration, a system call an idle tick can do
	 * without */
	r = sd_event_new(&l->ev);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(sigs); i++)
		r = sd_event_add_signal(l->ev, NULL, sigs[i] | SD_EVENT_SIGNAL_PROCMASK,
					sigs[i] == SIGHUP ? on_sighup : on_term, l);
	/* pings WATCHDOG=1 by itself when systemd set WATCHDOG_USEC */
	if (r >= 0)
		r = sd_event_set_watchdog(l->ev, true);
	return r < 0 ? r : 0;
}

void daemon_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* a log to a pipe whose reader left (ksmpilotd 2>&1 | tee, then
	 * Ctrl-C) must not kill the daemon before it puts the knobs back */
	signal(SIGPIPE, SIG_IGN);
}

int daemon_run(const struct daemon_opts *o, const struct cfg *cfg)
{
	struct loop l = { 0 };
	int rc, r;

	/* A SIGTERM during start-up must wait for the loop, which applies
	 * on_exit, rather than kill the daemon with the knobs changed. */
	daemon_block_signals();
	rc = pilot_new(&l.pilot, o, cfg, NULL);
	if (rc != EXIT_OK)
		return rc;
	r = setup(&l);
	if (r < 0) {
		log_err(-r, "cannot set up the event loop");
		rc = EXIT_RUNTIME;
	} else {
		sd_notify(0, "READY=1\nSTATUS=started");
		r = run_loop(&l); /* the first tick is due now */
		sd_notify(0, "STOPPING=1");
		if (r < 0) {
			log_err(-r, "event loop failed");
			rc = EXIT_RUNTIME;
		}
	}
	/* on_exit not applied: the snapshot stays for ExecStopPost= */
	if (!pilot_stop(l.pilot) && rc == EXIT_OK)
		rc = EXIT_RUNTIME;
	sd_event_unref(l.ev);
	pilot_free(l.pilot);
	return rc;
}
