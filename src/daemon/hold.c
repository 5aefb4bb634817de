/* SPDX-License-Identifier: MIT */
/*
 * Holding a job at its memory limit: see hold.h.  A held process's
 * threads sit in FREEZER/uzswapd-HASH/PID (FREEZER: where cgroup v1's
 * freezer is mounted), frozen; its agent's threads are moved back to
 * the freezer's root before.  Only a process in the freezer's root is
 * held, and put back there: one in someone else's freezer cgroup (a
 * container's, which freezes it for its own reasons) is never moved.
 *
 * A process goes in and out whole (cgroup.procs); only the agent's
 * threads are moved one by one, by id through "tasks", the only way
 * cgroup v1 takes a single thread: one that ends between our read of
 * the group's tasks and the write is refused (ESRCH) and skipped.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgmount.h"
#include "cgpath.h"
#include "checksum.h"
#include "freezer.h"
#include "hold.h"
#include "log.h"
#include "procfs.h"
#include "protocol.h"

static char freezer[512]; /* the freezer's mount point, or "" */
/* FREEZER/hold_dir holds our processes: "uzswapd-" and a hash of our
 * socket's path, so that a daemon (a test's) on another socket never
 * lets go of ours, and the one systemd restarts on ours does */
static char hold_dir[64];
static int leftovers; /* a group could not be removed yet (hold_sweep) */
/* FREEZER/hold_dir/PIN_NAME: an empty group, kept frozen while we run
 * (pinned).  While one group is frozen the kernel's freezer stays
 * switched on; otherwise each hold's freeze switched it on and its thaw
 * off again, a patch of the kernel's code each time: 2 to 10 ms each on
 * a busy 2-core machine, 0.02 ms with the pin (tests/bench/
 * freezer_cost.sh), while a job filled the room under its limit at a
 * GB/s and met the OOM killer (it_memhold in CI). */
#define PIN_NAME "pin"
static int pinned;

/* Is thread @tid of process @pid named as our agent's? */
static int agent_thread(pid_t pid, int tid)
{
	char comm[32];

	return !procfs_thread_comm(pid, tid, comm, sizeof(comm)) &&
	       !strcmp(comm, UZ_AGENT_THREAD_NAME);
}

/* Is process @id another than @pid? */
static int not_pid(pid_t pid, int id)
{
	return id != pid;
}

/* Move the ids listed in @dir/@file ("tasks": threads, "cgroup.procs":
 * processes, each with all its threads) to the same file of the
 * freezer's root; with @pick, only those it picks (with @pid).  How
 * many were moved (*@moved) and left (*@kept); 0 or -errno.  A cgroup's move waits for the kernel's
 * thread-group lock: whole processes cost one each, where one a thread
 * would stall the daemon on a program of a thousand threads. */
static int move_out(const char *dir, const char *file, pid_t pid,
		    int (*pick)(pid_t pid, int id), unsigned *moved,
		    unsigned *kept)
{
	char path[600], line[32];
	FILE *f;
	int root;

	*moved = *kept = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", freezer, file);
	root = open(path, O_WRONLY | O_CLOEXEC);
	if (root < 0) {
		int err = -errno;

		fclose(f);
		return err;
	}
	while (fgets(line, sizeof(line), f)) {
		int id = atoi(line);

		if (id <= 0)
			continue;
		if (pick && !pick(pid, id)) {
			(*kept)++;
			continue;
		}
		/* one id a write; one that ended meanwhile is refused */
		if (write(root, line, strlen(line)) >= 0)
			(*moved)++;
	}
	close(root);
	fclose(f);
	return 0;
}

/* Thaw @dir, put its processes back in the root, remove it. */
static void let_go(const char *dir)
{
	unsigned moved, kept;
	char path[600];
	int err;

	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	err = freezer_write(path, "THAWED");
	if (err && err != -ENOENT)
		log_warn("could not thaw %s: %s", dir, strerror(-err));
	move_out(dir, "cgroup.procs", 0, NULL, &moved, &kept);
	/* a process forked as we moved the rest is in it yet: once more;
	 * one that is ending cannot be moved, and leaves the group only
	 * as it is gone: hold_sweep tries again */
	if (rmdir(dir) && errno == EBUSY) {
		move_out(dir, "cgroup.procs", 0, NULL, &moved, &kept);
		if (!rmdir(dir) || errno == ENOENT)
			return;
		if (errno == EBUSY) {
			log_debug("%s is not empty yet: removed later", dir);
			leftovers = 1;
		} else {
			log_warn("could not remove %s: %s", dir, strerror(errno));
		}
	}
}

/* Is process @pid (0: any) listed in group @dir's cgroup.procs? */
static int group_has(const char *dir, pid_t pid)
{
	char path[1000], line[32];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = !pid || atoi(line) == (int)pid;
	fclose(f);
	return found;
}

/* Let go of our groups (@all), or of those left empty (by a process
 * that was ending as its group was let go of); then remove ours if it
 * is empty.  How many were let go of. */
