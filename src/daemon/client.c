/* SPDX-License-Identifier: MIT */
/* Agent clients: hello, the arena they share with us, their evictions. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "autoevict.h"
#include "client.h"
#include "closer.h"
#include "ctlreq.h"
#include "daemon.h"
#include "latency.h"
#include "log.h"
#include "msg.h"
#include "policy.h"
#include "procfs.h"
#include "server.h"
#include "size.h"

/* A histogram bucket is clamped to this before percentiles are taken,
 * so that summing 2 x 256 untrusted buckets cannot overflow. */
#define UZ_HIST_BUCKET_MAX (1ull << 48)

struct client {
	struct conn *conn;
	uint32_t id;
	pid_t pid;
	uid_t uid;
	char comm[16];
	int memfd;	 /* the arena; only ever pread */
	unsigned holder; /* its counters' slot in the arena */
	/* the eviction in flight, if any */
	struct conn *evict_ctl;	 /* who waits for it */
	uint64_t evict_seq;	 /* our seq in UZ_MSG_EVICT */
	uint64_t evict_ctl_seq;	 /* the seq of the uzswapctl request */
	uint64_t evict_deadline; /* ms */
	uint32_t evict_flags;	 /* UZ_EVICT_*: a restore is one too */
	/* the automatic loop's step in flight, if any: beside an
	 * uzswapctl eviction (the agent answers them in turn) */
	int auto_busy;
	uint64_t auto_seq, auto_deadline;
	struct auto_client autoev;
	TAILQ_ENTRY(client) entry; /* in id order */
};

static TAILQ_HEAD(, client) clients = TAILQ_HEAD_INITIALIZER(clients);
static unsigned count;
static uint32_t next_id = 1;
static uint64_t next_evict_seq = 1;

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

struct client *client_find(pid_t pid)
{
	struct client *cl;

	TAILQ_FOREACH(cl, &clients, entry)
		if (cl->pid == pid)
			return cl;
	return NULL;
}

struct client *client_from_id(uint32_t id)
{
	struct client *cl;

	TAILQ_FOREACH(cl, &clients, entry)
		if (cl->id >= id)
			return cl;
	return NULL;
}

struct client *client_first(void)
{
	return TAILQ_FIRST(&clients);
}

struct client *client_next(struct client *cl)
{
	return TAILQ_NEXT(cl, entry);
}

uint32_t client_id(const struct client *cl)
{
	return cl->id;
}

pid_t client_pid(const struct client *cl)
{
	return cl->pid;
}

const char *client_comm(const struct client *cl)
{
	return cl->comm;
}

int client_same_process(const struct client *cl)
{
	const struct conn *c = cl->conn;
	struct stat st;
	uint64_t t;
	int fd, same;

	if (!c->start_ticks)
		return 0; /* it had ended at accept, or could not be read */
	if (procfs_start_ticks(cl->pid, &t) || t != c->start_ticks)
		return 0;
	if (!c->pid_ino)
		return 1; /* no pidfs: as far as can be told */
	fd = (int)syscall(SYS_pidfd_open, cl->pid, 0);
	if (fd < 0)
		return 0;
	same = !fstat(fd, &st) && (uint64_t)st.st_ino == c->pid_ino;
	close(fd);
	return same;
}

struct auto_client *client_auto(struct client *cl)
{
	return &cl->autoev;
}

int client_evicting(const struct client *cl)
{
	return cl->evict_ctl || cl->auto_busy;
}

int client_auto_stepping(const struct client *cl)
{
	return cl->auto_busy;
}

unsigned client_count(void)
{
	return count;
}

/*
 * Read and check an arena header.  The agent can change the memfd under
 * us at any time, so its size (set even on failure) is taken afresh each
 * time; a short read (truncated file) or a bad header is -EINVAL.
 */
static int arena_read(int memfd, struct uz_arena_hdr *h, uint64_t *size)
{
	struct stat st;
	ssize_t n;

	*size = 0;
	if (fstat(memfd, &st))
		return -errno;
	*size = st.st_size;
	n = pread(memfd, h, sizeof(*h), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(*h) || arena_hdr_check(h, st.st_size))
		return -EINVAL;
	return 0;
}

