/*
 * lost_wakeup.c - a lost wake-up on a condition variable: the waiter
 * checks the flag without the mutex, then locks and waits. When the sender
 * sets the flag and signals between the waiter's check and its wait, the
 * signal finds no waiter and is lost, and the waiter waits for ever: the
 * stepper reports "lost wake-up" at once.
 *
 * Needs 1 preemption ([waiter] after its check, at its lock), depth 2.
 * The fix: check the flag under the mutex, in a loop around the wait.
 */
#include "zoo.h"

#include <stepper/clock.h>

#include <pthread.h>
#include <stdatomic.h>

struct mailbox {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int ready;
	atomic_int taken;
	int fixed;
};

static void wait_racy(struct mailbox *m)
{
	STEP("check");
	if (!atomic_load(&m->ready)) { /* checked outside the mutex */
		if (stp_mutex_lock(&m->mu) != 0)
			return;
		int rc = stp_cond_wait(&m->cv, &m->mu); /* the signal may be gone */
		stp_mutex_unlock(&m->mu);
		if (rc != 0)
			return; /* STP_EDEADLOCK: the run was aborted */
	}
	STEP("take");
	atomic_store(&m->taken, 1);
}

static void wait_fixed(struct mailbox *m)
{
	STEP("check");
	if (stp_mutex_lock(&m->mu) != 0)
		return;
	while (!atomic_load(&m->ready)) {
		if (stp_cond_wait(&m->cv, &m->mu) != 0) {
			stp_mutex_unlock(&m->mu);
			return;
		}
	}
	stp_mutex_unlock(&m->mu);
	STEP("take");
	atomic_store(&m->taken, 1);
}

static void waiter(void *arg)
{
	struct mailbox *m = arg;
	if (m->fixed)
		wait_fixed(m);
	else
		wait_racy(m);
}

static void sender(void *arg)
{
	struct mailbox *m = arg;
	STEP("send");
	if (stp_mutex_lock(&m->mu) != 0)
		return;
	atomic_store(&m->ready, 1);
	stp_cond_signal(&m->cv);
	stp_mutex_unlock(&m->mu);
}

int bug_lost_wakeup(stp_stepper *s, void *fixed)
{
	struct mailbox m = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0,
			     *(const int *)fixed };
	ZOO_THREAD(s, "sender", sender, &m);
	ZOO_THREAD(s, "waiter", waiter, &m); /* last: it goes first (zoo.h) */
	if (zoo_run(s) != 0)
		return 1;
	if (!atomic_load(&m.taken))
		stp_add_error(s, "lost wake-up: the waiter never took the message");
	return 0;
}
