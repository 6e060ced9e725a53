/*
 * test_prims.c - the core's semaphores, rwlocks, barriers and once
 * (prims.c), as the preload calls them: what blocks and what a decision
 * is, the barrier's serial thread, a once routine run once while the
 * other callers wait, and the deadlock reports (a cycle through a
 * rwlock's readers, a semaphore nothing posts, a barrier short of
 * arrivals). Internal calls, as in test_spawn.c: the test includes
 * stepper_int.h. Every run is a made-thread run with virtual time, as the
 * preload's are; each test names its seeds.
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
#define SEC 1000000000ull

/* ------------------------------------------------------------------ */
/* Runs with made threads (as test_spawn.c)                            */
/* ------------------------------------------------------------------ */

static void join(struct stp__thread *t)
{
	if (t)
		stp__join(stp_self_, t);
}


/* Run main_fn(arg) with seed; it must pass. */
static stp_stepper *run_passing(uint64_t seed, void (*main_fn)(void *), void *arg)
{
	stp_stepper *s = new_run(seed, main_fn, arg);
	if (stp_run(s) != 0)
		fail_msg("seed %llu: %s", (unsigned long long)seed, errors_of(s));
	return s;
}

static struct stp__thread *me(void)
{
	return stp_self_;
}

static void site(const char *text)
{
	stp__set_site(stp_self_, text);
}

/* ------------------------------------------------------------------ */
/* Semaphores                                                          */
/* ------------------------------------------------------------------ */

struct semtest {
	char sem; /* the semaphore's address: the model never reads it */
	char order[8];
	int n;
	int rc[8];
	uint64_t vnow;
	unsigned value;
};

static void take_one(void *p)
{
	struct semtest *x = p;
	x->rc[1] = stp__semaphore_wait(me(), &x->sem, 0, 0);
	x->order[x->n++] = 'W';
}

static void post_after_child(void *p)
{
	struct semtest *x = p;
	x->rc[0] = stp__semaphore_init(me(), &x->sem, 0);
	struct stp__thread *c = spawn(take_one, x);
	stp__yield(me());
	x->order[x->n++] = 'P';
	x->rc[2] = stp__semaphore_post(me(), &x->sem);
	join(c);
	x->rc[3] = stp__semaphore_value(me(), &x->sem, &x->value);
}

static void test_a_sem_wait_at_zero_is_blocked_until_a_post(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct semtest x = { 0 };
		stp_stepper *s = run_passing(seed, post_after_child, &x);
		assert_string_equal(x.order, "PW");
		for (int i = 0; i < 4; i++)
			assert_int_equal(x.rc[i], 0);
		assert_int_equal(x.value, 0);
		stp_free(s);
	}
}

static void try_and_count(void *p)
{
	struct semtest *x = p;
	stp__semaphore_init(me(), &x->sem, 2);
	x->rc[0] = stp__semaphore_trywait(me(), &x->sem);
	x->rc[1] = stp__semaphore_trywait(me(), &x->sem);
	x->rc[2] = stp__semaphore_trywait(me(), &x->sem); /* at 0 */
	x->rc[3] = stp__semaphore_post(me(), &x->sem);
	x->rc[4] = stp__semaphore_value(me(), &x->sem, &x->value);
	x->rc[5] = stp__semaphore_wait(me(), &x->sem, 0, 0); /* 1: goes on */
}

static void test_sem_trywait_takes_what_is_there_and_says_eagain_at_zero(void **state)
{
	(void)state;
	struct semtest x = { 0 };
	stp_stepper *s = run_passing(1, try_and_count, &x);
	int want[6] = { 0, 0, STP_EAGAIN, 0, 0, 0 };
	for (int i = 0; i < 6; i++)
		if (x.rc[i] != want[i])
			fail_msg("call %d returned %d, expected %d", i, x.rc[i], want[i]);
	assert_int_equal(x.value, 1);
	stp_free(s);
}

