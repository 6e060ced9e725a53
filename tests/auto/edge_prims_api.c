/* edge_prims_api: every semaphore, rwlock, barrier and once call answers as
 * glibc's does, on every schedule: try calls that find the object taken,
 * timed calls that time out on virtual time, getvalue, destroy and init
 * again. Exits 0; an answer that differs is an assert. */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

static sem_t sem;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t bar;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int onced;

static void init_once(void)
{
	onced++;
}

static struct timespec in_ms(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_once(&once, init_once);
	assert(pthread_rwlock_rdlock(&rw) == 0); /* readers share */
	assert(pthread_rwlock_unlock(&rw) == 0);
	sem_post(&sem);
	int serial = pthread_barrier_wait(&bar);
	assert(serial == 0 || serial == PTHREAD_BARRIER_SERIAL_THREAD);
	return (void *)(long)(serial == PTHREAD_BARRIER_SERIAL_THREAD);
}

int main(void)
{
	int v = -1;
	assert(sem_init(&sem, 0, 0) == 0 && sem_getvalue(&sem, &v) == 0 && v == 0);
	assert(sem_trywait(&sem) == -1 && errno == EAGAIN);
	struct timespec at = in_ms(5);
	assert(sem_timedwait(&sem, &at) == -1 && errno == ETIMEDOUT); /* virtual 5 ms */
	assert(pthread_barrier_init(&bar, NULL, 2) == 0);
	assert(pthread_rwlock_wrlock(&rw) == 0);
	pthread_t t;
	assert(pthread_create(&t, NULL, worker, NULL) == 0);
	at = in_ms(1);
	assert(pthread_rwlock_timedrdlock(&rw, &at) == EDEADLK); /* its own writer */
	assert(pthread_rwlock_unlock(&rw) == 0);
	assert(sem_wait(&sem) == 0);
	assert(pthread_rwlock_trywrlock(&rw) == 0);
	assert(pthread_rwlock_tryrdlock(&rw) == EBUSY);
	assert(pthread_rwlock_unlock(&rw) == 0);
	pthread_once(&once, init_once);
	int serial = pthread_barrier_wait(&bar);
	void *theirs;
	assert(pthread_join(t, &theirs) == 0);
	assert((serial == PTHREAD_BARRIER_SERIAL_THREAD) + (theirs != NULL) == 1);
	assert(onced == 1);
	assert(pthread_barrier_destroy(&bar) == 0 && sem_destroy(&sem) == 0);
	assert(sem_init(&sem, 0, 3) == 0 && sem_getvalue(&sem, &v) == 0 && v == 3);
	assert(pthread_rwlock_destroy(&rw) == 0);
	return 0;
}
