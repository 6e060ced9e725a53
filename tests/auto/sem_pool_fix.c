/* sem_pool (needs semaphore support): a semaphore counts the free connections
 * of a pool of 2 shared by 3 workers; release() posts before it puts the
 * connection back, so a waiter can find the pool empty. The fix: put back, then post. */
#include <assert.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

#define CONNS 2
#define WORKERS 3

static sem_t free_conns;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int pool[CONNS] = { 1, 2 }; /* connection ids */
static int npool = CONNS;

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static int acquire(void)
{
	sem_wait(&free_conns);
	pthread_mutex_lock(&mu);
	assert(npool > 0 && "took a connection from an empty pool");
	int c = pool[--npool];
	pthread_mutex_unlock(&mu);
	return c;
}

static void release(int c)
{
	pthread_mutex_lock(&mu);
	pool[npool++] = c;
	pthread_mutex_unlock(&mu);
	sem_post(&free_conns); /* the fix: posted once the connection is back */
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2; i++)
		release(acquire());
	return NULL;
}

int main(void)
{
	pthread_t t[WORKERS];
	check(sem_init(&free_conns, 0, CONNS), "sem_init");
	for (int i = 0; i < WORKERS; i++)
		check(pthread_create(&t[i], NULL, worker, NULL), "pthread_create");
	for (int i = 0; i < WORKERS; i++)
		check(pthread_join(t[i], NULL), "pthread_join");
	assert(npool == CONNS && "a connection was lost");
	return 0;
}