static void post_later(void *p)
{
	struct semtest *x = p;
	stp__vsleep(me(), 3 * SEC);
	stp__semaphore_post(me(), &x->sem);
}

static void timed_waits(void *p)
{
	struct semtest *x = p;
	stp__semaphore_init(me(), &x->sem, 0);
	x->rc[0] = stp__semaphore_wait(me(), &x->sem, 1, 5 * SEC); /* nobody posts */
	x->vnow = me()->s->vnow;
	struct stp__thread *c = spawn(post_later, x);
	x->rc[1] = stp__semaphore_wait(me(), &x->sem, 1, 60 * SEC); /* posted at 8 s */
	x->rc[2] = (int)((me()->s->vnow - x->vnow) / SEC);
	join(c);
}

static void test_sem_timedwait_times_out_on_virtual_time_or_takes_a_post(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct semtest x = { 0 };
		stp_stepper *s = run_passing(seed, timed_waits, &x);
		assert_int_equal(x.rc[0], STP_ETIMEDOUT);
		assert_int_equal(x.vnow, 5 * SEC);
		assert_int_equal(x.rc[1], 0);
		assert_int_equal(x.rc[2], 3); /* the post came 3 s later, not the deadline */
		stp_free(s);
	}
}

static void wait_for_nothing(void *p)
{
	struct semtest *x = p;
	site("waiter+0x12 (prog)");
	x->rc[0] = stp__semaphore_wait(me(), &x->sem, 0, 0);
}

static void nobody_posts(void *p)
{
	struct semtest *x = p;
	stp__semaphore_init(me(), &x->sem, 0);
	spawn(wait_for_nothing, x);
	stp__yield(me());
}

static void test_a_sem_nothing_can_post_is_a_lost_wake_up(void **state)
{
	(void)state;
	struct semtest x = { 0 };
	stp_stepper *s = new_run(1, nobody_posts, &x);
	assert_true(stp_run(s) > 0);
	const char *e = errors_of(s);
	assert_non_null(strstr(e, "deadlock: lost wake-up: [main/1] waits on sem#1 at "
				  "waiter+0x12 (prog); its count is 0 and no thread that could "
				  "post it can go on"));
	assert_non_null(strstr(e, "[main] ended"));
	assert_int_equal(x.rc[0], STP_EDEADLOCK);
	stp_free(s);
}

static void wait_uninitialised(void *p)
{
	struct semtest *x = p;
	site("main+0x40 (prog)");
	x->rc[0] = stp__semaphore_wait(me(), &x->sem, 0, 0);
}

static void test_a_sem_no_init_made_is_an_error(void **state)
{
	(void)state;
	struct semtest x = { 0 };
	stp_stepper *s = new_run(1, wait_uninitialised, &x);
	assert_true(stp_run(s) > 0);
	assert_non_null(strstr(errors_of(s), "[main] calls sem_wait on sem#1 at main+0x40 "
					     "(prog), which no sem_init of this run "
					     "initialised"));
	assert_int_equal(x.rc[0], STP_EINVAL);
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* Rwlocks                                                             */
/* ------------------------------------------------------------------ */

struct rwtest {
	char rw;
	int kind;
	int rc[12];
	int w_waiting, w_got, overtook;
	pthread_mutex_t mu;
	char sem;
};

static void read_once(void *p)
{
	struct rwtest *x = p;
	x->rc[1] = stp__rwlock_lock(me(), &x->rw, x->kind, 0, 0, 0);
	x->rc[2] = stp__rwlock_unlock(me(), &x->rw, x->kind);
}

/* A reader that holds it joins another reader: readers share. */
static void read_while_reading(void *p)
{
	struct rwtest *x = p;
	x->rc[0] = stp__rwlock_lock(me(), &x->rw, x->kind, 0, 0, 0);
	join(spawn(read_once, x));
	x->rc[3] = stp__rwlock_unlock(me(), &x->rw, x->kind);
}

static void test_readers_share_a_rwlock(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 50; seed++) {
		struct rwtest x = { .kind = STP__RW_PREFER_READER };
		stp_stepper *s = run_passing(seed, read_while_reading, &x);
		for (int i = 0; i < 4; i++)
			assert_int_equal(x.rc[i], 0);
		stp_free(s);
	}
}

