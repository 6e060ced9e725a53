/* sleeps_minutes: a writer publishes a value once a minute and a reader reads
 * it once a minute; both sleep(60), so the reader trusts the writer to wake
 * first. On a tie it may not. The fix: the reader waits on a condition for the
 * value. Sleeps 2 real minutes natively: meant to run only under the stepper. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MINUTES 2

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int published; /* the last minute the writer published */

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static void *writer(void *arg)
{
	(void)arg;
	for (int minute = 1; minute <= MINUTES; minute++) {
		sleep(60);
		pthread_mutex_lock(&mu);
		published = minute;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	for (int minute = 1; minute <= MINUTES; minute++) {
		sleep(60);
		pthread_mutex_lock(&mu);
		/* the bug: trusts the writer to have woken first */
		int seen = published;
		pthread_mutex_unlock(&mu);
		assert(seen >= minute && "read before the writer published");
	}
	return NULL;
}

int main(void)
{
	pthread_t w, r;
	check(pthread_create(&w, NULL, writer, NULL), "pthread_create");
	check(pthread_create(&r, NULL, reader, NULL), "pthread_create");
	check(pthread_join(w, NULL), "pthread_join");
	check(pthread_join(r, NULL), "pthread_join");
	return 0;
}
