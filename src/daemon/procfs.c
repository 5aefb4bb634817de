/* SPDX-License-Identifier: MIT */
/* What uzswapd reads from /proc: a client's anonymous RSS, fd kinds. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "procfs.h"

#define UZ_STATUS_MAX 4096 /* /proc/PID/status is ~1.5 KB */

/* /proc/@pid/@name, its start, into @buf (@len), NUL-terminated: 0 or
 * -errno. */
static int read_proc(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = 0;
	return 0;
}

/* What follows "@key:" at the start of a line of /proc/PID/status text
 * @buf (its first line is "Name:"), or NULL when no line has it. */
static const char *status_value(const char *buf, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s:", key);
	p = strstr(buf, pat);
	return p ? p + strlen(pat) : NULL;
}

int procfs_rss_anon(pid_t pid, uint64_t *bytes)
{
	char buf[UZ_STATUS_MAX];
	const char *p;
	uint64_t kb;
	int err = read_proc(pid, "status", buf, sizeof(buf));

	if (err)
		return err;
	p = status_value(buf, "RssAnon");
	/* kernel threads and zombies have no RssAnon line */
	if (!p || sscanf(p, "%" SCNu64, &kb) != 1)
		return -ENODATA;
	*bytes = kb << 10;
	return 0;
}

int procfs_task_state(pid_t pid, char *state, int *tracer)
{
	char buf[UZ_STATUS_MAX];
	const char *s, *t;
	int err = read_proc(pid, "status", buf, sizeof(buf));

	if (err)
		return err;
	s = status_value(buf, "State");
	t = status_value(buf, "TracerPid");
	if (!s || !t || sscanf(s, " %c", state) != 1 ||
	    sscanf(t, "%d", tracer) != 1 || *tracer < 0)
		return -ENODATA;
	return 0;
}

int procfs_start_ticks(pid_t pid, uint64_t *ticks)
{
	char buf[1024], *p;
	unsigned long long t;
	int field, err = read_proc(pid, "stat", buf, sizeof(buf));

	if (err)
		return err;
	/* "pid (comm) state ...": comm may hold anything, ')' too */
	p = strrchr(buf, ')');
	if (!p)
		return -ENODATA;
	/* the state is the 3rd field; the start time the 22nd */
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &t) != 1)
		return -ENODATA;
	*ticks = t;
	return 0;
}

int procfs_fsuid(pid_t pid, uid_t *uid)
{
	char buf[UZ_STATUS_MAX];
	const char *p;
	unsigned r, e, sv, fs;
	int err = read_proc(pid, "status", buf, sizeof(buf));

	if (err)
		return err;
	p = status_value(buf, "Uid");
	if (!p || sscanf(p, "%u %u %u %u", &r, &e, &sv, &fs) != 4)
		return -ENODATA;
	*uid = (uid_t)fs;
	return 0;
}

int procfs_thread_comm(pid_t pid, pid_t tid, char *out, size_t len)
{
	char name[64];
	int err;

	snprintf(name, sizeof(name), "task/%d/comm", (int)tid);
	err = read_proc(pid, name, out, len);
	if (!err)
		out[strcspn(out, "\n")] = 0;
	return err;
}

/* The state letter of thread @tid of @pid ('Z': ended), or 0. */
static char thread_state(pid_t pid, pid_t tid)
{
	char name[64], buf[1024], *p;

	snprintf(name, sizeof(name), "task/%d/stat", (int)tid);
	if (read_proc(pid, name, buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

pid_t procfs_live_thread(pid_t pid)
{
	char path[64];
	struct dirent *de;
	pid_t tid = pid;
	DIR *d;

	if (thread_state(pid, pid) != 'Z')
		return pid;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return pid;
	while ((de = readdir(d))) {
		pid_t t = (pid_t)atoi(de->d_name);

		if (t > 0 && thread_state(pid, t) != 'Z') {
			tid = t;
			break;
		}
	}
	closedir(d);
	return tid;
}

/*
 * A memfd: sealable shmem (F_GET_SEALS answers for shmem only), a regular
 * file of tmpfs's kind, and its /proc/self/fd link reads "/memfd:NAME
 * (deleted)".  The link alone is no proof: in a user namespace of its
 * own, anyone can mount a filesystem where a path reads the same, FUSE
 * among them, whose reads would wait for ever.  Reads of shmem never do.
 */
int procfs_fd_is_memfd(int fd)
{
	char path[64], link[64];
	struct statfs fs;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || fstatfs(fd, &fs) ||
	    fs.f_type != TMPFS_MAGIC || fcntl(fd, F_GET_SEALS) < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	return !strncmp(link, "/memfd:", 7);
}
