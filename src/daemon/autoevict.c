/* SPDX-License-Identifier: MIT */
/*
 * The automatic loop: every auto-interval, each client not busy with an
 * eviction gets the decision of autopolicy.c, and a step of it is sent
 * as a UZ_EVICT_COLD eviction.  The agent walks on from where its last
 * step stopped and leaves out what came back within auto-guard: a
 * sample of blocks is taken compressed, and those the application
 * touches come back and are not taken again for a while (the compressed
 * variant of hinting faults; DESIGN.md §3).  Each client is judged with
 * the settings of its memory cgroup's [cgroup]/[unit] section
 * (cgrules.c), by its cgroup v2 memory.pressure where it has one, else
 * the machine's (/proc/pressure/memory): cgroup v1 has none, and its
 * memory.pressure_level events stand in for it (memevents.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoevict.h"
#include "autopolicy.h"
#include "brake.h"
#include "cgrules.h"
#include "client.h"
#include "daemon.h"
#include "frame.h"
#include "hold.h"
#include "log.h"
#include "memcg.h"
#include "memevents.h"
#include "msg.h"
#include "procfs.h"
#include "psi.h"
#include "rescan.h"

static void say_state(struct client *cl, struct auto_client *a,
		      const struct auto_config *set, enum uz_auto_state state,
		      uint32_t pressure)
{
	int pid = (int)client_pid(cl);
	const char *comm = client_comm(cl);

	if (a->state == state)
		return;
	a->state = state;
	switch (state) {
	case UZ_AUTO_PRESSURE:
		log_info("client %d (%s): automatic eviction backs off: memory "
			 "pressure %u.%02u%% (auto-pressure %u%%)", pid, comm,
			 pressure / 100, pressure % 100, set->pressure_pct);
		break;
	case UZ_AUTO_REFAULTS:
		log_info("client %d (%s): automatic eviction backs off: what it "
			 "took came back (auto-refaults %u%%)", pid, comm,
			 set->refault_pct);
		break;
	case UZ_AUTO_LIMIT:
		/* it comes and goes with every step near the limit */
		log_limited(UZ_LOG_INFO, 3, 60, "client %d (%s): its memory "
			    "cgroup nears its limit: taking ahead of the kernel",
			    pid, comm);
		break;
	case UZ_AUTO_FULL:
		log_warn("client %d (%s): automatic eviction backs off: the "
			 "arena is full", pid, comm);
		break;
	default:
		log_debug("client %d (%s): automatic eviction: %s", pid, comm,
			  uz_auto_state_name(state));
	}
}

/* The shortest time a job's fill rate is judged over (fill_rate). */
#define FILL_WINDOW_MS 100
/* How often a cgroup whose page cache fills the room under its limit is
 * looked at: a job filling at 1 GB/s takes 20 MB meanwhile. */
#define LIMIT_CACHE_CHECK_MS 20
/* Limit steps in a row followed by a look at once (look_again_soon)
 * while the cgroup's usage does not go down. */
#define AUTO_QUICK_LOOKS 8
/* A client placed ahead of its holds (hold_ahead) that has no agent
 * thread yet is tried again this soon, this many times at most. */
#define PLACE_RETRY_MS 10
#define PLACE_TRIES 20
/* A new client in a cgroup looked at in the last 250 ms and found with
 * no limit (memcg_unlimited_lately) has its first look (its cgroup, the
 * limits above it, its holds: some 30 reads in /proc and the cgroup
 * tree) this long after its hello.  A shell's short commands are gone
 * by then: looking at each as it came cost every one of them 0.4 ms of
 * a 2-CPU machine.  One in a limited cgroup, or one not seen lately, is
 * looked at as it comes: its threshold watch, its freezer group and
 * what it has taken are worked out before it fills (a job filling a
 * 40 MB cgroup at 2 GB/s from its start was OOM-killed in 9 runs of 10
 * with every first look 20 ms late, against 3 before: review probe
 * p1_fastfill). */
#define AUTO_FIRST_LOOK_MS LIMIT_CACHE_CHECK_MS

/* How often a client in a cgroup with a memory limit is looked at, in a
 * pause too, and how soon its next step comes near that limit. */
static uint64_t limit_period(void)
{
	unsigned q = uzd.cfg.autoev.interval_ms / 4;

	return q > 50 ? q : 50;
}

/* How long @a's threads were held in all, to @now (ms). */
static uint64_t held_ms(const struct auto_client *a, uint64_t now)
{
	return a->held_ms + (a->hold_until ? now - a->hold_start_ms : 0);
}

/* How many clients were in memory cgroup @id at their last look, and
 * the bytes on their inactive lists then (*@inactive), those they had
 * away less their pools (*@away) and brought back in all (*@back). */
