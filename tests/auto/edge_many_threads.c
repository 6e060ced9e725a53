/* edge_many_threads: 100 threads at once, more than the stepper controls:
 * the run ends saying so (exit 90). */
#include <pthread.h>

#define N 100

static void *nothing(void *arg)
{
	return arg;
}

int main(void)
{
	pthread_t t[N];
	for (int i = 0; i < N; i++)
		if (pthread_create(&t[i], NULL, nothing, NULL) != 0)
			return 2;
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	return 0;
}
