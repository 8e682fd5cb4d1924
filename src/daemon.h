/* daemon.h - the ksmpilotd service loop: sd-event with a periodic tick,
 * SIGHUP reload, SIGTERM/SIGINT and the watchdog, around pilot.h. */
#ifndef KSMPILOT_DAEMON_H
#define KSMPILOT_DAEMON_H

#include "config.h"
#include "pilot.h"

/* Run the service until SIGTERM/SIGINT; returns an exit code. cfg has
 * been loaded and validated by the caller. */
int daemon_run(const struct daemon_opts *o, const struct cfg *cfg);

#endif
