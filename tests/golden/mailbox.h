/*
 * mailbox.h - the program behind tests/golden/trace-deadlock.json: a
 * producer and a consumer over free threads, with a lost wake-up.
 *
 * The consumer waits for a signal without first looking whether a letter
 * is already there (the bug: the wait should be in `while (!b->letters)`).
 * When the producer posts the second letter before the consumer waits for
 * it, the signal finds no waiter, and the consumer waits forever: the run
 * ends in a deadlock (a lost wake-up).
 *
 * After an aborted run (a replay that departs from its recording) a lock
 * or wait may return STP_EDEADLOCK; both threads then stop, so that no
 * thread touches the mailbox without its mutex.
 *
 * The trace names this file and its lines (where each thread blocked), and
 * `stepper replay` compares them: editing this file changes the golden
 * trace (regenerate it with STEPPER_UPDATE_GOLDEN=1 build/tests/test_trace).
 * Included by tests/test_trace.c and tests/test_cli_cmds.c.
 */
#ifndef STEPPER_TESTS_GOLDEN_MAILBOX_H
#define STEPPER_TESTS_GOLDEN_MAILBOX_H

#include <stepper/clock.h>
#include <stepper/stepper.h>

#include <pthread.h>

/* The seed of the golden trace: the first letter is waited for and
 * woken, the second one's signal is lost. */
#define MAILBOX_SEED 1

struct mailbox {
	pthread_mutex_t m;
	pthread_cond_t cv;
	int letters;
};

static void mailbox_producer(void *p)
{
	struct mailbox *b = p;
	for (int i = 0; i < 2; i++) {
		STEP("post");
		if (stp_mutex_lock(&b->m) != 0)
			return; /* the run was aborted */
		b->letters++;
		stp_cond_signal(&b->cv);
		stp_mutex_unlock(&b->m);
	}
}

static void mailbox_consumer(void *p)
{
	struct mailbox *b = p;
	for (int i = 0; i < 2; i++) {
		if (stp_mutex_lock(&b->m) != 0)
			return; /* the run was aborted */
		if (stp_cond_wait(&b->cv, &b->m) != 0) { /* the bug: no look at b->letters */
			stp_mutex_unlock(&b->m); /* aborted: let it go, if it came back */
			return;
		}
		b->letters--;
		stp_mutex_unlock(&b->m);
		STEP("read");
	}
}

/* Register the two threads on s (options from the caller) and run it. */
static inline int mailbox_run(stp_stepper *s, struct mailbox *b)
{
	stp_thread(s, "producer", NULL, mailbox_producer, b);
	stp_thread(s, "consumer", NULL, mailbox_consumer, b);
	return stp_run(s);
}

#endif
