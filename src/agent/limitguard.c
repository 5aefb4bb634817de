/* SPDX-License-Identifier: MIT */
/* Restores that look at the memory cgroup's limit first: limitguard.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgpath.h"
#include "evict.h"
#include "fds.h"
#include "limitguard.h"
#include "log.h"
#include "loop.h"

/* Room kept under the limit: an eviction writes its compressed copy
 * before it frees the block, and other threads allocate meanwhile. */
#define UZ_GUARD_MARGIN (3 * UZ_BLOCK_SIZE)
/* At most this much taken out for one fault: a fault waits for it. */
#define UZ_GUARD_MAX_BYTES (8 * UZ_BLOCK_SIZE)
#define UZ_GUARD_DEFAULT_WINDOW_MS 60000 /* auto-guard's default */

static int usage_fd = -1;		/* the cgroup's usage file */
static int limit_fd[2] = { -1, -1 };	/* its limit files (v2: max, high) */
static uint64_t limit = UINT64_MAX;	/* the lowest of them; none: MAX */
static uint32_t looked_ms;		/* when they were last read */
static int looked;
static uint32_t window_ms = UZ_GUARD_DEFAULT_WINDOW_MS;
static int busy; /* making room: a fault served meanwhile does not */

static void close_all(void)
{
	if (usage_fd >= 0)
		fd_close(usage_fd);
	for (int i = 0; i < 2; i++)
		if (limit_fd[i] >= 0)
			fd_close(limit_fd[i]);
	usage_fd = limit_fd[0] = limit_fd[1] = -1;
	limit = UINT64_MAX;
}

void limitguard_forget(void)
{
	usage_fd = limit_fd[0] = limit_fd[1] = -1;
	limit = UINT64_MAX;
	looked = 0;
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

/* Our memory cgroup's files, found again (we may have been moved) and
 * its limit read again (it may have changed), once a second. */
static void look(void)
{
	static const char *const v2_roots[] = { CG_V2_HYBRID_ROOT, CG_V2_ROOT };
	static struct cg_paths cg;
	char dir[CG_PATH_MAX + 64];
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
	if (cg.memory[0]) {
		snprintf(dir, sizeof(dir), CG_V1_MEMORY_ROOT "%s", cg.memory);
		usage_fd = open_in(dir, "memory.usage_in_bytes");
		limit_fd[0] = open_in(dir, "memory.limit_in_bytes");
	} else if (cg.v2[0]) {
		for (int i = 0; i < 2 && usage_fd < 0; i++) {
			snprintf(dir, sizeof(dir), "%s%s", v2_roots[i], cg.v2);
			usage_fd = open_in(dir, "memory.current");
			if (usage_fd >= 0) {
				limit_fd[0] = open_in(dir, "memory.max");
				limit_fd[1] = open_in(dir, "memory.high");
			}
		}
	}
	for (int i = 0; i < 2; i++) {
		uint64_t l = cg_v1_limit(read_bytes(limit_fd[i]));

		if (l < limit)
			limit = l;
	}
	if (limit == UINT64_MAX)
		close_all(); /* nothing to watch */
}

/* Bytes over the point @need more would take the cgroup to; 0 when it
 * stays clear of the limit by the margin. */
static uint64_t over_by(uint64_t need)
{
	uint64_t usage, want;

	if (!loop_is_agent_thread())
		return 0; /* our descriptors are the agent thread's */
	look();
	if (limit == UINT64_MAX)
		return 0;
	usage = read_bytes(usage_fd);
	if (usage == UINT64_MAX)
		return 0;
	want = usage + need + UZ_GUARD_MARGIN;
	return want > limit ? want - limit : 0;
}

int limitguard_near(uint64_t need)
{
	return over_by(need) != 0;
}

void limitguard_make_room(uint64_t need, uint64_t spare)
{
	struct uz_evict_done done;
	uint64_t over;

	if (busy)
		return;
	over = over_by(need);
	if (!over)
		return;
	busy = 1;
	if (over > UZ_GUARD_MAX_BYTES)
		over = UZ_GUARD_MAX_BYTES;
	evict_make_room(over, window_ms, spare, &done);
	if (done.bytes < over && !done.err) {
		/* the rest from what came back lately too, as the daemon's
		 * steps at the limit do: better than the OOM killer */
		uint32_t first = done.blocks;

		evict_make_room(over - done.bytes, 0, spare, &done);
		done.blocks += first;
	}
	busy = 0;
	stat_add(&uz_agent.stats->guard_blocks, done.blocks);
	log_limited(UZ_LOG_INFO, 3, 60, "at its memory cgroup's limit: %u "
		    "block(s) taken out before a restore%s%s", done.blocks,
		    done.err ? ": " : "", done.err ? strerror(-done.err) : "");
}