static uint32_t clients_in(uint64_t id, uint64_t *inactive, uint64_t *away,
			   uint64_t *back)
{
	struct client *cl;
	uint32_t n = 0;

	*inactive = *away = *back = 0;
	for (cl = client_first(); cl; cl = client_next(cl))
		if (client_auto(cl)->cg_id == id) {
			n++;
			*inactive += client_auto(cl)->inactive;
			*away += client_auto(cl)->away;
			*back += client_auto(cl)->back;
		}
	return n;
}

/*
 * How fast a job fills new memory, in bytes a second, from @footprint
 * now: its cgroup's usage less page cache, plus what the cgroup's
 * clients have away less the pools that takes (their own word): restores
 * and evictions only move memory from one to the other; and in
 * *@back_rate how fast they bring memory back, from @back, the sum of
 * their counts.  UINT64_MAX without a look in the last second to tell (as fast as can be).  Noted for the next
 * look, when FILL_WINDOW_MS have passed: over less, a look sees mostly
 * noise.
 */
static uint64_t fill_rate(struct auto_client *a, uint64_t footprint,
			  uint64_t back, uint64_t now, uint64_t *back_rate)
{
	uint64_t rate = UINT64_MAX, dt = now - a->footprint_ms;
	uint64_t held = held_ms(a, now);

	*back_rate = UINT64_MAX;
	if (a->footprint_ms && dt <= 1000) {
		/* the time it was held does not count: a job frozen for
		 * most of the window looked slow, went unheld, and was
		 * OOM-killed filling at full speed (review probe pF) */
		/* release() reads the clock after the tick's @now: a hold
		 * may seem longer than the window */
		uint64_t held_in = held - a->footprint_held;
		uint64_t ran = held_in < dt ? dt - held_in : 0;
		uint64_t over = ran < FILL_WINDOW_MS ? FILL_WINDOW_MS : ran;

		rate = footprint > a->footprint ?
		       (footprint - a->footprint) * 1000 / over : 0;
		*back_rate = back > a->back_then ?
			     (back - a->back_then) * 1000 / over : 0;
		/* one held for most of the window was not seen filling,
		 * which says nothing of how fast it fills when it runs
		 * (hold_during_step goes by the last it ran through) */
		if (ran >= FILL_WINDOW_MS) {
			a->fill_last = rate;
			a->fill_known = 1;
		}
	}
	if (!a->footprint_ms || dt >= FILL_WINDOW_MS) {
		a->footprint = footprint;
		a->footprint_ms = now;
		a->footprint_held = held;
		a->back_then = back;
	}
	return rate;
}

/* @cl in its hold group as soon as its cgroup's limit is seen (as a
 * rule far from it), so that a hold at the limit only freezes it
 * (hold_place); a failure is said by the hold itself.  A client looked
 * at just after it connected has no agent thread yet (it says HELLO
 * first): tried again PLACE_RETRY_MS later, PLACE_TRIES times at most
 * (a program may rename the agent's threads), not after another
 * failure. */
static void hold_ahead(struct client *cl, struct auto_client *a, uint64_t now)
{
	char why[400];
	int err;

	if (a->placed_cg == a->cg_id || a->hold_until)
		return;
	if (!client_same_process(cl))
		return;
	a->hold_tried = 1;
	err = hold_place(client_pid(cl), why, sizeof(why));
	if (err == -ESRCH && ++a->place_tries < PLACE_TRIES) {
		a->limit_check_ms = now + PLACE_RETRY_MS;
		return;
	}
	a->placed_cg = a->cg_id;
	if (err)
		log_debug("client %d (%s): not placed for a hold: %s",
			  (int)client_pid(cl), client_comm(cl), why);
}

/* hold_ahead again, from the look at a cgroup's limit, if it must be */
static void hold_ahead_again(struct client *cl, struct auto_client *a,
			     uint64_t now)
{
	struct auto_config set;

	if (a->placed_cg == a->cg_id || !a->place_tries)
		return;
	auto_settings_of(cl, &set);
	if (set.on && set.hold_ms)
		hold_ahead(cl, a, now);
}

/* Is @cl, paused or between steps, in a cgroup near its memory limit?
 * Then its step is due now: a pause must not let the OOM killer in. */
static int limit_near(struct client *cl, struct auto_client *a, uint64_t now)
{
	uint64_t managed, refaults, inactive, away, back, back_rate;
	struct memcg_use cg;

	if (a->cg_limit == UINT64_MAX || a->limit_check_ms > now)
		return 0;
	a->limit_check_ms = now + limit_period();
	hold_ahead_again(cl, a, now);
	if (memcg_of(client_pid(cl), &cg))
		return 0;
	if (auto_limit_near(memcg_firm_usage(&cg), cg.limit))
		return 1; /* the step judges how fast it came */
	/* page cache fills the room: a job filling now takes the cache's
	 * place unseen by the kernel's threshold event (the usage stays
	 * where it is), so it is looked at often */
	if (auto_limit_near(cg.usage, cg.limit))
		a->limit_check_ms = now + LIMIT_CACHE_CHECK_MS;
	if (!client_auto_counters(cl, 0, &managed, &refaults, &inactive,
				  &a->away, &a->back)) {
		clients_in(cg.id, &inactive, &away, &back);
		fill_rate(a, memcg_firm_usage(&cg) + away, back, now, &back_rate);
	}
	return 0;
}

