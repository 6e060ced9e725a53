/* yield_spin: workers spin with sched_yield() until main has posted one job,
 * then check "is a job left?" and take it in two critical sections: two workers
 * can both see it and both take it. The fix: check and take under one lock. */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int ready; /* main has posted the job */
static int jobs;  /* jobs left */
static int taken; /* jobs taken */

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static int is_ready(void)
{
	pthread_mutex_lock(&mu);
	int r = ready;
	pthread_mutex_unlock(&mu);
	return r;
}

static void *worker(void *arg)
{
	(void)arg;
	while (!is_ready())
		sched_yield();
	pthread_mutex_lock(&mu);
	int left = jobs;
	pthread_mutex_unlock(&mu); /* the bug: check, then act */
	pthread_mutex_lock(&mu);
	if (left > 0) {
		jobs--;
		taken++;
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	pthread_t t1, t2;
	check(pthread_create(&t1, NULL, worker, NULL), "pthread_create");
	pthread_mutex_lock(&mu);
	jobs = 1;
	ready = 1;
	pthread_mutex_unlock(&mu);
	check(pthread_create(&t2, NULL, worker, NULL), "pthread_create");
	check(pthread_join(t1, NULL), "pthread_join");
	check(pthread_join(t2, NULL), "pthread_join");
	assert(taken == 1 && jobs == 0 && "the one job was taken twice");
	return 0;
}
