/* ten_threads [N]: ten threads (or N, up to 1,000) deposit 1..N into one
 * balance, each reading it and writing it back in two separate critical
 * sections; a deposit made in between is lost. The fix: read and write in
 * one critical section. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_THREADS 1000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int balance;
static int amount[MAX_THREADS];

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static void *deposit(void *arg)
{
	int n = *(const int *)arg;
	pthread_mutex_lock(&mu);
	int seen = balance;
	pthread_mutex_unlock(&mu); /* the bug: another deposit may land here */
	pthread_mutex_lock(&mu);
	balance = seen + n;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	static pthread_t t[MAX_THREADS];
	int n = argc > 1 ? atoi(argv[1]) : 10; /* threads: 10 unless told */
	if (n < 1 || n > MAX_THREADS) {
		fprintf(stderr, "usage: %s [threads, 1 to %d]\n", argv[0], MAX_THREADS);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		amount[i] = i + 1;
		check(pthread_create(&t[i], NULL, deposit, &amount[i]), "pthread_create");
	}
	for (int i = 0; i < n; i++)
		check(pthread_join(t[i], NULL), "pthread_join");
	assert(balance == n * (n + 1) / 2 && "a deposit was lost");
	return 0;
}
