/* edge_leave_running: main returns while a worker waits on a condition
 * nobody signals: the program ends, as it would without the stepper, and
 * the run passes with a note naming the worker. With "nothing", main makes
 * no thread at all. */
#include <pthread.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *wait_for_ever(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;)
		pthread_cond_wait(&cv, &mu);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "nothing") == 0)
		return 0;
	pthread_t t;
	pthread_create(&t, NULL, wait_for_ever, NULL);
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	return 0;
}
