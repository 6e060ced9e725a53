/* edge_yield_forever: two threads yield for ever, each waiting for a flag
 * nobody sets: a livelock the run's decision limit ends. */
#include <pthread.h>
#include <sched.h>

static volatile int never;

static void *spin(void *arg)
{
	(void)arg;
	while (!never)
		sched_yield();
	return NULL;
}

int main(void)
{
	pthread_t a, b;
	pthread_create(&a, NULL, spin, NULL);
	pthread_create(&b, NULL, spin, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return 0;
}
