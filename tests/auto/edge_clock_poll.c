/* edge_clock_poll: threads that wait by polling the clock, correct code:
 * one until 50 ms have passed with sched_yield between reads, one in a
 * busy loop for 20 ms with no call but the clock's. Under the stepper's
 * virtual time they see time move (1 ms per yield after a read, and per
 * 1,000 reads); exits 0 on every schedule, at once. */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void *yielding(void *arg)
{
	long long until = now_ms() + 50;
	while (now_ms() < until)
		sched_yield();
	return arg;
}

static void *busy(void *arg)
{
	long long until = now_ms() + 20;
	while (now_ms() < until)
		; /* only the clock */
	return arg;
}

int main(void)
{
	pthread_t a, b;
	long long start = now_ms();
	pthread_create(&a, NULL, yielding, NULL);
	pthread_create(&b, NULL, busy, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert(now_ms() - start >= 50);
	return 0;
}
