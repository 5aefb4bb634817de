/* SPDX-License-Identifier: MIT */
/* Start-up of the agent inside an application, and its daemon link. */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blocks.h"
#include "coredump.h"
#include "codec.h"
#include "doorbell.h"
#include "events.h"
#include "evict.h"
#include "inactive.h"
#include "limitguard.h"
#include "fds.h"
#include "fork.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "rawkid.h"
#include "regions.h"
#include "reserve.h"
#include "restore.h"
#include "stage.h"
#include "store.h"
#include "uffd.h"
#include "uffd_compat.h"
#include "util.h"

#define HANDSHAKE_MS 2000
#define CONNECT_MS 1000 /* a daemon whose backlog is full is not there */

struct agent uz_agent = { .sock = -1, .uffd = -1, .stage_uffd = -1,
			  .arena_fd = -1, .uplink = -1, .fork_ufd = -1 };

/* UZSWAP_DAEMON_UID: a daemon's user we also trust (read once, at start:
 * the environment is the application's to change later) */
static long trusted_uid = -1;
/* the effective uid the program started with: a program that drops
 * root later must not then trust a server of the user it became (that
 * user would get the memory root left behind) */
static uid_t start_euid;

static void trusted_uid_read(void)
{
	const char *s = uz_env("UZSWAP_DAEMON_UID");
	char *end;
	long v;

	start_euid = geteuid();
	if (!s || !*s)
		return;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 0x7fffffffL)
		log_warn("UZSWAP_DAEMON_UID=%s is not a uid: ignored", s);
	else
		trusted_uid = v;
}

/*
 * Connect to uzswapd, and trust it with our memory only if it is root,
 * runs as our own user, or as UZSWAP_DAEMON_UID.  Anyone may bind a
 * socket path first (a custom one, or the default after the daemon
 * stopped); such a server would get our arena and order evictions: read
 * the program's memory and hand back bytes of its choosing.  Nothing is
 * sent before this check.
 */
static int daemon_dial(const char *path)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int s = msg_connect_within(path, CONNECT_MS), err;

	if (s < 0)
		return s;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
		err = -errno;
		close(s);
		return err;
	}
	if (cr.uid != 0 && cr.uid != start_euid &&
	    (trusted_uid < 0 || cr.uid != (uid_t)trusted_uid)) {
		log_limited(UZ_LOG_WARN, 1, 3600, "%s is served by uid %u, "
			    "neither root nor ours (nor UZSWAP_DAEMON_UID): "
			    "not used", path, (unsigned)cr.uid);
		close(s);
		return -EACCES;
	}
	return fd_hide(s);
}

/* A connection made before a namespace change (aside.c), for the next
 * agent_start(): in a new user namespace the daemon's uid reads as the
 * overflow uid, and could no longer be told from anyone else's. */
static int preconnected = -1;

void agent_preconnect(void)
{
	if (preconnected < 0 && uz_agent.sock_path[0])
		preconnected = daemon_dial(uz_agent.sock_path);
}

/* The arena for the daemon: read-only (it only ever reads it). */
static int arena_for_daemon(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", uz_agent.arena_fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

void agent_disconnect(void)
{
	if (uz_agent.sock >= 0)
		fd_close(uz_agent.sock);
	uz_agent.sock = -1;
}

/* The program's name for the daemon's tables, into @comm (16 bytes):
 * its main thread's, as a reconnect runs on an agent thread, which has
 * a name of its own (UZ_AGENT_THREAD_NAME). */
static void program_name(char *comm)
{
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, comm, 15);

	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		prctl(PR_GET_NAME, comm);
		return;
	}
	comm[n] = 0;
	comm[strcspn(comm, "\n")] = 0;
}