/* target= of @set in bytes for a cgroup of @limit, or UINT64_MAX */
static uint64_t target_of(const struct auto_config *set, uint64_t limit)
{
	if (set->target_bytes)
		return set->target_bytes;
	if (set->target_pct && limit != MEMCG_NO_LIMIT)
		return limit / 100 * set->target_pct;
	return UINT64_MAX; /* none, or a % of no limit */
}

/* What the loop goes by for @cl now: its memory cgroup (*@have_cg 0
 * when it has none), that cgroup's settings, and the pressure
 * (@system: the machine's, read once a pass, or read here). */
struct look {
	struct memcg_use cg;
	int have_cg;
	struct auto_config set;
	uint64_t target;
	uint32_t pressure;
	int pressure_own;
};

/* The machine's pressure, read once a pass into *@system: avg10, or
 * at least the trigger's % when it fired lately (before the slower
 * avg10 shows it) */
static uint32_t system_pressure(uint32_t *system)
{
	if (*system == AUTO_PRESSURE_UNKNOWN) {
		unsigned fired = memevents_pressure_recent(now_ms(),
						   uzd.cfg.autoev.interval_ms);

		*system = psi_memory_some_centi();
		if (fired && (*system == PSI_UNKNOWN || *system < fired * 100))
			*system = fired * 100;
	}
	return *system;
}

static void look_at(struct client *cl, struct look *l, uint32_t *system)
{
	const struct cg_rule *rule;

	l->have_cg = !memcg_of(client_pid(cl), &l->cg);
	cg_settings(&uzd.cfg, l->have_cg ? l->cg.path : "", &l->set, &rule);
	l->target = l->have_cg ? target_of(&l->set, l->cg.limit) : UINT64_MAX;
	l->pressure_own = l->have_cg && l->cg.pressure_centi != PSI_UNKNOWN;
	if (l->pressure_own) {
		/* its trigger fired lately: at least its %, as above */
		unsigned fired = memevents_cg_pressure_recent(l->cg.psi_file,
				now_ms(), uzd.cfg.autoev.interval_ms);

		l->pressure = l->cg.pressure_centi;
		if (fired && l->pressure < fired * 100)
			l->pressure = fired * 100;
	} else {
		l->pressure = system_pressure(system);
	}
	/* the reclaim at its v1 memory cgroup's limit struggled lately
	 * (the kernel's memory.pressure_level said medium or worse): as
	 * if its pressure were at its auto-pressure, for as long as a
	 * back-off lasts: such events come in bursts and gaps of seconds
	 * (about one a second from a writer in a 256 MB cgroup here) */
	if (l->have_cg && l->cg.v1 &&
	    memevents_level_recent(l->cg.id, l->cg.ino, now_ms(),
				   (uint64_t)AUTO_BACKOFF_INTERVALS *
				   uzd.cfg.autoev.interval_ms) &&
	    (l->pressure == AUTO_PRESSURE_UNKNOWN ||
	     l->pressure < l->set.pressure_pct * 100u))
		l->pressure = l->set.pressure_pct * 100u;
}

void auto_settings_of(struct client *cl, struct auto_config *out)
{
	const struct cg_rule *rule;
	struct memcg_use *cg = malloc(sizeof(*cg)); /* paths: 8 KB */

	cg_settings(&uzd.cfg, cg && !memcg_of(client_pid(cl), cg) ? cg->path : "",
		    out, &rule);
	free(cg);
}

void auto_cgroup_stats(struct client *cl, struct uz_stats_client *out)
{
	const struct auto_client *a = client_auto(cl);
	uint32_t system = AUTO_PRESSURE_UNKNOWN;
	static struct look l; /* 4 KB of path: not on the stack twice */
	const char *path;
	size_t n;

	out->auto_backoff = a->backoff;
	if (a->backoff != UZ_AUTO_OFF)
		out->auto_backoff_s = (uint32_t)((now_ms() - a->backoff_ms) / 1000);
	look_at(cl, &l, &system);
	out->cg_usage = l.have_cg ? l.cg.usage : 0;
	out->cg_limit = l.have_cg ? l.cg.limit : UINT64_MAX;
	/* a target shown is one in force */
	out->cg_target = l.set.on ? l.target : UINT64_MAX;
	out->pressure_centi = l.pressure;
	out->pressure_own = (uint32_t)l.pressure_own;
	if (!l.have_cg)
		return;
	out->cg_id = l.cg.path_id;
	path = memcg_printable(l.cg.path);
	n = strlen(path);
	if (n < sizeof(out->cgroup))
		memcpy(out->cgroup, path, n + 1);
	else /* the tail says which unit it is */
		snprintf(out->cgroup, sizeof(out->cgroup), "...%s",
			 path + n - (sizeof(out->cgroup) - 4));
}

