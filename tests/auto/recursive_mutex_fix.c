/* recursive_mutex: get() holds the cache lock and, on a miss, calls fill(),
 * which takes the same lock again: on a normal mutex a self-deadlock, only when
 * the reader comes before main has filled the cache. The fix: a recursive mutex. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define MUTEX_KIND PTHREAD_MUTEX_RECURSIVE /* the fix */

static pthread_mutex_t mu;
static int filled, value;

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static void fill(void)
{
	pthread_mutex_lock(&mu);
	if (!filled) {
		value = 42;
		filled = 1;
	}
	pthread_mutex_unlock(&mu);
}

static int get(void)
{
	pthread_mutex_lock(&mu);
	if (!filled)
		fill(); /* locks mu again */
	int v = value;
	pthread_mutex_unlock(&mu);
	return v;
}

static void *reader(void *arg)
{
	(void)arg;
	assert(get() == 42 && "wrong value in the cache");
	return NULL;
}

int main(void)
{
	pthread_mutexattr_t attr;
	check(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
	check(pthread_mutexattr_settype(&attr, MUTEX_KIND), "pthread_mutexattr_settype");
	check(pthread_mutex_init(&mu, &attr), "pthread_mutex_init");
	pthread_t r;
	check(pthread_create(&r, NULL, reader, NULL), "pthread_create");
	fill();
	check(pthread_join(r, NULL), "pthread_join");
	return 0;
}
