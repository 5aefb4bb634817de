/* SPDX-License-Identifier: MIT */
/*
 * The process ends (exit, _exit, _Exit) or replaces its address space
 * (the exec family): a raw clone()'s child still being filled would be
 * left with zeros where its data was, since nobody else holds its uffd
 * (rawkid.c).  Each of these fills the queue first.  The C library's own
 * exec functions call its internal execve, not ours, so each is
 * interposed; execl and friends are built here on execve and execvpe.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "loop.h"
#include "rawkid.h"

#define UZ_EXPORT __attribute__((visibility("default")))

/* A round trip even with none queued: the child's FORK event may be
 * read and not yet acted on.  loop_request refuses where there is no
 * agent, and in a signal handler that landed inside a request.  None
 * before the first eviction: nothing is registered on our uffd before
 * it (evicted_once is set first, and a forked child has its parent's),
 * and without a registration a clone brings no FORK event.  The round
 * trip cost every short command that ended a wake-up of the agent
 * thread. */
static void fill_raw_children(void)
{
	if (!__atomic_load_n(&uz_agent.evicted_once, __ATOMIC_SEQ_CST))
		return;
	if (loop_is_agent_thread())
		rawkid_drain();
	else
		loop_request(LOOP_RAWKID_DRAIN, 0, 0);
}

__attribute__((destructor)) static void at_exit(void)
{
	fill_raw_children();
}

/* _exit() skips the destructors */
UZ_EXPORT void _exit(int status)
{
	fill_raw_children();
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

UZ_EXPORT void _Exit(int status) __attribute__((alias("_exit")));

typedef int (*exec_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

/* The C library's @name, once the queue is filled; NULL (ENOSYS) when
 * there is none. */
static void *before_exec(const char *name)
{
	void *real = dlsym(RTLD_NEXT, name);

	fill_raw_children();
	if (!real)
		errno = ENOSYS;
	return real;
}

UZ_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	exec_fn real = (exec_fn)before_exec("execve");

	return real ? real(path, argv, envp) : -1;
}

UZ_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	exec_fn real = (exec_fn)before_exec("execvpe");

	return real ? real(file, argv, envp) : -1;
}

UZ_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	fexecve_fn real = (fexecve_fn)before_exec("fexecve");

	return real ? real(fd, argv, envp) : -1;
}

UZ_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

UZ_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* execl(path, arg0, ..., NULL[, envp]): the arguments into an array */
enum exec_how { BY_PATH, BY_SEARCH, WITH_ENV };

static int exec_list(enum exec_how how, const char *path, const char *arg0,
		     va_list ap)
{
	va_list count;
	size_t n = 1, i;

	va_copy(count, ap);
	while (va_arg(count, char *))
		n++;
	va_end(count);
	{
		char *argv[n + 1];
		char **envp = environ;

		argv[0] = (char *)arg0;
		for (i = 1; i <= n; i++)
			argv[i] = va_arg(ap, char *); /* the last is the NULL */
		if (how == WITH_ENV)
			envp = va_arg(ap, char **);
		return how == BY_SEARCH ? execvpe(path, argv, envp) :
					  execve(path, argv, envp);
	}
}

UZ_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = exec_list(BY_PATH, path, arg, ap);
	va_end(ap);
	return r;
}

UZ_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = exec_list(BY_SEARCH, file, arg, ap);
	va_end(ap);
	return r;
}

UZ_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = exec_list(WITH_ENV, path, arg, ap);
	va_end(ap);
	return r;
}
