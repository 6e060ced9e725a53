/* edge_pipe_pair [fail]: a reader blocks in read() on a pipe until a
 * writer thread writes to it. A thread blocked in read() is out of the
 * stepper's sight: by default the run stalls whenever the reader reads
 * first (exit 88); with STEPPER_ON_STALL=release it leaves control, the
 * writer goes on, and the reader comes back at its next pthread call
 * (exit 0). "fail": exit 3 at the end, for a trace to replay. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int fds[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char got;

static void *reader(void *arg)
{
	char c;
	if (read(fds[0], &c, 1) != 1)
		exit(2);
	pthread_mutex_lock(&mu);
	got = c;
	pthread_mutex_unlock(&mu);
	return arg;
}

static void *writer(void *arg)
{
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	if (write(fds[1], "x", 1) != 1)
		exit(2);
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t r, w;
	if (pipe(fds) != 0)
		return 2;
	if (pthread_create(&r, NULL, reader, NULL) != 0 ||
	    pthread_create(&w, NULL, writer, NULL) != 0)
		return 2;
	pthread_join(r, NULL);
	pthread_join(w, NULL);
	pthread_mutex_lock(&mu);
	assert(got == 'x');
	pthread_mutex_unlock(&mu);
	printf("the reader got it\n");
	return argc > 1 && argv[1][0] == 'f' ? 3 : 0;
}
