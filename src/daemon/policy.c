/* SPDX-License-Identifier: MIT */
/*
 * Who may opt in.  An agent the daemon lets in gets a descriptor of
 * /dev/userfaultfd, a kernel-mode userfaultfd that vm.unprivileged_
 * userfaultfd=0 exists to deny unprivileged users.  So uzswapd hands it
 * out as the administrator allows (root, and allow=: users, groups,
 * systemd units; by default the group uzswap); those who could make one
 * themselves may opt in too, and make their own.  Read from /proc for
 * the connecting process (its supplementary groups, capabilities and
 * cgroup are not in SO_PEERCRED).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgmount.h"
#include "config.h"
#include "policy.h"

#define CAP_SYS_PTRACE_BIT 19
#define MAX_GROUPS 256

/*
 * Groups and effective capabilities of @pid, which must still run as
 * @uid (real and effective): the pid is the one the socket's peer had
 * when it connected, and since then it may have exec'd a setuid program
 * (full capabilities) or ended and been reused, while a child of it
 * holds the socket.  0, or -errno (-EPERM for another uid).
 */
static int read_status(pid_t pid, uid_t uid, gid_t *groups, int *n_groups,
		       uint64_t *capeff)
{
	char path[64], line[4096];
	unsigned long real = ~0ul, eff = ~0ul;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	*n_groups = 0;
	*capeff = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Groups:", 7)) {
			char *p = line + 7, *end;

			for (;;) {
				unsigned long g = strtoul(p, &end, 10);

				if (end == p || *n_groups == MAX_GROUPS)
					break;
				groups[(*n_groups)++] = (gid_t)g;
				p = end;
			}
		} else if (!strncmp(line, "CapEff:", 7)) {
			*capeff = strtoull(line + 7, NULL, 16);
		} else if (!strncmp(line, "Uid:", 4)) {
			sscanf(line + 4, "%lu %lu", &real, &eff);
		}
	}
	fclose(f);
	return real == uid && eff == uid ? 0 : -EPERM;
}

static int in_groups(gid_t g, gid_t egid, const gid_t *groups, int n)
{
	int i;

	if (g == egid)
		return 1;
	for (i = 0; i < n; i++)
		if (groups[i] == g)
			return 1;
	return 0;
}

/* Could this process make a kernel-mode userfaultfd without us? */
static int has_own_way(uid_t uid, gid_t gid, const gid_t *groups, int n,
		       uint64_t capeff)
{
	struct stat st;
	char v = '0';
	int fd;

	if (capeff & (1ull << CAP_SYS_PTRACE_BIT))
		return 1;
	fd = open("/proc/sys/vm/unprivileged_userfaultfd", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &v, 1) != 1)
			v = '0';
		close(fd);
		if (v == '1')
			return 1;
	}
	if (stat("/dev/userfaultfd", &st))
		return 0;
	if (st.st_uid == uid)
		return (st.st_mode & S_IRUSR) && (st.st_mode & S_IWUSR);
	if (in_groups(st.st_gid, gid, groups, n))
		return (st.st_mode & S_IRGRP) && (st.st_mode & S_IWGRP);
	return (st.st_mode & S_IROTH) && (st.st_mode & S_IWOTH);
}

/*
 * Is the cgroup directory @path (from @controllers' hierarchy) one only
 * root made?  A user's delegated subtree (their systemd user manager,
 * user@UID.service, or a unit with Delegate=) is theirs to make cgroups
 * in, under any name: `systemd-run --user --unit=NAME` would otherwise
 * pass for the system unit NAME.
 */
static int made_by_root(const char *controllers, const char *path)
{
	char dir[4096 + 1024];
	struct stat st;
	size_t n;

	/* only cgroup v2 ("0::") and the hierarchy named systemd have
	 * unit names in their paths */
	if ((*controllers && strcmp(controllers, "name=systemd")) ||
	    cg_mount_find(controllers, dir, sizeof(dir)))
		return 0;
	n = strlen(dir);
	if (snprintf(dir + n, sizeof(dir) - n, "%s", path) >= (int)(sizeof(dir) - n))
		return 0;
	return !stat(dir, &st) && S_ISDIR(st.st_mode) && st.st_uid == 0;
}

