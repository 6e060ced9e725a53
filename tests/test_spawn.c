/*
 * test_spawn.c - the core's points for unmodified programs (spawn.c):
 * threads made during a run and named by creation path, joins, yields,
 * sleeps on virtual time, a join in a deadlock, the thread limit, and
 * mutex kinds. These are internal calls (the preload, stepper/auto, makes
 * them from pthread calls), so the test includes stepper_int.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stepper_int.h"
#include "made_threads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEEDS 200


/* ------------------------------------------------------------------ */
/* Made, named, joined                                                 */
/* ------------------------------------------------------------------ */

struct shared {
	pthread_mutex_t mu;
	int counter;
	char order[16];
	int norder;
	const char *names[4];
};

static void incr(void *p)
{
	struct shared *sh = p;
	stp__mutex_lock(&sh->mu, STP__MUTEX_NORMAL, "incr", 1);
	int v = sh->counter;
	stp__mutex_unlock(&sh->mu, STP__MUTEX_NORMAL, "incr", 2);
	stp__mutex_lock(&sh->mu, STP__MUTEX_NORMAL, "incr", 3);
	sh->counter = v + 1; /* the lost update: read and write apart */
	stp__mutex_unlock(&sh->mu, STP__MUTEX_NORMAL, "incr", 4);
}

static void two_children(void *p)
{
	struct shared *sh = p;
	struct stp__thread *a = spawn(incr, sh), *b = spawn(incr, sh);
	if (!a || !b)
		return;
	sh->names[0] = a->name;
	sh->names[1] = b->name;
	if (stp__join(stp_self_, a) != 0 || stp__join(stp_self_, b) != 0)
		sh->counter = -100;
}

static void test_made_threads_are_named_by_creation_path_and_joined(void **state)
{
	(void)state;
	int lost = 0, whole = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct shared sh = { .mu = PTHREAD_MUTEX_INITIALIZER };
		stp_stepper *s = new_run(seed, two_children, &sh);
		int rc = stp_run(s);
		if (rc != 0)
			fail_msg("seed %llu: %s", (unsigned long long)seed, errors_of(s));
		assert_int_equal(s->nthreads, 3);
		assert_string_equal(s->threads[1]->name, "main/1");
		assert_string_equal(s->threads[2]->name, "main/2");
		lost += sh.counter == 1;
		whole += sh.counter == 2;
		stp_free(s);
	}
	/* both outcomes of the race are reached, nothing else */
	assert_int_equal(lost + whole, SEEDS);
	assert_true(lost > 0);
	assert_true(whole > 0);
}

static void join_twice(void *p)
{
	int *rc = p;
	struct stp__thread *a = spawn(incr, &(struct shared){ .mu = PTHREAD_MUTEX_INITIALIZER });
	(void)a;
	rc[0] = stp__join(stp_self_, stp_self_);
	rc[1] = stp__join(stp_self_, a);
	rc[2] = stp__join(stp_self_, a);
	struct stp__thread *b = spawn(incr, &(struct shared){ .mu = PTHREAD_MUTEX_INITIALIZER });
	rc[3] = stp__detach(b);
	rc[4] = stp__join(stp_self_, b);
}

