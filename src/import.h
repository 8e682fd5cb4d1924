/* import.h - turn a ksmtuned.conf into an equivalent ksmpilot.conf.
 *
 * ksmtuned (Debian's and Red Hat's KSM tuning script) sources
 * /etc/ksmtuned.conf as bash. import_ksmtuned() reads that file's text with
 * a small subset of the shell's rules, maps each variable to ksmpilot's
 * keys, and prints a ksmpilot.conf in which every setting names the
 * ksmtuned line it came from. The mapping and its reasons are in
 * docs/migrating-from-ksmtuned.md.
 *
 * The shell subset: NAME=VALUE and export NAME=VALUE (several per line,
 * as in the shell), values built from plain characters, '...', "..."
 * and backslash escapes, blanks around the line, blank lines, '#'
 * comments (a '#' starts a comment only at the start of a word, as in the
 * shell). Anything the shell would expand or run ($VAR, `cmd`, ~, ;, |,
 * a command after an assignment, "NAME = VALUE" with blanks around '=')
 * is reported as an error and nothing on that line is imported.
 *
 * Pure: no file, /proc or clock access. MemTotal, which ksmtuned reads to
 * scale KSM_SLEEP_MSEC and KSM_THRES_COEF, is a parameter. Nothing is
 * logged; diagnostics go to the stream the caller passes. */
#ifndef KSMPILOT_IMPORT_H
#define KSMPILOT_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The ksmtuned rule for committed guest memory: `pgrep -f` on this
 * extended regex. ksmpilot's guest_cmdline takes the same syntax and
 * matches the same command line (arguments joined by spaces). */
#define IMPORT_KSMTUNED_QEMU_REGEX "^qemu-system.*-enable-kvm"

/* At most this many diagnostics are printed (and repeated in the output);
 * the rest are counted in one last line. Errors are counted in full. */
#define IMPORT_MAX_DIAGS 64

/* Read the ksmtuned.conf text (len bytes, need not be NUL-terminated, may
 * hold any bytes) and write the equivalent ksmpilot.conf to out.
 *
 * filename names the input in diagnostics and in the output's header
 * (NULL: "-"). mem_total is the MemTotal, in bytes, to compute ksmtuned's
 * MemTotal-scaled values with (usually this machine's, from
 * /proc/meminfo); 0 means unknown: KSM_SLEEP_MSEC is then taken as for
 * the 16 GiB machine ksmtuned's scaling is relative to, and
 * KSM_THRES_CONST's floor is only described.
 *
 * Diagnostics go to diag (NULL: none), one per line, in line order:
 *     FILE:LINE: error: MESSAGE     a line or value that was not imported
 *     FILE:LINE: warning: MESSAGE   imported with a change, or a setting
 *                                   that has no meaning in ksmpilotd
 * and every one of them is repeated as a comment at the end of the output.
 *
 * The output always passes cfg_parse_string() and cfg_validate(), errors
 * or not. It is written to out in one piece at the end (out NULL: only
 * check), so a failure leaves out untouched.
 *
 * Returns the number of errors (0: everything was imported or reported
 * as having no meaning), or a negative errno: -ENOMEM, -EIO (writing out
 * or diag failed), -EINVAL (text is NULL while len > 0). */
int import_ksmtuned(const char *text, size_t len, const char *filename, uint64_t mem_total, FILE *out,
		    FILE *diag);

/* The same, told what ksmtuned's pattern matched among the QEMU processes
 * running (qemu_count() over /proc with IMPORT_KSMTUNED_QEMU_REGEX; NULL:
 * unknown, as import_ksmtuned()): the output says so, and a pattern that
 * misses some is a warning. */
struct qemu_count;
int import_ksmtuned_running(const char *text, size_t len, const char *filename, uint64_t mem_total,
			    const struct qemu_count *running, FILE *out, FILE *diag);

#endif
