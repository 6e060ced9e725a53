/* abba: two transfers lock the two accounts in argument order (A then B, and
 * B then A); each can hold one lock and wait for the other: a deadlock.
 * The fix: always lock the account with the lower index first. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct account {
	int index;
	int balance;
	pthread_mutex_t mu;
};

static struct account acct[2] = {
	{ 0, 100, PTHREAD_MUTEX_INITIALIZER },
	{ 1, 100, PTHREAD_MUTEX_INITIALIZER },
};

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static void transfer(struct account *from, struct account *to, int amount)
{
	struct account *first = from, *second = to; /* the bug: argument order */
	pthread_mutex_lock(&first->mu);
	pthread_mutex_lock(&second->mu);
	from->balance -= amount;
	to->balance += amount;
	pthread_mutex_unlock(&second->mu);
	pthread_mutex_unlock(&first->mu);
}

static void *a_to_b(void *arg)
{
	(void)arg;
	transfer(&acct[0], &acct[1], 10);
	return NULL;
}

static void *b_to_a(void *arg)
{
	(void)arg;
	transfer(&acct[1], &acct[0], 20);
	return NULL;
}

int main(void)
{
	pthread_t t1, t2;
	check(pthread_create(&t1, NULL, a_to_b, NULL), "pthread_create");
	check(pthread_create(&t2, NULL, b_to_a, NULL), "pthread_create");
	check(pthread_join(t1, NULL), "pthread_join");
	check(pthread_join(t2, NULL), "pthread_join");
	assert(acct[0].balance == 110 && acct[1].balance == 90 && "wrong balances");
	return 0;
}
