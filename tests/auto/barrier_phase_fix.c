/* barrier_phase (needs barrier support): 3 workers write their parts, meet at a
 * barrier, the serial thread sums the parts, and all read the sum after a mere
 * sched_yield(): a worker can read it before it is made. The fix: a barrier. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKERS 3

static pthread_barrier_t bar;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int part[WORKERS];
static int sum;
static int ids[WORKERS];

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static void *worker(void *arg)
{
	int id = *(const int *)arg;
	pthread_mutex_lock(&mu);
	part[id] = id + 1; /* phase 1: each writes its part */
	pthread_mutex_unlock(&mu);
	if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD) {
		pthread_mutex_lock(&mu); /* phase 2: one sums */
		for (int i = 0; i < WORKERS; i++)
			sum += part[i];
		pthread_mutex_unlock(&mu);
	}
	pthread_barrier_wait(&bar); /* the fix: wait until the sum is made */
	pthread_mutex_lock(&mu); /* phase 3: all read the sum */
	int seen = sum;
	pthread_mutex_unlock(&mu);
	assert(seen == WORKERS * (WORKERS + 1) / 2 && "read the sum before it was made");
	return NULL;
}

int main(void)
{
	pthread_t t[WORKERS];
	check(pthread_barrier_init(&bar, NULL, WORKERS), "pthread_barrier_init");
	for (int i = 0; i < WORKERS; i++) {
		ids[i] = i;
		check(pthread_create(&t[i], NULL, worker, &ids[i]), "pthread_create");
	}
	for (int i = 0; i < WORKERS; i++)
		check(pthread_join(t[i], NULL), "pthread_join");
	return 0;
}
