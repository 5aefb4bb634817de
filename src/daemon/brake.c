/* SPDX-License-Identifier: MIT */
/* Braking a job at its cgroup v2 memory limit: see brake.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "brake.h"
#include "cgmount.h"
#include "cgpath.h"
#include "log.h"

#define BRAKES 1024 /* levels braked at once: one per limited cgroup */
#define PAGE_BYTES 4096ull

static struct brake {
	char *dir;    /* the level's directory; NULL: a free slot */
	uint64_t was; /* its memory.high before (CG_NO_LIMIT: "max") */
	uint64_t set; /* what we wrote */
	unsigned users;
	int yielded;  /* someone else wrote memory.high: left to them */
} brakes[BRAKES];
static char state_file[4200]; /* SOCKET.brakes, or "": none kept */

static int high_write(const char *dir, uint64_t v)
{
	char path[4200], buf[32];
	int fd, n, err = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/memory.high", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	n = v == CG_NO_LIMIT ? snprintf(buf, sizeof(buf), "max\n")
			     : snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n)
		err = -errno;
	close(fd);
	return err;
}

/* The braked levels into the state file (replaced whole, by a rename:
 * a crash leaves the old list or the new one, never half of one); the
 * file is gone when none is braked. */
static void state_save(void)
{
	char tmp[sizeof(state_file) + 8];
	int any = 0, fd;
	FILE *f;

	if (!state_file[0])
		return;
	for (int i = 0; i < BRAKES; i++)
		any |= brakes[i].dir != NULL;
	if (!any) {
		if (unlink(state_file) && errno != ENOENT)
			log_warn("cannot remove %s: %s", state_file, strerror(errno));
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.new", state_file);
	/* made anew, never through a link someone put in its place (a
	 * socket may be in a directory others can write) */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		log_warn("cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	for (int i = 0; i < BRAKES; i++)
		if (brakes[i].dir)
			fprintf(f, "%" PRIu64 " %" PRIu64 " %s\n", brakes[i].was,
				brakes[i].set, brakes[i].dir);
	if (fclose(f) || rename(tmp, state_file)) {
		log_warn("cannot write %s: %s", state_file, strerror(errno));
		unlink(tmp);
	}
}

/* Put @was back as @dir's memory.high, if it still is the @set we
 * wrote (an administrator's value written since stays). */
static void put_back(const char *dir, uint64_t was, uint64_t set)
{
	uint64_t now;
	int err = cg_file_bytes(dir, "memory.high", &now);

	if (err == -ENOENT)
		return; /* the cgroup is gone */
	if (!err && now != set) {
		log_info("%s/memory.high was changed while uzswapd braked it: "
			 "left as it is", dir);
		return;
	}
	if (!err)
		err = high_write(dir, was);
	if (err && err != -ENOENT)
		log_warn("cannot put back %s/memory.high: %s", dir, strerror(-err));
}

/* Is @dir a directory under cgroup v2's mount @v2 ("": none), with no
 * ".." in it? */
static int under(const char *dir, const char *v2)
{
	size_t n = strlen(v2), len = strlen(dir);

	return n && !strncmp(dir, v2, n) && dir[n] == '/' &&
	       !strstr(dir, "/../") &&
	       !(len >= 3 && !strcmp(dir + len - 3, "/.."));
}

void brake_init(const char *socket)
{
	char v2[512];

	if (cg_mount_find(CG_MOUNT_V2, v2, sizeof(v2)))
		v2[0] = 0;
	brake_init_at(socket, v2);
}

void brake_init_at(const char *socket, const char *v2)
{
	char line[4300];
	struct stat st;
	FILE *f;
	int fd;

	if ((size_t)snprintf(state_file, sizeof(state_file), "%s.brakes", socket) >=
	    sizeof(state_file)) {
		state_file[0] = 0;
		return;
	}
	/* ours only: a list someone else wrote would have us write
	 * memory.high of the cgroups it names */
	fd = open(state_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || !(f = fdopen(fd, "r"))) {
		log_warn("%s is not a file of ours: ignored", state_file);
		close(fd);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		uint64_t was, set;
		int at = 0;

		line[strcspn(line, "\n")] = 0;
		/* "WAS SET DIR": a cgroup's name has no newline */
		if (sscanf(line, "%" SCNu64 " %" SCNu64 " %n", &was, &set, &at) < 2 ||
		    !at || !under(line + at, v2))
			continue;
		log_warn("putting back %s/memory.high, which a uzswapd that "
			 "ended without cleaning up had lowered", line + at);
		put_back(line + at, was, set);
	}
	fclose(f);
	unlink(state_file);
}

int brake_begin(const char *dir, uint64_t at, int *slot, char *why,
		size_t len)
{
	uint64_t high, set = at & ~(PAGE_BYTES - 1);
	int free_slot = -1, err;

	for (int i = 0; i < BRAKES; i++) {
		if (brakes[i].dir && !strcmp(brakes[i].dir, dir)) {
			brakes[i].users++;
			*slot = i;
			return 0;
		}
		if (!brakes[i].dir && free_slot < 0)
			free_slot = i;
	}
	err = cg_file_bytes(dir, "memory.high", &high);
	if (err) {
		snprintf(why, len, "cannot read %s/memory.high: %s", dir,
			 strerror(-err));
		return err;
	}
	if (high <= set) {
		snprintf(why, len, "its memory.high is that low already");
		return -EEXIST;
	}
	if (free_slot < 0) {
		snprintf(why, len, "%d cgroups are braked already", BRAKES);
		return -ENOSPC;
	}
	brakes[free_slot].dir = strdup(dir);
	if (!brakes[free_slot].dir) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	brakes[free_slot].was = high;
	brakes[free_slot].set = set;
	brakes[free_slot].users = 1;
	brakes[free_slot].yielded = 0;
	/* listed before it is written: a crash between the two puts back
	 * a value that is still the administrator's (put_back checks) */
	state_save();
	err = high_write(dir, set);
	if (err) {
		snprintf(why, len, "cannot write %s/memory.high: %s", dir,
			 strerror(-err));
		free(brakes[free_slot].dir);
		brakes[free_slot].dir = NULL;
		state_save();
		return err;
	}
	*slot = free_slot;
	return 0;
}

void brake_move(int slot, uint64_t at, uint64_t floor)
{
	uint64_t now, set;
	struct brake *b;
	int err;

	if (slot < 0 || slot >= BRAKES || !brakes[slot].dir ||
	    brakes[slot].yielded)
		return;
	b = &brakes[slot];
	if (cg_file_bytes(b->dir, "memory.high", &now))
		return;
	if (now != b->set) {
		/* someone else's value since (systemctl set-property
		 * MemoryHigh=, an administrator): theirs from now on */
		b->yielded = 1;
		log_info("%s/memory.high was changed while uzswapd braked it: "
			 "no longer braked", b->dir);
		return;
	}
	/* up to a limit raised; down towards it, never under @floor nor
	 * up to it: a job that pushed past the brake does not loosen it */
	if (at < b->set)
		at = floor < at ? at : floor < b->set ? floor : b->set;
	set = at & ~(PAGE_BYTES - 1);
	if (set > b->was)
		set = b->was;
	if (set == b->set)
		return;
	err = high_write(b->dir, set);
	if (err) {
		log_warn("cannot write %s/memory.high: %s", b->dir, strerror(-err));
		return;
	}
	b->set = set;
	state_save();
}

void brake_end(int slot)
{
	struct brake *b;

	if (slot < 0 || slot >= BRAKES || !brakes[slot].dir)
		return;
	b = &brakes[slot];
	if (--b->users)
		return;
	if (!b->yielded)
		put_back(b->dir, b->was, b->set);
	free(b->dir);
	b->dir = NULL;
	state_save();
}

int brake_was(const char *dir, uint64_t *was)
{
	for (int i = 0; i < BRAKES; i++)
		if (brakes[i].dir && !brakes[i].yielded &&
		    !strcmp(brakes[i].dir, dir)) {
			*was = brakes[i].was;
			return 1;
		}
	return 0;
}

void brake_shutdown(void)
{
	for (int i = 0; i < BRAKES; i++)
		if (brakes[i].dir) {
			brakes[i].users = 1;
			brake_end(i);
		}
}
