/* SPDX-License-Identifier: MIT */
/* Events that wake the automatic loop: see memevents.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autoevict.h"
#include "autopolicy.h"
#include "cgpath.h"
#include "checksum.h"
#include "log.h"
#include "memcg.h"
#include "memevents.h"
#include "daemon.h"

#define PSI_FILE "/proc/pressure/memory"
/* a usage threshold and a pressure level listener per limited v1
 * cgroup, half the slots for each kind (a threshold, which keeps the
 * OOM killer away, never waits for a listener's slot), for 256 cgroups;
 * the rest are polled (limits) or go by the other pressures */
#define WATCHES_MAX 512
#define WATCHES_OF_KIND (WATCHES_MAX / 2)
#define CG_TRIGGERS_MAX 64 /* cgroup v2 pressure triggers; the rest polled */
#define LEVEL_REWAKE_MS 1000 /* a level event after a quiet second wakes */
#define LIMIT_EVENT_REWAKE_MS 100 /* a v2 limit event wakes this far apart */
#define EVENTS_MAX 16

/* What a watch listens to */
enum watch_kind {
	/* a level near its limit: on v1, memory.usage_in_bytes crossing a
	 * threshold (an eventfd); on v2, which has no such threshold, its
	 * memory.events.local counting "high" or "max" (its own limits
	 * met: the brake's memory.high stands where a limit step begins) */
	WATCH_THRESHOLD,
	/* memory.pressure_level at "medium" or worse: v1 has no PSI of
	 * its own, and this is the kernel's word that reclaim in that
	 * cgroup (or below) struggles */
	WATCH_LEVEL,
};

/* One cgroup v1 eventfd, or one cgroup v2 memory.events.local */
struct watch {
	int efd;	   /* -1: a free slot */
	int v2_events;	   /* efd is memory.events.local, read again at
			    * each event (kernfs: a read re-arms it) */
	enum watch_kind kind;
	uint64_t cg_id;	   /* memcg_use.id */
	uint64_t ino;	   /* memcg_use.ino: a cgroup made again at that
			    * path (a service restarted) is another one */
	uint64_t keep_until; /* let go of after, unless renewed */
	uint64_t threshold; /* WATCH_THRESHOLD: bytes (v1) */
	uint64_t limit_hits; /* v2_events: "high" + "max" + "oom" at the
			      * last read */
	uint64_t fired_ms;  /* WATCH_LEVEL, v2_events: its last event */
	char name[80];	    /* the cgroup, printable, for the log */
};

/* A PSI trigger on one cgroup v2's memory.pressure */
struct cg_trigger {
	int fd;		     /* -1: a free slot */
	uint64_t key;	     /* a hash of the file's path */
	uint64_t ino;	     /* the file's: a cgroup made again is another */
	unsigned pct;
	uint64_t keep_until; /* let go of after, unless renewed */
	uint64_t fired_ms;
	char name[80];	     /* the cgroup, printable, for the log */
};

/* epfd: ours, for the thresholds; server_epfd: the daemon's, where the
 * trigger sits itself (a trigger's event is cleared by any poll of it,
 * so the daemon's poll of our set would eat it) */
static int epfd = -1, server_epfd = -1, psi_fd = -1;
static void *psi_tag;
static unsigned psi_pct;
static uint64_t psi_fired_ms;
static struct watch watches[WATCHES_MAX];
static struct cg_trigger cg_triggers[CG_TRIGGERS_MAX];

int memevents_init(int daemon_epfd, void *pressure_tag)
{
	unsigned i;

	for (i = 0; i < WATCHES_MAX; i++)
		watches[i].efd = -1;
	for (i = 0; i < CG_TRIGGERS_MAX; i++)
		cg_triggers[i].fd = -1;
	server_epfd = daemon_epfd;
	psi_tag = pressure_tag;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd < 0 ? -errno : epfd;
}