static void tries(void *p)
{
	struct rwtest *x = p;
	x->rc[0] = stp__rwlock_lock(me(), &x->rw, 0, 0, 0, 0);
	x->rc[1] = stp__rwlock_trylock(me(), &x->rw, 0, 0); /* a second read */
	x->rc[2] = stp__rwlock_trylock(me(), &x->rw, 0, 1); /* readers hold it */
	x->rc[3] = stp__rwlock_unlock(me(), &x->rw, 0);
	x->rc[4] = stp__rwlock_unlock(me(), &x->rw, 0);
	x->rc[5] = stp__rwlock_trylock(me(), &x->rw, 0, 1);
	x->rc[6] = stp__rwlock_trylock(me(), &x->rw, 0, 0); /* a writer holds it */
	x->rc[7] = stp__rwlock_lock(me(), &x->rw, 0, 0, 0, 0); /* its own writer */
	x->rc[8] = stp__rwlock_lock(me(), &x->rw, 0, 1, 0, 0);
	x->rc[9] = stp__rwlock_unlock(me(), &x->rw, 0);
}

static void test_rwlock_trylocks_and_relocks_by_the_writer_answer_with_codes(void **state)
{
	(void)state;
	struct rwtest x = { 0 };
	stp_stepper *s = run_passing(1, tries, &x);
	int want[10] = { 0, 0, STP_EBUSY, 0, 0, 0, STP_EBUSY, STP_EDEADLOCK, STP_EDEADLOCK, 0 };
	for (int i = 0; i < 10; i++)
		if (x.rc[i] != want[i])
			fail_msg("call %d returned %d, expected %d", i, x.rc[i], want[i]);
	stp_free(s);
}

static void unlock_unheld(void *p)
{
	struct rwtest *x = p;
	site("main+0x30 (prog)");
	x->rc[0] = stp__rwlock_unlock(me(), &x->rw, 0);
}

static void test_an_unlock_of_a_rwlock_not_held_is_reported(void **state)
{
	(void)state;
	struct rwtest x = { 0 };
	stp_stepper *s = new_run(1, unlock_unheld, &x);
	assert_true(stp_run(s) > 0);
	assert_non_null(strstr(errors_of(s), "[main] unlocked rw#1 at main+0x30 (prog), which "
					     "it does not hold"));
	assert_int_equal(x.rc[0], STP_EPERM);
	stp_free(s);
}

static void writer(void *p)
{
	struct rwtest *x = p;
	x->w_waiting = 1; /* no point between this and its arrival at wrlock */
	stp__rwlock_lock(me(), &x->rw, x->kind, 1, 0, 0);
	x->w_got = 1;
	stp__rwlock_unlock(me(), &x->rw, x->kind);
}

static void late_reader(void *p)
{
	struct rwtest *x = p;
	stp__rwlock_lock(me(), &x->rw, x->kind, 0, 0, 0);
	x->overtook += x->w_waiting && !x->w_got;
	stp__rwlock_unlock(me(), &x->rw, x->kind);
}

static void reader_writer_reader(void *p)
{
	struct rwtest *x = p;
	stp__rwlock_init(me(), &x->rw, x->kind);
	stp__rwlock_lock(me(), &x->rw, x->kind, 0, 0, 0);
	struct stp__thread *w = spawn(writer, x), *r = spawn(late_reader, x);
	stp__yield(me());
	stp__yield(me());
	stp__rwlock_unlock(me(), &x->rw, x->kind);
	join(w);
	join(r);
}

