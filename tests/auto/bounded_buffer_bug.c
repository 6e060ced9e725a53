/* bounded_buffer: 2 producers and 2 consumers share a one-slot buffer and wait
 * with `if` instead of `while`: a broadcast for one item wakes both consumers
 * and the second takes from an empty slot. The fix: while, in both places. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static int slot, used; /* capacity 1 */
static int taken;      /* sum of the items taken */

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static void *producer(void *arg)
{
	pthread_mutex_lock(&mu);
	if (used == 1) /* the bug: if, not while */
		pthread_cond_wait(&not_full, &mu);
	assert(used == 0 && "put into a full buffer");
	slot = *(const int *)arg;
	used = 1;
	pthread_cond_broadcast(&not_empty);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	if (used == 0) /* the bug: if, not while */
		pthread_cond_wait(&not_empty, &mu);
	assert(used == 1 && "took from an empty buffer");
	taken += slot;
	used = 0;
	pthread_cond_broadcast(&not_full);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	static int item[2] = { 1, 2 };
	pthread_t t[4];
	for (int i = 0; i < 2; i++)
		check(pthread_create(&t[i], NULL, producer, &item[i]), "pthread_create");
	for (int i = 2; i < 4; i++)
		check(pthread_create(&t[i], NULL, consumer, NULL), "pthread_create");
	for (int i = 0; i < 4; i++)
		check(pthread_join(t[i], NULL), "pthread_join");
	assert(used == 0 && taken == 3 && "an item was lost");
	return 0;
}
