/* edge_small_stacks: an AB/BA deadlock between threads with the smallest
 * stacks glibc allows: the report is made on one of them, and must fit. */
#include <limits.h>
#include <pthread.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void *take(void *arg)
{
	pthread_mutex_t *first = arg ? &a : &b, *second = arg ? &b : &a;
	pthread_mutex_lock(first);
	pthread_mutex_lock(second);
	pthread_mutex_unlock(second);
	pthread_mutex_unlock(first);
	return NULL;
}

int main(void)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN);
	pthread_t t1, t2;
	pthread_create(&t1, &attr, take, (void *)1);
	pthread_create(&t2, &attr, take, NULL);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	return 0;
}
