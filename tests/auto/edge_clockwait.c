/* edge_clockwait: the glibc 2.30 clock variants are points on virtual time
 * (C++'s condition_variable::wait_for calls pthread_cond_clockwait): a
 * consumer waits up to an hour on CLOCK_MONOTONIC for an item a producer
 * makes after sleeping 30 minutes; a semaphore and a rwlock time out on
 * their clocks. Runs in milliseconds; exits 0. */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int item;

static struct timespec in_s(clockid_t clk, long s)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_sec += s;
	return ts;
}

static void *producer(void *arg)
{
	(void)arg;
	sleep(1800);
	pthread_mutex_lock(&mu);
	item = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, producer, NULL);
	pthread_mutex_lock(&mu);
	struct timespec hour = in_s(CLOCK_MONOTONIC, 3600);
	while (!item)
		if (pthread_cond_clockwait(&cv, &mu, CLOCK_MONOTONIC, &hour) == ETIMEDOUT)
			break;
	assert(item == 1);
	pthread_mutex_unlock(&mu);
	assert(pthread_mutex_clocklock(&mu, CLOCK_MONOTONIC, &hour) == 0);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	sem_t sem;
	sem_init(&sem, 0, 0);
	struct timespec soon = in_s(CLOCK_MONOTONIC, 5);
	assert(sem_clockwait(&sem, CLOCK_MONOTONIC, &soon) == -1 && errno == ETIMEDOUT);
	pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
	assert(pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &soon) == 0);
	pthread_rwlock_unlock(&rw);
	return 0;
}
