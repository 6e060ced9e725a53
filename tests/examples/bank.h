/*
 * bank.h - the bank-transfer example: two deposits into one account.
 *
 * The racy deposit reads the balance, computes, and writes it back, with a
 * step between each; two deposits whose reads both come before either
 * write lose one update. The fixed deposit is the same code with the same
 * steps, the read and the write under stp_mutex_lock: the lock and the
 * unlock are scheduling points the stepper sees, a deposit that would
 * wait for the mutex is never chosen, and the steps inside the critical
 * section stay where they were.
 *
 * The split deposit is the older fix, the one plain pthread mutexes
 * needed: the steps moved out of the critical section, so the racy and
 * the fixed code had different steps. The trace tests keep it for their
 * version-1 golden traces (a run of steps only).
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

/* The racy deposit's steps, the read and the write under the mutex. */
static void deposit_fixed(void *arg)
{
	struct deposit *d = arg;
	STEP("begin");
	stp_mutex_lock(&d->acct->mu);
	STEP("read balance");
	int b = d->acct->balance;
	STEP("write balance");
	d->acct->balance = b + d->amount;
	stp_mutex_unlock(&d->acct->mu);
	STEP("audit");
}

static const char *const split_order[] = { "begin", "lock", "unlocked",
					   "audit", NULL };

/* No step inside the critical section: with plain pthread calls a thread
 * parked at a step while holding the mutex would stall the other. */
static void deposit_split(void *arg)
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

enum deposit_kind { DEPOSIT_RACY, DEPOSIT_FIXED, DEPOSIT_SPLIT };

/* One seed: alice deposits 50 and bob 70 into an account holding 100. */
static int bank_body(stp_stepper *s, enum deposit_kind kind)
{
	struct account a = { PTHREAD_MUTEX_INITIALIZER, 100 };
	struct deposit alice = { &a, 50 }, bob = { &a, 70 };
	void (*fn)(void *) = kind == DEPOSIT_RACY    ? deposit_racy
			     : kind == DEPOSIT_FIXED ? deposit_fixed
						     : deposit_split;
	const char *const *order = kind == DEPOSIT_SPLIT ? split_order : racy_order;
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
	return bank_body(s, DEPOSIT_RACY);
}

/* Unused in some of the files that include this header. */
__attribute__((unused)) static int fixed_body(stp_stepper *s, void *arg)
{
	(void)arg;
	return bank_body(s, DEPOSIT_FIXED);
}

__attribute__((unused)) static int split_body(stp_stepper *s, void *arg)
{
	(void)arg;
	return bank_body(s, DEPOSIT_SPLIT);
}

#endif
