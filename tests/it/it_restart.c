/* SPDX-License-Identifier: MIT */
/* uzswapd dies: evicted memory is still served; a new daemon re-adopts. */
#include <string.h>
#include <unistd.h>

#include "itest.h"

#define LEN (32 * IT_MB)

int main(int argc, char **argv)
{
	uint8_t *m;
	char out[1 << 14];
	long bad;
	int i, st;

	it_setup(argc, argv);
	m = it_alloc(LEN, 1);
	it_fill(m, LEN, 21);
	it_evict_all();
	printf("evicted %lu before the kill\n", (unsigned long)it_stat("evicted_bytes"));
	it_daemon_kill();
	st = it_ctl(NULL, 0, "status");
	it_assert(st != 0, "uzswapctl status succeeded with the daemon dead");

	/* the first half comes back while no daemon runs */
	bad = it_check(m, LEN / 2, 21);
	it_assert(bad < 0, "data differs at %ld with the daemon dead", bad);

	it_daemon_restart();
	for (i = 0; i < 50; i++) {
		char pid[32];

		snprintf(pid, sizeof(pid), "\"pid\": %d", getpid());
		if (!it_ctl(out, sizeof(out), "stats --json") &&
		    (strstr(out, pid) || (snprintf(pid, sizeof(pid), "\"pid\":%d",
						   getpid()), strstr(out, pid))))
			break;
		usleep(100000);
	}
	it_assert(i < 50, "agent did not re-attach to the new daemon");
	printf("evicted %lu after re-adoption\n", (unsigned long)it_stat("evicted_bytes"));
	/* the second half is still evicted (less what was restored ahead
	 * of the sequential reader) */
	it_assert(it_stat("evicted_bytes") >= LEN / 4,
		  "the re-adopted arena lost its evicted bytes");
	it_evict_all();
	bad = it_check(m, LEN, 21);
	it_assert(bad < 0, "data differs at %ld after re-adoption", bad);
	printf("re-adopted after %d00 ms; all %d MB intact\n", i, (int)(LEN >> 20));
	return 0;
}
