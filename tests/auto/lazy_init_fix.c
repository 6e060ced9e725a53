/* lazy_init: two threads use a config made on first use. Each checks "made?"
 * and, if not, takes the lock and makes it, without checking again: both can
 * see "not yet" and make it twice. The fix: check again under the lock. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int made;       /* the config exists */
static int times_made; /* how often it was made */

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static int config_made(void)
{
	pthread_mutex_lock(&mu);
	int r = made;
	pthread_mutex_unlock(&mu);
	return r;
}

static void *use_config(void *arg)
{
	(void)arg;
	if (!config_made()) { /* first check, the fast path */
		pthread_mutex_lock(&mu);
		if (!made) { /* the fix: the second check, under the lock */
			times_made++;
			made = 1;
		}
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		check(pthread_create(&t[i], NULL, use_config, NULL), "pthread_create");
	for (int i = 0; i < 2; i++)
		check(pthread_join(t[i], NULL), "pthread_join");
	assert(times_made == 1 && "the config was made twice");
	return 0;
}
