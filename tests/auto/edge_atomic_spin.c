/* edge_atomic_spin: main waits for a flag by spinning on an atomic load,
 * with no pthread call in its loop, and a thread sets it. One thread runs
 * at a time, so when main spins first the run stalls (exit 88); with
 * STEPPER_ON_STALL=release main leaves control, the setter goes on, and
 * main comes back at its join (exit 0). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int flag;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *setter(void *arg)
{
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	atomic_store(&flag, 1);
	return arg;
}

int main(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, setter, NULL) != 0)
		return 2;
	while (!atomic_load(&flag))
		;
	pthread_join(t, NULL);
	printf("the flag was set\n");
	return 0;
}