/* Hold @cl's threads but its agent's while the limit step about to be
 * sent runs, for @ms at most: the job waits instead of filling memory
 * faster than it is taken, to the OOM killer (hold.h). */
static void hold(struct client *cl, struct auto_client *a, uint64_t now,
		 unsigned ms)
{
	char why[400];
	int err;

	if (a->hold_until)
		return;
	if (!client_same_process(cl)) {
		log_limited(UZ_LOG_WARN, 3, 600, "client %d (%s): not held: the "
			    "process that connected has ended (its connection "
			    "was handed on)", (int)client_pid(cl),
			    client_comm(cl));
		return;
	}
	a->hold_tried = 1;
	err = hold_begin(client_pid(cl), why, sizeof(why));
	if (err) {
		/* without a freezer, hold_init said so once */
		if (err != -ENODEV)
			log_limited(UZ_LOG_WARN, 3, 600, "client %d (%s): not "
				    "held while memory is taken at its limit: "
				    "%s", (int)client_pid(cl), client_comm(cl),
				    why);
		return;
	}
	a->hold_until = now + ms;
	a->hold_start_ms = now;
	a->holds++;
	a->step_held = 1;
	log_limited(UZ_LOG_INFO, 3, 60, "client %d (%s): held while memory is "
		    "taken out at its cgroup's limit (limit-hold)",
		    (int)client_pid(cl), client_comm(cl));
}

/* Let @cl's threads go on, if they are held. */
static void release(struct client *cl, struct auto_client *a)
{
	if (!a->hold_until)
		return;
	hold_end(client_pid(cl));
	a->held_ms = held_ms(a, now_ms());
	a->hold_until = 0;
}

/*
 * An automatic step under way that is no limit step (sent while the
 * cgroup was below its threshold) holds nothing, and no limit step
 * starts before it ends: a job filling at a GB/s crossed the threshold
 * and reached its limit meanwhile, and was OOM-killed (2 GiB into
 * 1 GiB, 5 runs in 12).  So a job that fills fast (or at a speed not
 * known) is held, once a step, as soon as its cgroup nears the limit;
 * auto_done lets it go, or limit-hold.
 */
static void hold_during_step(struct client *cl, struct auto_client *a,
			     uint64_t now)
{
	struct auto_config set;
	struct memcg_use cg;

	if (a->cg_limit == UINT64_MAX || a->limit_check_ms > now)
		return;
	/* advanced first: held, it would be due at every wake (each ms) */
	a->limit_check_ms = now + limit_period();
	/* a limit step held it or judged it need not be; an uzswapctl
	 * command is no step of ours (auto_done never ends it); a hold
	 * that ran out (limit-hold) is not begun again in the same step */
	if (a->hold_until || a->limit_step || a->step_held ||
	    !client_auto_stepping(cl))
		return;
	if (a->fill_known && a->fill_last < AUTO_HOLD_FILL_RATE)
		return;
	auto_settings_of(cl, &set);
	if (!set.on || !set.hold_ms || memcg_of(client_pid(cl), &cg) ||
	    !auto_limit_near(memcg_firm_usage(&cg), cg.limit))
		return;
	hold(cl, a, now, set.hold_ms);
}

/* Is @cg's limiting level its process's own cgroup? */
static int own_level(const struct memcg_use *cg)
{
	size_t d = strlen(cg->dir), p = strlen(cg->path);

	/* dir is the mount and the path; "/" is the root, never limited */
	return p > 1 && d >= p && !strcmp(cg->dir + d - p, cg->path);
}

/* Room left above a level's usage when its brake is set (a THP). */
#define BRAKE_HEADROOM (2ull << 20)

/* On cgroup v2, while @cl is in a limited cgroup with holds on
 * (limit-hold), its limiting level's memory.high stands at the
 * threshold of a limit step (brake.h), moved with its limit; let go of
 * when it is not, or goes. */
