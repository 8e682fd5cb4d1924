/* report.h - how a sample and a decision are shown: the readable block of
 * --once, the one-line summary (sd_notify STATUS=, info log), and the
 * structured journal fields (documented in ksmpilotd(8)). */
#ifndef KSMPILOT_REPORT_H
#define KSMPILOT_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "controller.h"
#include "log.h"
#include "sample.h"

void report_block(FILE *f, const struct cfg *cfg, const struct sample *s, const struct ctl_decision *d);
void report_summary(char *buf, size_t len, const struct sample *s, const struct ctl_decision *d);
/* Fills up to max fields; returns how many. */
size_t report_fields(struct log_field *f, size_t max, const struct sample *s, const struct ctl_decision *d);

/* Bytes saved by KSM: (pages_sharing + ksm_zero_pages) * page size. */
double report_saved_bytes(const struct sample *s);

#endif
