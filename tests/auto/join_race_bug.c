/* join_race: main detaches a worker whose job takes 1 ms, does 1 ms of its own
 * work (ten naps of 0.1 ms), then reads the worker's result, trusting the
 * timing: on a tie the worker may not have written it yet. The fix: join. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int result; /* 0 until the worker is done */

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static void *worker(void *arg)
{
	(void)arg;
	usleep(1000); /* the job */
	pthread_mutex_lock(&mu);
	result = 42;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	pthread_t t;
	check(pthread_create(&t, NULL, worker, NULL), "pthread_create");
	check(pthread_detach(t), "pthread_detach"); /* the bug: no join */
	for (int i = 0; i < 10; i++)
		usleep(100); /* main's own work, as long as the worker's */
	pthread_mutex_lock(&mu);
	int seen = result;
	pthread_mutex_unlock(&mu);
	assert(seen == 42 && "read the result before the worker wrote it");
	return 0;
}
