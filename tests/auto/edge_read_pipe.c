/* edge_read_pipe: a thread blocks in read() on a pipe nobody writes, where
 * the stepper cannot see: the run ends as a stall naming that thread. */
#include <pthread.h>
#include <unistd.h>

static int fds[2];

static void *reader(void *arg)
{
	char c;
	(void)arg;
	return read(fds[0], &c, 1) == 1 ? NULL : NULL;
}

int main(void)
{
	pthread_t t;
	if (pipe(fds) != 0 || pthread_create(&t, NULL, reader, NULL) != 0)
		return 2;
	pthread_join(t, NULL);
	return 0;
}
