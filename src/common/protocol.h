/* SPDX-License-Identifier: MIT */
/*
 * The wire protocol between uzswapd, the agent and uzswapctl.  One
 * SOCK_SEQPACKET message per datagram: a fixed header, then a payload of
 * the exact size its type names.  Descriptors travel as SCM_RIGHTS.
 */
#ifndef UZ_PROTOCOL_H
#define UZ_PROTOCOL_H

#include <stdint.h>

#include "stats.h"

/* bump when a message's size or the meaning of a field changes; a field
 * put in padding behind a new flag (older peers send zeros and read
 * nothing there) needs none */
#define UZ_PROTOCOL_VERSION 9
#define UZ_SOCKET_DEFAULT "/run/uzswap/uzswapd.sock"
#define UZ_SOCKET_ENV "UZSWAP_SOCKET"
#define UZ_MSG_MAX 4096

struct uz_msg_hdr {
	uint16_t version; /* UZ_PROTOCOL_VERSION */
	uint16_t type;	  /* enum uz_msg_type */
	uint32_t len;	  /* payload bytes after this header */
	uint64_t seq;	  /* request id, echoed in the reply */
};

enum uz_msg_type {
	/* agent -> daemon, with the arena memfd */
	UZ_MSG_AGENT_HELLO = 1,
	/* daemon -> agent, with an fd of /dev/userfaultfd when it has one */
	UZ_MSG_AGENT_WELCOME = 2,
	/* daemon -> agent: take memory away */
	UZ_MSG_EVICT = 3,
	/* agent -> daemon, and daemon -> ctl: how far an eviction got */
	UZ_MSG_EVICT_PROGRESS = 4,
	/* agent -> daemon, and daemon -> ctl: eviction finished */
	UZ_MSG_EVICT_DONE = 5,
	/* ctl -> daemon, no payload; reply UZ_MSG_STATUS */
	UZ_MSG_CTL_STATUS = 6,
	UZ_MSG_STATUS = 7,
	/* ctl -> daemon, no payload; replies: UZ_MSG_STATS_CLIENT per
	 * client, then UZ_MSG_STATS_END with the totals */
	UZ_MSG_CTL_STATS = 8,
	UZ_MSG_STATS_CLIENT = 9,
	UZ_MSG_STATS_END = 10,
	/* ctl -> daemon: evict from a client; replies PROGRESS..., DONE */
	UZ_MSG_CTL_EVICT = 11,
	/* any direction: the request failed */
	UZ_MSG_ERROR = 12,
	/* agent -> daemon: a stored frame failed its checksum */
	UZ_MSG_CSUM_FAIL = 13,
	/* daemon -> agent, no payload, no reply: the client's memory
	 * cgroup has a limit; have ready what an eviction at the limit
	 * needs (it must free before it takes: evict_buffers_ready) */
	UZ_MSG_LIMITED = 14,
	/* daemon -> agent, no payload, no reply: the process grew; count
	 * what it manages again now (an idle agent thread does so on its
	 * own only every two minutes) */
	UZ_MSG_RESCAN = 15,
	UZ_MSG_TYPE_MAX
};

#define UZ_HELLO_READOPT 0x1 /* arena already holds data (daemon restart) */

struct uz_agent_hello {
	uint32_t pid;
	uint32_t flags;
	char comm[16];
	uint64_t arena_size;
	uint32_t holder; /* our slot in the arena (0 unless forked) */
	uint32_t pad;
};

#define UZ_WELCOME_UFFD_DEV 0x1 /* an fd of /dev/userfaultfd is attached */

struct uz_agent_welcome {
	uint32_t client_id;
	uint32_t flags;
	int32_t codec; /* enum uz_codec_id */
	int32_t level;
};

#define UZ_EVICT_ALL 0x1 /* every block that can be taken; bytes ignored */
/* bring everything back instead (a debugger, gcore); bytes ignored.  The
 * reply is UZ_MSG_EVICT_DONE with the blocks and bytes brought back. */
