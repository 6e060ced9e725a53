/*
 * lazy_init.c - check-then-act lazy initialisation: two threads ask for a
 * shared instance; each checks whether it exists and creates it if not.
 * Both can see "not yet" before either creates it, and then each uses an
 * instance of its own.
 *
 * Needs 1 preemption ([alice] between 'check' and 'create'), depth 2.
 * The fix: double-checked locking, a second check under stp_mutex_lock
 * before the create (the first check stays outside the lock, as in real
 * code).
 */
#include "zoo.h"

#include <pthread.h>
#include <stdatomic.h>

struct lazy {
	pthread_mutex_t mu;
	atomic_int instance; /* 0: not made yet; else its serial number */
	atomic_int made;     /* instances made */
	int fixed;
};

struct user {
	struct lazy *lazy;
	atomic_int got; /* the instance this thread used */
};

static void create(struct lazy *l)
{
	STEP("create");
	atomic_store(&l->instance, atomic_fetch_add(&l->made, 1) + 1);
}

static void get_instance(void *arg)
{
	struct user *u = arg;
	struct lazy *l = u->lazy;
	STEP("check");
	if (atomic_load(&l->instance) == 0) {
		if (!l->fixed) {
			create(l);
		} else {
			if (stp_mutex_lock(&l->mu) != 0)
				return;
			STEP("check again");
			if (atomic_load(&l->instance) == 0)
				create(l);
			stp_mutex_unlock(&l->mu);
		}
	}
	STEP("use");
	atomic_store(&u->got, atomic_load(&l->instance));
}

int bug_lazy_init(stp_stepper *s, void *fixed)
{
	struct lazy l = { PTHREAD_MUTEX_INITIALIZER, 0, 0, *(const int *)fixed };
	struct user alice = { &l, 0 }, bob = { &l, 0 };
	ZOO_THREAD(s, "alice", get_instance, &alice);
	ZOO_THREAD(s, "bob", get_instance, &bob);
	if (zoo_run(s) != 0)
		return 1;
	int made = atomic_load(&l.made);
	if (made != 1)
		stp_add_error(s, "lazy init: %d instances made, expected 1 ([alice] used #%d, "
				 "[bob] #%d)", made, atomic_load(&alice.got),
			      atomic_load(&bob.got));
	return 0;
}
