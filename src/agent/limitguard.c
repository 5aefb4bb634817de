/* SPDX-License-Identifier: MIT */
/* Restores that look at the memory cgroup's limit first: limitguard.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgmount.h"
#include "cgpath.h"
#include "evict.h"
#include "fds.h"
#include "limitguard.h"
#include "log.h"
#include "loop.h"
#include "stage.h"

/* Room kept under the limit: an eviction writes its compressed copy
 * before it frees the block, and the agent's threads (a staging block
 * filled ahead, buffers) and the application's allocate meanwhile: with
 * 6 MB the agent itself met the OOM killer, reading 2.6 GB back in a
 * 2 GiB cgroup (review probe pF). */
#define UZ_GUARD_MARGIN (8 * UZ_BLOCK_SIZE)
/* Room kept beside the eviction buffers when they are made resident:
 * the application and the agent's other threads allocate meanwhile. */
#define UZ_BUFFERS_SLACK UZ_BLOCK_SIZE
/* At least this much taken out once the guard acts: a walk reads the
 * regions' list (smaps) first, 20 ms for a 2 GB mapping. */
#define UZ_GUARD_MIN_BYTES (4 * UZ_BLOCK_SIZE)
/* At most this much taken out for one fault: a fault waits for it. */
#define UZ_GUARD_MAX_BYTES (8 * UZ_BLOCK_SIZE)
#define UZ_GUARD_DEFAULT_WINDOW_MS 60000 /* auto-guard's default */
/* A fault at the limit read inside a walk waits at most this long for
 * the walk to make room, then it is served anyway: a thread that never
 * gets its page is worse than a risk of the OOM killer. */
#define UZ_GUARD_WAIT_NS 1000000000ull

/* The process's memory cgroup and its ancestors that have a limit (a
 * slice's limit binds the services in it, which have none of their
 * own), nearest first: the first UZ_GUARD_LEVELS of them. */
#define UZ_GUARD_LEVELS 4
struct level {
	int usage_fd;	/* its usage file */
	int stat_fd;	/* its memory.stat (-1: none) */
	uint64_t limit; /* the lowest of its limits */
};
static struct level levels[UZ_GUARD_LEVELS];
static unsigned nlevels;
static int v1;			/* cgroup v1's memory controller */
static uint32_t looked_ms;	/* when they were last found */
static int looked;
static uint32_t window_ms = UZ_GUARD_DEFAULT_WINDOW_MS;
static int busy; /* making room: a fault served meanwhile does not */
/* evict_walk_progress() when a fault inside a walk last found us over
 * the line: until the walk takes another block out, still over */
static uint64_t over_at_progress = UINT64_MAX;

static void close_all(void)
{
	for (unsigned i = 0; i < nlevels; i++) {
		fd_close(levels[i].usage_fd);
		if (levels[i].stat_fd >= 0)
			fd_close(levels[i].stat_fd);
	}
	nlevels = 0;
}

void limitguard_forget(void)
{
	nlevels = 0;
	looked = 0;
	/* room the parent's agent thread was making as the kernel copied
	 * us is not being made here: else each fault at the limit waited
	 * out UZ_GUARD_WAIT_NS for it (the stress test's --limit runs) */
	busy = 0;
	over_at_progress = UINT64_MAX;
}

void limitguard_set_window(uint32_t guard_ms)
{
	window_ms = guard_ms;
}

/* A byte count from @fd ("max": none); UINT64_MAX when unreadable. */
static uint64_t read_bytes(int fd)
{
	uint64_t v;

	return fd >= 0 && !cg_bytes_read(fd, &v) ? v : UINT64_MAX;
}