#define UZ_EVICT_RESTORE 0x2
#define UZ_EVICT_FLAGS (UZ_EVICT_ALL | UZ_EVICT_RESTORE) /* uzswapctl may ask */
/* The daemon's automatic sampling (uzswapd only, never uzswapctl): take
 * @bytes going on from where the last such eviction stopped, round the
 * address space, and leave out blocks brought back in the last
 * guard_ms (the thrash guard). */
#define UZ_EVICT_COLD 0x4
/* uzswapd only: readahead and finish_after below are set (an older
 * daemon sends neither, and the agent keeps its defaults) */
#define UZ_EVICT_REFILL 0x8

/* The most an agent keeps on its inactive list (64 blocks). */
#define UZ_INACTIVE_MAX_BYTES (64ull << 21)

struct uz_evict {
	uint64_t bytes; /* application bytes to take, rounded up to blocks */
	uint32_t flags;
	uint32_t guard_ms; /* UZ_EVICT_COLD: the thrash guard's window */
	/* UZ_EVICT_COLD: keep what is taken uncompressed (the inactive
	 * list) until it has stayed untouched this long; 0: compress now */
	uint32_t min_age_ms;
	/* UZ_EVICT_REFILL: how the agent brings back what it holds from
	 * now on (refill.h; readahead= and finish-after= of the client's
	 * cgroup): 2 MB blocks restored ahead of a sequential reader
	 * (0..UZ_REFILL_READAHEAD_MAX), and 64 KB refills in a row after
	 * which a block is finished (1..UZ_REFILL_FINISH_MAX; 32, a block's
	 * frames, never finishes one).  They took what was padding, behind
	 * a new flag: the size and every field before are as in version
	 * 4, so the version did not change */
	uint8_t readahead;
	uint8_t finish_after;
	uint16_t pad;
};
#define UZ_REFILL_READAHEAD_MAX 64
#define UZ_REFILL_FINISH_MAX 32
#define UZ_REFILL_READAHEAD_DEFAULT 4 /* what an agent does unless told */
#define UZ_REFILL_FINISH_DEFAULT 2

/* The name (comm) of every agent thread: the daemon keeps them out of a
 * hold (hold.c), which stops all the process's other threads.  A
 * program that gives one of its own threads this name only keeps that
 * thread running through its own holds. */
#define UZ_AGENT_THREAD_NAME "uzswap-agent"

struct uz_evict_progress {
	uint64_t done_bytes;
	uint64_t target_bytes;
};

struct uz_evict_done {
	int32_t err; /* 0 or -errno */
	uint32_t blocks;
	uint64_t bytes;	 /* application bytes taken */
	uint64_t stored; /* compressed bytes they now occupy */
	uint32_t skipped;
	uint32_t busy; /* blocks UFFDIO_MOVE refused (EBUSY), left in place */
	uint64_t usec;
};

struct uz_ctl_evict {
	uint32_t pid;
	uint32_t flags; /* UZ_EVICT_* */
	uint64_t bytes;
};

struct uz_status {
	uint32_t daemon_pid;
	uint32_t clients;
	uint64_t uptime_sec;
	int32_t codec;
	int32_t level;
	uint64_t registered_bytes;
	uint64_t evicted_bytes;
	uint64_t stored_bytes;
	uint64_t pool_bytes;
	char version[16];
};

/* What the daemon's automatic eviction does with a client, and why. */
enum uz_auto_state {
	UZ_AUTO_OFF = 0,	/* auto=off in uzswapd.conf */
	UZ_AUTO_TAKING,		/* sampling: a step each interval */
	UZ_AUTO_PRESSURE,	/* backing off: memory pressure over the limit */
	UZ_AUTO_REFAULTS,	/* backing off: what it took came back */
	UZ_AUTO_NOTHING,	/* nothing left to take: all cold or guarded */
	UZ_AUTO_FULL,		/* the arena is full */
	UZ_AUTO_FAILED,		/* the last step failed (the log says why) */
	UZ_AUTO_LIMIT,		/* its cgroup nears its memory limit: taking
				 * ahead of the kernel, whatever else says */
	UZ_AUTO_TARGET,		/* its cgroup is at or under its target= */
	UZ_AUTO_RESTORED,	/* restored by hand (uzswapctl restore): left
				 * alone for auto-guard, but at its limit */
	UZ_AUTO_TRACED,		/* under a debugger (ptrace): left alone, but
				 * at its limit */
	UZ_AUTO_STOPPED,	/* stopped (SIGSTOP, Ctrl-Z, a freezer): its
				 * agent cannot answer; left alone, but at
				 * its limit */
	UZ_AUTO_STATE_MAX
};

