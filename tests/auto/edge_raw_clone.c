/* edge_raw_clone [thread|process]: a thread made with clone() itself, not
 * pthread_create (the stepper cannot control it: the run ends, exit 90);
 * "process": a child process made with clone() and waited for (it runs
 * uncontrolled, as a fork's child does; exit 0). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clone */
#endif
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK (256 * 1024)

static atomic_int done;

static int child(void *arg)
{
	(void)arg;
	atomic_store(&done, 1);
	return 0;
}

int main(int argc, char **argv)
{
	int process = argc > 1 && strcmp(argv[1], "process") == 0;
	char *stack = malloc(STACK);
	if (!stack)
		return 2;
	int flags = process ? SIGCHLD
			    : CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				      CLONE_SYSVSEM;
	int id = clone(child, stack + STACK, flags, NULL);
	if (id < 0) {
		perror("clone");
		return 3;
	}
	if (process) {
		int status;
		if (waitpid(id, &status, 0) != id || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 4;
		printf("child process ran\n");
		return 0; /* (its memory was a copy: done stays 0 here) */
	}
	while (!atomic_load(&done))
		sched_yield();
	printf("clone thread ran\n"); /* (its stack is not freed: it may still be on it) */
	return 0;
}