static unsigned sweep(int all)
{
	char base[600], dir[900];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(base, sizeof(base), "%s/%s", freezer, hold_dir);
	d = opendir(base);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", base, de->d_name);
		/* a client's, between its holds, or held now; an empty one
		 * goes whatever its state (its owner may freeze it) */
		if (!all && group_has(dir, 0))
			continue;
		let_go(dir);
		n++;
	}
	closedir(d);
	rmdir(base);
	return n;
}

/* Our base group, and the pin in it frozen; once, at the first hold
 * or placing.  Without it holds only take longer. */
static void pin(void)
{
	char path[700];
	int err;

	if (pinned)
		return;
	pinned = 1; /* tried once: a failure is said once */
	snprintf(path, sizeof(path), "%s/%s/" PIN_NAME, freezer, hold_dir);
	if (mkdir(path, 0755) && errno != EEXIST) {
		log_debug("%s: %s (holds take longer)", path, strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/%s/" PIN_NAME "/freezer.state",
		 freezer, hold_dir);
	err = freezer_write(path, "FROZEN");
	if (err)
		log_debug("%s: %s (holds take longer)", path, strerror(-err));
}

/* Thaw and remove the pin, ours or a killed daemon's (empty either way:
 * a process put there by someone else is let go of). */
static void unpin(void)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/%s/" PIN_NAME, freezer, hold_dir);
	let_go(path);
	pinned = 0;
}

void hold_shutdown(void)
{
	/* a process that was ending as its client went cannot be moved
	 * out, and its group not removed, until it is gone: a moment */
	if (freezer[0])
		unpin();
	for (int i = 0; i < 50 && freezer[0]; i++) {
		leftovers = 0;
		sweep(1);
		if (!leftovers)
			return;
		usleep(20000);
	}
	if (leftovers)
		log_warn("a hold group is left in %s/%s: removed at the next "
			 "start", freezer, hold_dir);
}

void hold_sweep(uint64_t now)
{
	static uint64_t last;

	if (!leftovers || now < last + 1000)
		return;
	last = now;
	leftovers = 0;
	sweep(0);
}

int hold_init(const char *socket)
{
	unsigned n;

	snprintf(hold_dir, sizeof(hold_dir), UZ_HOLD_PREFIX "%016llx",
		 (unsigned long long)name_hash(socket));
	freezer[0] = 0;
	if (cg_mount_find("freezer", freezer, sizeof(freezer))) {
		freezer[0] = 0;
		log_info("no cgroup v1 freezer: a job near its memory limit is "
			 "not held while memory is taken out");
		return -ENODEV;
	}
	unpin(); /* a killed daemon's; ours at the first hold */
	n = sweep(1);
	if (n)
		log_warn("let go of %u process(es) an earlier uzswapd left in "
			 "its freezer groups (held, or placed for a hold)",
			 n);
	return 0;
}

/* Is @freezer_path the group of a process of ours, another's than
 * @own_path? */
static int others_group(const char *freezer_path, const char *own_path)
{
	size_t n = strlen(hold_dir);
	const char *id = freezer_path + 1 + n + 1;

	if (freezer_path[0] != '/' || strncmp(freezer_path + 1, hold_dir, n) ||
	    freezer_path[1 + n] != '/' || !strcmp(freezer_path, own_path) ||
	    !*id)
		return 0;
	for (; *id; id++)
		if (!isdigit((unsigned char)*id))
			return 0;
	return 1;
}

/* Is @pid in the freezer's root (0), or in its own hold group @dir (1)?
 * In another process's group of ours (a child forked after its parent
 * was placed there), it is as free as in the root: 0.  -EBUSY when in
 * someone else's. */
static int freezer_free(pid_t pid, const char *dir, char *why, size_t len)
{
	static struct cg_paths cg;
	char path[64], own[128];
	int err;

	/* its group's list first: a process whose main thread has ended
	 * is read through its first live thread, which may be its agent's,
	 * moved out to the root (every hold was a move again) */
	if (group_has(dir, pid))
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/cgroup", (int)pid,
		 (int)procfs_live_thread(pid));
	snprintf(own, sizeof(own), "/%s/%d", hold_dir, (int)pid);
	err = cg_paths_read(path, &cg);
	if (err) {
		snprintf(why, len, "%s: %s", path, strerror(-err));
		return err;
	}
	if (!cg.freezer[0]) {
		snprintf(why, len, "no freezer in its %s", path);
		return -ENOENT;
	}
	if (!strcmp(cg.freezer, "/") || others_group(cg.freezer, own))
		return 0;
	if (!strcmp(cg.freezer, own))
		return 1;
	snprintf(why, len, "it is in freezer cgroup %.200s already", cg.freezer);
	return -EBUSY;
}

/* Give up a hold or placing of group @dir that failed with @err: the
 * group let go of, @why says where.  @err. */
