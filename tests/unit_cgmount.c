/* SPDX-License-Identifier: MIT */
/* Where cgroup hierarchies are mounted (src/common/cgmount.c), from
 * crafted mountinfo files and from this machine's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgmount.h"
#include "t.h"

#define CGROUP_SUPER_MAGIC 0x27e0eb
#define CGROUP2_SUPER_MAGIC 0x63677270

static char file[] = "/tmp/unit_cgmount.XXXXXX";

static void write_mountinfo(const char *text)
{
	FILE *f = fopen(file, "w");

	t_assert(f && fputs(text, f) >= 0 && !fclose(f), "write %s", file);
}

/* What cg_mount_find_in says for @hierarchy: its result, the point in @out. */
static int find(const char *hierarchy, char *out, size_t len)
{
	out[0] = 0;
	return cg_mount_find_in(file, hierarchy, out, len);
}

static void crafted(void)
{
	char out[256];

	write_mountinfo(
		/* a container's bind of a subtree first: not the root */
		"30 25 0:26 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
		"no dash on this line at all\n"
		"31 25 0:27 / /mnt/cg\\040v1/memory rw,nosuid shared:9 - cgroup cgroup rw,memory\n"
		/* "name=systemd" as a whole option, not inside another */
		"32 25 0:28 / /sys/fs/cgroup/fake rw - cgroup cgroup rw,xname=systemdx\n"
		"33 25 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
		"34 25 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
		/* tmpfs named like a cgroup: its type says otherwise */
		"35 25 0:31 / /sys/fs/cgroup rw - tmpfs cgroup2 rw\n"
		"36 25 0:32 / /run/cg2 rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
	t_assert(!find("memory", out, sizeof(out)) &&
		 !strcmp(out, "/mnt/cg\\040v1/memory"),
		 "memory: the root's mount, not the subtree's: '%s'", out);
	t_assert(!find("name=systemd", out, sizeof(out)) &&
		 !strcmp(out, "/sys/fs/cgroup/systemd"), "name=systemd: '%s'", out);
	t_assert(!find("cpuacct", out, sizeof(out)) &&
		 !strcmp(out, "/sys/fs/cgroup/cpu,cpuacct"), "cpuacct: '%s'", out);
	t_assert(!find(CG_MOUNT_V2, out, sizeof(out)) && !strcmp(out, "/run/cg2"),
		 "v2: the cgroup2 mount, not the tmpfs: '%s'", out);
	t_assert(find("freezer", out, sizeof(out)) == -ENODEV,
		 "a controller mounted nowhere: -ENODEV");
	t_assert(find("memory", out, 8) == -ENAMETOOLONG,
		 "a mount point longer than the buffer: -ENAMETOOLONG");

	/* a line longer than the reader's buffer is skipped, not cut into
	 * a second line that would parse */
	{
		size_t n = 9000;
		char *text = malloc(n + 200);

		t_assert(text != NULL, "malloc");
		memcpy(text, "40 25 0:40 / /", 14);
		memset(text + 14, 'a', n);
		strcpy(text + 14 + n, " rw - cgroup2 cgroup2 rw\n"
			 "41 25 0:41 / /ok rw - cgroup2 cgroup2 rw\n");
		write_mountinfo(text);
		free(text);
		t_assert(!find(CG_MOUNT_V2, out, sizeof(out)) && !strcmp(out, "/ok"),
			 "after an overlong line: '%s'", out);
	}
	unlink(file);
	t_assert(find(CG_MOUNT_V2, out, sizeof(out)) == -ENOENT,
		 "no mountinfo file: its errno");
}

/* This machine's: what is found is a cgroup file system of its kind. */
static void this_machine(void)
{
	char out[4096];
	struct statfs fs;

	if (!cg_mount_find("memory", out, sizeof(out)))
		t_assert(!statfs(out, &fs) && fs.f_type == CGROUP_SUPER_MAGIC,
			 "v1 memory at %s", out);
	else
		printf("cgmount: no cgroup v1 memory controller here\n");
	if (!cg_mount_find(CG_MOUNT_V2, out, sizeof(out)))
		t_assert(!statfs(out, &fs) && fs.f_type == CGROUP2_SUPER_MAGIC,
			 "cgroup v2 at %s", out);
	else
		printf("cgmount: no cgroup v2 mounted here\n");
}

int main(void)
{
	int fd = mkstemp(file);

	t_assert(fd >= 0, "mkstemp");
	close(fd);
	crafted();
	this_machine();
	printf("cgmount: root mounts by controller, name and v2; subtrees, "
	       "other types, long lines and names passed over\n");
	return 0;
}
