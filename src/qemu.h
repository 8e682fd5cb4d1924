/* qemu.h - which running processes are QEMU guests, and which of them a
 * guest_cmdline pattern matches: for ksmpilotctl import-ksmtuned and
 * ksmpilotd --check-config, which propose a pattern from what runs.
 *
 * ksmtuned counted `pgrep -f '^qemu-system.*-enable-kvm'`, which misses
 * QEMU as libvirt (-accel kvm), Proxmox (/usr/bin/kvm) and RHEL
 * (/usr/libexec/qemu-kvm) start it. QEMU_GUEST_REGEX matches all of them:
 * a command line whose program, with or without its directory, is
 * qemu-system-ARCH, qemu-kvm or kvm. Command lines are read as pgrep -f
 * and ksmpilotd read them: the arguments joined by spaces. Nothing here
 * logs. */
#ifndef KSMPILOT_QEMU_H
#define KSMPILOT_QEMU_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define QEMU_GUEST_REGEX "^([^ ]*/)?(qemu-system-[^ /]+|qemu-kvm|kvm)( |$)"

/* How much of a command line is read and matched: as much as the
 * daemon's guest scan. */
#define QEMU_CMDLINE_MAX CMDLINE_MATCH_MAX

struct qemu_count {
	unsigned qemu;          /* processes matching QEMU_GUEST_REGEX */
	unsigned matched;       /* processes matching the pattern given */
	unsigned qemu_matched;  /* QEMU processes the pattern matches */
	char missed[96];        /* a QEMU command line it misses, sanitised and cut; "" if none */
};

/* Count over proc_dir (normally "/proc"). pattern is an extended regex
 * ("" matches nothing). 0, -EINVAL (bad pattern) or -errno (proc_dir
 * cannot be listed). Processes that vanish meanwhile, kernel threads
 * (empty command line) and unreadable ones are skipped. */
int qemu_count(const char *proc_dir, const char *pattern, struct qemu_count *out);

#endif
