/*
 * escape.c - leaves a process behind that a process-group kill misses:
 * a child that calls setsid() and blocks forever. The child appends its
 * pid to argv[1] before the parent exits (0, or 1 with a second argument).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int p[2];
	if (argc < 2 || pipe(p) != 0)
		return 2;
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		setsid();
		int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
		char line[32];
		int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
		if (fd < 0 || write(fd, line, (size_t)n) != n)
			_exit(2);
		close(fd);
		close(p[0]);
		close(p[1]); /* tells the parent the pid is written */
		for (;;)
			pause();
	}
	close(p[1]);
	char c;
	while (read(p[0], &c, 1) > 0)
		;
	return argc > 2;
}