/* Add @fd to epoll set @ep for @events with @tag, or close it: 0 or -1 */
static int watch_fd(int ep, int fd, uint32_t events, void *tag)
{
	struct epoll_event ev = { .events = events, .data.ptr = tag };

	if (!epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		return 0;
	log_warn("epoll: %s", strerror(errno));
	close(fd);
	return -1;
}

static void pressure_close(void)
{
	if (psi_fd < 0)
		return;
	epoll_ctl(server_epfd, EPOLL_CTL_DEL, psi_fd, NULL);
	close(psi_fd);
	psi_fd = -1;
	psi_pct = 0;
}

/* A trigger of "some" stall at @pct % of @window_us on PSI file @file:
 * the descriptor or -errno. */
static int trigger_open(const char *file, unsigned pct, unsigned window_us)
{
	char spec[64];
	int fd = open(file, O_RDWR | O_NONBLOCK | O_CLOEXEC), n;

	if (fd < 0)
		return -errno;
	n = snprintf(spec, sizeof(spec), "some %u %u", window_us / 100 * pct,
		     window_us);
	/* the kernel takes the terminating NUL as part of the trigger */
	if (write(fd, spec, (size_t)n + 1) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* ... with a 1 s window, which needs CAP_SYS_RESOURCE; without it the
 * kernel wants a multiple of 2 s (EINVAL) */
static int pressure_open(const char *file, unsigned pct)
{
	int fd = trigger_open(file, pct, 1000000);

	return fd == -EINVAL ? trigger_open(file, pct, 2000000) : fd;
}

void memevents_pressure_arm(unsigned pct)
{
	int fd;

	if (pct == psi_pct && (psi_fd >= 0 || !pct))
		return;
	pressure_close();
	if (!pct || epfd < 0)
		return;
	fd = pressure_open(PSI_FILE, pct);
	if (fd < 0) {
		/* no PSI (or no triggers): avg10, read at each step, only */
		log_info("no memory pressure trigger (%s: %s): pressure is "
			 "read at each step", PSI_FILE, strerror(-fd));
		return;
	}
	if (watch_fd(server_epfd, fd, EPOLLPRI, psi_tag))
		return;
	psi_fd = fd;
	psi_pct = pct;
	log_debug("memory pressure trigger armed: some %u%%", pct);
}

unsigned memevents_pressure_recent(uint64_t now, uint64_t within_ms)
{
	return psi_fd >= 0 && psi_fired_ms && now - psi_fired_ms <= within_ms ?
		       psi_pct : 0;
}

/* @cg's watch of @kind (*@found 1), else a free slot (*@found 0), else
 * NULL (none free, or WATCHES_OF_KIND of that kind already) */
static struct watch *watch_slot(const struct memcg_use *cg,
				enum watch_kind kind, int *found)
{
	struct watch *free_slot = NULL;
	unsigned i, of_kind = 0;

	*found = 0;
	for (i = 0; i < WATCHES_MAX; i++) {
		if (watches[i].efd < 0) {
			if (!free_slot)
				free_slot = &watches[i];
		} else if (watches[i].kind == kind) {
			if (watches[i].cg_id == cg->id) {
				*found = 1;
				return &watches[i];
			}
			of_kind++;
		}
	}
	return of_kind < WATCHES_OF_KIND ? free_slot : NULL;
}

/* Slot @w now watches @efd (into the set, or closed: -1), @cg's, of
 * @kind, until @keep_until unless renewed; 0 or -1.  A v2 events file
 * is watched for EPOLLPRI: kernfs says EPOLLIN always. */
static int watch_set(struct watch *w, int efd, enum watch_kind kind,
		     const struct memcg_use *cg, uint64_t keep_until)
{
	if (watch_fd(epfd, efd, cg->v1 ? EPOLLIN : EPOLLPRI, w))
		return -1;
	w->efd = efd;
	w->v2_events = !cg->v1;
	w->kind = kind;
	w->cg_id = cg->id;
	w->ino = cg->ino;
	w->keep_until = keep_until;
	return 0;
}

static void watch_close(struct watch *w)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, w->efd, NULL);
	close(w->efd); /* the kernel drops the threshold with it */
	w->efd = -1;
}

/* The slot to set @cg's watch of @kind up in now (@threshold: of a
 * WATCH_THRESHOLD), or NULL: none wanted (no limit: one there before is
 * closed), the one there watches that already (renewed until
 * @keep_until), or no slot is left (then polled, or the other
 * pressures count).  One there for an older cgroup at that path or
 * another threshold (a limit changed at run time) is closed. */
static struct watch *watch_wanted(const struct memcg_use *cg,
				  enum watch_kind kind, uint64_t threshold,
				  uint64_t keep_until)
{
	int found;
	struct watch *w = watch_slot(cg, kind, &found);

	if (cg->limit == MEMCG_NO_LIMIT) {
		/* the limit was taken away; and reclaim is aimed at a level
		 * only at its limit, or at the root by the machine's own
		 * (its PSI says that) */
		if (found)
			watch_close(w);
		return NULL;
	}
	if (found && w->ino == cg->ino &&
	    (kind != WATCH_THRESHOLD || w->threshold == threshold)) {
		w->keep_until = keep_until;
		return NULL;
	}
	if (found)
		watch_close(w);
	return w;
}

/* An eventfd registered through v1 cgroup @dir's cgroup.event_control
 * on its file @file with @args ("<efd> <fd of file> <args>"), or
 * -errno. */
static int v1_event_open(const char *dir, const char *file, const char *args)
{
	char path[MEMCG_PATH_MAX + 64], spec[128];
	int efd, ffd, cfd, n, err = 0;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ffd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/cgroup.event_control", dir);
	cfd = open(path, O_WRONLY | O_CLOEXEC);
	if (ffd < 0 || cfd < 0) {
		err = -errno;
	} else {
		n = snprintf(spec, sizeof(spec), "%d %d %s", efd, ffd, args);
		if (write(cfd, spec, (size_t)n) < 0)
			err = -errno;
	}
	if (ffd >= 0)
		close(ffd);
	if (cfd >= 0)
		close(cfd);
	if (err) {
		close(efd);
		return err;
	}
	return efd;
}

/* The eventfd of a threshold at @threshold bytes on v1 cgroup @dir, or
 * -errno. */
static int threshold_open(const char *dir, uint64_t threshold)
{
	char args[32];

	snprintf(args, sizeof(args), "%llu", (unsigned long long)threshold);
	return v1_event_open(dir, "memory.usage_in_bytes", args);
}

static void cg_trigger_close(struct cg_trigger *t)
{
	epoll_ctl(server_epfd, EPOLL_CTL_DEL, t->fd, NULL);
	close(t->fd);
	t->fd = -1;
}

/* The printable tail of cgroup path @path, which names the unit, into
 * @out for the log */
static void name_tail(char *out, size_t len, const char *path)
{
	const char *name = memcg_printable(path);
	size_t n = strlen(name);

	snprintf(out, len, "%s", n >= len ? name + n - len + 1 : name);
}

void memevents_level_watch(const struct memcg_use *cg, uint64_t now,
			   uint64_t keep_ms)
{
	struct watch *w;
	int efd;

	if (epfd < 0 || !cg->v1 ||
	    !(w = watch_wanted(cg, WATCH_LEVEL, 0, now + keep_ms)))
		return;
	/* "local": reclaim aimed at this level's own limit, not that of
	 * a cgroup below it (another user's, perhaps, under a shared
	 * slice: with "hierarchy" his writes in his own small cgroup
	 * backed off every client under the slice, review probe P3) */
	efd = v1_event_open(cg->dir, "memory.pressure_level", "medium,local");
	if (efd < 0) {
		log_limited(UZ_LOG_INFO, 3, 3600, "memory cgroup %s: no pressure "
			    "level event (%s): the machine's pressure counts",
			    memcg_printable(cg->dir), strerror(-efd));
		return;
	}
	if (watch_set(w, efd, WATCH_LEVEL, cg, now + keep_ms))
		return;
	w->fired_ms = 0;
	name_tail(w->name, sizeof(w->name), cg->dir);
	log_debug("memory cgroup %s: pressure level listener armed (medium)",
		  memcg_printable(cg->dir));
}

int memevents_level_recent(uint64_t cg_id, uint64_t ino, uint64_t now,
			   uint64_t within_ms)
{
	unsigned i;

	for (i = 0; i < WATCHES_MAX; i++)
		if (watches[i].efd >= 0 && watches[i].kind == WATCH_LEVEL &&
		    watches[i].cg_id == cg_id && watches[i].ino == ino)
			return watches[i].fired_ms &&
			       now - watches[i].fired_ms <= within_ms;
	return 0;
}

/* Listener @w's eventfd is readable: reclaim struggled there, or the
 * cgroup is going (the kernel signals each listener once as it removes
 * it; the inode tells the next cgroup at that path apart).  Only clients
 * taking are woken: those backed off stay so (an event a second would
 * step them all every second, only to back off again). */
static void level_event(struct watch *w, uint64_t now)
{
	/* a struggling reclaim says so again and again: its clients are
	 * woken on the first, and the rest keep it recent */
	int quiet = !w->fired_ms || now - w->fired_ms > LEVEL_REWAKE_MS;

	w->fired_ms = now;
	if (!quiet)
		return;
	log_limited(UZ_LOG_DEBUG, 3, 60, "memory pressure level event: "
		    "cgroup %s, medium or worse", w->name);
	auto_event_taking(w->cg_id);
}

uint64_t memevents_limit_expire(uint64_t now, int all)
{
	uint64_t next = UINT64_MAX;
	unsigned i;

	for (i = 0; i < WATCHES_MAX; i++) {
		if (watches[i].efd < 0)
			continue;
		if (all || watches[i].keep_until < now)
			watch_close(&watches[i]);
		else if (watches[i].keep_until < next)
			next = watches[i].keep_until;
	}
	for (i = 0; i < CG_TRIGGERS_MAX; i++) {
		if (cg_triggers[i].fd < 0)
			continue;
		if (all || cg_triggers[i].keep_until < now)
			cg_trigger_close(&cg_triggers[i]);
		else if (cg_triggers[i].keep_until < next)
			next = cg_triggers[i].keep_until;
	}
	return next;
}

static struct cg_trigger *cg_trigger_find(uint64_t key)
{
	unsigned i;

	for (i = 0; i < CG_TRIGGERS_MAX; i++)
		if (cg_triggers[i].fd >= 0 && cg_triggers[i].key == key)
			return &cg_triggers[i];
	return NULL;
}

void memevents_cg_pressure_watch(const char *file, unsigned pct, uint64_t now,
				 uint64_t keep_ms)
{
	struct cg_trigger *t = cg_trigger_find(name_hash(file));
	struct stat st;
	unsigned i;
	int fd;

	if (server_epfd < 0 || !file[0] || !pct || stat(file, &st))
		return;
	if (t && t->pct == pct && t->ino == (uint64_t)st.st_ino) {
		t->keep_until = now + keep_ms;
		return;
	}
	if (t) /* another threshold, or the cgroup was made again */
		cg_trigger_close(t);
	for (i = 0; !t && i < CG_TRIGGERS_MAX; i++)
		if (cg_triggers[i].fd < 0)
			t = &cg_triggers[i];
	if (!t)
		return; /* more cgroups than triggers: avg10, polled */
	fd = pressure_open(file, pct);
	if (fd < 0) {
		log_limited(UZ_LOG_INFO, 3, 3600, "%s: no pressure trigger (%s): "
			    "read at each step", memcg_printable(file),
			    strerror(-fd));
		return;
	}
	if (watch_fd(server_epfd, fd, EPOLLPRI, t))
		return;
	t->fd = fd;
	t->key = name_hash(file);
	t->ino = (uint64_t)st.st_ino;
	t->pct = pct;
	t->keep_until = now + keep_ms;
	t->fired_ms = 0;
	name_tail(t->name, sizeof(t->name), file);
	log_debug("%s: pressure trigger armed: some %u%%", t->name, pct);
}

unsigned memevents_cg_pressure_recent(const char *file, uint64_t now,
				      uint64_t within_ms)
{
	const struct cg_trigger *t = file[0] ? cg_trigger_find(name_hash(file)) : NULL;

	return t && t->fired_ms && now - t->fired_ms <= within_ms ? t->pct : 0;
}

int memevents_cg_pressure_event(void *tag, uint32_t events)
{
	struct cg_trigger *t = tag;

	if ((char *)tag < (char *)cg_triggers ||
	    (char *)tag >= (char *)(cg_triggers + CG_TRIGGERS_MAX))
		return 0;
	if (t->fd < 0)
		return 1; /* closed since this wait began */
	if (events & EPOLLERR) {
		/* the cgroup is gone: its file says so at every poll */
		cg_trigger_close(t);
		return 1;
	}
	t->fired_ms = now_ms();
	log_limited(UZ_LOG_DEBUG, 3, 60, "memory pressure trigger fired: "
		    "cgroup %s, some %u%% or more", t->name, t->pct);
	auto_event(0);
	return 1;
}

/* "high", "max" and "oom" of the flat-keyed memory.events(.local) at
 * @fd, summed into *@hits (read from the start: a read of a kernfs file
 * is also what re-arms its EPOLLPRI); 0 or -errno (ENODEV: the cgroup
 * was removed) */
static int limit_hits_read(int fd, uint64_t *hits)
{
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = 0;
	*hits = cg_flat_value(buf, "high ") + cg_flat_value(buf, "max ") +
		cg_flat_value(buf, "oom ");
	return 0;
}

/* v2 cgroup @dir's memory.events.local (its own limits' events, not
 * those of cgroups below it), open and read once (*@hits), or -errno */
static int limit_events_open(const char *dir, uint64_t *hits)
{
	char path[MEMCG_PATH_MAX + 64];
	int fd, err;

	snprintf(path, sizeof(path), "%s/memory.events.local", dir);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = limit_hits_read(fd, hits);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* v2 watch @w's events file changed: its cgroup met its memory.high or
 * memory.max (again), and its clients look now, LIMIT_EVENT_REWAKE_MS
 * apart at most (over memory.high the kernel says so at each charge,
 * every 10 ms); other counts ("low", "oom_kill") wake nobody.  A file
 * that cannot be read (the cgroup is gone) is let go of. */
static void limit_event(struct watch *w, uint64_t now)
{
	uint64_t hits;

	if (limit_hits_read(w->efd, &hits)) {
		watch_close(w);
		return;
	}
	if (hits == w->limit_hits)
		return;
	w->limit_hits = hits;
	if (w->fired_ms && now - w->fired_ms < LIMIT_EVENT_REWAKE_MS)
		return;
	w->fired_ms = now;
	log_limited(UZ_LOG_DEBUG, 3, 60, "memory cgroup %s: its limit was "
		    "met (memory.events.local)", w->name);
	auto_event(w->cg_id);
}

void memevents_limit_watch(const struct memcg_use *cg, uint64_t now,
			   uint64_t keep_ms)
{
	struct watch *w;
	uint64_t threshold, hits = 0;
	int efd;

	if (epfd < 0)
		return;
	/* v2 has no usage threshold: its events file instead */
	threshold = cg->limit == MEMCG_NO_LIMIT || !cg->v1 ? 0 :
		    cg->limit - auto_limit_room(cg->limit);
	w = watch_wanted(cg, WATCH_THRESHOLD, threshold, now + keep_ms);
	if (!w)
		return;
	efd = cg->v1 ? threshold_open(cg->dir, threshold) :
		       limit_events_open(cg->dir, &hits);
	if (efd < 0) {
		log_limited(UZ_LOG_INFO, 3, 3600, "memory cgroup %s: no %s "
			    "event (%s): its limit is polled",
			    memcg_printable(cg->dir),
			    cg->v1 ? "usage threshold" : "memory.events.local",
			    strerror(-efd));
		return;
	}
	if (watch_set(w, efd, WATCH_THRESHOLD, cg, now + keep_ms))
		return;
	w->threshold = threshold;
	w->limit_hits = hits;
	w->fired_ms = 0;
	name_tail(w->name, sizeof(w->name), cg->dir);
	if (cg->v1)
		log_debug("memory cgroup %s: woken at %llu bytes of its %llu",
			  memcg_printable(cg->dir), (unsigned long long)threshold,
			  (unsigned long long)cg->limit);
	else
		log_debug("memory cgroup %s: woken when it meets its "
			  "memory.high or memory.max (%llu)",
			  memcg_printable(cg->dir), (unsigned long long)cg->limit);
}

unsigned memevents_limit_watches(void)
{
	unsigned i, n = 0;

	for (i = 0; i < WATCHES_MAX; i++)
		n += watches[i].efd >= 0 && watches[i].kind == WATCH_THRESHOLD;
	return n;
}

void memevents_pressure_event(void)
{
	/* pressure rose: every client taking is judged again now, and
	 * backs off (autoevict.c reads this) */
	psi_fired_ms = now_ms();
	log_limited(UZ_LOG_DEBUG, 3, 60, "memory pressure trigger fired: "
		    "some %u%% or more", psi_pct);
	auto_event(0);
}

void memevents_dispatch(void)
{
	struct epoll_event ev[EVENTS_MAX];
	int i, n = epoll_wait(epfd, ev, EVENTS_MAX, 0);

	for (i = 0; i < n; i++) {
		struct watch *w = ev[i].data.ptr;
		uint64_t count;

		if (w->efd < 0)
			continue; /* closed since this wait began */
		if (w->v2_events) {
			limit_event(w, now_ms());
			continue;
		}
		if (read(w->efd, &count, sizeof(count)) < 0) {
			if (errno != EAGAIN)
				watch_close(w);
			continue;
		}
		if (w->kind == WATCH_LEVEL)
			level_event(w, now_ms());
		else
			/* crossed either way, or the cgroup was removed: its
			 * clients look at their limit now (and a removed
			 * one's watch is set up again on the new cgroup, by
			 * inode) */
			auto_event(w->cg_id);
	}
}