static void brake_standing(struct client *cl, struct auto_client *a,
			   const struct look *l)
{
	/* only the client's own cgroup: an ancestor's limit (a slice's)
	 * binds siblings uzswapd does not manage, which a brake there
	 * would slow too */
	int want = l && l->have_cg && !l->cg.v1 && l->set.on &&
		   l->set.hold_ms && l->cg.limit != MEMCG_NO_LIMIT &&
		   own_level(&l->cg);
	uint64_t at = want ? l->cg.limit - auto_limit_room(l->cg.limit) : 0;
	/* never under what the level uses now: memory.high written below
	 * its usage has the writer, this loop, reclaim down to it (with
	 * kernel swap, for as long as that takes) */
	uint64_t floor = want ? l->cg.usage + BRAKE_HEADROOM : 0;
	char why[400];
	int slot, err;

	if (a->brake_slot && (!want || a->brake_cg != l->cg.id)) {
		brake_end(a->brake_slot - 1);
		a->brake_slot = 0;
	}
	if (!want)
		return;
	if (a->brake_slot) {
		brake_move(a->brake_slot - 1, at, floor);
		return;
	}
	err = brake_begin(l->cg.dir, at > floor ? at : floor, &slot, why,
			  sizeof(why));
	if (err) {
		if (err != -EEXIST)
			log_limited(UZ_LOG_WARN, 3, 600, "client %d (%s): its "
				    "cgroup (v2) is not braked at its limit: %s",
				    (int)client_pid(cl), client_comm(cl), why);
		return;
	}
	a->brake_slot = slot + 1;
	a->brake_cg = l->cg.id;
	log_limited(UZ_LOG_INFO, 3, 60, "client %d (%s): %s/memory.high "
		    "lowered to %llu while uzswapd manages it (limit-hold)",
		    (int)client_pid(cl), client_comm(cl),
		    memcg_printable(l->cg.dir), (unsigned long long)at);
}

void auto_gone(struct client *cl)
{
	brake_standing(cl, client_auto(cl), NULL);
	release(cl, client_auto(cl));
	/* the freezer's files, for every client that ends, cost a
	 * shell's short commands as much as their start */
	if (client_auto(cl)->hold_tried)
		hold_forget(client_pid(cl));
}

void auto_restored(struct client *cl)
{
	struct auto_config set;

	auto_settings_of(cl, &set);
	client_auto(cl)->restored_until = now_ms() + set.guard_s * 1000ull;
}

/*
 * Why a step that is not at the limit leaves @cl alone now: restored by
 * hand a moment ago, or under a debugger (what gdb or gcore reads must
 * stay in the mapping: the kernel cannot fault it back for them), or
 * stopped (its agent thread too: the step would only time out, and run
 * late once it goes on); else UZ_AUTO_OFF.
 */
static enum uz_auto_state left_alone(struct client *cl, struct auto_client *a,
				     uint64_t now)
{
	char state;
	int tracer;

	if (now < a->restored_until)
		return UZ_AUTO_RESTORED;
	if (procfs_task_state(client_pid(cl), &state, &tracer))
		return UZ_AUTO_OFF; /* gone, or unreadable: the step decides */
	if (tracer > 0)
		return UZ_AUTO_TRACED;
	if (state == 'T' || state == 't')
		return UZ_AUTO_STOPPED;
	return UZ_AUTO_OFF;
}

/* @a's process's own anonymous memory, of @rss, its RssAnon: that
 * counts the blocks on its agent's inactive list too (in the agent's
 * slots until compressed), and a pause judged on RssAnon took their
 * compression for the program shrinking: 16 MB allocated after it were
 * never seen as growth (it_auto, 6 runs in 7 in a review, under load). */
static uint64_t own_rss(const struct auto_client *a, uint64_t rss)
{
	return rss > a->inactive ? rss - a->inactive : 0;
}

/* One client's step, due now; 1 when @cl is gone (dropped on a failed
 * send), 0 otherwise. */
