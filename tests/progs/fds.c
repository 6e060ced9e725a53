/*
 * fds.c - lists its open file descriptors (from /proc/self/fd) on stdout
 * and fails when any but 0, 1 and 2 is open: a leak from its parent.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 2;
	int extra = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd == dirfd(d))
			continue;
		char path[64], target[256];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, target, sizeof target - 1);
		target[n > 0 ? n : 0] = '\0';
		printf("open fd %d: %s\n", fd, target);
		extra += fd > 2;
	}
	closedir(d);
	return extra != 0;
}