/* Is the process in systemd unit @unit: a component of its cgroup path,
 * in a cgroup directory root made? */
static int in_unit(pid_t pid, const char *unit)
{
	char path[64], *line = NULL, *c, *controllers, *cg;
	size_t len = strlen(unit), cap = 0;
	ssize_t got;
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	/* whole lines only: the second half of a long path, read as a line
	 * of its own, once passed for a unit of another hierarchy */
	while (!found && (got = getline(&line, &cap, f)) > 0) {
		if (line[got - 1] != '\n')
			break;
		line[got - 1] = 0;
		/* "ID:CONTROLLERS:PATH" */
		controllers = strchr(line, ':');
		cg = controllers ? strchr(controllers + 1, ':') : NULL;
		if (!cg)
			continue;
		*cg++ = 0;
		controllers++;
		for (c = strchr(cg, '/'); c && !found; c = strchr(c + 1, '/')) {
			char end = c[1 + len];

			if (strncmp(c + 1, unit, len) || (end != '/' && end))
				continue;
			c[1 + len] = 0;
			found = made_by_root(controllers, cg);
			c[1 + len] = end;
		}
	}
	free(line);
	fclose(f);
	return found;
}

/* Does one of @rules match the process? */
static int rules_match(const struct allow_rule *rules, unsigned n_rules,
		       pid_t pid, uid_t uid, gid_t gid, const gid_t *groups,
		       int n)
{
	unsigned i;

	for (i = 0; i < n_rules; i++) {
		const struct allow_rule *r = &rules[i];

		if (r->kind == ALLOW_ALL ||
		    (r->kind == ALLOW_USER && r->id == uid) ||
		    (r->kind == ALLOW_GROUP && in_groups(r->id, gid, groups, n)) ||
		    (r->kind == ALLOW_UNIT && in_unit(pid, r->unit)))
			return 1;
	}
	return 0;
}

int policy_is_admin(const struct config *cfg, pid_t pid, uid_t uid, gid_t gid)
{
	gid_t groups[MAX_GROUPS];
	uint64_t capeff = 0;
	int n = 0;

	if (uid == 0)
		return 1;
	if (!cfg->n_admin || read_status(pid, uid, groups, &n, &capeff))
		return 0;
	return rules_match(cfg->admin, cfg->n_admin, pid, uid, gid, groups, n);
}

enum opt_in policy_may_opt_in(const struct config *cfg, pid_t pid, uid_t uid,
			      gid_t gid, char *why, size_t len)
{
	gid_t groups[MAX_GROUPS];
	uint64_t capeff = 0;
	int n = 0;

	if (uid == 0)
		return OPT_IN_DEVICE;
	if (read_status(pid, uid, groups, &n, &capeff)) {
		snprintf(why, len, "cannot read /proc/%d/status, or it no longer "
			 "runs as uid %u", (int)pid, (unsigned)uid);
		return OPT_IN_NO;
	}
	if (!cfg->allow_set) {
		const struct group *g = getgrnam(UZ_ALLOW_GROUP);

		if (g && in_groups(g->gr_gid, gid, groups, n))
			return OPT_IN_DEVICE;
	}
	if (rules_match(cfg->allow, cfg->n_allow, pid, uid, gid, groups, n))
		return OPT_IN_DEVICE;
	/* read from /proc at this moment, not from the socket: it makes its
	 * own userfaultfd, and gets no descriptor of our device */
	if (has_own_way(uid, gid, groups, n, capeff))
		return OPT_IN_OWN_WAY;
	snprintf(why, len, "uid %u may not opt in (allow= in uzswapd.conf: root, "
		 "%s)", (unsigned)uid, cfg->allow_set ? "the users, groups and "
		 "units listed" : "the group " UZ_ALLOW_GROUP);
	return OPT_IN_NO;
}