static int step(struct client *cl, struct auto_client *a, uint64_t now,
		uint32_t *system_pressure)
{
	static struct look l;
	const struct auto_config *c = &l.set;
	struct auto_params p;
	uint64_t managed, refaults, away, back, rss, interval = uzd.cfg.autoev.interval_ms;
	struct auto_input in;
	struct auto_decision d;
	enum uz_auto_state alone;
	int err, have_rss, asked;

	a->next_ms = now + interval;
	look_at(cl, &l, system_pressure);
	if (a->cg_id != (l.have_cg ? l.cg.id : 0)) {
		/* another cgroup: its usage says nothing of the last, and
		 * its settings may find something to take */
		a->footprint_ms = 0;
		a->nothing_ms = 0;
		a->fill_known = 0;
	}
	a->cg_id = l.have_cg ? l.cg.id : 0;
	if (!c->on) {
		/* its section says off: looked at again after a pause, as a
		 * move to another cgroup can turn it on (a reload looks at
		 * once); its limit is not watched */
		a->next_ms = now + interval * AUTO_BACKOFF_INTERVALS;
		a->cg_limit = UINT64_MAX;
		brake_standing(cl, a, NULL);
		a->state = UZ_AUTO_OFF;
		a->seen = 0;
		return 0;
	}
	a->cg_limit = l.have_cg ? l.cg.limit : UINT64_MAX;
	brake_standing(cl, a, &l);
	if (a->cg_limit != UINT64_MAX && a->told_limited != a->cg_id) {
		/* before its first step at the limit, not in it */
		a->told_limited = a->cg_id;
		if (client_tell_limited(cl))
			return 1; /* the client is gone */
	}
	if (a->cg_limit != UINT64_MAX && c->hold_ms)
		hold_ahead(cl, a, now);
	/* woken when it nears its limit, or its own pressure rises, not
	 * only when next polled */
	if (l.have_cg) {
		memevents_limit_watch(&l.cg, now, interval * 3 * AUTO_BACKOFF_INTERVALS);
		memevents_level_watch(&l.cg, now, interval * 3 * AUTO_BACKOFF_INTERVALS);
		if (l.pressure_own)
			memevents_cg_pressure_watch(l.cg.psi_file, c->pressure_pct,
						    now, interval * 3 *
						    AUTO_BACKOFF_INTERVALS);
	}
	p.step_pct = c->step_pct;
	p.pressure_pct = c->pressure_pct;
	p.refault_pct = c->refault_pct;
	/* what the last step took and the program touched again at once:
	 * refaults of blocks younger than two intervals, not the trickle
	 * of old cold memory read now and then */
	/* the figure below is the next step's, if this one's is old */
	have_rss = !procfs_rss_anon(client_pid(cl), &rss);
	asked = have_rss ? rescan_if_grown(cl, rss, &a->rss_seen) : 0;
	if (asked < 0)
		return 1; /* the client is gone */
	if (client_auto_counters(cl, 2 * interval, &managed, &refaults,
				 &a->inactive, &a->away, &a->back))
		return 0; /* its arena's header is not valid: nothing to judge */
	/* a client's own word: no list holds more than this */
	if (a->inactive > UZ_INACTIVE_MAX_BYTES)
		a->inactive = 0;
	if (have_rss) {
		uint64_t own = own_rss(a, rss);

		/* grown by a block since nothing was left: there may be
		 * something now (a rescan's threshold would miss 16 MB
		 * allocated after 40 MB: it_auto).  Its agent, idle since,
		 * counts what it manages every two minutes only, and the
		 * step takes a share of that count: asked to count now */
		if (a->nothing_ms && own >= a->nothing_rss + UZ_BLOCK_SIZE) {
			a->nothing_ms = 0;
			if (!asked && rescan_ask(cl, rss, &a->rss_seen))
				return 1;
		}
		a->rss_step = own;
	}
	if (!a->seen) {
		/* a new client: its first step one interval after it came */
		a->seen = 1;
		a->refaults_seen = refaults;
		a->state = UZ_AUTO_TAKING;
		return 0;
	}
	/* a count that went down is a new agent (a restart): start over */
	if (refaults < a->refaults_seen)
		a->refaults_seen = refaults;
	in.managed = managed;
	/* after a pause the step goes ahead: what came back meanwhile was
	 * judged before it */
	in.refaults = a->paused ? 0 : refaults - a->refaults_seen;
	a->paused = 0;
	in.last_blocks = a->last_blocks;
	in.last_err = a->last_err;
	in.pressure_centi = l.pressure;
	in.cg_limit = l.have_cg ? l.cg.limit : UINT64_MAX;
	in.cg_usage = l.have_cg ? memcg_firm_usage(&l.cg) : 0;
	in.inactive = a->inactive;
	if (l.have_cg) {
		in.cg_clients = clients_in(l.cg.id, &in.inactive, &away, &back);
		in.fill_rate = fill_rate(a, memcg_firm_usage(&l.cg) + away,
					 back, now, &in.back_rate);
	} else {
		in.cg_clients = 1;
		in.fill_rate = in.back_rate = 0;
	}
	in.cg_target = l.target;
	a->refaults_seen = refaults;
	d = auto_decide(&p, &in);
	/* near its limit, the next look comes sooner */
	if (d.state == UZ_AUTO_LIMIT)
		a->next_ms = now + limit_period();
	if (d.backoff) {
		a->backoff = d.state;
		a->backoff_ms = now;
		a->next_ms = now + interval * AUTO_BACKOFF_INTERVALS;
		/* after the pause the step is judged on what it takes then */
		a->last_blocks = 0;
		a->last_err = 0;
		a->paused = 1;
		say_state(cl, a, c, d.state, l.pressure);
		return 0;
	}
	if (d.bytes && d.state != UZ_AUTO_LIMIT &&
	    (alone = left_alone(cl, a, now)) != UZ_AUTO_OFF) {
		say_state(cl, a, c, alone, l.pressure);
		return 0;
	}
	if (!d.bytes) {
		say_state(cl, a, c, d.state, l.pressure);
		return 0;
	}
	if (d.state != UZ_AUTO_LIMIT && a->nothing_ms &&
	    now - a->nothing_ms < AUTO_NOTHING_AGAIN_MS) {
		/* still nothing, most likely: not woken for it */
		a->next_ms = now + interval * AUTO_BACKOFF_INTERVALS;
		a->paused = 1;
		return 0;
	}
	/* near the limit, memory touched lately goes too, and compressed
	 * at once: compressed is better than the OOM killer (kernel swap
	 * would take it as well), and the inactive list frees nothing */
	a->step_held = 0;
	if (d.hold && c->hold_ms)
		hold(cl, a, now, c->hold_ms);
	a->limit_usage = in.cg_usage;
	a->limit_step = d.state == UZ_AUTO_LIMIT;
	a->step_sent_ms = now;
	err = d.state == UZ_AUTO_LIMIT ? client_evict_auto(cl, d.bytes, 0, 0, c) :
	      client_evict_auto(cl, d.bytes, c->guard_s * 1000u,
				c->min_age_s * 1000u, c);
	if (err == -EBUSY) {
		release(cl, a);
		return 0; /* an uzswapctl eviction runs: the next interval */
	}
	if (err)
		return 1; /* the client is gone (and @cl with it) */
	/* what the step did is said when it is done (auto_done) */
	if (d.state == UZ_AUTO_LIMIT)
		say_state(cl, a, c, d.state, l.pressure);
	return 0;
}

