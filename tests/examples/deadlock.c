/*
 * deadlock.c - two transfers between two accounts, each taking both
 * accounts' mutexes: alice locks the source then the destination, bob the
 * other way round (AB/BA). Some schedules deadlock; the stepper ends such a
 * run at once with the cycle, and the fixed version (both lock in one
 * global order) passes every seed.
 *
 *   deadlock abba     seeded loop over the AB/BA transfers (free threads)
 *   deadlock ordered  seeded loop over the fixed transfers
 *   deadlock          both, one after the other
 * STEPPER_SEEDS, STEPPER_SEED and STEPPER_REPLAY choose the runs.
 * Exit status: 0 when every run passed, 1 when one failed, 2 on bad usage.
 */
#include <stepper/stepper.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct account {
	pthread_mutex_t mu;
	int balance;
};

struct transfer {
	struct account *from, *to;
	int amount;
	int ordered; /* lock the lower address first, whatever the direction */
};

/* Every stp_mutex_lock is checked: after a deadlock the run is aborted and
 * a lock that would wait returns STP_EDEADLOCK without the mutex. */
static void transfer(void *arg)
{
	struct transfer *t = arg;
	pthread_mutex_t *first = &t->from->mu, *second = &t->to->mu;
	if (t->ordered && second < first) {
		first = &t->to->mu;
		second = &t->from->mu;
	}
	STEP("begin");
	if (stp_mutex_lock(first) != 0)
		return;
	STEP("has one");
	if (stp_mutex_lock(second) == 0) {
		STEP("has both");
		t->from->balance -= t->amount;
		t->to->balance += t->amount;
		stp_mutex_unlock(second);
	}
	stp_mutex_unlock(first);
}

static int body(stp_stepper *s, void *arg)
{
	int ordered = *(int *)arg;
	struct account x = { PTHREAD_MUTEX_INITIALIZER, 100 };
	struct account y = { PTHREAD_MUTEX_INITIALIZER, 100 };
	struct transfer alice = { &x, &y, 30, ordered }, bob = { &y, &x, 20, ordered };
	stp_thread(s, "alice", NULL, transfer, &alice);
	stp_thread(s, "bob", NULL, transfer, &bob);
	if (stp_run(s) != 0)
		return 1;
	if (x.balance + y.balance != 200)
		stp_add_error(s, "balances %d + %d, expected 200", x.balance, y.balance);
	return 0;
}

static const char *self = "deadlock";

static int loop(const char *mode, int ordered)
{
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	if (!getenv("STEPPER_SEEDS") && !getenv("STEPPER_SEED") &&
	    !getenv("STEPPER_REPLAY"))
		lo.count = 10000;
	char name[64], cmd[512];
	snprintf(name, sizeof name, "deadlock %s", mode);
	snprintf(cmd, sizeof cmd, "%s %s", self, mode);
	lo.name = name;
	lo.command = cmd;
	lo.out = stdout;
	int rc = stp_loop(&lo, body, &ordered, NULL);
	if (rc < 0) {
		fprintf(stderr, "deadlock: %s\n", stp_strerror(rc));
		return 2;
	}
	return rc;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "both";
	self = argv[0];
	if (strcmp(what, "abba") == 0)
		return loop("abba", 0);
	if (strcmp(what, "ordered") == 0)
		return loop("ordered", 1);
	if (strcmp(what, "both") == 0) {
		int found = loop("abba", 0);
		printf("\n");
		int fixed = loop("ordered", 1);
		return found == 1 && fixed == 0 ? 0 : 1;
	}
	fprintf(stderr, "usage: deadlock [abba | ordered]\n");
	return 2;
}
