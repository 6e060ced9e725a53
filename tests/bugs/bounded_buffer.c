/*
 * bounded_buffer.c - a bounded buffer with a race on its count. The slots
 * and indices are under the mutex, but the count (which the consumer reads
 * to decide whether to take) is updated after the unlock with a load and a
 * store. A producer's increment and the consumer's decrement can overlap,
 * and then the count no longer says how many items there are: too many
 * (the consumer takes from an empty buffer: STP_CHECK) or too few (the
 * check after the run).
 *
 * Needs 1 preemption ([producer] between loading and storing the count of
 * its second item, while the consumer takes the first), depth 2. The fix:
 * the count is updated inside the critical section, the same steps.
 */
#include "zoo.h"

#include <pthread.h>
#include <stdatomic.h>

#define CAP 2
#define ITEMS 2

struct buffer {
	pthread_mutex_t mu;
	atomic_int slot[CAP];
	atomic_int head, tail, count;
	int fixed;
};

static void count_add(struct buffer *b, int d)
{
	STEP("count: load");
	int c = atomic_load(&b->count);
	STEP("count: store");
	atomic_store(&b->count, c + d);
}

static void producer(void *arg)
{
	struct buffer *b = arg;
	for (int i = 1; i <= ITEMS; i++) {
		if (stp_mutex_lock(&b->mu) != 0)
			return;
		STEP("put");
		int tail = atomic_load(&b->tail);
		if (tail - atomic_load(&b->head) == CAP) { /* full: drop it */
			stp_mutex_unlock(&b->mu);
			continue;
		}
		atomic_store(&b->slot[tail % CAP], i);
		atomic_store(&b->tail, tail + 1);
		if (b->fixed)
			count_add(b, +1);
		stp_mutex_unlock(&b->mu);
		if (!b->fixed)
			count_add(b, +1);
	}
}

static void consumer(void *arg)
{
	struct buffer *b = arg;
	for (int k = 0; k < ITEMS; k++) {
		STEP("peek");
		if (atomic_load(&b->count) == 0)
			continue; /* nothing there: try again later */
		if (stp_mutex_lock(&b->mu) != 0)
			return;
		STEP("take");
		int head = atomic_load(&b->head);
		STP_CHECK(head != atomic_load(&b->tail)); /* the count said one was there */
		atomic_store(&b->head, head + 1);
		if (b->fixed)
			count_add(b, -1);
		stp_mutex_unlock(&b->mu);
		if (!b->fixed)
			count_add(b, -1);
	}
}

int bug_bounded_buffer(stp_stepper *s, void *fixed)
{
	struct buffer b = { .mu = PTHREAD_MUTEX_INITIALIZER, .fixed = *(const int *)fixed };
	ZOO_THREAD(s, "consumer", consumer, &b);
	ZOO_THREAD(s, "producer", producer, &b); /* last: it goes first (zoo.h) */
	if (zoo_run(s) != 0)
		return 1;
	int count = atomic_load(&b.count), items = atomic_load(&b.tail) - atomic_load(&b.head);
	if (count != items)
		stp_add_error(s, "bounded buffer: the count says %d, the buffer holds %d",
			      count, items);
	return 0;
}