/* How often, over the seeds, a reader went in while a writer waited. */
static int overtakes(int kind)
{
	int n = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct rwtest x = { .kind = kind };
		stp_stepper *s = run_passing(seed, reader_writer_reader, &x);
		n += x.overtook;
		stp_free(s);
	}
	return n;
}

static void test_readers_go_first_by_default_and_writers_when_the_kind_says(void **state)
{
	(void)state;
	assert_true(overtakes(STP__RW_PREFER_READER) > 0);
	assert_int_equal(overtakes(STP__RW_PREFER_WRITER), 0);
}

static void read_twice(void *p)
{
	struct rwtest *x = p;
	site("main+0x10 (prog)");
	stp__rwlock_init(me(), &x->rw, x->kind);
	stp__rwlock_lock(me(), &x->rw, x->kind, 0, 0, 0);
	struct stp__thread *w = spawn(writer, x);
	stp__yield(me());
	site("main+0x20 (prog)");
	x->rc[0] = stp__rwlock_lock(me(), &x->rw, x->kind, 0, 0, 0); /* again */
	stp__rwlock_unlock(me(), &x->rw, x->kind);
	stp__rwlock_unlock(me(), &x->rw, x->kind);
	join(w);
}

/* Preferring writers, a reader that reads again behind a waiting writer
 * deadlocks (glibc's "nonrecursive"); preferring readers, it never does. */
static void test_a_second_read_behind_a_waiting_writer_deadlocks_when_writers_go_first(
	void **state)
{
	(void)state;
	int deadlocks = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct rwtest x = { .kind = STP__RW_PREFER_READER };
		stp_free(run_passing(seed, read_twice, &x));
		x = (struct rwtest){ .kind = STP__RW_PREFER_WRITER };
		stp_stepper *s = new_run(seed, read_twice, &x);
		if (stp_run(s) != 0) {
			const char *e = errors_of(s);
			assert_non_null(strstr(e, "the cycle: [main] -> rw#1 -> [main/1] -> rw#1 -> "
						  "[main]"));
			assert_non_null(strstr(e, "[main] waits for rw#1 (to read) at main+0x20 "
						  "(prog); [main/1] waits to write first"));
			assert_non_null(strstr(e, "[main/1] waits for rw#1 (to write) at ?; [main] "
						  "holds it to read"));
			deadlocks++;
		}
		stp_free(s);
	}
	assert_true(deadlocks > 0);
}

static void write_under_mutex(void *p)
{
	struct rwtest *x = p;
	site("w+0x1 (prog)");
	stp__mutex_lock(&x->mu, STP__MUTEX_NORMAL, "w+0x1 (prog)", 0);
	site("w+0x2 (prog)");
	stp__rwlock_lock(me(), &x->rw, 0, 1, 0, 0);
	stp__rwlock_unlock(me(), &x->rw, 0);
	stp__mutex_unlock(&x->mu, STP__MUTEX_NORMAL, "w+0x3 (prog)", 0);
}

static void read_then_block(void *p)
{
	struct rwtest *x = p;
	stp__rwlock_lock(me(), &x->rw, 0, 0, 0, 0);
	stp__semaphore_wait(me(), &x->sem, 0, 0); /* nobody posts: a dead end */
}

static void read_then_mutex(void *p)
{
	struct rwtest *x = p;
	site("r+0x1 (prog)");
	stp__rwlock_lock(me(), &x->rw, 0, 0, 0, 0);
	stp__mutex_lock(&x->mu, STP__MUTEX_NORMAL, "r+0x2 (prog)", 0);
	stp__mutex_unlock(&x->mu, STP__MUTEX_NORMAL, "r+0x3 (prog)", 0);
	stp__rwlock_unlock(me(), &x->rw, 0);
}

static void writer_and_two_readers(void *p)
{
	struct rwtest *x = p;
	stp__semaphore_init(me(), &x->sem, 0);
	struct stp__thread *w = spawn(write_under_mutex, x);
	struct stp__thread *a = spawn(read_then_block, x), *b = spawn(read_then_mutex, x);
	join(w);
	join(a);
	join(b);
}

