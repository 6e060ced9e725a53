/* bench_locks: 3 threads add to a shared counter under a mutex, 8 times each:
 * 48 lock and unlock calls, 3 creations and 3 joins, about 50 pthread calls in
 * all. No bug: it always exits 0 (the program `make bench` times). */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 3
#define ROUNDS 8

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int counter;

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static void *add(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		check(pthread_create(&t[i], NULL, add, NULL), "pthread_create");
	for (int i = 0; i < THREADS; i++)
		check(pthread_join(t[i], NULL), "pthread_join");
	assert(counter == THREADS * ROUNDS && "an update was lost");
	return 0;
}
