/* guest.c - see guest.h */
#include "guest.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_ARGS 512

/* The value of an option given as "-opt VALUE", "--opt VALUE" or
 * "-opt=VALUE"; NULL when absent. The last one wins, as in QEMU. */
static const char *option(const char *const *args, size_t n, const char *opt)
{
	const char *v = NULL;
	size_t len = strlen(opt);

	for (size_t i = 1; i < n; i++) {
		const char *a = args[i];
		if (a[0] != '-')
			continue;
		a += a[1] == '-' ? 2 : 1;
		if (strncmp(a, opt, len) != 0)
			continue;
		if (a[len] == '\0' && i + 1 < n)
			v = args[++i];
		else if (a[len] == '=')
			v = a + len + 1;
	}
	return v;
}

/* s, cut to fit out (outlen > 0). */
static void cut_copy(char *out, size_t outlen, const char *s)
{
	size_t n = strnlen(s, outlen - 1);

	memcpy(out, s, n);
	out[n] = '\0';
}

/* The guest name in QEMU's -name value: "[guest=]NAME[,OPTION=...]...";
 * ",," is a literal comma. */
static void qemu_name(const char *v, char *out, size_t outlen)
{
	char elem[GUEST_NAME_MAX + 6]; /* "guest=" and the name's 63 bytes */
	bool first = true;

	out[0] = '\0';
	while (*v) {
		size_t o = 0;

		for (; *v; v++) {
			if (*v == ',') {
				if (v[1] != ',')
					break;
				v++;
			}
			if (o + 1 < sizeof(elem))
				elem[o++] = *v;
		}
		elem[o] = '\0';
		if (*v == ',')
			v++;
		if (strncmp(elem, "guest=", 6) == 0)
			cut_copy(out, outlen, elem + 6);
		else if (first && !strchr(elem, '='))
			cut_copy(out, outlen, elem);
		first = false;
	}
}

/* The libvirt domain whose pid file holds pid; 0 when found. */
static int libvirt_domain(const char *dir, int pid, char *out, size_t outlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = -ENOENT;

	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char buf[32];

		if (len <= 4 || strcmp(de->d_name + len - 4, ".pid") != 0)
			continue;
		if (read_text_at(dirfd(d), de->d_name, buf, sizeof(buf)) > 0 && strtol(buf, NULL, 10) == pid) {
			snprintf(out, outlen, "%.*s", (int)(len - 4), de->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

void guest_name(const char *const *args, size_t n, const char *comm, int pid, const char *libvirt_dir,
		char *out, size_t outlen)
{
	char name[GUEST_NAME_MAX] = "";
	const char *v = n ? option(args, n, "name") : NULL;
	const char *id = n ? option(args, n, "id") : NULL;

	if (v)
		qemu_name(v, name, sizeof(name));
	if (!name[0] && libvirt_dir && pid > 0)
		libvirt_domain(libvirt_dir, pid, name, sizeof(name));
	if (id && id[0] && strspn(id, "0123456789") == strlen(id) && strlen(id) < 12) {
		char both[GUEST_NAME_MAX];
		size_t k = strlen(id); /* under 12 digits */

		memcpy(both, id, k);
		if (name[0]) {
			size_t m;

			both[k++] = ':';
			m = strnlen(name, sizeof(both) - k - 1);
			memcpy(both + k, name, m);
			k += m;
		}
		both[k] = '\0';
		snprintf(out, outlen, "%s", both);
	} else if (name[0]) {
		snprintf(out, outlen, "%s", name);
	} else {
		snprintf(out, outlen, "%.*s[%d]", GUEST_NAME_MAX - 16, comm && comm[0] ? comm : "?", pid);
	}
	text_sanitize(out);
}

void guest_name_joined(const char *cmdline, const char *comm, int pid, const char *libvirt_dir, char *out,
		       size_t outlen)
{
	const char *args[MAX_ARGS];
	size_t n = 0;
	char *copy = strdup(cmdline ? cmdline : "");
	char *save = NULL;

	if (!copy) {
		guest_name(NULL, 0, comm, pid, libvirt_dir, out, outlen);
		return;
	}
	for (char *a = strtok_r(copy, " ", &save); a && n < MAX_ARGS; a = strtok_r(NULL, " ", &save))
		args[n++] = a;
	guest_name(args, n, comm, pid, libvirt_dir, out, outlen);
	free(copy);
}

bool guest_is_vmm(const char *comm)
{
	static const char *const prefixes[] = { "qemu", "kvm", "firecracker", "cloud-hyperviso", "crosvm" };

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(comm, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}
