/* edge_exit_status: a worker exits the program with status 3 while main
 * waits for it: the program's own status, and a failure of the run. Main
 * calling pthread_exit first in another mode (argument "main-exit"). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void *worker(void *arg)
{
	if (arg)
		return NULL;
	exit(3);
}

int main(int argc, char **argv)
{
	pthread_t t;
	int main_exit = argc > 1 && strcmp(argv[1], "main-exit") == 0;
	pthread_create(&t, NULL, worker, main_exit ? (void *)1 : NULL);
	if (main_exit)
		pthread_exit(NULL); /* the worker ends; the program exits 0 */
	pthread_join(t, NULL);
	return 0;
}
