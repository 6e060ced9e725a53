/* lost_update: two threads each add 1 to a counter, reading it and writing it
 * back in two separate critical sections; a write in between is lost.
 * The fix: read and write in one critical section. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int counter;

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static void *add_one(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	int seen = counter;
	counter = seen + 1;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		check(pthread_create(&t[i], NULL, add_one, NULL), "pthread_create");
	for (int i = 0; i < 2; i++)
		check(pthread_join(t[i], NULL), "pthread_join");
	assert(counter == 2 && "an update was lost");
	return 0;
}
