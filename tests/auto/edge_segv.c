/* edge_segv: a thread dereferences a pointer another thread points at an
 * unmapped page (not NULL: a sanitizer would stop at a null load first):
 * on some schedules the run dies of SIGSEGV, reported with the thread. */
#include <pthread.h>
#include <stddef.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int value = 42;
static int *volatile ptr = &value;

static void *reader(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	int *p = ptr;
	pthread_mutex_unlock(&mu);
	pthread_mutex_lock(&mu);
	int v = *p + *ptr; /* ptr may point nowhere by now */
	pthread_mutex_unlock(&mu);
	return (void *)(long)v;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	pthread_mutex_lock(&mu);
	ptr = (int *)16; /* the first page is never mapped */
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	return 0;
}
