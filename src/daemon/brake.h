/* SPDX-License-Identifier: MIT */
/*
 * Braking a job at its cgroup v2 memory limit: the hold of hold.h for a
 * job whose memory cgroup is on cgroup v2, where there is no freezer to
 * hold it in without its agent (a v2 cgroup freezes every thread in it,
 * and a v2 process's threads share one memory cgroup), and no event when
 * its usage crosses a threshold (v1's eventfd) to wake the daemon before
 * a job filling at GB/s reaches memory.max: polled, it was OOM-killed
 * every time.  So while the daemon manages a client in a limited v2
 * cgroup, the limiting level's memory.high stands at the threshold of a
 * limit step (85 % of the limit): past it the kernel makes each task
 * that charges memory sleep, longer the further past it is (up to 2 s a
 * time), and the job crawls until the agent, which frees each block
 * before it stores its compressed copy, has its usage under it again.
 * senpai (Meta's) steers memory.high the same way.
 *
 * The value memory.high had is put back when the last client there
 * goes; one someone else writes meanwhile is theirs: not braked again.  Braked levels
 * are listed in a file beside the socket, so that the daemon systemd
 * starts again after a crash puts back what the killed one lowered
 * (brake_init).
 */
#ifndef UZD_BRAKE_H
#define UZD_BRAKE_H

#include <stdint.h>

/* Put back what a killed daemon on @socket left braked. */
void brake_init(const char *socket);
/* The same with cgroup v2 mounted at @v2 (tests): only levels under it
 * are put back, and only from a list that is a file of ours. */
void brake_init_at(const char *socket, const char *v2);
/* Brake v2 level @dir at @at bytes: 0 and its slot (>= 0, for
 * brake_move and brake_end) in *@slot, or -errno with @why filled
 * (-EEXIST: memory.high is at or under @at already, the kernel brakes
 * it there).  A level braked already is shared, where it is: each
 * brake_begin needs its brake_end. */
int brake_begin(const char *dir, uint64_t at, int *slot, char *why,
		size_t len);
/* Brake @slot at @at instead (its limit changed): up at once, down
 * no further than @floor (over the usage: a write under it reclaims in
 * the writer), never above what memory.high was, and never again once
 * someone else wrote memory.high (theirs from then on). */
void brake_move(int slot, uint64_t at, uint64_t floor);
/* End one brake_begin of @slot; the last puts memory.high back. */
void brake_end(int slot);
/* The memory.high @dir had before we braked it, into *@was (CG_NO_LIMIT
 * for "max"): 1 when it is braked, else 0. */
int brake_was(const char *dir, uint64_t *was);
/* We stop: put back every level. */
void brake_shutdown(void);

#endif
