/* daemon.h - the ksmpilotd service loop: sd-event with a periodic tick,
 * SIGHUP reload, SIGTERM/SIGINT and the watchdog, around pilot.h. */
#ifndef KSMPILOT_DAEMON_H
#define KSMPILOT_DAEMON_H

#include "config.h"
#include "pilot.h"

/* Block SIGTERM, SIGINT and SIGHUP until the loop reads them. Called by
 * main() as soon as it knows it runs the service, before the configuration
 * is read: a SIGHUP then would otherwise kill the daemon without a word
 * (its default action), and a SIGTERM would leave no time for on_exit. */
void daemon_block_signals(void);

/* Run the service until SIGTERM/SIGINT; returns an exit code. cfg has
 * been loaded and validated by the caller. */
int daemon_run(const struct daemon_opts *o, const struct cfg *cfg);

#endif
