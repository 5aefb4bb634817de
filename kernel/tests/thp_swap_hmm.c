// SPDX-License-Identifier: MIT
/*
 * thp_swap_hmm - device memory (HMM, through lib/test_hmm.c's dmirror
 * device) and a swapped-out THP:
 *   1. migrating it to device-private memory returns, migrates nothing,
 *      and leaves the PMD swap entry whole (migrate_vma_collect_pmd() used
 *      to look for a page table under it for ever, with the mmap lock held);
 *   2. the device mirror reads it right (hmm_range_fault() faults it in).
 * Each runs in a child with a time limit, since a hang there cannot be
 * interrupted.
 *
 * Skips on a kernel without PMD swap entries or without CONFIG_TEST_HMM.
 */
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>

#include "thp_swap.h"

#define DMIRROR		"/dev/hmm_dmirror0"
#define CHILD_SECS	30

/* lib/test_hmm_uapi.h */
struct hmm_dmirror_cmd {
	uint64_t addr, ptr, npages, cpages, faults;
};
#define HMM_DMIRROR_READ		_IOWR('H', 0x00, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_DEV	_IOWR('H', 0x02, struct hmm_dmirror_cmd)

static int dmirror_cmd(unsigned long req, char *a, void *buf,
		       struct hmm_dmirror_cmd *cmd)
{
	int fd = open(DMIRROR, O_RDWR), ret;

	if (fd < 0)
		return -errno;
	memset(cmd, 0, sizeof(*cmd));
	cmd->addr = (uintptr_t)a;
	cmd->ptr = (uintptr_t)buf;
	cmd->npages = NR_SUB;
	ret = ioctl(fd, req, cmd) ? -errno : 0;
	close(fd);
	return ret;
}

/* 1, in the child: migrate the swapped-out THP to the device */
static int child_migrate(char *a, void *buf)
{
	struct hmm_dmirror_cmd cmd;
	int ret = dmirror_cmd(HMM_DMIRROR_MIGRATE_TO_DEV, a, buf, &cmd);
	long swap = smaps_kb(a, "Swap");

	ksft_print_msg("MIGRATE_TO_DEV: %s, %llu pages migrated, Swap %ld kB after\n",
		       ret ? strerror(-ret) : "ok",
		       (unsigned long long)cmd.cpages, swap);
	if ((ret && ret != -ENOENT) || cmd.cpages || swap != (long)(PMD_SIZE >> 10))
		return 1;
	return check(a, PMD_SIZE, 1, "after MIGRATE_TO_DEV") ? 1 : 0;
}

/* 2, in the child: the device reads the swapped-out THP */
static int child_read(char *a, void *buf)
{
	struct hmm_dmirror_cmd cmd;
	int ret = dmirror_cmd(HMM_DMIRROR_READ, a, buf, &cmd);

	ksft_print_msg("READ: %s, %llu pages, %llu faults\n",
		       ret ? strerror(-ret) : "ok",
		       (unsigned long long)cmd.cpages,
		       (unsigned long long)cmd.faults);
	if (ret || cmd.cpages != NR_SUB)
		return 1;
	return check(buf, PMD_SIZE, 1, "the device's copy") ? 1 : 0;
}

/*
 * Run fn on a fresh swapped-out THP in a child (the device works on the
 * memory of whoever opened it); its exit status, or -1 if it did not
 * finish within CHILD_SECS. The child writes into a pipe of its own, shown
 * here once it is done: a child stuck in the kernel cannot be killed, and
 * must not hold on to our standard output.
 */
static int in_child(int (*fn)(char *, void *))
{
	struct timespec nap = { 0, 100 * 1000 * 1000 };
	int status, i, p[2], ret = -1;
	char msg[4096];
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		char *a, *buf;

		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		a = swapped_area(PMD_SIZE, 1);
		buf = malloc(PMD_SIZE);
		_exit(a && buf ? fn(a, buf) : 2);
	}
	close(p[1]);
	for (i = 0; i < CHILD_SECS * 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
			break;
		}
		nanosleep(&nap, NULL);
	}
	if (ret < 0) {
		kill(pid, SIGKILL);
		ksft_print_msg("the child did not finish in %d s\n", CHILD_SECS);
	} else {
		while ((n = read(p[0], msg, sizeof(msg))) > 0)
			fwrite(msg, 1, n, stdout);
		fflush(stdout);
	}
	close(p[0]);
	return ret;
}

int main(void)
{
	int ret;

	ksft_print_header();
	ksft_set_plan(2);
	require_pmd_swap();
	if (access(DMIRROR, R_OK | W_OK))
		ksft_exit_skip_rest("no " DMIRROR " (kernel without CONFIG_TEST_HMM)");

	ret = in_child(child_migrate);
	ksft_test_result(ret == 0,
			 "migrating a swapped-out THP to device memory returns, moves nothing, keeps the PMD swap entry (%d)",
			 ret);
	if (ret < 0)
		ksft_exit_skip_rest("a child hangs in the kernel");

	ret = in_child(child_read);
	ksft_test_result(ret == 0, "the device reads a swapped-out THP right (%d)", ret);
	ksft_finished();
	return 0;
}
