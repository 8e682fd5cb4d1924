/* guest.h - what to call a process that uses KSM, for operators: the
 * guest's name where its command line or libvirt gives one, else its comm
 * and pid. Used by `ksmpilotctl guests`, `ksmpilotctl doctor` and the
 * per-guest Prometheus series.
 *
 *   QEMU      -name guest=NAME,...  or  -name NAME,...   (",," is a comma)
 *   Proxmox   -id N (its VMID): "N:NAME" with -name, "N" alone
 *   libvirt   the domain whose pid file (/run/libvirt/qemu/DOMAIN.pid)
 *             holds the pid, when the command line has no -name
 *   others    "comm[pid]"
 *
 * The command line and comm come from another process: the name is
 * sanitised (text_sanitize) and cut to GUEST_NAME_MAX - 1 bytes. Nothing
 * here logs. */
#ifndef KSMPILOT_GUEST_H
#define KSMPILOT_GUEST_H

#include <stdbool.h>
#include <stddef.h>

#define GUEST_NAME_MAX 64
#define GUEST_LIBVIRT_DIR "/run/libvirt/qemu"

/* args[0..n-1]: the arguments. libvirt_dir may be NULL (not looked at).
 * Writes a NUL-terminated name to out (at least GUEST_NAME_MAX bytes). */
void guest_name(const char *const *args, size_t n, const char *comm, int pid, const char *libvirt_dir,
		char *out, size_t outlen);

/* The same from a command line whose arguments are joined by spaces (as
 * state_dir/processes keeps it): an argument that held a space is cut
 * there. */
void guest_name_joined(const char *cmdline, const char *comm, int pid, const char *libvirt_dir, char *out,
		       size_t outlen);

/* Whether comm names a virtual machine monitor (qemu*, kvm, firecracker,
 * cloud-hypervisor, crosvm). */
bool guest_is_vmm(const char *comm);

#endif
