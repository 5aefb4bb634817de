/* SPDX-License-Identifier: MIT */
/* Agent clients: hello, the arena they share with us, their evictions. */
#ifndef UZD_CLIENT_H
#define UZD_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "autoevict.h"
#include "protocol.h"

struct client;
struct conn;
struct uz_msg;

/*
 * UZ_MSG_AGENT_HELLO on a new connection @c with descriptor @fd (taken
 * over, closed on failure): check the peer and its arena, make @c an
 * agent and send UZ_MSG_AGENT_WELCOME.  Returns 0, or -errno with the
 * reason in @cause.
 */
int client_hello(struct conn *c, const struct uz_msg *m, int fd,
		 char *cause, size_t cause_len);
/* A later message from an agent.  0, or -EPROTO with @cause. */
int client_message(struct conn *c, const struct uz_msg *m, char *cause,
		   size_t cause_len);
/* Agent connection @c is closing: fail its eviction, forget it. */
void client_gone(struct conn *c);

struct client *client_find(pid_t pid);
/* The client with the lowest id >= @id, or NULL: a cursor over clients
 * that survives clients coming and going between calls. */
struct client *client_from_id(uint32_t id);
/* The clients in id order: the first, and the one after @cl. */
struct client *client_first(void);
struct client *client_next(struct client *cl);
uint32_t client_id(const struct client *cl);
pid_t client_pid(const struct client *cl);
const char *client_comm(const struct client *cl);
/* Is @cl's pid still the process that connected?  A client can hand its
 * connection on (a forked child) and end, and its pid go to another
 * process: what acts on the pid itself (a hold) asks first. */
int client_same_process(const struct client *cl);
/* What the automatic loop keeps of @cl. */
struct auto_client *client_auto(struct client *cl);
/* Is an eviction (or a restore) of @cl running? */
int client_evicting(const struct client *cl);
/* Is an automatic step (not an uzswapctl command) under way? */
int client_auto_stepping(const struct client *cl);
/* May the uzswapctl on @ctl see @cl (root, or the client's own user)? */
int client_visible_to(const struct client *cl, struct conn *ctl);
unsigned client_count(void);

/* @cl's counters, read from its arena and clamped. */
void client_stats(struct client *cl, struct uz_stats_client *out);
/* What the automatic loop needs, without client_stats' look at
 * /proc/PID/status: the memory it manages, and how many blocks came
 * back younger than @young_ms since evicted, the bytes on its inactive
 * list, and (@away, may be NULL) the bytes it has away less the pool
 * they take, which is charged to its memory cgroup, and (@back) how many
 * it brought back since it started.  0, or -errno when the arena's
 * header is not valid. */
int client_auto_counters(struct client *cl, uint32_t young_ms,
			 uint64_t *managed, uint64_t *young_refaults,
			 uint64_t *inactive, uint64_t *away, uint64_t *back);
/* Add @s to @sum, saturating. */
void client_sum(struct uz_stats_end *sum, const struct uz_stats_client *s);
/* Totals over every client. */
/* Sum the clients @viewer may see (all if NULL) into @sum; how many. */
unsigned client_totals(struct uz_stats_end *sum, struct conn *viewer);

/*
 * Ask @cl's agent to evict @req for uzswapctl connection @ctl, whose
 * request was @seq.  Returns 0, -EPERM (@ctl's peer may not), -EBUSY
 * (one is running), or -ECONNRESET (the agent was dropped: @cl is gone).
 */
int client_evict(struct client *cl, struct conn *ctl, uint64_t seq,
		 const struct uz_ctl_evict *req);
/*
 * Ask @cl's agent for an automatic step of @bytes (UZ_EVICT_COLD, the
 * thrash guard @guard_ms; what it takes stays uncompressed on the
 * agent's inactive list for @min_age_ms, 0: compressed at once), with
 * the refill parameters of @set (its cgroup's settings); its
 * answer goes to auto_done().  An
 * uzswapctl eviction may be sent beside it (the agent takes them in
 * turn), not the other way round.  Returns 0, -EBUSY (an eviction
 * runs), or -ECONNRESET (@cl is gone).
 */
struct auto_config;
int client_evict_auto(struct client *cl, uint64_t bytes, uint32_t guard_ms,
		      uint32_t min_age_ms, const struct auto_config *set);
/* Tell @cl's agent its memory cgroup has a limit (UZ_MSG_LIMITED);
 * 0, or -ECONNRESET (@cl is gone). */
int client_tell_limited(struct client *cl);
/* Ask @cl's agent to count what it manages again (UZ_MSG_RESCAN); 0, or
 * -ECONNRESET (@cl is gone). */
int client_ask_rescan(struct client *cl);
/* @cl's eviction has nobody waiting any more; a late answer is ignored. */
void client_evict_forget(struct client *cl);
/* Fail evictions past their deadline; returns the next deadline (ms). */
uint64_t client_expire(uint64_t now);

#endif
