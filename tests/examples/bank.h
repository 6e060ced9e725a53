/*
 * bank.h - the bank-transfer example: two deposits into one account.
 *
 * The racy deposit reads the balance, computes, and writes it back, with a
 * step between each; two deposits whose reads both come before either
 * write lose one update. The fixed deposit does the read-compute-write
 * under a mutex, in one segment between two steps: no step sits inside the
 * critical section, so in serial mode no thread ever parks holding it.
 */
#ifndef STEPPER_EXAMPLE_BANK_H
#define STEPPER_EXAMPLE_BANK_H

#include <stepper/stepper.h>

#include <pthread.h>

struct account {
	pthread_mutex_t mu;
	int balance;
};

struct deposit {
	struct account *acct;
	int amount;
};

static const char *const racy_order[] = { "begin", "read balance",
					  "write balance", "audit", NULL };

static void deposit_racy(void *arg)
{
	struct deposit *d = arg;
	STEP("begin");
	STEP("read balance");
	int b = d->acct->balance;
	STEP("write balance");
	d->acct->balance = b + d->amount;
	STEP("audit");
}

static const char *const fixed_order[] = { "begin", "lock", "unlocked",
					   "audit", NULL };

static void deposit_fixed(void *arg)
{
	struct deposit *d = arg;
	STEP("begin");
	STEP("lock");
	pthread_mutex_lock(&d->acct->mu);
	int b = d->acct->balance;
	d->acct->balance = b + d->amount;
	pthread_mutex_unlock(&d->acct->mu);
	STEP("unlocked");
	STEP("audit");
}

/* One seed: alice deposits 50 and bob 70 into an account holding 100. */
static int bank_body(stp_stepper *s, int fixed)
{
	struct account a = { PTHREAD_MUTEX_INITIALIZER, 100 };
	struct deposit alice = { &a, 50 }, bob = { &a, 70 };
	void (*fn)(void *) = fixed ? deposit_fixed : deposit_racy;
	const char *const *order = fixed ? fixed_order : racy_order;
	stp_thread(s, "alice", order, fn, &alice);
	stp_thread(s, "bob", order, fn, &bob);
	if (stp_run(s) != 0)
		return 1;
	if (a.balance != 220)
		stp_add_error(s, "balance is %d, expected 220 (100 + 50 + 70)",
			      a.balance);
	return 0;
}

static int racy_body(stp_stepper *s, void *arg)
{
	(void)arg;
	return bank_body(s, 0);
}

static int fixed_body(stp_stepper *s, void *arg)
{
	(void)arg;
	return bank_body(s, 1);
}

#endif