int auto_enabled(void)
{
	unsigned i;

	if (uzd.cfg.autoev.on)
		return 1;
	for (i = 0; i < uzd.cfg.n_cg; i++)
		if ((uzd.cfg.cg[i].given & AUTO_KEY_ON) && uzd.cfg.cg[i].a.on)
			return 1;
	return 0;
}

/* Judge again now the clients in memory cgroup @cg_id (0: in any),
 * only those taking if @taking_only */
static void wake_clients(uint64_t cg_id, int taking_only)
{
	uint64_t now = now_ms();
	struct client *cl;

	for (cl = client_first(); cl; cl = client_next(cl)) {
		struct auto_client *a = client_auto(cl);

		if ((!cg_id || a->cg_id == cg_id) &&
		    (!taking_only || a->state == UZ_AUTO_TAKING)) {
			a->next_ms = now;
			a->limit_check_ms = 0;
		}
	}
	auto_wake();
}

void auto_event(uint64_t cg_id)
{
	wake_clients(cg_id, !cg_id);
}

void auto_event_taking(uint64_t cg_id)
{
	wake_clients(cg_id, 1);
}

void auto_configure(void)
{
	struct client *cl;
	unsigned pct = 0, i;

	/* the trigger at the lowest auto-pressure of those on */
	if (uzd.cfg.autoev.on)
		pct = uzd.cfg.autoev.pressure_pct;
	for (i = 0; i < uzd.cfg.n_cg; i++) {
		const struct cg_rule *r = &uzd.cfg.cg[i];
		int on = r->given & AUTO_KEY_ON ? r->a.on : uzd.cfg.autoev.on;
		unsigned p = r->given & AUTO_KEY_PRESSURE ? r->a.pressure_pct :
							    uzd.cfg.autoev.pressure_pct;

		if (on && (!pct || p < pct))
			pct = p;
	}
	memevents_pressure_arm(pct);
	if (!auto_enabled())
		memevents_limit_expire(0, 1); /* nobody to wake */
	/* every client judged again with the new settings; one held goes
	 * on (the loop may be off now, or limit-hold shorter), one restored
	 * by hand is no longer left alone for it */
	for (cl = client_first(); cl; cl = client_next(cl)) {
		release(cl, client_auto(cl));
		/* with the loop off no look comes to let go of a brake */
		if (!auto_enabled())
			brake_standing(cl, client_auto(cl), NULL);
		client_auto(cl)->next_ms = 0;
		client_auto(cl)->restored_until = 0;
		client_auto(cl)->nothing_ms = 0; /* a step, with these */
	}
	auto_wake();
}

/* When the next step or look of any client is due: the event loop
 * calls auto_tick on every wake-up, and before then there is nothing to
 * do (a review measured 35 % of a core for 1500 clients otherwise). */
static uint64_t next_due;

void auto_wake(void)
{
	next_due = 0;
}

void auto_client_new(struct client *cl)
{
	struct auto_client *a = client_auto(cl);

	if (auto_enabled() && memcg_unlimited_lately(client_pid(cl))) {
		/* no look at its limit either before then (limit_near) */
		a->next_ms = now_ms() + AUTO_FIRST_LOOK_MS;
		a->limit_check_ms = a->next_ms;
	}
	auto_wake();
}