/* The writer waits for two readers: one blocked elsewhere for good (no
 * cycle that way), one waiting for the writer's mutex (the cycle). */
static void test_a_deadlock_cycle_through_one_of_the_readers_is_found(void **state)
{
	(void)state;
	int cycles = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct rwtest x = { .mu = PTHREAD_MUTEX_INITIALIZER };
		stp_stepper *s = new_run(seed, writer_and_two_readers, &x);
		assert_true(stp_run(s) > 0); /* main/2 never ends */
		const char *e = errors_of(s);
		if (strstr(e, "the cycle: [main/1] -> rw#1 -> [main/3] -> m#1 -> [main/1]")) {
			assert_non_null(strstr(e, "[main/1] waits for rw#1 (to write) at w+0x2 "
						  "(prog); [main/2], [main/3] hold it to read"));
			assert_non_null(strstr(e, "[main/3] waits for m#1 at r+0x2 (prog); "
						  "[main/1] holds it (taken at w+0x1 (prog))"));
			cycles++;
		} else {
			assert_non_null(strstr(e, "deadlock: lost wake-up: [main/2] waits on sem#1"));
		}
		stp_free(s);
	}
	assert_true(cycles > 0);
}

static void timed_reader(void *p)
{
	struct rwtest *x = p;
	x->rc[1] = stp__rwlock_lock(me(), &x->rw, 0, 0, 1, 2 * SEC);
}

static void hold_to_write(void *p)
{
	struct rwtest *x = p;
	x->rc[0] = stp__rwlock_lock(me(), &x->rw, 0, 1, 0, 0);
	join(spawn(timed_reader, x));
	x->rc[2] = (int)(me()->s->vnow / SEC);
	stp__rwlock_unlock(me(), &x->rw, 0);
}

static void test_a_timed_rdlock_times_out_while_a_writer_holds_on(void **state)
{
	(void)state;
	struct rwtest x = { 0 };
	stp_free(run_passing(1, hold_to_write, &x));
	assert_int_equal(x.rc[0], 0);
	assert_int_equal(x.rc[1], STP_ETIMEDOUT);
	assert_int_equal(x.rc[2], 2);
}

/* ------------------------------------------------------------------ */
/* Barriers                                                            */
/* ------------------------------------------------------------------ */

#define ROUNDS 2
#define PARTIES 3

struct bartest {
	char bar;
	int arrived[ROUNDS], last[ROUNDS], serial[ROUNDS], serial_who[ROUNDS];
	int early; /* left a round before all arrived */
};

static void meet(void *p)
{
	struct bartest *x = p;
	for (int r = 0; r < ROUNDS; r++) {
		x->arrived[r]++;
		x->last[r] = me()->index; /* no point before its arrival */
		int rc = stp__barrier_wait(me(), &x->bar);
		x->early += x->arrived[r] != PARTIES;
		if (rc == STP__BARRIER_SERIAL) {
			x->serial[r]++;
			x->serial_who[r] = me()->index;
		}
	}
}

static void three_meet(void *p)
{
	struct bartest *x = p;
	stp__barrier_init(me(), &x->bar, PARTIES);
	struct stp__thread *a = spawn(meet, x), *b = spawn(meet, x);
	meet(x);
	join(a);
	join(b);
}

static void test_a_barrier_opens_at_the_last_arrival_who_is_its_serial_thread(void **state)
{
	(void)state;
	int who[PARTIES] = { 0 };
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct bartest x = { 0 };
		stp_free(run_passing(seed, three_meet, &x));
		assert_int_equal(x.early, 0);
		for (int r = 0; r < ROUNDS; r++) {
			assert_int_equal(x.serial[r], 1);
			assert_int_equal(x.serial_who[r], x.last[r]);
		}
		who[x.last[0]]++;
	}
	for (int i = 0; i < PARTIES; i++) /* any thread may arrive last */
		assert_true(who[i] > 0);
}