static void test_join_of_itself_twice_or_detached_is_refused(void **state)
{
	(void)state;
	int rc[5] = { 1, 1, 1, 1, 1 };
	stp_stepper *s = new_run(1, join_twice, rc);
	assert_int_equal(stp_run(s), 0);
	assert_int_equal(rc[0], STP_EDEADLOCK);
	assert_int_equal(rc[1], 0);
	assert_int_equal(rc[2], STP_EINVAL);
	assert_int_equal(rc[3], 0);
	assert_int_equal(rc[4], STP_EINVAL);
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* A join in a deadlock                                                */
/* ------------------------------------------------------------------ */

static void take_it(void *p)
{
	stp__set_site(stp_self_, "take_it+0x10 (prog)");
	stp__mutex_lock(p, STP__MUTEX_NORMAL, "take_it+0x10 (prog)", 0);
}

static void hold_and_join(void *p)
{
	stp__set_site(stp_self_, "hold_and_join+0x20 (prog)");
	stp__mutex_lock(p, STP__MUTEX_NORMAL, "hold_and_join+0x20 (prog)", 0);
	struct stp__thread *a = spawn(take_it, p);
	stp__set_site(stp_self_, "hold_and_join+0x30 (prog)");
	if (a)
		stp__join(stp_self_, a);
}

static void test_a_join_on_a_thread_blocked_by_the_joiner_is_a_deadlock(void **state)
{
	(void)state;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	stp_stepper *s = new_run(3, hold_and_join, &mu);
	assert_true(stp_run(s) > 0);
	const char *e = errors_of(s);
	assert_non_null(strstr(e, "[main] joins [main/1] at hold_and_join+0x30 (prog)"));
	assert_non_null(strstr(e, "[main/1] waits for m#1 at take_it+0x10 (prog); [main] "
				  "holds it (taken at hold_and_join+0x20 (prog))"));
	assert_non_null(strstr(e, "deadlock: a cycle of threads, each waiting for the next "
				  "(a mutex it holds, or its end):"));
	assert_non_null(strstr(e, "the cycle: [main] -> join -> [main/1] -> m#1 -> [main]"));
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* Virtual time                                                        */
/* ------------------------------------------------------------------ */

struct sleeper {
	struct shared *sh;
	uint64_t ns;
	char mark;
};

static void sleep_then_mark(void *p)
{
	struct sleeper *z = p;
	stp__vsleep(stp_self_, z->ns);
	z->sh->order[z->sh->norder++] = z->mark;
}

static void two_sleepers(void *p)
{
	struct sleeper *z = p;
	struct stp__thread *a = spawn(sleep_then_mark, &z[0]);
	struct stp__thread *b = spawn(sleep_then_mark, &z[1]);
	if (a && b) {
		stp__join(stp_self_, a);
		stp__join(stp_self_, b);
	}
}

/* An hour and a second: the earlier deadline always goes first, and time
 * moves by jumps, at once. Equal deadlines: either order, by the seed. */
static void test_sleeps_wake_in_deadline_order_and_ties_are_decisions(void **state)
{
	(void)state;
	int ab = 0, ba = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct shared sh = { 0 };
		struct sleeper z[2] = { { &sh, 3600000000000ull, 'a' }, { &sh, 1000000000ull, 'b' } };
		stp_stepper *s = new_run(seed, two_sleepers, z);
		assert_int_equal(stp_run(s), 0);
		assert_string_equal(sh.order, "ba");
		assert_int_equal(s->vnow, 3600000000000ull);
		stp_free(s);

		struct shared tie = { 0 };
		struct sleeper y[2] = { { &tie, 60000000000ull, 'a' }, { &tie, 60000000000ull, 'b' } };
		s = new_run(seed, two_sleepers, y);
		assert_int_equal(stp_run(s), 0);
		ab += strcmp(tie.order, "ab") == 0;
		ba += strcmp(tie.order, "ba") == 0;
		stp_free(s);
	}
	assert_int_equal(ab + ba, SEEDS);
	assert_true(ab > 0 && ba > 0);
}

/* ------------------------------------------------------------------ */
/* Limits and kinds                                                    */
/* ------------------------------------------------------------------ */

static void nothing(void *p)
{
	(void)p;
}

static void too_many(void *p)
{
	int *last = p;
	for (int i = 0; i < STP_MAX_THREADS; i++) {
		struct stp__thread *t = NULL;
		*last = stp__spawn(stp_self_, nothing, NULL, start_on_pool, NULL, &t);
		if (*last != 0)
			return;
	}
}

static void test_one_thread_too_many_is_reported(void **state)
{
	(void)state;
	int last = 0;
	stp_stepper *s = new_run(1, too_many, &last);
	assert_true(stp_run(s) > 0);
	assert_int_equal(last, STP_ELIMIT);
	assert_non_null(strstr(errors_of(s), "cannot control more than 1024 threads: [main] "
					     "creates one more"));
	assert_int_equal(s->nthreads, STP_MAX_THREADS);
	stp_free(s);
}

/* More threads made than the strategies first make room for (64): each
 * later one takes its priority as it is made, and the race is still
 * found among them. */
#define CROWD 150

struct crowd {
	struct shared sh;
	int made;
};

static void crowd_main(void *p)
{
	struct crowd *c = p;
	struct stp__thread *t[CROWD];
	for (int i = 0; i < CROWD; i++) {
		t[i] = spawn(incr, &c->sh);
		if (!t[i])
			return;
		c->made++;
	}
	for (int i = 0; i < CROWD; i++)
		if (stp__join(stp_self_, t[i]) != 0)
			c->sh.counter = -1000;
}

static void test_threads_made_beyond_the_strategies_first_room_take_priorities(void **state)
{
	(void)state;
	const char *strategies[] = { "pct:3", "pos", "random" };
	for (size_t k = 0; k < sizeof strategies / sizeof *strategies; k++) {
		int lost = 0;
		for (uint64_t seed = 1; seed <= 8; seed++) {
			struct crowd c = { .sh = { .mu = PTHREAD_MUTEX_INITIALIZER } };
			stp_stepper *s = new_run(seed, crowd_main, &c);
			s->opt.strategy = strategies[k];
			if (stp_run(s) != 0)
				fail_msg("%s seed %llu: %s", strategies[k], (unsigned long long)seed,
					 errors_of(s));
			assert_int_equal(c.made, CROWD);
			assert_int_equal(s->nthreads, CROWD + 1);
			for (int i = 0; i < s->nthreads; i++)
				assert_int_equal(atomic_load(&s->threads[i]->ended), 1);
			assert_true(c.sh.counter >= 1 && c.sh.counter <= CROWD);
			lost += c.sh.counter < CROWD;
			stp_free(s);
		}
		if (lost == 0)
			fail_msg("%s: no lost update in 8 seeds of %d threads", strategies[k], CROWD);
	}
}

static void kinds(void *p)
{
	int *rc = p;
	pthread_mutex_t r = PTHREAD_MUTEX_INITIALIZER, e = PTHREAD_MUTEX_INITIALIZER;
	rc[0] = stp__mutex_lock(&r, STP__MUTEX_RECURSIVE, "k", 1);
	rc[1] = stp__mutex_lock(&r, STP__MUTEX_RECURSIVE, "k", 2);
	rc[2] = stp__mutex_trylock(&r, STP__MUTEX_RECURSIVE, "k", 3);
	rc[3] = stp__mutex_unlock(&r, STP__MUTEX_RECURSIVE, "k", 4);
	rc[4] = stp__mutex_unlock(&r, STP__MUTEX_RECURSIVE, "k", 5);
	rc[5] = stp__mutex_unlock(&r, STP__MUTEX_RECURSIVE, "k", 6);
	rc[6] = stp__mutex_unlock(&r, STP__MUTEX_RECURSIVE, "k", 7); /* one too many */
	rc[7] = stp__mutex_lock(&e, STP__MUTEX_ERRORCHECK, "k", 8);
	rc[8] = stp__mutex_lock(&e, STP__MUTEX_ERRORCHECK, "k", 9);
	rc[9] = stp__mutex_unlock(&e, STP__MUTEX_ERRORCHECK, "k", 10);
	rc[10] = stp__mutex_unlock(&e, STP__MUTEX_ERRORCHECK, "k", 11);
}

static void test_recursive_and_error_checking_mutexes_keep_their_kind(void **state)
{
	(void)state;
	int rc[11];
	memset(rc, 1, sizeof rc);
	stp_stepper *s = new_run(1, kinds, rc);
	assert_int_equal(stp_run(s), 0); /* no report: the kinds answer with codes */
	int want[11] = { 0, 0, 0, 0, 0, 0, STP_EPERM, 0, STP_EDEADLOCK, 0, STP_EPERM };
	for (int i = 0; i < 11; i++)
		if (rc[i] != want[i])
			fail_msg("call %d returned %d, expected %d", i, rc[i], want[i]);
	stp_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_made_threads_are_named_by_creation_path_and_joined),
		cmocka_unit_test(test_join_of_itself_twice_or_detached_is_refused),
		cmocka_unit_test(test_a_join_on_a_thread_blocked_by_the_joiner_is_a_deadlock),
		cmocka_unit_test(test_sleeps_wake_in_deadline_order_and_ties_are_decisions),
		cmocka_unit_test(test_one_thread_too_many_is_reported),
		cmocka_unit_test(test_threads_made_beyond_the_strategies_first_room_take_priorities),
		cmocka_unit_test(test_recursive_and_error_checking_mutexes_keep_their_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