uint64_t auto_tick(uint64_t now)
{
	uint64_t next = UINT64_MAX;
	uint32_t pressure = AUTO_PRESSURE_UNKNOWN; /* the machine's, once */
	struct client *cl, *after;

	if (!auto_enabled())
		return next;
	if (now < next_due)
		return next_due;
	hold_sweep(now);
	/* the threshold watches of cgroups no client looked at lately:
	 * their expiry is one of the times a pass is due */
	next = memevents_limit_expire(now, 0);
	/* one pass; a step may drop the client it is sent to, no other */
	for (cl = client_first(); cl; cl = after) {
		struct auto_client *a = client_auto(cl);

		after = client_next(cl);
		if (a->hold_until && a->hold_until <= now) {
			log_limited(UZ_LOG_WARN, 3, 600, "client %d (%s): its "
				    "threads were held as long as limit-hold "
				    "allows: they go on", (int)client_pid(cl),
				    client_comm(cl));
			release(cl, a);
		}
		if (client_evicting(cl))
			hold_during_step(cl, a, now);
		else if (a->next_ms > now && limit_near(cl, a, now))
			a->next_ms = now;
		if (a->next_ms <= now && !client_evicting(cl)) {
			if (step(cl, a, now, &pressure))
				continue; /* gone */
		} else if (a->next_ms <= now) {
			a->next_ms = now + uzd.cfg.autoev.interval_ms;
		}
		if (a->next_ms < next)
			next = a->next_ms;
		if (a->cg_limit != UINT64_MAX && a->limit_check_ms < next)
			next = a->limit_check_ms > now ? a->limit_check_ms : now + 1;
		if (a->hold_until && a->hold_until < next)
			next = a->hold_until;
	}
	next_due = next;
	return next;
}

/*
 * After a limit step that took something: the next look as soon as
 * LIMIT_CACHE_CHECK_MS after the step began, not a limit period.  A job
 * left in the room under its limit crosses no threshold again, and sort
 * reading from disk at GB/s refilled the room and was OOM-killed (in a
 * 128 MB cgroup, every time) long before that look.  The client's count
 * of blocks is its own word: AUTO_QUICK_LOOKS in a row at most while
 * the cgroup's usage (read by us) did not go down during the step, so
 * that an agent that says it takes but does not cannot keep us stepping
 * (a review's lying agent drew 11,000 steps a second).
 */
static void look_again_soon(struct client *cl, struct auto_client *a)
{
	uint64_t at = a->step_sent_ms + LIMIT_CACHE_CHECK_MS;
	struct memcg_use cg;

	if (!memcg_of(client_pid(cl), &cg) &&
	    memcg_firm_usage(&cg) < a->limit_usage)
		a->quick_looks = 0;
	if (a->quick_looks >= AUTO_QUICK_LOOKS)
		return;
	a->quick_looks++;
	if (at < a->next_ms)
		a->next_ms = at;
	if (at < a->limit_check_ms)
		a->limit_check_ms = at;
}

void auto_done(struct client *cl, const struct uz_evict_done *d)
{
	struct auto_client *a = client_auto(cl);

	next_due = 0; /* its next step is worked out again */
	/* a limited cgroup is looked at again at once after a step: the
	 * looks during it (hold_during_step) put the next off by a limit
	 * period, and a job held meanwhile, let go now, or one that filled
	 * while a limit step ran, would reach its limit before then (the
	 * job of it_memhold was OOM-killed so under parallel load) */
	if (a->cg_limit != UINT64_MAX)
		a->limit_check_ms = 0;
	release(cl, a);
	a->step_held = 0;
	if (!d) {
		a->last_blocks = 0;
		a->last_err = -ETIMEDOUT;
		a->state = UZ_AUTO_FAILED;
		return;
	}
	a->last_blocks = d->blocks;
	a->last_err = d->err;
	if (d->err && d->err != -ENOSPC && d->err != -EBUSY) {
		/* an agent that cannot evict (no /proc/self/pagemap after a
		 * privilege drop, say) would fail every step: said a few
		 * times, shown as "failed", tried again after a pause */
		log_limited(UZ_LOG_WARN, 3, 60, "client %d: an automatic "
			    "eviction failed: %s", (int)client_pid(cl),
			    strerror(-d->err));
		a->state = UZ_AUTO_FAILED;
		a->backoff = UZ_AUTO_FAILED;
		a->backoff_ms = now_ms();
		a->paused = 1;
		a->next_ms = now_ms() + (uint64_t)uzd.cfg.autoev.interval_ms *
						 AUTO_BACKOFF_INTERVALS;
	} else if (a->state == UZ_AUTO_LIMIT) {
		/* near its cgroup's limit it stays "limit", and is looked
		 * at again soon even when there was nothing to take */
		if (a->limit_step && d->blocks)
			look_again_soon(cl, a);
	} else if (!d->blocks && !d->err) {
		/* nothing left: a walk of its maps each interval would
		 * find nothing again; look again after a pause */
		a->state = UZ_AUTO_NOTHING;
		a->nothing_ms = now_ms();
		a->nothing_rss = a->rss_step;
		a->paused = 1;
		a->next_ms = now_ms() + (uint64_t)uzd.cfg.autoev.interval_ms *
						 AUTO_BACKOFF_INTERVALS;
	} else if (d->blocks) {
		a->state = UZ_AUTO_TAKING;
		a->nothing_ms = 0;
	}
}
