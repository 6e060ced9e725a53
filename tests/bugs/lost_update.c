/*
 * lost_update.c - the lost update: two threads add 1 to a counter with a
 * load and a store. A thread preempted between its load and its store
 * stores a stale value over the other's increment.
 *
 * Needs 1 preemption ([alice] between 'read' and 'write'), depth 2.
 * The fix: the load and the store under stp_mutex_lock, the same steps
 * inside the critical section.
 */
#include "zoo.h"

#include <pthread.h>
#include <stdatomic.h>

struct counter {
	pthread_mutex_t mu;
	atomic_int value;
	int fixed;
};

static void increment(void *arg)
{
	struct counter *c = arg;
	if (c->fixed && stp_mutex_lock(&c->mu) != 0)
		return;
	STEP("read");
	int v = atomic_load(&c->value);
	STEP("write");
	atomic_store(&c->value, v + 1);
	if (c->fixed)
		stp_mutex_unlock(&c->mu);
}

int bug_lost_update(stp_stepper *s, void *fixed)
{
	struct counter c = { PTHREAD_MUTEX_INITIALIZER, 0, *(const int *)fixed };
	ZOO_THREAD(s, "alice", increment, &c);
	ZOO_THREAD(s, "bob", increment, &c);
	if (zoo_run(s) != 0)
		return 1;
	int v = atomic_load(&c.value);
	if (v != 2)
		stp_add_error(s, "lost update: the counter is %d after two increments, "
				 "expected 2", v);
	return 0;
}
