/* SPDX-License-Identifier: MIT */
/* The cgroup v2 brake's bookkeeping (src/daemon/brake.c), on plain
 * files standing in for a level's memory.high: lowered to the usage and
 * put back by the last user, moved with the limit, an administrator's
 * value written meanwhile left alone, and what a killed daemon lowered put back by the next
 * one from the list beside its socket.  The brake itself, the kernel
 * throttling a job, is tried in a guest (tests/vm/cgv2.sh). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "brake.h"
#include "cgpath.h"
#include "t.h"

static char top[64], dir_a[128], dir_b[128], sock[128];

static void put(const char *dir, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.high", dir);
	f = fopen(path, "w");
	t_assert(f && fputs(text, f) >= 0 && !fclose(f), "write %s", path);
}

/* memory.high of @dir as the kernel would read it back */
static uint64_t high(const char *dir)
{
	char path[256];
	uint64_t v = 0;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/memory.high", dir);
	f = fopen(path, "r");
	t_assert(f, "open %s", path);
	fd = fileno(f);
	t_assert(!cg_bytes_read(fd, &v), "read %s", path);
	fclose(f);
	return v;
}

static int listed(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s.brakes", sock);
	return !access(path, F_OK);
}

static void shared_and_put_back(void)
{
	char why[256];
	uint64_t was;
	int s1, s2;

	put(dir_a, "max\n");
	t_check(!brake_begin(dir_a, 100 * 4096 + 17, &s1, why, sizeof(why)));
	t_check(high(dir_a) == 100 * 4096); /* a whole page */
	t_check(brake_was(dir_a, &was) && was == CG_NO_LIMIT);
	t_check(!brake_was(dir_b, &was));
	t_check(listed());
	/* a second client in the same level shares it */
	t_check(!brake_begin(dir_a, 200 * 4096, &s2, why, sizeof(why)));
	t_check(s1 == s2 && high(dir_a) == 100 * 4096);
	brake_end(s1);
	t_check(high(dir_a) == 100 * 4096);
	brake_end(s2);
	t_check(high(dir_a) == CG_NO_LIMIT && !brake_was(dir_a, &was));
	t_check(!listed());
	brake_end(s2); /* a second end of a freed slot does nothing */
	t_check(high(dir_a) == CG_NO_LIMIT);
}

/* a limit changed at run time moves the brake, never above what
 * memory.high was; down no further than the floor (the usage), and a
 * job that pushed past the brake does not raise it; once someone else
 * writes memory.high it is theirs: not moved, not put back */
static void moved(void)
{
	char why[256];
	int s;

	put(dir_b, "104857600\n");
	t_check(!brake_begin(dir_b, 50 * 4096, &s, why, sizeof(why)));
	brake_move(s, 60 * 4096 + 5, 0);
	t_check(high(dir_b) == 60 * 4096);
	brake_move(s, 1ull << 40, 0); /* above what it was: what it was */
	t_check(high(dir_b) == 104857600);
	brake_move(s, 70 * 4096, 0);
	t_check(high(dir_b) == 70 * 4096);
	brake_move(s, 40 * 4096, 100 * 4096); /* usage past it: stays */
	t_check(high(dir_b) == 70 * 4096);
	brake_move(s, 40 * 4096, 45 * 4096); /* down to the usage's floor */
	t_check(high(dir_b) == 45 * 4096);
	brake_move(s, 40 * 4096, 0);
	t_check(high(dir_b) == 40 * 4096);
	put(dir_b, "209715200\n");
	brake_move(s, 80 * 4096, 0);
	t_check(high(dir_b) == 209715200);
	brake_move(s, 30 * 4096, 0);
	t_check(high(dir_b) == 209715200);
	brake_end(s);
	t_check(high(dir_b) == 209715200 && !listed());
}

static void lower_already(void)
{
	char why[256];
	int s;

	put(dir_a, "409600\n");
	t_check(brake_begin(dir_a, 409600, &s, why, sizeof(why)) == -EEXIST);
	t_check(high(dir_a) == 409600 && !listed());
	put(dir_a, "max\n");
}