/* HELLO with our arena, WELCOME with the daemon's /dev/userfaultfd fd. */
static int handshake(int sock, int readopt, struct uz_agent_welcome *w,
		     int *dev_fd)
{
	static struct uz_msg m;
	struct uz_agent_hello h = { .pid = getpid(),
				    .arena_size = uz_agent.arena_size };
	struct pollfd p = { sock, POLLIN, 0 };
	const char *cause = NULL;
	int err, ro;

	h.flags = readopt ? UZ_HELLO_READOPT : 0;
	h.holder = uz_agent.holder;
	program_name(h.comm);
	ro = arena_for_daemon();
	if (ro < 0)
		return -errno;
	err = msg_send(sock, UZ_MSG_AGENT_HELLO, 0, &h, sizeof(h), ro);
	close(ro);
	if (err) {
		/* refused before our hello (too many connections): its
		 * reason may wait on the socket (it is closed: no wait) */
		if ((err == -EPIPE || err == -ECONNRESET) &&
		    !msg_recv(sock, &m, NULL, &cause) && m.hdr.type == UZ_MSG_ERROR) {
			m.u.error.msg[sizeof(m.u.error.msg) - 1] = 0;
			log_warn("uzswapd refused us: %s", m.u.error.msg);
		}
		return err;
	}
	/* a hung daemon must not hang the application's start-up */
	if (fd_poll(&p, 1, HANDSHAKE_MS) != 1)
		return -ETIMEDOUT;
	err = msg_recv(sock, &m, dev_fd, &cause);
	if (err)
		return err;
	if (m.hdr.type == UZ_MSG_ERROR) {
		m.u.error.msg[sizeof(m.u.error.msg) - 1] = 0;
		log_warn("uzswapd refused us: %s", m.u.error.msg);
		return m.u.error.err < 0 ? m.u.error.err : -EPERM;
	}
	if (m.hdr.type != UZ_MSG_AGENT_WELCOME)
		return -EPROTO;
	*w = m.u.welcome;
	return 0;
}

int agent_connect(int readopt)
{
	struct uz_agent_welcome w;
	int sock, dev_fd = -1, err;

	sock = daemon_dial(uz_agent.sock_path);
	if (sock < 0)
		return sock;
	err = handshake(sock, readopt, &w, &dev_fd);
	if (dev_fd >= 0)
		close(dev_fd); /* only needed the first time */
	if (err) {
		fd_close(sock);
		return err;
	}
	uz_agent.sock = sock;
	if (readopt)
		log_info("re-attached to uzswapd");
	return 0;
}

/* /proc/self/pagemap, which evictions read; a process that dropped
 * privileges is not dumpable and may not open it: it runs on, its
 * evicted memory coming back as it is touched, and evicts nothing. */
static int pagemap_or_none(void)
{
	int err = pagemap_open();

	if (err == -EACCES || err == -EPERM) {
		log_warn("cannot read /proc/self/pagemap (%s; a process that "
			 "changed its credentials is not dumpable): nothing of "
			 "this process will be evicted", strerror(-err));
		return 0;
	}
	return err;
}

/*
 * A codec whose memory is never evicted: the agent thread encodes and
 * decodes with it, and would wait on itself for a fault on it.  It lives
 * in agent memory (map_anon).  A test may place it instead, as a plain
 * mapping the kernel merges with a neighbour of the application's
 * (ThreadSanitizer's heap once was one: an eviction took the block
 * holding it, and the next encode faulted).
 */
static struct codec *agent_codec_open(int id, int level)
{
	const char *at = uz_env("UZSWAP_TEST_CODEC_AT");
	size_t len = codec_mem_size(id, level);
	struct codec *c;
	void *mem;

	if (!len)
		return NULL;
	mem = at ? map_anon_at((void *)strtoull(at, NULL, 0), len, 0) :
		   map_anon(len, 0);
	if (!mem) {
		errno = ENOMEM;
		return NULL;
	}
	c = codec_open_in(id, level, mem, len);
	if (!c)
		map_release(mem, len);
	return c;
}

static void agent_codec_close(struct codec *c)
{
	size_t len;

	if (!c)
		return;
	len = codec_map_len(c);
	codec_close(c); /* its memory is ours to unmap */
	map_release(c, len);
}

/* In a forked child: the parent's codecs are its pages shared
 * copy-on-write, which the first encode on either side would copy (at a
 * cgroup's limit, the OOM killer: review probe pA_forkcow). */
static int codecs_of_our_own(void)
{
	agent_codec_close(uz_agent.codec);
	agent_codec_close(uz_agent.codec2);
	uz_agent.codec = agent_codec_open(uz_agent.arena->codec,
					  uz_agent.arena->level);
	uz_agent.codec2 = agent_codec_open(uz_agent.arena->codec,
					   uz_agent.arena->level);
	return uz_agent.codec && uz_agent.codec2 ? 0 : -ENOMEM;
}

