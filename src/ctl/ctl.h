/* SPDX-License-Identifier: MIT */
/* uzswapctl: the subcommand table and what the subcommands share. */
#ifndef UZ_CTL_H
#define UZ_CTL_H

#include <stdint.h>

#include "msg.h"

#define UZ_EXIT_FAIL 1
#define UZ_EXIT_USAGE 2

/* One subcommand; exec gets argv[0] = its name, returns the exit status. */
struct ctl_entry {
	const char *name;
	const char *args; /* synopsis after the name */
	const char *help; /* one line */
	int (*exec)(int argc, char **argv);
};

extern const char *ctl_socket; /* --socket, or NULL */

/* The daemon's socket: --socket, else $UZSWAP_SOCKET, else the default. */
const char *ctl_socket_path(void);
/* Connect to uzswapd, or exit with the reason. */
int ctl_connect(void);
/* Send a request, or exit with the reason. */
void ctl_send(int fd, unsigned type, uint64_t seq, const void *payload,
	      uint32_t len);
/*
 * Receive the next message answering @seq, waiting at most @timeout_ms
 * (-1: for ever).  UZ_MSG_ERROR and a broken link exit with the reason.
 * Returns 0, or -ETIMEDOUT.
 */
int ctl_recv(int fd, struct uz_msg *m, uint64_t seq, int timeout_ms);

/* "uzswapctl: <reason>" on stderr and exit 1. */
void ctl_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* The same for a usage error, exit 2. */
void ctl_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* Report an option getopt_long() did not take: it returned @ch, '?' or
 * ':' (an optstring starting with ':' tells the two apart).  Exit 2. */
void ctl_bad_option(const char *cmd, int ch, char **argv)
	__attribute__((noreturn));

/* A positive number of seconds ("2", "0.5"), or exit with the reason. */
double ctl_parse_seconds(const char *what, const char *s);

int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_evict(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
