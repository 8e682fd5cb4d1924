/* test_guest.c - guest names from QEMU's -name, Proxmox's -id, libvirt's
 * pid files, and comm[pid] otherwise; hostile command lines. */
#define _GNU_SOURCE
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest.h"
#include "util.h"

static const char *name_of(const char *const *args, size_t n, const char *comm, int pid, const char *libvirt)
{
	static char out[GUEST_NAME_MAX];

	guest_name(args, n, comm, pid, libvirt, out, sizeof(out));
	return out;
}

#define NAME(comm, pid, ...)                                                                       \
	name_of((const char *const[]){ __VA_ARGS__ }, sizeof((const char *const[]){ __VA_ARGS__ }) / \
							  sizeof(const char *),                    \
		comm, pid, NULL)

static void test_qemu_name(void **state)
{
	(void)state;
	assert_string_equal(NAME("qemu-system-x86", 10, "qemu-system-x86_64", "-name", "guest=web1,debug-threads=on"),
			    "web1");
	assert_string_equal(NAME("qemu-system-x86", 10, "qemu-system-x86_64", "-name", "web2"), "web2");
	assert_string_equal(NAME("qemu-system-x86", 10, "qemu-system-x86_64", "-name", "web3,process=qemu:web3"),
			    "web3");
	assert_string_equal(NAME("qemu-system-x86", 10, "qemu-system-x86_64", "-name", "debug-threads=on,guest=db"),
			    "db");
	/* ",," is a comma in the name */
	assert_string_equal(NAME("qemu-system-x86", 10, "qemu", "-name", "guest=a,,b,debug-threads=on"), "a,b");
	assert_string_equal(NAME("qemu-system-x86", 10, "qemu", "--name=guest=c"), "c");
	/* the last -name wins, as in QEMU */
	assert_string_equal(NAME("qemu-system-x86", 10, "qemu", "-name", "one", "-name", "two"), "two");
	/* options only, no name: comm and pid */
	assert_string_equal(NAME("qemu-system-x86", 10, "qemu", "-name", "debug-threads=on"), "qemu-system-x86[10]");
	/* -name as the last argument has no value */
	assert_string_equal(NAME("qemu-system-x86", 11, "qemu", "-name"), "qemu-system-x86[11]");
	/* an argument that only starts like -name */
	assert_string_equal(NAME("qemu-system-x86", 12, "qemu", "-namespace", "x"), "qemu-system-x86[12]");
}

static void test_proxmox_id(void **state)
{
	(void)state;
	assert_string_equal(NAME("kvm", 20, "/usr/bin/kvm", "-id", "105", "-name", "pbs,debug-threads=on"), "105:pbs");
	assert_string_equal(NAME("kvm", 20, "/usr/bin/kvm", "-id", "106"), "106");
	/* not a VMID */
	assert_string_equal(NAME("kvm", 20, "/usr/bin/kvm", "-id", "x1", "-name", "n"), "n");
}

static char root[128];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void test_libvirt_pid_file(void **state)
{
	const char *args[] = { "/usr/bin/qemu-system-x86_64", "-m", "2048" };
	char path[300];
	FILE *f;

	(void)state;
	snprintf(root, sizeof(root), "/tmp/ksmpilot-test-guest.XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/mail.pid", root);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("4242", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/other.pid", root);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("17", f);
	fclose(f);
	assert_string_equal(name_of(args, 3, "qemu-system-x86", 4242, root), "mail");
	assert_string_equal(name_of(args, 3, "qemu-system-x86", 4243, root), "qemu-system-x86[4243]");
	/* -name comes first */
	{
		const char *named[] = { "qemu", "-name", "guest=mail2" };
		assert_string_equal(name_of(named, 3, "qemu-system-x86", 4242, root), "mail2");
	}
	/* a missing directory */
	assert_string_equal(name_of(args, 3, "qemu-system-x86", 4242, "/nonexistent"), "qemu-system-x86[4242]");
	nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_others_and_hostile(void **state)
{
	char out[GUEST_NAME_MAX];
	char longname[300];

	(void)state;
	assert_string_equal(NAME("workload", 77, "build/tests/workload", "-s", "128"), "workload[77]");
	assert_string_equal(name_of(NULL, 0, "", 5, NULL), "?[5]");
	/* escape sequences and invalid UTF-8 are made harmless */
	assert_string_equal(NAME("qemu", 1, "qemu", "-name", "guest=\x1b[31mred\xff"), "?[31mred?");
	/* cut to GUEST_NAME_MAX - 1 */
	memset(longname, 'x', sizeof(longname));
	memcpy(longname, "guest=", 6);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(strlen(NAME("qemu", 1, "qemu", "-name", longname)), GUEST_NAME_MAX - 1);
	assert_int_equal(strlen(NAME("qemu", 1, "qemu", "-name", longname + 6)), GUEST_NAME_MAX - 1);
	/* the joined form of state_dir/processes */
	guest_name_joined("/usr/bin/kvm -id 101 -name web,debug-threads=on -m 4096", "kvm", 9, NULL, out, sizeof(out));
	assert_string_equal(out, "101:web");
	guest_name_joined("", "bash", 9, NULL, out, sizeof(out));
	assert_string_equal(out, "bash[9]");
	assert_true(guest_is_vmm("qemu-system-x86"));
	assert_true(guest_is_vmm("kvm"));
	assert_true(guest_is_vmm("firecracker"));
	assert_false(guest_is_vmm("bash"));
	assert_false(guest_is_vmm("workload"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_name),
		cmocka_unit_test(test_proxmox_id),
		cmocka_unit_test(test_libvirt_pid_file),
		cmocka_unit_test(test_others_and_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
