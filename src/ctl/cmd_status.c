/* SPDX-License-Identifier: MIT */
/* uzswapctl status: the daemon, its codec, its clients and totals. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "codec.h"
#include "columns.h"
#include "ctl.h"
#include "size.h"

/* "3d 4h", "2h 03m", "5m 12s", "12s" */
static void format_uptime(uint64_t s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%llud %lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lluh %02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%llum %02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
}

static const char *codec_name(int id)
{
	const struct codec_ops *ops = codec_ops_by_id(id);

	return ops ? ops->name : "unknown";
}

static void print_json(const struct uz_status *s)
{
	printf("{\"pid\": %u, \"version\": ", s->daemon_pid);
	json_string(stdout, s->version);
	printf(", \"uptime_sec\": %llu, \"codec\": ",
	       (unsigned long long)s->uptime_sec);
	json_string(stdout, codec_name(s->codec));
	printf(", \"level\": %d, \"clients\": %u, \"registered_bytes\": %llu, "
	       "\"evicted_bytes\": %llu, \"stored_bytes\": %llu, "
	       "\"pool_bytes\": %llu, \"ratio\": ",
	       s->level, s->clients, (unsigned long long)s->registered_bytes,
	       (unsigned long long)s->evicted_bytes,
	       (unsigned long long)s->stored_bytes,
	       (unsigned long long)s->pool_bytes);
	if (s->stored_bytes)
		printf("%.2f}\n", (double)s->evicted_bytes / s->stored_bytes);
	else
		printf("null}\n");
}

static void print_text(const struct uz_status *s)
{
	char up[32], reg[32], ev[32], st[32], pool[32];

	format_uptime(s->uptime_sec, up, sizeof(up));
	printf("uzswapd:     pid %u, version %s, up %s\n", s->daemon_pid,
	       s->version, up);
	printf("codec:       %s level %d\n", codec_name(s->codec), s->level);
	printf("clients:     %u\n", s->clients);
	printf("registered:  %s\n", size_format(s->registered_bytes, reg, sizeof(reg)));
	printf("evicted:     %s\n", size_format(s->evicted_bytes, ev, sizeof(ev)));
	printf("stored:      %s", size_format(s->stored_bytes, st, sizeof(st)));
	if (s->stored_bytes)
		printf(" (ratio %.2f)",
		       (double)s->evicted_bytes / s->stored_bytes);
	printf("\npool:        %s\n", size_format(s->pool_bytes, pool, sizeof(pool)));
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct uz_msg m;
	int ch, fd, json = 0;

	while ((ch = getopt_long(argc, argv, ":Jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'J':
			json = 1;
			break;
		case 'h':
			printf("Usage: uzswapctl status [--json]\n\n"
			       "The daemon's pid, version, uptime and codec, "
			       "its clients and their totals.\n");
			return 0;
		default:
			ctl_bad_option("status", ch, argv);
		}
	}
	if (optind < argc)
		ctl_usage_error("status: unexpected argument '%s'", argv[optind]);
	fd = ctl_connect();
	ctl_send(fd, UZ_MSG_CTL_STATUS, 1, NULL, 0);
	ctl_recv(fd, &m, 1, -1);
	close(fd);
	if (m.hdr.type != UZ_MSG_STATUS)
		ctl_die("unexpected reply (type %u) from uzswapd", m.hdr.type);
	m.u.status.version[sizeof(m.u.status.version) - 1] = 0;
	if (json)
		print_json(&m.u.status);
	else
		print_text(&m.u.status);
	return 0;
}
