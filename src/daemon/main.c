/* SPDX-License-Identifier: MIT */
/* uzswapd: options, configuration, start-up, reload and shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "autoevict.h"
#include "brake.h"
#include "client.h"
#include "closer.h"
#include "codec.h"
#include "daemon.h"
#include "hold.h"
#include "listen.h"
#include "log.h"
#include "msg.h"
#include "server.h"
#include "subids.h"
#include "size.h"
#include "systemd.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4 /* Linux 4.4; older libc headers lack it */
#endif

#define UZ_EXIT_USAGE 2

struct daemon uzd = { .uffd_dev = -1 };

/* What the command line said; it beats the configuration. */
static struct {
	const char *socket;
	const char *config;
	const char *codec;
	const char *allow;
	int verbose;
} opt;

static char socket_path[UZ_SOCKET_PATH_MAX];

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: uzswapd [OPTIONS]\n"
		"Userspace compressed swap daemon.\n\n"
		"  -s, --socket PATH    listen on PATH (default: $%s, the\n"
		"                       configuration, %s)\n"
		"  -c, --codec SPEC     lz4, zstd or zstd:LEVEL for new frames\n"
		"  -C, --config FILE    configuration file (default %s)\n"
		"  -a, --allow LIST     who may opt in besides root (allow= of\n"
		"                       uzswapd.conf(5); 'all' for anyone)\n"
		"  -f, --foreground     run in the foreground (always the case)\n"
		"  -v, --verbose        log debug messages\n"
		"  -V, --version        print the version and exit\n"
		"  -h, --help           print this help and exit\n\n"
		"See uzswapd(8) and uzswapd.conf(5).\n",
		UZ_SOCKET_ENV, UZ_SOCKET_DEFAULT, UZ_CONFIG_DEFAULT);
}

static void options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "codec", required_argument, NULL, 'c' },
		{ "config", required_argument, NULL, 'C' },
		{ "allow", required_argument, NULL, 'a' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "s:c:C:a:fvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			opt.socket = optarg;
			break;
		case 'c':
			opt.codec = optarg;
			break;
		case 'C':
			opt.config = optarg;
			break;
		case 'a':
			opt.allow = optarg;
			break;
		case 'f':
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'V':
			printf("uzswapd %s (protocol %d)\n", PACKAGE_VERSION,
			       UZ_PROTOCOL_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(UZ_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "uzswapd: unexpected argument '%s'\n",
			argv[optind]);
		exit(UZ_EXIT_USAGE);
	}
}

/*
 * Read the configuration and lay the command line over it.  At start-up
 * an error is fatal; on reload it keeps the settings in force.
 */
static int settings_load(struct config *cfg, char *cause, size_t len)
{
	int err;

	config_defaults(cfg);
	err = config_load(cfg, opt.config ? opt.config : UZ_CONFIG_DEFAULT,
			  opt.config != NULL, cause, len);
	if (err)
		return err;
	if (opt.codec &&
	    codec_parse(opt.codec, &cfg->codec, &cfg->level, cause, len))
		return -EINVAL;
	if (opt.allow && config_set_allow(cfg, opt.allow, cause, len))
		return -EINVAL;
	if (opt.verbose)
		cfg->log_level = UZ_LOG_DEBUG;
	return 0;
}

/* --socket, else $UZSWAP_SOCKET, else socket=, else the default. */
static const char *socket_choose(const struct config *cfg)
{
	if (opt.socket)
		return opt.socket;
	if (getenv(UZ_SOCKET_ENV) || !cfg->socket[0])
		return msg_socket_path();
	return cfg->socket;
}

static const char *codec_name(int id)
{
	const struct codec_ops *ops = codec_ops_by_id(id);

	return ops ? ops->name : "?";
}