/* The pieces that need the daemon's answer: uffds and the codec. */
static int agent_setup(int dev_fd, const struct uz_agent_welcome *w)
{
	int umo, err;

	uz_agent.uffd = uffd_open(dev_fd, UZ_UFFD_FEATURES | UFFD_FEATURE_EVENT_FORK,
				  &umo);
	uz_agent.fork_event = uz_agent.uffd >= 0;
	if (uz_agent.uffd == -EPERM)
		/* the FORK event needs CAP_SYS_PTRACE: without it a fork
		 * brings evicted memory back first (fork.c) */
		uz_agent.uffd = uffd_open(dev_fd, UZ_UFFD_FEATURES, &umo);
	if (uz_agent.uffd < 0)
		return uz_agent.uffd;
	uz_agent.uffd = fd_hide(uz_agent.uffd);
	if (umo)
		log_warn("userfaultfd is user-mode only: a system call reading "
			 "into evicted memory will fail (run uzswapd as root)");
	uz_agent.stage_uffd = fd_hide(uffd_open(dev_fd, UFFD_FEATURE_MOVE, &umo));
	if (uz_agent.stage_uffd < 0)
		return uz_agent.stage_uffd;
	uz_agent.codec = agent_codec_open(w->codec, w->level);
	uz_agent.codec2 = agent_codec_open(w->codec, w->level);
	if (!uz_agent.codec || !uz_agent.codec2)
		return -errno;
	uz_agent.arena->codec = w->codec;
	uz_agent.arena->level = w->level;
	err = blocks_init(uz_agent.arena->rec_count);
	if (!err)
		err = pagemap_or_none();
	if (!err)
		err = evict_init();
	if (!err)
		err = restore_init();
	if (!err)
		err = events_init();
	return err;
}

/* The least pool worth having under a file-size limit */
#define POOL_MIN (64ull << 20)

/*
 * @data bytes of pool, or less under RLIMIT_FSIZE: the pool is a file,
 * and growing a file past the limit is refused with SIGXFSZ, which kills
 * (a program started under `ulimit -f` was killed as its agent started,
 * it_rlimits).  -EFBIG when not even POOL_MIN fits.
 */
