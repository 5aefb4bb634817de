/* SPDX-License-Identifier: MIT */
/* Requests from uzswapctl: status, stats, eviction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "ctlreq.h"
#include "daemon.h"
#include "msg.h"
#include "server.h"

/* The state of one uzswapctl connection. */
struct ctl {
	struct client *evict_client; /* the eviction it waits for */
	/* a stats reply that did not fit the socket at once */
	int streaming;
	int end_pending; /* only UZ_MSG_STATS_END is left to send */
	uint64_t stats_seq;
	uint32_t stats_next; /* client id to send next */
	struct uz_stats_end sum;
};

int ctl_type(unsigned type)
{
	return type == UZ_MSG_CTL_STATUS || type == UZ_MSG_CTL_STATS ||
	       type == UZ_MSG_CTL_EVICT;
}

static int ctl_status(struct conn *c, uint64_t seq)
{
	struct uz_status s = { 0 };
	struct uz_stats_end t;

	/* the clients the asker may see (all for root and admin=) */
	s.clients = client_totals(&t, c);
	s.daemon_pid = getpid();
	s.uptime_sec = (now_ms() - uzd.started_ms) / 1000;
	s.codec = uzd.cfg.codec;
	s.level = uzd.cfg.level;
	s.registered_bytes = t.registered_bytes;
	s.evicted_bytes = t.evicted_bytes;
	s.stored_bytes = t.stored_bytes;
	s.pool_bytes = t.pool_bytes;
	snprintf(s.version, sizeof(s.version), "%s", PACKAGE_VERSION);
	conn_send(c, UZ_MSG_STATUS, seq, &s, sizeof(s), -1);
	return 0;
}

/*
 * Send UZ_MSG_STATS_CLIENT for every client the asker may see (root:
 * all; others: their own), then UZ_MSG_STATS_END with their sum.
 * With thousands of clients the reply can outgrow the socket buffer of
 * a uzswapctl that is reading it all the same: unlike other replies,
 * this one waits for EPOLLOUT and resumes, by client id, where it was.
 */
static void stats_pump(struct conn *c)
{
	struct ctl *t = c->ctl;
	struct uz_stats_client s;
	struct client *cl;
	int err;

	while (!t->end_pending && (cl = client_from_id(t->stats_next))) {
		/* another user's processes are as private as in /proc with
		 * hidepid: their names and figures are not shown */
		if (!client_visible_to(cl, c)) {
			t->stats_next = client_id(cl) + 1;
			continue;
		}
		client_stats(cl, &s);
		err = msg_send(c->fd, UZ_MSG_STATS_CLIENT, t->stats_seq, &s,
			       sizeof(s), -1);
		if (err)
			goto blocked;
		t->stats_next = client_id(cl) + 1;
		client_sum(&t->sum, &s);
	}
	t->end_pending = 1;
	err = msg_send(c->fd, UZ_MSG_STATS_END, t->stats_seq, &t->sum,
		       sizeof(t->sum), -1);
	if (err)
		goto blocked;
	t->streaming = 0;
	conn_want_write(c, 0);
	return;

blocked:
	if (err == -EAGAIN)
		conn_want_write(c, 1);
	else
		conn_close(c);
}

static int ctl_stats(struct conn *c, uint64_t seq)
{
	struct ctl *t = c->ctl;

	t->streaming = 1;
	t->end_pending = 0;
	t->stats_seq = seq;
	t->stats_next = 0;
	memset(&t->sum, 0, sizeof(t->sum));
	stats_pump(c);
	return 0;
}

/* Why an eviction request failed, for the uzswapctl user. */
static void evict_why(int err, const struct uz_ctl_evict *req, char *buf,
		      size_t len)
{
	switch (err) {
	case -ENOENT:
		snprintf(buf, len, "no uzswap client with pid %u", req->pid);
		break;
	case -EINVAL:
		if (req->flags & ~UZ_EVICT_FLAGS)
			snprintf(buf, len, "unknown eviction flags 0x%x",
				 req->flags);
		else
			snprintf(buf, len, "nothing to evict: 0 bytes");
		break;
	case -EPERM:
		snprintf(buf, len, "permission denied: pid %u belongs to "
			 "another user", req->pid);
		break;
	case -EBUSY:
		snprintf(buf, len, "an eviction is already running for pid %u",
			 req->pid);
		break;
	default:
		snprintf(buf, len, "client %u went away during eviction",
			 req->pid);
	}
}

static int ctl_evict(struct conn *c, const struct uz_msg *m, char *cause,
		     size_t cause_len)
{
	const struct uz_ctl_evict *req = &m->u.ctl_evict;
	char why[128];
	struct client *cl;
	int err;

	if (c->ctl->evict_client) {
		snprintf(cause, cause_len, "second eviction on one connection");
		return -EPROTO;
	}
	cl = client_find(req->pid);
	/* another user's client is not there, as far as this asker knows */
	if (!cl || !client_visible_to(cl, c))
		err = -ENOENT;
	else if ((req->flags & ~UZ_EVICT_FLAGS) ||
		 (!(req->flags & (UZ_EVICT_ALL | UZ_EVICT_RESTORE)) && !req->bytes))
		err = -EINVAL;
	else
		err = client_evict(cl, c, m->hdr.seq, req);
	if (!err) {
		c->ctl->evict_client = cl;
		return 0;
	}
	/* a refused request is an answer, not a reason to drop @c */
	evict_why(err, req, why, sizeof(why));
	conn_send_error(c, m->hdr.seq, err, "%s", why);
	return 0;
}

int ctl_message(struct conn *c, const struct uz_msg *m, char *cause,
		size_t cause_len)
{
	if (c->role == CONN_NEW) {
		c->ctl = calloc(1, sizeof(*c->ctl));
		if (!c->ctl)
			return -ENOMEM;
		conn_set_role(c, CONN_CTL);
	}
	switch (m->hdr.type) {
	case UZ_MSG_CTL_STATUS:
		return ctl_status(c, m->hdr.seq);
	case UZ_MSG_CTL_STATS:
		return ctl_stats(c, m->hdr.seq);
	case UZ_MSG_CTL_EVICT:
		return ctl_evict(c, m, cause, cause_len);
	default:
		snprintf(cause, cause_len, "unexpected message (type %u) from "
			 "uzswapctl", m->hdr.type);
		return -EPROTO;
	}
}

void ctl_writable(struct conn *c)
{
	if (c->role == CONN_CTL && c->ctl->streaming)
		stats_pump(c);
}

void ctl_gone(struct conn *c)
{
	if (c->ctl->evict_client)
		client_evict_forget(c->ctl->evict_client);
	free(c->ctl);
	c->ctl = NULL;
}

void ctl_evict_end(struct conn *c)
{
	c->ctl->evict_client = NULL;
}
