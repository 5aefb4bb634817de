/* SPDX-License-Identifier: MIT */
/* The automatic loop: each client sampled a step at a time (auto=on). */
#ifndef UZD_AUTOEVICT_H
#define UZD_AUTOEVICT_H

#include <stdint.h>

#include "protocol.h"

struct client;

/* What the loop remembers of one client (in struct client). */
struct auto_client {
	uint64_t next_ms;	/* the next step, or the end of a back-off */
	uint64_t refaults_seen; /* its count of young refaults at the last look */
	uint32_t last_blocks;	/* blocks the last step took */
	int32_t last_err;	/* the last step's error, or 0 */
	enum uz_auto_state state;
	int seen;		/* refaults_seen was read */
	int paused;		/* the next step follows a pause: not judged
				 * on what came back meanwhile */
	uint64_t inactive;	/* bytes on its inactive list at the last look
				 * (capped: its own word for it) */
	uint64_t cg_id;		/* its memory cgroup at the last look, */
	uint64_t cg_limit;	/* and that cgroup's limit (UINT64_MAX: none) */
	uint64_t away;		/* bytes it had away less its pool, at the
				 * last look (its own word) */
	uint64_t footprint;	/* its job's footprint (autoevict.c fill_rate) */
	uint64_t footprint_ms;	/* when last looked at (0: not yet) */
	uint64_t footprint_held; /* held_ms then */
	uint64_t fill_last;	/* the last fill rate judged over a window it
				 * ran through, */
	int fill_known;		/* if there was one */
	int step_held;		/* held during the step under way (once a
				 * step at most: hold_during_step) */
	uint64_t back;		/* bytes it brought back in all, last look */
	uint64_t back_then;	/* its cgroup's clients' sum at footprint_ms */
	uint64_t limit_check_ms; /* a limited cgroup is looked at this often
				  * even in a pause */
	enum uz_auto_state backoff; /* why it last backed off (OFF: never) */
	uint64_t backoff_ms;	    /* and when */
	uint64_t hold_until;	    /* its threads are held (hold.c) while a
				     * limit step runs, until then; 0: not */
	int brake_slot;		    /* on cgroup v2 the hold is a brake
				     * (brake.h): its slot + 1; 0: none */
	uint64_t brake_cg;	    /* the cg_id it brakes */
	uint64_t holds;		    /* how many times */
	uint64_t hold_start_ms;	    /* when the hold under way began */
	uint64_t held_ms;	    /* how long holds lasted, in all */
	uint64_t placed_cg;	    /* cg_id it was placed for a hold in
				     * (hold_ahead), or that said it never
				     * will be; 0: not yet */
	uint32_t place_tries;	    /* placings refused as its agent's
				     * threads were not named yet */
	int hold_tried;		    /* placed or held at least once: it may
				     * have a freezer group to remove */
	uint64_t told_limited;	    /* cg_id it was last told has a limit
				     * (UZ_MSG_LIMITED); 0: none */
	uint64_t rss_seen;	    /* its anonymous memory when its agent was
				     * last asked to count again (rescan.h) */
	uint64_t nothing_ms;	    /* when a step last found nothing left to
				     * take, and it has not grown since; 0:
				     * not so */
	uint64_t nothing_rss;	    /* its own anonymous memory then (the
				     * step's; own_rss) */
	uint64_t rss_step;	    /* its own anonymous memory at its last
				     * step */
	uint64_t restored_until;    /* restored by hand: no step before
				     * then (but at its limit) */
	/* the step under way is a limit step, sent at step_sent_ms with
	 * the cgroup's firm usage at limit_usage; how many limit steps in
	 * a row were followed by a quick look (look_again_soon) */
	int limit_step;
	uint64_t step_sent_ms;
	uint64_t limit_usage;
	unsigned quick_looks;
};

/* Take the steps that are due at @now; when the next one is (ms), or
 * UINT64_MAX with auto=off.  Cheap until then. */
uint64_t auto_tick(uint64_t now);
/* @cl has just said hello: its first look comes now, or AUTO_FIRST_LOOK_MS
 * later in a cgroup seen lately with no limit (memcg_unlimited_lately). */
void auto_client_new(struct client *cl);
/* Something changed (a client came, the configuration was reloaded):
 * the next auto_tick looks at every client. */
void auto_wake(void);
/* An event (memevents.c): the clients in memory cgroup @cg_id, or with
 * 0 (memory pressure rose) those taking, are judged again now. */
void auto_event(uint64_t cg_id);
/* Pressure rose in memory cgroup @cg_id: those of its clients taking are
 * judged again now (one backed off stays so). */
void auto_event_taking(uint64_t cg_id);
/* The configuration was (re)loaded: arm the events it needs. */
void auto_configure(void);
/* Is the loop on for anyone: [daemon] auto=on, or a section's? */
int auto_enabled(void);
/* The settings of @cl's memory cgroup ([daemon]'s, with its section's
 * over them): the automatic loop's, and how its agent refills. */
struct auto_config;
void auto_settings_of(struct client *cl, struct auto_config *out);
/* @cl's memory cgroup as the loop sees it, and its last back-off, into
 * @out's cgroup, cg_, pressure_ and auto_backoff fields. */
void auto_cgroup_stats(struct client *cl, struct uz_stats_client *out);
/* @cl is going away: let its threads go if they are held. */
void auto_gone(struct client *cl);
/* @cl was asked to restore all it has away (uzswapctl restore, before
 * gdb -p or gcore): no automatic step takes it again for its auto-guard
 * (from now; a reload ends it) but one at its cgroup's limit. */
void auto_restored(struct client *cl);
/* The automatic eviction @cl was running is over, with @d (NULL: it
 * timed out). */
void auto_done(struct client *cl, const struct uz_evict_done *d);

#endif
