/* edge_trylock_spin: a worker spins on pthread_mutex_trylock while main
 * holds the mutex across a few calls; correct code, which no strategy may
 * turn into a livelock (pct lowers a thread whose trylock must fail, as it
 * lowers one that yields). Exits 0. */
#include <assert.h>
#include <pthread.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t other = PTHREAD_MUTEX_INITIALIZER;
static int got;

static void *spinner(void *arg)
{
	(void)arg;
	while (pthread_mutex_trylock(&mu) != 0)
		;
	got = 1;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_mutex_lock(&mu);
	pthread_create(&t, NULL, spinner, NULL);
	for (int i = 0; i < 3; i++) { /* work while holding it */
		pthread_mutex_lock(&other);
		pthread_mutex_unlock(&other);
	}
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	assert(got == 1);
	return 0;
}