/* The counters of holder @slot of the arena in @memfd, and its size. */
static int stats_read(int memfd, unsigned slot, struct uz_client_stats *st,
		      uint64_t *size)
{
	static struct uz_arena_hdr h;
	ssize_t n;
	int err;

	err = arena_read(memfd, &h, size);
	if (err)
		return err;
	/* arena_hdr_check() saw all UZ_MAX_HOLDERS slots inside the file */
	n = pread(memfd, st, sizeof(*st), arena_stats_off(&h, slot));
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(*st) ? 0 : -EINVAL;
}

/* An older connection of the same pid may be gone without our having
 * seen its hang-up yet (an agent that reconnects at once). */
static int conn_alive(const struct conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 0 || !(p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* The checks of a hello, in the order an agent could get them wrong. */
static int fresh_agent(const struct uz_agent_hello *h)
{
	return !h->holder && !(h->flags & UZ_HELLO_READOPT);
}

static int hello_check(struct conn *c, const struct uz_agent_hello *h,
		       int fd, enum opt_in *verdict, char *why, size_t len)
{
	static struct uz_arena_hdr hdr;
	struct client *old;
	uint64_t size;
	int err;

	if (fd < 0) {
		snprintf(why, len, "hello without an arena descriptor");
		return -EBADF;
	}
	/* before anything else: nothing is done with another kind */
	if (procfs_fd_is_memfd(fd) != 1) {
		snprintf(why, len, "arena descriptor is not a memfd");
		return -EBADF;
	}
	if (h->pid != (uint32_t)c->pid) {
		snprintf(why, len, "pid mismatch (hello says %u)", h->pid);
		return -EPERM;
	}
	old = client_find(c->pid);
	/* a connection whose process ended, handed on to another (a
	 * forked child) while the pid went to this one, is not its */
	if (old && (!conn_alive(old->conn) || !client_same_process(old))) {
		if (conn_alive(old->conn))
			log_warn("client %d (%s): its process has ended and pid "
				 "%d is another's now: dropping the connection "
				 "it handed on", (int)old->pid, old->comm,
				 (int)old->pid);
		conn_close(old->conn);
	} else if (old) {
		snprintf(why, len, "pid %d already has an agent connection",
			 (int)c->pid);
		return -EEXIST;
	}
	memset(&hdr, 0, sizeof(hdr)); /* a short read leaves no stale magic */
	err = arena_read(fd, &hdr, &size);
	if (size != h->arena_size) {
		snprintf(why, len, "arena size %llu does not match its memfd "
			 "(%llu bytes)", (unsigned long long)h->arena_size,
			 (unsigned long long)size);
		return -EINVAL;
	}
	if (err && hdr.magic == UZ_ARENA_MAGIC && hdr.version != UZ_ARENA_VERSION) {
		/* an agent of another uzswap release (the daemon was
		 * upgraded under a running program) */
		snprintf(why, len, "its agent's arena is of version %u, this "
			 "uzswapd reads version %u: restart the program to have "
			 "it managed again", (unsigned)hdr.version, UZ_ARENA_VERSION);
		return -EPROTO;
	}
	if (err) {
		snprintf(why, len, "arena header is not valid");
		return err;
	}
	if (h->holder >= UZ_MAX_HOLDERS) {
		snprintf(why, len, "arena slot %u out of range", h->holder);
		return -EINVAL;
	}
	/* a fresh agent (not a forked child's, not one re-attaching: they
	 * have their userfaultfd and get no device descriptor) */
	if (fresh_agent(h)) {
		*verdict = policy_may_opt_in(&uzd.cfg, c->pid, c->uid, c->gid,
					     why, len);
		if (*verdict == OPT_IN_NO)
			return -EPERM; /* logged (rate-limited) as dropped */
	}
	return 0;
}

int client_hello(struct conn *c, const struct uz_msg *m, int fd,
		 char *cause, size_t cause_len)
{
	const struct uz_agent_hello *h = &m->u.hello;
	static struct uz_client_stats st;
	struct uz_agent_welcome w = { 0 };
	enum opt_in verdict = OPT_IN_NO;
	struct client *cl;
	uint64_t size;
	char buf[32];
	int err, i, give_dev;

	err = hello_check(c, h, fd, &verdict, cause, cause_len);
	if (err)
		goto close_fd;
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		err = -ENOMEM;
		goto close_fd;
	}
	cl->conn = c;
	cl->id = next_id++;
	cl->pid = c->pid;
	cl->uid = c->uid;
	cl->memfd = fd;
	cl->holder = h->holder;
	/* untrusted: NUL-terminate and keep it printable for logs and JSON */
	for (i = 0; i < 15 && h->comm[i]; i++)
		cl->comm[i] = h->comm[i] >= 0x20 && h->comm[i] < 0x7f ?
				      h->comm[i] : '?';
	TAILQ_INSERT_TAIL(&clients, cl, entry);
	auto_client_new(cl);
	count++;
	c->client = cl;
	conn_set_role(c, CONN_AGENT);

	if (h->flags & UZ_HELLO_READOPT) {
		if (stats_read(fd, cl->holder, &st, &size))
			st.stored_bytes = 0;
		log_debug("re-adopted client %d (%s) (%s stored)", (int)cl->pid,
			 cl->comm, size_format(st.stored_bytes, buf, sizeof(buf)));
	} else {
		log_debug("new client %d (%s)", (int)cl->pid, cl->comm);
	}
	w.client_id = cl->id;
	w.codec = uzd.cfg.codec;
	w.level = uzd.cfg.level;
	give_dev = uzd.uffd_dev >= 0 && fresh_agent(h) && verdict == OPT_IN_DEVICE;
	if (give_dev)
		w.flags |= UZ_WELCOME_UFFD_DEV;
	/* a failed send drops the connection, and with it the client */
	if (!conn_send(c, UZ_MSG_AGENT_WELCOME, m->hdr.seq, &w, sizeof(w),
		       give_dev ? uzd.uffd_dev : -1))
		server_status_soon();
	return 0;

close_fd:
	fd_discard(fd);
	return err;
}

/* The eviction @cl ran is over: unhook it from its uzswapctl. */
static struct conn *evict_detach(struct client *cl)
{
	struct conn *ctl = cl->evict_ctl;

	cl->evict_ctl = NULL;
	if (ctl)
		ctl_evict_end(ctl);
	return ctl;
}

static void evict_answer(struct client *cl, const struct uz_msg *m)
{
	struct conn *ctl = cl->evict_ctl;
	const struct uz_evict_done *d = &m->u.done;
	char a[32], b[32];
	int err;

	if (cl->auto_busy && m->hdr.seq == cl->auto_seq) {
		if (m->hdr.type == UZ_MSG_EVICT_DONE) {
			cl->auto_busy = 0;
			log_debug("client %d (%s): automatic step: %s in %u blocks",
				  (int)cl->pid, cl->comm,
				  size_format(d->bytes, a, sizeof(a)), d->blocks);
			auto_done(cl, d);
			server_status_soon();
		}
		return;
	}
	if (!ctl || m->hdr.seq != cl->evict_seq) {
		log_debug("client %d: ignoring an answer to no request",
			  (int)cl->pid);
		return;
	}
	if (m->hdr.type == UZ_MSG_EVICT_PROGRESS) {
		/* progress is only for show: skip it if the ctl lags */
		err = msg_send(ctl->fd, m->hdr.type, cl->evict_ctl_seq,
			       &m->u.progress, sizeof(m->u.progress), -1);
		if (err && err != -EAGAIN)
			conn_close(ctl);
		return;
	}
	evict_detach(cl);
	if (cl->evict_flags & UZ_EVICT_RESTORE)
		log_info("client %d (%s): restored %s in %u blocks%s%s",
			 (int)cl->pid, cl->comm, size_format(d->bytes, a, sizeof(a)),
			 d->blocks, d->err ? ", stopped: " : "",
			 d->err ? strerror(-d->err) : "");
	else
		log_info("client %d (%s): evicted %s in %u blocks -> %s stored%s%s",
			 (int)cl->pid, cl->comm, size_format(d->bytes, a, sizeof(a)),
			 d->blocks, size_format(d->stored, b, sizeof(b)),
			 d->err ? ", stopped: " : "", d->err ? strerror(-d->err) : "");
	conn_send(ctl, UZ_MSG_EVICT_DONE, cl->evict_ctl_seq, d, sizeof(*d), -1);
	server_status_soon();
}

int client_message(struct conn *c, const struct uz_msg *m, char *cause,
		   size_t cause_len)
{
	switch (m->hdr.type) {
	case UZ_MSG_EVICT_PROGRESS:
	case UZ_MSG_EVICT_DONE:
		evict_answer(c->client, m);
		return 0;
	case UZ_MSG_CSUM_FAIL:
		/* the agent has already poisoned the frame: nothing wrong
		 * reached the application; the log is for the admin */
		log_err("client %d (%s): frame %u of the block at %#llx "
			"(record %u) failed its checksum; the application gets "
			"SIGBUS there", (int)c->client->pid, c->client->comm,
			m->u.csum_fail.frame,
			(unsigned long long)m->u.csum_fail.addr,
			m->u.csum_fail.record);
		return 0;
	default:
		snprintf(cause, cause_len, "unexpected message (type %u) from "
			 "an agent", m->hdr.type);
		return -EPROTO;
	}
}

void client_gone(struct conn *c)
{
	struct client *cl = c->client;
	struct conn *ctl;

	ctl = evict_detach(cl);
	if (ctl)
		conn_send_error(ctl, cl->evict_ctl_seq, -ECONNRESET,
				"client %d went away during eviction",
				(int)cl->pid);
	auto_gone(cl);
	log_debug("client %d (%s) disconnected", (int)cl->pid, cl->comm);
	/* the arena stays with the application, which reconnects */
	fd_discard(cl->memfd);
	TAILQ_REMOVE(&clients, cl, entry);
	count--;
	c->client = NULL;
	free(cl);
	server_status_soon();
}

/* @hist as the agent wrote it, each bucket clamped (untrusted). */
static void hist_clamped(const uint64_t *hist, uint64_t *h)
{
	int i;

	for (i = 0; i < UZ_LAT_BUCKETS; i++)
		h[i] = hist[i] < UZ_HIST_BUCKET_MAX ? hist[i] : UZ_HIST_BUCKET_MAX;
}

static uint64_t percentile(const uint64_t *hist, double pct)
{
	uint64_t h[UZ_LAT_BUCKETS];

	hist_clamped(hist, h);
	return latency_percentile(h, pct);
}

static uint64_t hist_count(const uint64_t *hist)
{
	uint64_t h[UZ_LAT_BUCKETS];

	hist_clamped(hist, h);
	return latency_count(h);
}

void client_stats(struct client *cl, struct uz_stats_client *out)
{
	static struct uz_client_stats st;
	const struct uz_client_stats *s = &st;
	uint64_t size;

	memset(out, 0, sizeof(*out));
	out->pid = cl->pid;
	out->client_id = cl->id;
	memcpy(out->comm, cl->comm, sizeof(out->comm));
	out->connected = 1;
	out->auto_state = auto_enabled() ? cl->autoev.state : UZ_AUTO_OFF;
	out->holds = cl->autoev.holds;
	auto_cgroup_stats(cl, out);
	procfs_rss_anon(cl->pid, &out->resident_bytes);
	if (stats_read(cl->memfd, cl->holder, &st, &size)) {
		log_debug("client %d: arena header not valid", (int)cl->pid);
		return;
	}
	out->registered_bytes = s->registered_bytes;
	out->evicted_bytes = s->evicted_bytes;
	out->stored_bytes = s->stored_bytes;
	out->pool_bytes = s->pool_bytes < size ? s->pool_bytes : size;
	out->faults = s->faults;
	out->restores_2m = s->restores_2m;
	out->restores_64k = s->restores_64k;
	out->restores_4k = s->restores_4k;
	out->fills = s->fill_count;
	if (s->fill_count) { /* untrusted sums: a mean, whatever they hold */
		out->fill_avg_ns = s->fill_ns / s->fill_count;
		out->fill_decode_avg_ns = s->fill_decode_ns / s->fill_count;
		out->fill_copy_avg_ns = s->fill_copy_ns / s->fill_count;
	}
	out->restores_zero = s->restores_zero;
	out->prefetch_2m = s->prefetch_2m;
	out->evict_busy = s->evict_busy;
	out->csum_failures = s->csum_failures;
	out->lat_p50_ns = percentile(s->fault_lat, 50);
	out->lat_p99_ns = percentile(s->fault_lat, 99);
	out->restore2m_p50_ns = percentile(s->restore2m_lat, 50);
	out->restore2m_p99_ns = percentile(s->restore2m_lat, 99);
	out->refaults = hist_count(s->refault_age_ms);
	out->refault_age_p50_ms = percentile(s->refault_age_ms, 50);
	out->evicted_bytes_total = s->evicted_bytes_total;
	/* its own word: no list holds more */
	out->inactive_bytes = s->inactive_bytes < UZ_INACTIVE_MAX_BYTES ?
				      s->inactive_bytes : UZ_INACTIVE_MAX_BYTES;
	out->inactive_taken = s->inactive_taken;
	out->inactive_back = s->inactive_back;
	out->inactive_stored = s->inactive_stored;
	out->guard_blocks = s->guard_blocks;
}

int client_auto_counters(struct client *cl, uint32_t young_ms,
			 uint64_t *managed, uint64_t *young_refaults,
			 uint64_t *inactive, uint64_t *away, uint64_t *back)
{
	static struct uz_client_stats st;
	uint64_t size, h[UZ_LAT_BUCKETS];
	int err = stats_read(cl->memfd, cl->holder, &st, &size);

	if (err)
		return err;
	*managed = st.registered_bytes;
	*inactive = st.inactive_bytes;
	if (away)
		*away = st.evicted_bytes > st.pool_bytes ?
			st.evicted_bytes - st.pool_bytes : 0;
	if (back) /* sums of counters it could make anything of: its own */
		*back = (st.restores_2m + st.prefetch_2m + st.inactive_back) *
			UZ_BLOCK_SIZE + st.restores_64k * UZ_FRAME_SIZE +
			st.restores_4k * UZ_PAGE_SIZE;
	hist_clamped(st.refault_age_ms, h);
	*young_refaults = latency_count_below(h, young_ms);
	return 0;
}

void client_sum(struct uz_stats_end *sum, const struct uz_stats_client *s)
{
	sum->clients++;
	sum->registered_bytes = sat_add(sum->registered_bytes, s->registered_bytes);
	sum->evicted_bytes = sat_add(sum->evicted_bytes, s->evicted_bytes);
	sum->stored_bytes = sat_add(sum->stored_bytes, s->stored_bytes);
	sum->pool_bytes = sat_add(sum->pool_bytes, s->pool_bytes);
}

unsigned client_totals(struct uz_stats_end *sum, struct conn *viewer)
{
	struct uz_stats_client s;
	struct client *cl;
	unsigned n = 0;

	memset(sum, 0, sizeof(*sum));
	TAILQ_FOREACH(cl, &clients, entry) {
		if (viewer && !client_visible_to(cl, viewer))
			continue;
		client_stats(cl, &s);
		client_sum(sum, &s);
		n++;
	}
	return n;
}

int client_visible_to(const struct client *cl, struct conn *ctl)
{
	if (ctl->uid == cl->uid)
		return 1;
	if (!ctl->admin) /* once per connection: it reads /proc */
		ctl->admin = policy_is_admin(&uzd.cfg, ctl->pid, ctl->uid,
					     ctl->gid) ? 2 : 1;
	return ctl->admin == 2;
}

/* How @cl's agent is to bring back what @e takes: @set's readahead
 * and finish-after, its cgroup's (sent with every eviction, so that a
 * reload reaches agents at their next one) */
static void refill_of(const struct auto_config *set, struct uz_evict *e)
{
	e->flags |= UZ_EVICT_REFILL;
	e->readahead = (uint8_t)set->readahead;
	e->finish_after = (uint8_t)set->finish_after;
}

int client_evict(struct client *cl, struct conn *ctl, uint64_t seq,
		 const struct uz_ctl_evict *req)
{
	struct uz_evict e = { .bytes = req->bytes, .flags = req->flags };
	struct auto_config set;
	uint64_t dseq = next_evict_seq++;
	char buf[32];

	if (!client_visible_to(cl, ctl))
		return -EPERM;
	if (cl->evict_ctl)
		return -EBUSY;
	auto_settings_of(cl, &set);
	refill_of(&set, &e);
	if (conn_send(cl->conn, UZ_MSG_EVICT, dseq, &e, sizeof(e), -1))
		return -ECONNRESET; /* and @cl is gone */
	log_debug("client %d (%s): %s %s for %s", (int)cl->pid, cl->comm,
		  req->flags & UZ_EVICT_RESTORE ? "restoring" : "evicting",
		  req->flags & (UZ_EVICT_ALL | UZ_EVICT_RESTORE) ? "all" :
		  size_format(req->bytes, buf, sizeof(buf)), conn_name(ctl));
	if (req->flags & UZ_EVICT_RESTORE)
		auto_restored(cl);
	cl->evict_ctl = ctl;
	cl->evict_flags = req->flags;
	cl->evict_seq = dseq;
	cl->evict_ctl_seq = seq;
	cl->evict_deadline = now_ms() + uzd.cfg.evict_timeout * 1000ull;
	return 0;
}

int client_evict_auto(struct client *cl, uint64_t bytes, uint32_t guard_ms,
		      uint32_t min_age_ms, const struct auto_config *set)
{
	struct uz_evict e = { .bytes = bytes, .flags = UZ_EVICT_COLD,
			      .guard_ms = guard_ms, .min_age_ms = min_age_ms };
	uint64_t dseq = next_evict_seq++;

	if (client_evicting(cl))
		return -EBUSY;
	refill_of(set, &e);
	if (conn_send(cl->conn, UZ_MSG_EVICT, dseq, &e, sizeof(e), -1))
		return -ECONNRESET; /* and @cl is gone */
	cl->auto_busy = 1;
	cl->auto_seq = dseq;
	cl->auto_deadline = now_ms() + uzd.cfg.evict_timeout * 1000ull;
	return 0;
}

int client_tell_limited(struct client *cl)
{
	return conn_send(cl->conn, UZ_MSG_LIMITED, 0, NULL, 0, -1) ? -ECONNRESET : 0;
}

int client_ask_rescan(struct client *cl)
{
	return conn_send(cl->conn, UZ_MSG_RESCAN, 0, NULL, 0, -1) ? -ECONNRESET : 0;
}

void client_evict_forget(struct client *cl)
{
	cl->evict_ctl = NULL;
}

uint64_t client_expire(uint64_t now)
{
	uint64_t next = UINT64_MAX;
	struct client *cl;
	struct conn *ctl;

	TAILQ_FOREACH(cl, &clients, entry) {
		if (cl->auto_busy && cl->auto_deadline <= now) {
			log_limited(UZ_LOG_WARN, 3, 60, "client %d (%s): an "
				    "automatic eviction timed out",
				    (int)cl->pid, cl->comm);
			cl->auto_busy = 0;
			auto_done(cl, NULL);
		} else if (cl->auto_busy && cl->auto_deadline < next) {
			next = cl->auto_deadline;
		}
		if (!cl->evict_ctl)
			continue;
		if (cl->evict_deadline > now) {
			if (cl->evict_deadline < next)
				next = cl->evict_deadline;
			continue;
		}
		log_warn("client %d (%s): eviction timed out", (int)cl->pid,
			 cl->comm);
		ctl = evict_detach(cl);
		conn_send_error(ctl, cl->evict_ctl_seq, -ETIMEDOUT,
				"eviction from %d timed out after %u s "
				"(evict-timeout)",
				(int)cl->pid, uzd.cfg.evict_timeout);
	}
	return next;
}
