/*
 * record.c - appends "$STEPPER_SEED\n" to the file named by argv[1], for
 * checking which seeds a run (or a shard) covered. Fails on seed
 * $FAIL_SEED when that is set.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *seed = getenv("STEPPER_SEED");
	if (argc < 2 || !seed)
		return 2;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		return 2;
	char line[64];
	int n = snprintf(line, sizeof line, "%s\n", seed);
	if (write(fd, line, (size_t)n) != n)
		return 2;
	close(fd);
	const char *fail = getenv("FAIL_SEED");
	return fail && strcmp(fail, seed) == 0;
}