static void two_of_three(void *p)
{
	struct bartest *x = p;
	site("main+0x50 (prog)");
	stp__barrier_init(me(), &x->bar, PARTIES);
	struct stp__thread *a = spawn(meet, x);
	x->serial[0] = stp__barrier_wait(me(), &x->bar);
	join(a);
}

static void test_a_barrier_short_of_arrivals_is_reported(void **state)
{
	(void)state;
	struct bartest x = { 0 };
	stp_stepper *s = new_run(1, two_of_three, &x);
	assert_true(stp_run(s) > 0);
	assert_non_null(strstr(errors_of(s), "deadlock: [main] waits at bar#1 at main+0x50 "
					     "(prog); 2 of 3 arrived and no thread that could "
					     "arrive can go on"));
	assert_int_equal(x.serial[0], STP_EDEADLOCK);
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* Once                                                                */
/* ------------------------------------------------------------------ */

struct oncetest {
	int once;
	int runs, done, early, ran_by[PARTIES + 1];
	int before;
};

static void routine(struct oncetest *x)
{
	x->runs++;
	stp__yield(me()); /* the others may call meanwhile */
	x->done = 1;
}

static void call_once(void *p)
{
	struct oncetest *x = p;
	int rc = stp__once_enter(me(), &x->once, x->before);
	if (rc == STP__ONCE_RUN) {
		routine(x);
		stp__once_done(me(), &x->once);
		x->ran_by[me()->index]++;
	}
	x->early += !x->done && !x->before;
}

static void three_call(void *p)
{
	struct oncetest *x = p;
	struct stp__thread *a = spawn(call_once, x), *b = spawn(call_once, x);
	call_once(x);
	join(a);
	join(b);
}

static void test_once_runs_its_routine_once_and_the_others_wait_for_it(void **state)
{
	(void)state;
	int runners[PARTIES] = { 0 };
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct oncetest x = { 0 };
		stp_free(run_passing(seed, three_call, &x));
		assert_int_equal(x.runs, 1);
		assert_int_equal(x.early, 0);
		for (int i = 0; i < PARTIES; i++)
			runners[i] += x.ran_by[i];
	}
	for (int i = 0; i < PARTIES; i++) /* who runs it is a decision */
		assert_true(runners[i] > 0);
	struct oncetest y = { .before = 1 };
	stp_free(run_passing(1, three_call, &y));
	assert_int_equal(y.runs, 0); /* it ran before the run */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_sem_wait_at_zero_is_blocked_until_a_post),
		cmocka_unit_test(test_sem_trywait_takes_what_is_there_and_says_eagain_at_zero),
		cmocka_unit_test(test_sem_timedwait_times_out_on_virtual_time_or_takes_a_post),
		cmocka_unit_test(test_a_sem_nothing_can_post_is_a_lost_wake_up),
		cmocka_unit_test(test_a_sem_no_init_made_is_an_error),
		cmocka_unit_test(test_readers_share_a_rwlock),
		cmocka_unit_test(test_rwlock_trylocks_and_relocks_by_the_writer_answer_with_codes),
		cmocka_unit_test(test_an_unlock_of_a_rwlock_not_held_is_reported),
		cmocka_unit_test(test_readers_go_first_by_default_and_writers_when_the_kind_says),
		cmocka_unit_test(
			test_a_second_read_behind_a_waiting_writer_deadlocks_when_writers_go_first),
		cmocka_unit_test(test_a_deadlock_cycle_through_one_of_the_readers_is_found),
		cmocka_unit_test(test_a_timed_rdlock_times_out_while_a_writer_holds_on),
		cmocka_unit_test(test_a_barrier_opens_at_the_last_arrival_who_is_its_serial_thread),
		cmocka_unit_test(test_a_barrier_short_of_arrivals_is_reported),
		cmocka_unit_test(test_once_runs_its_routine_once_and_the_others_wait_for_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