static int open_in(const char *dir, const char *name)
{
	char path[CG_PATH_MAX + 128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -1 : fd_hide(fd);
}

/* Level @dir into levels[] when it has a limit. */
static void level_add(const char *dir)
{
	struct level *l = &levels[nlevels];

	if (cg_level_limit(dir, v1, &l->limit) || l->limit == CG_NO_LIMIT)
		return;
	l->usage_fd = open_in(dir, v1 ? "memory.usage_in_bytes" : "memory.current");
	if (l->usage_fd < 0)
		return;
	l->stat_fd = open_in(dir, "memory.stat");
	nlevels++;
}

/* Bytes over the point @need more would take the tightest of our
 * cgroup's limited levels to, @margin under its limit kept free; 0 when
 * each stays clear.  @near: set when the staging filler's huge pages
 * would cross it. */
static uint64_t levels_over(uint64_t need, uint64_t margin, int *near)
{
	uint64_t most = 0;

	for (unsigned i = 0; i < nlevels; i++) {
		const struct level *l = &levels[i];
		uint64_t usage = read_bytes(l->usage_fd), want;

		if (usage == UINT64_MAX)
			continue;
		want = usage + need + margin;
		if (want > l->limit && l->stat_fd >= 0) {
			/* page cache the kernel drops at the limit first
			 * (sort's input, read once: 560 MB in a 1 GiB
			 * cgroup) is room; taking the job's memory instead
			 * kept it there for good */
			uint64_t cache;

			cg_cache_read(l->stat_fd, v1, &cache);
			want = want > cache ? want - cache : 0;
		}
		if (want > l->limit && want - l->limit > most)
			most = want - l->limit;
		/* the filler's huge pages would come on top */
		if (want + UZ_STAGES * UZ_BLOCK_SIZE > l->limit)
			*near = 1;
	}
	return most;
}

/* The eviction buffers made resident while there is room for them, not
 * at the limit: there their fault met the OOM killer, which killed the
 * job (a child forked by it heard of the limit only at the limit, and
 * had nothing of its own to take).  Left to the encodes then, which
 * fault in only what they use. */
static void buffers_if_room(void)
{
	uint64_t need = evict_buffers_missing();
	int near = 0;

	if (need && !levels_over(need, UZ_BUFFERS_SLACK, &near))
		evict_buffers_ready();
}

/* Our memory cgroup's levels, found again (we may have been moved) and
 * their limits read again (they may have changed), once a second. */
static void look(void)
{
	static struct cg_paths cg;
	static char root[CG_PATH_MAX], dir[CG_PATH_MAX + 64];
	/* the hierarchy's mount, found once per kind: each open here is a
	 * kernel allocation charged to a cgroup that may be at its limit
	 * (mountinfo's seq_file buffer the largest), once a second */
	static int root_v1 = -1;
	uint32_t now = now_ms();

	if (looked && now - looked_ms < 1000)
		return;
	looked = 1;
	looked_ms = now;
	close_all();
	/* charges follow the process (the owner of its memory, its first
	 * thread), not the thread: ours may have been moved alone */
	if (cg_paths_read("/proc/self/cgroup", &cg))
		return;
	v1 = cg.memory[0] != 0;
	if (!v1 && !cg.v2[0])
		return;
	if (root_v1 != v1) {
		if (cg_mount_find(v1 ? "memory" : CG_MOUNT_V2, root, sizeof(root)))
			return;
		root_v1 = v1;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s%s", root,
			     v1 ? cg.memory : cg.v2) >= sizeof(dir))
		return;
	/* up from ours to below the hierarchy's root (no limit there) */
	for (size_t rootlen = strlen(root); nlevels < UZ_GUARD_LEVELS;) {
		size_t n = strlen(dir);

		while (n > rootlen && dir[n - 1] == '/')
			dir[--n] = 0;
		if (n <= rootlen)
			break;
		level_add(dir);
		*strrchr(dir, '/') = 0;
	}
	if (nlevels)
		buffers_if_room();
	else
		root_v1 = -1; /* nothing found there: the mount, again */
}

/* Bytes over the point @need more would take the tightest of our
 * cgroup's limited levels to, with the margin; 0 when each stays clear
 * of its limit by the margin. */
static uint64_t over_by(uint64_t need)
{
	uint64_t most;
	int near = 0;

	if (!loop_is_agent_thread())
		return 0; /* our descriptors are the agent thread's */
	look();
	most = levels_over(need, UZ_GUARD_MARGIN, &near);
	stage_near_limit(near);
	return most;
}

void limitguard_ready_buffers(void)
{
	if (!loop_is_agent_thread())
		return;
	look();
	buffers_if_room();
}

void limitguard_limited(void)
{
	/* the daemon saw a limit: our last look, up to a second old, may
	 * be from before the move into that cgroup (a job's child joins
	 * it right after the fork), and until the next, neither the
	 * buffers nor the staging filler would mind the limit */
	looked = 0;
	limitguard_ready_buffers();
	limitguard_near(0); /* tells the filler */
}

int limitguard_near(uint64_t need)
{
	return over_by(need) != 0;
}

/* A fault read between the blocks of a walk (restore_poll in
 * evict_one): the walk cannot nest, but it frees as it goes. */
static int wait_for_walk(uint64_t need, uint64_t waited_ns)
{
	uint64_t progress = evict_walk_progress();

	if (waited_ns > UZ_GUARD_WAIT_NS) {
		log_limited(UZ_LOG_WARN, 3, 60, "a fault at the memory "
			    "cgroup's limit waited %lu ms for an eviction walk "
			    "to make room: served without",
			    (unsigned long)(waited_ns / 1000000));
		return 0;
	}
	/* nothing taken out since the last look: over still, and the
	 * files not read again for each waiting fault at each block the
	 * walk looks at (63,000 reads in 5 s with 16 threads waiting) */
	if (progress == over_at_progress)
		return -EINPROGRESS;
	if (!over_by(need))
		return 0;
	over_at_progress = progress;
	return -EINPROGRESS;
}

int limitguard_make_room(uint64_t need, uint64_t spare, uint64_t waited_ns)
{
	const uint32_t windows[] = { window_ms, 10000, 1000, 0 };
	uint32_t kept[4], last = UINT32_MAX;
	struct uz_evict_done done;
	unsigned n = 0;
	uint64_t over;

	if (busy || evict_walking())
		return wait_for_walk(need, waited_ns);
	over = over_by(need);
	if (!over)
		return 0;
	busy = 1;
	if (over < UZ_GUARD_MIN_BYTES)
		over = UZ_GUARD_MIN_BYTES;
	if (over > UZ_GUARD_MAX_BYTES)
		over = UZ_GUARD_MAX_BYTES;
	/* what faulted longest ago first, as the kernel's LRU would take
	 * what was touched longest ago: blocks with no fault within the
	 * daemon's guard window, then within 10 s, 1 s, then any (better
	 * than the OOM killer).  sort's line records, read once in order,
	 * go before its text, read at random all the time */
	for (unsigned i = 0; i < 4; i++)
		if (windows[i] < last) /* the guard's own may be shorter */
			last = kept[n++] = windows[i];
	evict_make_room(over, kept, n, spare, &done);
	busy = 0;
	stat_add(&uz_agent.stats->guard_blocks, done.blocks);
	log_limited(UZ_LOG_INFO, 3, 60, "at its memory cgroup's limit: %u "
		    "block(s) taken out before a restore%s%s", done.blocks,
		    done.err ? ": " : "", done.err ? strerror(-done.err) : "");
	return 0;
}
