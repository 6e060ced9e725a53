/* timed_wait: a client starts a log flusher, waits up to 1 ms for main's answer
 * and uses it even when the wait timed out (main is late when the flusher holds
 * the log lock for 2 ms before main logs). The fix: check the answer is there. */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int answer; /* 0 until main answers */

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static void serve(void)
{
	pthread_mutex_lock(&log_mu); /* log the request */
	pthread_mutex_unlock(&log_mu);
	pthread_mutex_lock(&mu);
	answer = 42;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static void *flusher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&log_mu);
	usleep(2000); /* writes the log out */
	pthread_mutex_unlock(&log_mu);
	return NULL;
}

static void *client(void *arg)
{
	(void)arg;
	pthread_t f;
	check(pthread_create(&f, NULL, flusher, NULL), "pthread_create");
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += 1000000; /* 1 ms */
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&mu);
	int rc = 0;
	while (answer == 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cv, &mu, &deadline);
	int got = answer; /* the bug: used even after a timeout */
	pthread_mutex_unlock(&mu);
	check(pthread_join(f, NULL), "pthread_join");
	assert(got == 42 && "used an answer that never came");
	return NULL;
}

int main(void)
{
	pthread_t c;
	check(pthread_create(&c, NULL, client, NULL), "pthread_create");
	serve(); /* main is the server */
	check(pthread_join(c, NULL), "pthread_join");
	return 0;
}
