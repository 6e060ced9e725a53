/* edge_slow_atexit: an atexit handler that takes real time (0.5 s, longer
 * than the stall limit the test sets): the run is over when exit begins,
 * so nothing reports a stall and the program exits 0. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static void slow(void)
{
	struct timespec half = { 0, 500000000 };
	nanosleep(&half, NULL); /* after the run: a real sleep */
}

static void *nothing(void *arg)
{
	return arg;
}

int main(void)
{
	atexit(slow);
	pthread_t t;
	pthread_create(&t, NULL, nothing, NULL);
	pthread_join(t, NULL);
	return 0;
}