static int pool_within_file_limit(uint32_t recs, uint64_t *data)
{
	struct uz_arena_hdr h;
	struct rlimit rl;
	int err;

	if (getrlimit(RLIMIT_FSIZE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	err = arena_layout(&h, recs, *data);
	if (err || h.size <= rl.rlim_cur)
		return err;
	if (rl.rlim_cur < h.data_off + POOL_MIN) {
		log_warn("RLIMIT_FSIZE (%llu bytes) leaves no room for a pool",
			 (unsigned long long)rl.rlim_cur);
		return -EFBIG;
	}
	/* the bitmap only shrinks with it: the file fits */
	*data = (rl.rlim_cur - h.data_off) & ~(uint64_t)(UZ_PAGE_SIZE - 1);
	log_info("RLIMIT_FSIZE: a pool of %llu MB", (unsigned long long)(*data >> 20));
	return 0;
}

/* Arena sizing: enough records and address space for all of RAM (it
 * is sparse: only what is stored takes memory). */
int agent_arena_make(void)
{
	struct sysinfo si;
	uint64_t ram, data;
	uint32_t recs;
	int err;

	if (sysinfo(&si))
		return -errno;
	ram = (uint64_t)si.totalram * si.mem_unit;
	recs = (uint32_t)(ram / UZ_BLOCK_SIZE + 64);
	data = ram;
	err = pool_within_file_limit(recs, &data);
	return err ? err : store_create(recs, data);
}

/* Every loaded object's data and bss.  A bss is anonymous memory and
 * may merge with a neighbouring mapping; evicting it would let the agent
 * thread fault on libc's or its own variables and wait for itself. */
static int exclude_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (hi > lo)
		regions_exclude(lo, hi - lo);
	return 0;
}

void agent_claim_mm(void)
{
	if (!uz_agent.mm_token) {
		int *t = map_anon(UZ_PAGE_SIZE, 0);

		/* a forked copy reads 0 here until it claims it in turn */
		if (t && syscall(SYS_madvise, t, UZ_PAGE_SIZE, MADV_WIPEONFORK))
			log_warn("MADV_WIPEONFORK: %s; a raw clone()'s child may "
				 "call into an agent it does not have",
				 strerror(errno));
		uz_agent.mm_token = t;
	}
	if (uz_agent.mm_token)
		__atomic_store_n(uz_agent.mm_token, 1, __ATOMIC_RELAXED);
	uz_agent.pid = getpid();
}

void agent_start(void)
{
	static int objects_excluded;
	struct uz_agent_welcome w;
	const char *path;
	int sock, dev_fd = -1, err;

	/* starting again (aside.c, a forked child): the path we were
	 * given at first, whatever the environment says now */
	if (!uz_agent.sock_path[0]) {
		/* a setuid or setgid program: its environment (the socket,
		 * the daemon's uid) is its caller's to choose */
		if (uz_env("UZSWAP_DISABLE") || getauxval(AT_SECURE))
			return;
		path = msg_socket_path();
		if (strlen(path) >= sizeof(uz_agent.sock_path))
			return;
		strcpy(uz_agent.sock_path, path);
		log_init("libuzswap", uz_env("UZSWAP_DEBUG") ? UZ_LOG_DEBUG : UZ_LOG_WARN);
		trusted_uid_read();
		/* a test's: only the interposer's guard against evicting
		 * what an madvise() is about to zap (events.c) */
		if (uz_env("UZSWAP_TEST_REMOVE_WINDOW_MS"))
			events_set_remove_window(strtoull(
				uz_env("UZSWAP_TEST_REMOVE_WINDOW_MS"), NULL, 10) * 1000000ull);
	}
	path = uz_agent.sock_path;
	sock = preconnected >= 0 ? preconnected : daemon_dial(path);
	preconnected = -1;
	if (sock < 0)
		return; /* no daemon: behave as if we were not loaded */
	/* before the first mapping of ours (once; kept by a restart) */
	reserve_init();
	agent_claim_mm();
	if (!objects_excluded) /* once: the table keeps them */
		dl_iterate_phdr(exclude_object, NULL);
	objects_excluded = 1;
	err = agent_arena_make();
	if (!err)
		err = handshake(sock, 0, &w, &dev_fd);
	for (int tries = 0; err == -EEXIST && tries < 25; tries++) {
		/* after exec the daemon may not have seen the old image's
		 * connection close yet */
		fd_close(sock);
		usleep(20000);
		sock = daemon_dial(path);
		err = sock < 0 ? sock : handshake(sock, 0, &w, &dev_fd);
	}
	if (!err)
		err = agent_setup(dev_fd, &w);
	if (dev_fd >= 0)
		close(dev_fd);
	if (err) {
		if (err != -EPERM && err != -EUSERS) /* a refusal was said */
			log_warn("not active: %s", strerror(-err));
		fd_close(sock);
		return;
	}
	uz_agent.sock = sock;
	uz_agent.active = 1;
	err = loop_start();
	/* the agent thread has its copies: none of ours stays in the
	 * application's table (or, without the thread, none is used) */
	if (!loop_shares_table())
		fds_leave_app();
	if (err) {
		uz_agent.active = 0;
		log_warn("not active: agent thread: %s", strerror(-err));
		return;
	}
	coredump_init();
}

/* In a forked child: the descriptors the agent's state names are in the
 * parent's agent table, not in ours (the numbers may be the
 * application's here), so they are dropped, not closed; and what the
 * parent's agent thread was doing as the kernel copied us is not under
 * way here. */
static void forget_parent_agent(void)
{
	uz_agent.sock = uz_agent.uffd = uz_agent.stage_uffd = -1;
	uz_agent.arena_fd = uz_agent.uplink = uz_agent.fork_ufd = -1;
	doorbell_forget();
	limitguard_forget();
	evict_forget_walk();
	/* a thread inside an interposed mremap() at the copy (hold_begin)
	 * is not in the child to take its hold back: every eviction here
	 * said EBUSY for good (review probe p2_hold_inherit, it_forkwalk) */
	__atomic_store_n(&uz_agent.evict_hold, 0, __ATOMIC_SEQ_CST);
}

/* Start afresh, with an arena and a daemon connection of our own: a
 * forked child whose parent handed it nothing, or a process whose agent
 * stepped aside (aside.c).  The agent's descriptors named here were in
 * another agent thread's table, gone or in the parent. */
void agent_restart_fresh(int in_child)
{
	char path[sizeof(uz_agent.sock_path)];
	int *token;

	fork_forget();
	rawkid_forget();
	/* ours, and empty (a forked child's are copies of its parent's):
	 * given back, not left mapped and excluded, generation after
	 * generation of forks until the exclusion table was full */
	blocks_free();
	evict_free(in_child);
	inactive_free(in_child);
	restore_free(in_child);
	agent_codec_close(uz_agent.codec);
	agent_codec_close(uz_agent.codec2);
#ifndef __SANITIZE_THREAD__
	/* (ThreadSanitizer still counts the parent's threads in a child: a
	 * new thread at a dead one's address, its stack reused, is fatal
	 * to it, "dup thread with used id") */
	if (in_child)
		thread_stacks_forget();
#endif
	if (uz_agent.arena) /* a forked child has none mapped */
		munmap(uz_agent.arena, uz_agent.arena_map_len);
	token = uz_agent.mm_token;
	memcpy(path, uz_agent.sock_path, sizeof(path));
	memset(&uz_agent, 0, sizeof(uz_agent));
	uz_agent.mm_token = token;
	memcpy(uz_agent.sock_path, path, sizeof(path));
	forget_parent_agent();
	loop_reset_child();
	agent_start();
}

/* Sum what the inherited table still has evicted. */
static void count_evicted(struct block *b, void *arg)
{
	*(uint64_t *)arg += block_stored_bytes(b);
}

/*
 * A forked child that shares its parent's stored blocks: the inherited
 * table and arena stay; everything tied to the parent's process (its
 * uffds, its daemon connection, its thread) is replaced.
 */
void agent_restart_child(int ufd, int arena_fd, unsigned slot)
{
	uint64_t evicted = 0;
	int umo, err;

	int uplink = uz_agent.uplink;

	forget_parent_agent();
	uz_agent.uplink = uplink; /* in our table: the fork hook set it */
	uz_agent.uffd = fd_hide(ufd);
	uz_agent.arena_fd = fd_hide(arena_fd);
	uz_agent.fork_ambiguous = 0;
	agent_claim_mm();
	uz_agent.frozen = 0;
	uz_agent.fork_pending = 0;
	uz_agent.fork_ufd = -1;
	err = store_map(uz_agent.arena_fd, uz_agent.arena_map_len);
	if (err) {
		log_err("forked child %d: cannot map the arena: %s",
			(int)getpid(), strerror(-err));
		uz_agent.active = 0;
		return;
	}
	uz_agent.arena->holder_pid[slot] = getpid();
	store_use_slot(slot);
	/* the table as the fork found it, not as the parent went on
	 * changing it while the kernel copied us */
	blocks_from_snapshot();
	blocks_for_each(count_evicted, &evicted);
	uz_agent.stats->evicted_bytes = evicted;
	loop_reset_child();
	restore_reset();
	/* the staging uffd only ever moves pages into staging: a user-mode
	 * one is enough, and needs no device fd */
	uz_agent.stage_uffd = fd_hide(uffd_open(-1, UFFD_FEATURE_MOVE, &umo));
	err = uz_agent.stage_uffd < 0 ? uz_agent.stage_uffd : 0;
	if (!err)
		err = pagemap_or_none();
	if (!err)
		err = evict_stage_reset();
	if (!err)
		err = codecs_of_our_own();
	evict_buffers_forked();
	/* the parent's slots are holes here (MADV_DONTFORK) that a child
	 * handler of the program's may have mapped: new ones elsewhere */
	inactive_free(1);
#ifndef __SANITIZE_THREAD__ /* (see agent_restart_fresh) */
	/* copies of the parent's threads' stacks: 0.4 MB of the agent's
	 * range per generation, never given back */
	thread_stacks_forget();
#endif
	if (err) {
		/* nobody would serve this child's faults: say so loudly */
		log_err("forked child %d: agent not restarted: %s",
			(int)getpid(), strerror(-err));
		/* no thread: a request would wait for ever */
		uz_agent.active = 0;
		return;
	}
	/* connect before the thread starts: a thread that found no socket
	 * would connect too, and the daemon refuses the second hello */
	agent_connect(0);
	err = loop_start();
	if (err) {
		log_err("forked child %d: agent thread not started: %s",
			(int)getpid(), strerror(-err));
		uz_agent.active = 0;
	}
}

__attribute__((constructor)) static void agent_ctor(void)
{
	uz_env_save();
	pthread_atfork(fork_prepare_hook, fork_parent_hook, fork_child_hook);
	agent_start();
}
