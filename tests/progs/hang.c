/*
 * hang.c - a test that never ends on its own (for run --timeout and the
 * signal tests). With an argument, it first writes its pid and a newline
 * to that file (a fifo, say), so a test can wait for the run to start.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	puts("hanging until killed");
	fflush(stdout);
	if (argc > 1) {
		int fd = open(argv[1], O_WRONLY | O_APPEND);
		char line[32];
		int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
		if (fd < 0 || write(fd, line, (size_t)n) != n)
			return 2;
		close(fd);
	}
	for (;;)
		pause(); /* waits for a signal; only SIGKILL comes */
}