void daemon_reload(void)
{
	struct config cfg;
	char cause[512];

	if (settings_load(&cfg, cause, sizeof(cause))) {
		log_err("reload: %s; keeping the old configuration", cause);
		return;
	}
	if (strcmp(socket_choose(&cfg), socket_path))
		log_warn("reload: a new socket path takes effect at restart");
	uzd.cfg = cfg;
	auto_configure(); /* auto=, its intervals and thresholds may have changed */
	log_init("uzswapd", cfg.log_level);
	subids_load();
	log_info("configuration reloaded: codec %s level %d, log-level %s, "
		 "evict-timeout %u s", codec_name(cfg.codec), cfg.level,
		 config_log_level_name(cfg.log_level), cfg.evict_timeout);
	daemon_notify_status();
}

void daemon_notify_status(void)
{
	struct uz_stats_end t;
	char line[128], buf[32];

	if (!getenv("NOTIFY_SOCKET"))
		return;
	client_totals(&t, NULL);
	snprintf(line, sizeof(line), "STATUS=%u clients, %s evicted",
		 client_count(), size_format(t.evicted_bytes, buf, sizeof(buf)));
	systemd_notify(line);
}

/* A swap daemon must not need memory to free memory. */
static void lock_memory(void)
{
	if (!mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT))
		return;
	/* MCL_ONFAULT is refused by kernels older than 4.4 */
	if (!mlockall(MCL_CURRENT | MCL_FUTURE))
		return;
	log_warn("mlockall: %s; uzswapd may be swapped out itself",
		 strerror(errno));
}

/* Agents that may not open it themselves get a full userfaultfd from it. */
static void open_uffd_dev(void)
{
	uzd.uffd_dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (uzd.uffd_dev < 0)
		log_warn("/dev/userfaultfd: %s; agents fall back to "
			 "userfaultfd(2)", strerror(errno));
}

static void start_listening(const char *path)
{
	int fd = systemd_listen_fd(), err;

	if (fd >= 0) {
		listen_adopt(fd);
		log_info("listening on the socket systemd passed");
		return;
	}
	err = listen_open(path);
	if (err == -EADDRINUSE)
		fatal("another uzswapd is running on %s", path);
	if (err == -EEXIST)
		fatal("%s exists and is not a socket", path);
	if (err == -ENAMETOOLONG)
		fatal("socket path too long: %s", path);
	if (err)
		fatal("cannot listen on %s: %s", path, strerror(-err));
	log_info("listening on %s", path);
}

int main(int argc, char **argv)
{
	char cause[512];
	int err;

	options(argc, argv);
	log_init("uzswapd", opt.verbose ? UZ_LOG_DEBUG : UZ_LOG_INFO);
	uzd.started_ms = now_ms();
	if (settings_load(&uzd.cfg, cause, sizeof(cause)))
		fatal("%s", cause);
	log_init("uzswapd", uzd.cfg.log_level);
	subids_load();
	snprintf(socket_path, sizeof(socket_path), "%s", socket_choose(&uzd.cfg));
	if (strlen(socket_choose(&uzd.cfg)) >= sizeof(socket_path))
		fatal("socket path too long: %s", socket_choose(&uzd.cfg));

	lock_memory();
	open_uffd_dev();
	listen_raise_fd_limit();
	if (uzd.cfg.user_connections >= listen_max_conns())
		log_warn("user-connections=%u is not below the %u connections "
			 "uzswapd takes: one user can take all but root's share",
			 uzd.cfg.user_connections, listen_max_conns());
	err = server_init();
	if (err)
		fatal("cannot set up the event loop: %s", strerror(-err));
	err = closer_start();
	if (err)
		fatal("cannot start the closer thread: %s", strerror(-err));
	msg_set_discard(fd_discard);
	start_listening(socket_path);
	/* after the socket is ours: a second daemon on it must not let go
	 * of the first's holds before it finds it running */
	hold_init(socket_path);
	brake_init(socket_path);
	log_info("uzswapd %s ready: codec %s level %d", PACKAGE_VERSION,
		 codec_name(uzd.cfg.codec), uzd.cfg.level);
	systemd_notify("READY=1");
	daemon_notify_status();

	err = server_run();
	systemd_notify("STOPPING=1");
	hold_shutdown();
	brake_shutdown();
	listen_close();
	if (err) {
		log_err("event loop: %s", strerror(-err));
		return 1;
	}
	return 0;
}
