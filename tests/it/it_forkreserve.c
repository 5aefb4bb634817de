/* SPDX-License-Identifier: MIT */
/*
 * The agent's reserved range stays whole through generations of fork().
 * The agent's inactive slots (128 MB) and staging are MADV_DONTFORK, so
 * a forked child has holes there.  The child's agent mapped its arena
 * before it reserved them again, the kernel put the arena in the
 * largest one, and the rest of that hole was lost to the range for good:
 * the program's own memory landed there and was never evicted (inside
 * the range, excluded), and by the third generation the range had no
 * room for the inactive slots, which then went where the kernel put
 * them, in a hole the program had left and mapped again with MAP_FIXED:
 * its bytes were wrong (review of 95d92bd, probes p_forkgen, p_forkhole).
 *
 * Here each of three generations uses the inactive list, maps memory of
 * its own, checks that it is evicted whole, and forks with something
 * evicted (the child takes its parent's state over).  The last one
 * leaves a 256 MB hole with every free range above it filled, waits for
 * its agent to map its inactive slots, and finds the hole still free.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define COLD (16 * IT_MB)
#define HOLE (256 * IT_MB)
#define GENERATIONS 3

/* Fresh memory of ours (never evicted: one brought back is guarded
 * from the loop), until the automatic loop has put some of it on the
 * inactive list, which maps the agent's slots; then read back. */
static void wait_inactive(int gen, uint8_t *fresh)
{
	double t0 = it_now_s();

	while (it_stat("inactive_bytes") < 2 * IT_MB && it_now_s() - t0 < 60)
		usleep(100000);
	it_assert(it_stat("inactive_bytes") >= 2 * IT_MB,
		  "generation %d: nothing on the inactive list after 60 s", gen);
	it_assert(it_check(fresh, COLD, 60 + gen) < 0,
		  "generation %d: wrong bytes in memory the loop took", gen);
}

static uint8_t *fresh_memory(int gen)
{
	uint8_t *m = it_alloc(COLD, 1);

	it_fill(m, COLD, 60 + gen);
	return m;
}

/* Memory of this generation's own: evicted whole, not kept out of
 * evictions as if it were the agent's. */
static uint8_t *own_memory(int gen)
{
	uint8_t *m = it_alloc(COLD, 1);
	long rss;

	it_fill(m, COLD, 40 + gen);
	it_evict_all();
	rss = it_rss_kb(m, COLD);
	it_assert(rss == 0, "generation %d: %ld kB of the program's memory at %p "
		  "stayed resident after evict --all", gen, rss, (void *)m);
	return m;
}

static void last_generation(int gen, uint8_t *mine)
{
	uint8_t *fresh = fresh_memory(gen), *hole = it_leave_hole(HOLE);
	char who[32];

	it_assert(it_check(mine, COLD, 40 + gen) < 0, "generation %d: wrong bytes", gen);
	wait_inactive(gen, fresh);
	snprintf(who, sizeof(who), "generation %d", gen);
	it_take_back_hole(hole, HOLE, 7, who);
}

static void generation(int gen)
{
	uint8_t *mine;
	pid_t c;
	int st;

	mine = own_memory(gen);
	it_assert(it_check(mine, COLD, 40 + gen) < 0, "generation %d: wrong bytes", gen);
	if (gen == GENERATIONS) {
		last_generation(gen, mine);
		return;
	}
	wait_inactive(gen, fresh_memory(gen));
	it_evict_all(); /* something evicted at the fork */
	c = fork();
	it_assert(c >= 0, "fork: %s", strerror(errno));
	if (c == 0) {
		generation(gen + 1);
		_exit(0);
	}
	it_assert(waitpid(c, &st, 0) == c, "waitpid: %s", strerror(errno));
	it_assert(WIFEXITED(st) && !WEXITSTATUS(st),
		  "generation %d failed (status %#x)", gen + 1, st);
	it_assert(it_check(mine, COLD, 40 + gen) < 0, "generation %d: wrong bytes "
		  "after its child", gen);
}

int main(int argc, char **argv)
{
	it_need_auto_loop();
	it_setup_config(argc, argv, it_config_inactive);
	it_watchdog(400, " (it_forkreserve)");
	generation(0);
	printf("%d generations of fork() with the inactive list in use: the "
	       "program's memory evicted whole in each, and a hole it left in "
	       "the last stayed free while its agent mapped the list\n",
	       GENERATIONS);
	return 0;
}