static int undo(const char *dir, int err, char *why, size_t len)
{
	let_go(dir);
	snprintf(why, len, "%s: %s", dir, strerror(-err));
	return err;
}

/* @pid into its group @dir, thawed, with its agent's threads back out
 * in the root: all its threads at once (a move waits on the kernel's
 * thread-group lock, tens of ms on a busy machine), then the agent's. */
static int enter(pid_t pid, const char *dir, char *why, size_t len)
{
	char path[800], v[32];
	unsigned moved, kept;
	int err;

	snprintf(path, sizeof(path), "%s/%s", freezer, hold_dir);
	if (mkdir(path, 0755) && errno != EEXIST)
		goto fail;
	pin();
	snprintf(path, sizeof(path), "%s", dir);
	if (mkdir(path, 0755) && errno != EEXIST)
		goto fail;
	/* a group by that name left behind (its process was ending at its
	 * let_go) may have its freezer.state still given to that process's
	 * user, who could then freeze the one placed now: root's again
	 * until a hold gives it to this one's */
	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	if (chown(path, 0, (gid_t)-1))
		goto fail;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(v, sizeof(v), "%d", (int)pid);
	err = freezer_write(path, v);
	if (!err)
		err = move_out(dir, "tasks", pid, agent_thread, &moved, &kept);
	if (err)
		return undo(dir, err, why, len);
	if (!moved) {
		let_go(dir);
		snprintf(why, len, "no thread of its is named %s (%u other "
			 "thread(s))", UZ_AGENT_THREAD_NAME, kept);
		return -ESRCH;
	}
	log_debug("%d goes into %s, but its agent's %u thread(s)", (int)pid,
		  dir, moved);
	return 0;
fail:
	err = -errno;
	snprintf(why, len, "%s: %s", path, strerror(errno));
	return err;
}

/* @pid's group into @dir, and where @pid is: as freezer_free, or
 * -ENODEV without a freezer (@why filled on an error) */
static int find(pid_t pid, char *dir, size_t dirlen, char *why, size_t len)
{
	if (!freezer[0]) {
		snprintf(why, len, "no cgroup v1 freezer");
		return -ENODEV;
	}
	snprintf(dir, dirlen, "%s/%s/%d", freezer, hold_dir, (int)pid);
	return freezer_free(pid, dir, why, len);
}

int hold_place(pid_t pid, char *why, size_t len)
{
	char dir[700];
	int in = find(pid, dir, sizeof(dir), why, len);

	if (in)
		return in < 0 ? in : 0;
	return enter(pid, dir, why, len);
}

int hold_begin(pid_t pid, char *why, size_t len)
{
	char dir[700], path[800];
	unsigned moved, kept;
	int err, in = find(pid, dir, sizeof(dir), why, len);

	if (in < 0)
		return in;
	if (in) {
		/* in its group since it was placed there: a child it
		 * forked meanwhile goes back out, and so does an agent
		 * thread that came in after the placing (one its agent
		 * started just then, before it was named, or an agent
		 * started again by an application thread), which would
		 * otherwise be frozen with the rest, and the hold take
		 * nothing; a comm read a thread, no move of the process */
		move_out(dir, "cgroup.procs", pid, not_pid, &moved, &kept);
		move_out(dir, "tasks", pid, agent_thread, &moved, &kept);
	} else {
		err = enter(pid, dir, why, len);
		if (err)
			return err;
	}
	/* its agent may thaw it when we go away during the hold
	 * (freezer_thaw_own): a daemon killed and not started again must
	 * not leave it frozen, and SIGKILL waits for a thaw too.  The
	 * file goes to the user the process acts as now (its fsuid: it
	 * may have dropped root since it connected), root included, so
	 * that no earlier owner of a group by that name keeps it */
	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	{
		uid_t fsuid;

		if (procfs_fsuid(pid, &fsuid) || chown(path, fsuid, (gid_t)-1))
			log_debug("%s: its owner stays: %s", path,
				  strerror(errno));
	}
	err = freezer_write(path, "FROZEN");
	if (err)
		return undo(dir, err, why, len);
	log_debug("holding %d while its agent takes memory out", (int)pid);
	return 0;
}

void hold_end(pid_t pid)
{
	char path[800];
	int err;

	if (!freezer[0])
		return;
	snprintf(path, sizeof(path), "%s/%s/%d/freezer.state", freezer,
		 hold_dir, (int)pid);
	err = freezer_write(path, "THAWED");
	if (err && err != -ENOENT)
		log_warn("could not thaw %s: %s", path, strerror(-err));
}

void hold_forget(pid_t pid)
{
	char dir[700];

	if (!freezer[0])
		return;
	snprintf(dir, sizeof(dir), "%s/%s/%d", freezer, hold_dir, (int)pid);
	let_go(dir);
	/* ours is made again at the next hold: none left behind when
	 * nothing is held (ENOTEMPTY while another process is) */
	snprintf(dir, sizeof(dir), "%s/%s", freezer, hold_dir);
	rmdir(dir);
}