/* Counters of one client as the daemon reports them. */
struct uz_stats_client {
	uint32_t pid;
	uint32_t client_id;
	char comm[16];
	uint64_t resident_bytes; /* RssAnon from /proc/PID/status */
	uint64_t registered_bytes;
	uint64_t evicted_bytes;
	uint64_t stored_bytes;
	uint64_t pool_bytes;
	uint64_t faults;
	uint64_t restores_2m;
	uint64_t restores_64k;
	uint64_t restores_zero;
	uint64_t prefetch_2m;
	uint64_t evict_busy;
	uint64_t csum_failures;
	uint64_t lat_p50_ns;
	uint64_t lat_p99_ns;
	uint64_t restore2m_p50_ns;
	uint64_t restore2m_p99_ns;
	uint64_t refaults;	     /* blocks touched again since evicted */
	uint64_t refault_age_p50_ms; /* median time from eviction to that */
	uint64_t evicted_bytes_total; /* taken since the client started */
	uint32_t connected;  /* 0 after the agent's socket closed */
	uint32_t auto_state; /* enum uz_auto_state: the automatic loop */
	/* its memory cgroup, as the automatic loop sees it */
	char cgroup[96];	 /* its path, "..." and the tail when longer,
				  * bytes not printable ASCII as '?'; "" when
				  * it has none */
	uint64_t cg_usage;	 /* bytes charged to it, or to the ancestor */
	uint64_t cg_limit;	 /* whose memory limit binds it (the one
				  * nearest its limit); UINT64_MAX: none */
	uint64_t cg_target;	 /* target= in bytes; UINT64_MAX: none */
	uint32_t pressure_centi; /* the PSI "some avg10" x 100 it is judged
				  * by; UINT32_MAX: unknown */
	uint32_t pressure_own;	 /* 1: its cgroup's; 0: the machine's */
	uint32_t auto_backoff;	 /* why the loop last backed off from it
				  * (enum uz_auto_state), or UZ_AUTO_OFF */
	uint32_t auto_backoff_s; /* how long ago, in seconds */
	uint64_t cg_id;		 /* tells cgroups apart (a hash of the whole
				  * path: cgroup is cut and printable only) */
	/* the inactive list: application bytes taken uncompressed and
	 * waiting out their minimum age, and blocks put on it, touched
	 * there (moved back), and compressed after it */
	uint64_t inactive_bytes;
	uint64_t inactive_taken;
	uint64_t inactive_back;
	uint64_t inactive_stored;
	/* blocks its agent took out before a restore, at its cgroup's
	 * limit (limitguard.c); the times the daemon held its threads
	 * while a step at the limit ran (hold.c) */
	uint64_t guard_blocks;
	uint64_t holds;
	uint64_t restores_4k; /* pages restored alone (refill.c) */
	/* faults that brought back a page or a frame, and their mean time
	 * from the agent's read to resolved, decoding, and copying in */
	uint64_t fills;
	uint64_t fill_avg_ns, fill_decode_avg_ns, fill_copy_avg_ns;
};

struct uz_stats_end {
	uint32_t clients;
	uint32_t pad;
	uint64_t registered_bytes;
	uint64_t evicted_bytes;
	uint64_t stored_bytes;
	uint64_t pool_bytes;
};

struct uz_csum_fail {
	uint64_t addr;	 /* the block's address in the application */
	uint32_t frame;	 /* which 64 KB frame */
	uint32_t record; /* its record in the arena */
};

struct uz_error {
	int32_t err; /* -errno */
	char msg[252];
};

/* Payload size of @type, or -1 for an unknown type. */
int msg_payload_size(unsigned type);

#endif