static void administrator_wins(void)
{
	char why[256];
	int s;

	put(dir_b, "1048576000\n");
	t_check(!brake_begin(dir_b, 50 * 4096, &s, why, sizeof(why)));
	t_check(high(dir_b) == 50 * 4096);
	put(dir_b, "777777216\n"); /* written while braked */
	brake_end(s);
	t_check(high(dir_b) == 777777216);
}

/* What a killed daemon lowered, the next one on its socket puts back;
 * brake_shutdown puts back what is braked at a clean stop */
static void after_a_crash(void)
{
	char why[256], path[256];
	FILE *f;
	int s;

	put(dir_a, "524288000\n");
	put(dir_b, "max\n");
	snprintf(path, sizeof(path), "%s.brakes", sock);
	f = fopen(path, "w");
	t_assert(f, "open %s", path);
	fprintf(f, "524288000 40960 %s\nmax 1 %s\ngarbage\n", dir_a, dir_b);
	/* outside the mount, or climbing out of it: never touched */
	fprintf(f, "1 40960 /tmp/elsewhere\n1 40960 %s/..\n1 40960 %s/../a\n", top, top);
	fclose(f);
	put(dir_a, "40960\n"); /* as the killed one left it */
	brake_init_at(sock, top);
	t_check(high(dir_a) == 524288000);
	t_check(high(dir_b) == CG_NO_LIMIT); /* its bad line changed nothing */
	t_check(!listed());

	t_check(!brake_begin(dir_a, 4096 * 10, &s, why, sizeof(why)));
	t_check(high(dir_a) == 40960);
	brake_shutdown();
	t_check(high(dir_a) == 524288000 && !listed());
}

/* A list that is not ours (another user's, or a link) is not read. */
static void not_ours(void)
{
	char path[256], other[256];
	FILE *f;

	put(dir_a, "40960\n");
	snprintf(other, sizeof(other), "%s/other", top);
	f = fopen(other, "w");
	t_assert(f, "open %s", other);
	fprintf(f, "524288000 40960 %s\n", dir_a);
	fclose(f);
	snprintf(path, sizeof(path), "%s.brakes", sock);
	t_assert(!symlink(other, path), "symlink");
	brake_init_at(sock, top);
	t_check(high(dir_a) == 40960);
	unlink(path);
	t_assert(!rename(other, path) && !chmod(path, 0666), "chmod");
	brake_init_at(sock, top);
	t_check(high(dir_a) == 40960);
	unlink(path);
	put(dir_a, "max\n");

	/* the list is written anew, never through a link planted in its
	 * way: the link's target stays as it was */
	{
		char tmp[300], why[256], got[64] = "";
		int s;

		f = fopen(other, "w");
		t_assert(f && fputs("precious\n", f) >= 0 && !fclose(f), "write");
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		t_assert(!symlink(other, tmp), "symlink");
		t_check(!brake_begin(dir_a, 4096 * 10, &s, why, sizeof(why)));
		f = fopen(other, "r");
		t_assert(f && fgets(got, sizeof(got), f), "read");
		fclose(f);
		t_check(!strcmp(got, "precious\n") && listed());
		brake_end(s);
		unlink(other);
	}
}

int main(void)
{
	snprintf(top, sizeof(top), "/tmp/unit_brake.XXXXXX");
	t_assert(mkdtemp(top), "mkdtemp");
	snprintf(dir_a, sizeof(dir_a), "%s/a", top);
	snprintf(dir_b, sizeof(dir_b), "%s/b", top);
	snprintf(sock, sizeof(sock), "%s/sock", top);
	t_assert(!mkdir(dir_a, 0755) && !mkdir(dir_b, 0755), "mkdir");
	brake_init_at(sock, top);
	shared_and_put_back();
	moved();
	lower_already();
	administrator_wins();
	after_a_crash();
	not_ours();
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
		if (system(cmd))
			t_error("cannot remove %s", top);
	}
	printf("unit_brake: ok\n");
	return 0;
}
