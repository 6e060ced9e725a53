/* edge_thread_end: what glibc runs at a thread's end is part of the run:
 * a cleanup handler that unlocks on pthread_exit, a key destructor that
 * locks; thread ids that glibc reuses after a join; C11 call_once whose
 * routine yields. Exits 0 on every schedule. */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <threads.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t key;
static int destroyed, onced;
static once_flag flag = ONCE_FLAG_INIT;

static void unlock(void *m)
{
	pthread_mutex_unlock(m);
}

static void destroy(void *v)
{
	(void)v;
	pthread_mutex_lock(&mu);
	destroyed++;
	pthread_mutex_unlock(&mu);
}

static void once_routine(void)
{
	thrd_yield();
	onced++;
}

static void *exits_holding(void *arg)
{
	pthread_setspecific(key, arg);
	call_once(&flag, once_routine);
	pthread_mutex_lock(&mu);
	pthread_cleanup_push(unlock, &mu);
	pthread_exit(arg); /* the handler lets go of mu */
	pthread_cleanup_pop(0);
	return NULL;
}

int main(void)
{
	assert(pthread_key_create(&key, destroy) == 0);
	for (long i = 1; i <= 3; i++) { /* glibc hands the same id out again */
		pthread_t t;
		void *ret = NULL;
		assert(pthread_create(&t, NULL, exits_holding, (void *)i) == 0);
		call_once(&flag, once_routine);
		assert(pthread_join(t, &ret) == 0 && ret == (void *)i);
		pthread_mutex_lock(&mu);
		assert(destroyed == i);
		pthread_mutex_unlock(&mu);
	}
	assert(onced == 1);
	return 0;
}
