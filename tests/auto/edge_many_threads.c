/* edge_many_threads [N]: N threads at once (default 1,100: more than the
 * stepper controls, so the run ends saying so, exit 90; 1,000 fit). */
#include <pthread.h>
#include <stdlib.h>

#define MAX 2000

static void *nothing(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	static pthread_t t[MAX];
	int n = argc > 1 ? atoi(argv[1]) : 1100;
	if (n < 0 || n > MAX)
		return 2;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, nothing, NULL) != 0)
			return 2;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
