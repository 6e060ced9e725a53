/*
 * abba.c - the AB/BA deadlock: two transfers between two accounts, each
 * taking both accounts' mutexes, [alice] from a to b and [bob] from b to
 * a, each locking its source first. When each holds its first mutex, each
 * waits for the other's: the stepper reports the cycle at once.
 *
 * Needs 1 preemption ([alice] after taking a, before asking for b),
 * depth 2. The fix: both take the mutexes in one global order (a, then b).
 */
#include "zoo.h"

#include <pthread.h>
#include <stdatomic.h>

struct account {
	pthread_mutex_t mu;
	atomic_int balance;
};

struct transfer {
	struct account *from, *to;
	int amount;
	int fixed;
};

static void transfer(void *arg)
{
	struct transfer *t = arg;
	struct account *first = t->from, *second = t->to;
	if (t->fixed && second < first) { /* one order: the lower address first */
		first = t->to;
		second = t->from;
	}
	STEP("begin");
	if (stp_mutex_lock(&first->mu) != 0)
		return;
	STEP("has one");
	if (stp_mutex_lock(&second->mu) == 0) {
		STEP("has both");
		atomic_store(&t->from->balance, atomic_load(&t->from->balance) - t->amount);
		atomic_store(&t->to->balance, atomic_load(&t->to->balance) + t->amount);
		stp_mutex_unlock(&second->mu);
	}
	stp_mutex_unlock(&first->mu);
}

int bug_abba(stp_stepper *s, void *fixed)
{
	int f = *(const int *)fixed;
	struct account a = { PTHREAD_MUTEX_INITIALIZER, 100 };
	struct account b = { PTHREAD_MUTEX_INITIALIZER, 100 };
	struct transfer alice = { &a, &b, 30, f }, bob = { &b, &a, 20, f };
	ZOO_THREAD(s, "alice", transfer, &alice);
	ZOO_THREAD(s, "bob", transfer, &bob);
	if (zoo_run(s) != 0)
		return 1;
	int x = atomic_load(&a.balance), y = atomic_load(&b.balance);
	if (x != 90 || y != 110)
		stp_add_error(s, "abba: balances %d and %d, expected 90 and 110", x, y);
	return 0;
}
