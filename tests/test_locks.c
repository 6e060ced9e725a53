/*
 * test_locks.c - locks and waits the stepper sees (issue 11): stp_mutex_*
 * and stp_cond_* as scheduling points over free and declared threads,
 * correct programs passing thousands of seeds with no stall while their
 * racy twins are found, deadlocks (AB/BA, self, lost wake-ups) reported at
 * once with where each thread blocked and where each mutex was taken,
 * timed waits that time out only when nothing else can go on, the serial
 * invariant with waits, exact replay, and bad input. Every loop over
 * seeds prints the seed of a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/clock.h>
#include <stepper/stepper.h>
#include <stepper/trace.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"

#define SEEDS 2000   /* the count for correct programs */
#define REPLAYS 100  /* the count for replays */
#define DIR "build/test-locks"
#define HERE "tests/test_locks.c"

static stp_options options_for(uint64_t seed)
{
	stp_options o;
	stp_options_init(&o);
	o.seed = seed;
	o.mode = STP_SERIAL;
	o.trace = NULL;
	o.replay = NULL;
	o.debug = 0;
	return o;
}

static stp_stepper *stepper_for(uint64_t seed)
{
	stp_options o = options_for(seed);
	return stp_new(&o);
}

/* The errors of a run, one a line, for failure messages. */
static const char *errors_of(stp_stepper *s)
{
	static char buf[8192];
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < stp_error_count(s) && len < sizeof buf; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s\n", stp_error(s, i));
	return buf;
}

static int has_error(stp_stepper *s, const char *text)
{
	for (size_t i = 0; i < stp_error_count(s); i++)
		if (strstr(stp_error(s, i), text))
			return 1;
	return 0;
}

static void expect_error(stp_stepper *s, const char *text)
{
	if (!has_error(s, text))
		fail_msg("no \"%s\" in the errors:\n%s", text, errors_of(s));
}

/* The outcome a run's trace records ("pass", "fail", "deadlock", ...),
 * into out. */
static void outcome_of(const char *path, char *out, size_t size)
{
	stp_trace_error err;
	stp_trace *t = stp_trace_load(path, &err);
	if (!t)
		fail_msg("%s did not load", path);
	snprintf(out, size, "%s", stp_trace_outcome(t));
	stp_trace_free(t);
}

/* Seeds 1..count of body over stp_loop, quietly. On a failure the failing
 * seed runs again with its report shown, and the test fails. */
static void loop_passes(const char *name, stp_body_fn body, void *arg, uint64_t count)
{
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = 1;
	lo.count = count;
	lo.quiet = 1;
	lo.name = name;
	lo.base.trace_dir = DIR;
	stp_loop_result r;
	int rc = stp_loop(&lo, body, arg, &r);
	if (rc == 0 && r.tried == count)
		return;
	if (rc == 1) { /* show the failure */
		lo.first_seed = r.failed_seed;
		lo.count = 1;
		lo.quiet = 0;
		stp_loop(&lo, body, arg, NULL);
	}
	fail_msg("%s: rc %d, seed %llu failed after %llu seeds (trace %s)", name, rc,
		 (unsigned long long)r.failed_seed, (unsigned long long)r.tried,
		 r.trace_path);
}

/* The first seed in 1..count at which body fails; fails the test if none. */
static uint64_t loop_finds(const char *name, stp_body_fn body, void *arg, uint64_t count)
{
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = 1;
	lo.count = count;
	lo.quiet = 1;
	lo.name = name;
	lo.base.trace_dir = DIR;
	stp_loop_result r;
	int rc = stp_loop(&lo, body, arg, &r);
	if (rc != 1)
		fail_msg("%s: the bug was not found in %llu seeds (rc %d)", name,
			 (unsigned long long)count, rc);
	printf("%s: found at seed %llu\n", name, (unsigned long long)r.failed_seed);
	return r.failed_seed;
}

/* ------------------------------------------------------------------ */
/* Compare-and-swap retry loop, and its racy twin                      */
/* ------------------------------------------------------------------ */

struct counter {
	atomic_int value;
	int racy;
};

static void cas_increment(void *p)
{
	struct counter *c = p;
	if (c->racy) { /* load; store: another thread's store is lost */
		STEP("load");
		int v = atomic_load(&c->value);
		STEP("store");
		atomic_store(&c->value, v + 1);
		return;
	}
	int v;
	do {
		STEP("load");
		v = atomic_load(&c->value);
		STEP("cas");
	} while (!atomic_compare_exchange_strong(&c->value, &v, v + 1));
}

/* 2 or 3 free threads increment once each: the count must be exact. */
static int counter_body(stp_stepper *s, void *arg)
{
	struct counter c = { 0, *(const int *)arg };
	int n = 2 + (int)(stp_get_options(s)->seed % 2);
	for (int i = 0; i < n; i++)
		if (stp_thread(s, NULL, NULL, cas_increment, &c) < 0)
			return -1;
	if (stp_run(s) != 0)
		return 1;
	if (atomic_load(&c.value) != n)
		stp_add_error(s, "lost an update: %d of %d", atomic_load(&c.value), n);
	return stp_error_count(s) != 0;
}

static void test_cas_retry_loop_passes_2000_seeds_and_its_twin_is_found(void **state)
{
	(void)state;
	static const int correct = 0, racy = 1;
	loop_passes("cas", counter_body, (void *)&correct, SEEDS);
	loop_finds("load-store", counter_body, (void *)&racy, SEEDS);
}

/* ------------------------------------------------------------------ */
/* Lazy initialisation with a skipped branch, and its racy twin        */
/* ------------------------------------------------------------------ */

struct lazy {
	pthread_mutex_t mu;
	atomic_int made;
	atomic_int inits;
	atomic_int wrong;
	int value;
	int racy;
};

/* Double-checked: the second thread skips the branch that makes it. The
 * twin checks and acts without the lock. */
static void lazy_get(void *p)
{
	struct lazy *l = p;
	STEP("check");
	if (!atomic_load(&l->made)) {
		if (!l->racy && stp_mutex_lock(&l->mu) != 0)
			return;
		if (l->racy || !atomic_load(&l->made)) {
			STEP("init");
			atomic_fetch_add(&l->inits, 1);
			l->value = 42;
			atomic_store(&l->made, 1);
		}
		if (!l->racy)
			stp_mutex_unlock(&l->mu);
	}
	STEP("use");
	if (l->value != 42)
		atomic_fetch_add(&l->wrong, 1);
}

static int lazy_body(stp_stepper *s, void *arg)
{
	struct lazy l = { .racy = *(const int *)arg };
	pthread_mutex_init(&l.mu, NULL);
	int n = 2 + (int)(stp_get_options(s)->seed % 2);
	for (int i = 0; i < n; i++)
		stp_thread(s, NULL, NULL, lazy_get, &l);
	int rc = stp_run(s);
	pthread_mutex_destroy(&l.mu);
	if (rc != 0)
		return 1;
	if (atomic_load(&l.inits) != 1 || atomic_load(&l.wrong) != 0)
		stp_add_error(s, "made %d times, used unmade %d times",
			      atomic_load(&l.inits), atomic_load(&l.wrong));
	return stp_error_count(s) != 0;
}

static void test_lazy_init_with_a_skipped_branch_passes_2000_seeds_and_its_twin_is_found(
	void **state)
{
	(void)state;
	static const int correct = 0, racy = 1;
	loop_passes("lazy", lazy_body, (void *)&correct, SEEDS);
	loop_finds("check-then-act", lazy_body, (void *)&racy, SEEDS);
}

/* ------------------------------------------------------------------ */
/* A blocking producer/consumer                                        */
/* ------------------------------------------------------------------ */

/* Counts controlled threads inside user code (between points): in a
 * serial run it is never more than one. */
struct serial {
	atomic_int inside;
	atomic_int most;
	atomic_long checks;
};

static void user_in(struct serial *c)
{
	if (!c)
		return;
	int now = atomic_fetch_add(&c->inside, 1) + 1;
	atomic_fetch_add(&c->checks, 1);
	int most = atomic_load(&c->most);
	while (now > most && !atomic_compare_exchange_weak(&c->most, &most, now))
		;
	for (volatile int i = 0; i < 20; i++) /* a window for another */
		;
}

static void user_out(struct serial *c)
{
	if (c)
		atomic_fetch_sub(&c->inside, 1);
}

#define CAP 1
#define PER_CONSUMER 2

enum pc_bug { PC_OK, PC_IF_NOT_WHILE };

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	int items[CAP];
	int head, count;
	int consumers;
	enum pc_bug bug;
	int timed; /* consumers wait with a timeout (that never expires) */
	struct serial *ser;
	atomic_int popped_empty;
	atomic_long sum;
	atomic_int done;
	/* what each consumer took, in order, for replays */
	int took[2][PER_CONSUMER];
};

/* Every point of the queue, with the serial count around it. */
static int q_lock(struct queue *q)
{
	user_out(q->ser);
	int rc = stp_mutex_lock(&q->mu);
	user_in(q->ser);
	return rc;
}

static void q_unlock(struct queue *q)
{
	user_out(q->ser);
	stp_mutex_unlock(&q->mu);
	user_in(q->ser);
}

static int q_wait(struct queue *q, pthread_cond_t *cv)
{
	user_out(q->ser);
	int rc = q->timed ? stp_cond_timedwait_ns(cv, &q->mu, STP_SECONDS(5))
			  : stp_cond_wait(cv, &q->mu);
	user_in(q->ser);
	return rc;
}

static void q_signal(struct queue *q, pthread_cond_t *cv)
{
	user_out(q->ser);
	stp_cond_signal(cv);
	user_in(q->ser);
}

static void q_step(struct queue *q, const char *name)
{
	user_out(q->ser);
	STEP(name);
	user_in(q->ser);
}

static void producer(void *p)
{
	struct queue *q = p;
	user_in(q->ser);
	for (int i = 1; i <= q->consumers * PER_CONSUMER; i++) {
		if (q_lock(q) != 0)
			break;
		int rc = 0;
		while (q->count == CAP && (rc = q_wait(q, &q->not_full)) == 0)
			;
		if (rc != 0) { /* the run was aborted */
			q_unlock(q);
			break;
		}
		q_step(q, "push");
		q->items[(q->head + q->count) % CAP] = i;
		q->count++;
		q_signal(q, &q->not_empty);
		q_unlock(q);
	}
	user_out(q->ser);
}

static void consumer(void *p)
{
	struct queue *q = p;
	user_in(q->ser);
	int me = atomic_fetch_add(&q->done, 1);
	for (int k = 0; k < PER_CONSUMER; k++) {
		if (q_lock(q) != 0)
			break;
		int rc = 0;
		if (q->bug == PC_IF_NOT_WHILE) {
			if (q->count == 0)
				rc = q_wait(q, &q->not_empty);
		} else {
			while (q->count == 0 && (rc = q_wait(q, &q->not_empty)) == 0)
				;
		}
		if (rc != 0) {
			q_unlock(q);
			break;
		}
		q_step(q, "pop");
		if (q->count == 0) {
			atomic_fetch_add(&q->popped_empty, 1);
			STP_CHECK(q->count > 0);
			q_unlock(q);
			break;
		}
		int v = q->items[q->head];
		q->head = (q->head + 1) % CAP;
		q->count--;
		q->took[me][k] = v;
		atomic_fetch_add(&q->sum, v);
		q_signal(q, &q->not_full);
		q_unlock(q);
	}
	user_out(q->ser);
}

static void queue_init(struct queue *q, int consumers, enum pc_bug bug)
{
	memset(q, 0, sizeof *q);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	q->consumers = consumers;
	q->bug = bug;
}

static void queue_destroy(struct queue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
}

static void queue_threads(stp_stepper *s, struct queue *q)
{
	assert_int_equal(stp_thread(s, "producer", NULL, producer, q), 0);
	assert_int_equal(stp_thread(s, "c1", NULL, consumer, q), 1);
	if (q->consumers > 1)
		assert_int_equal(stp_thread(s, "c2", NULL, consumer, q), 2);
}

/* Checks after a run of the queue: every item taken exactly once. */
static void queue_check(stp_stepper *s, struct queue *q)
{
	int n = q->consumers * PER_CONSUMER;
	if (atomic_load(&q->sum) != (long)n * (n + 1) / 2 || q->count != 0)
		stp_add_error(s, "the consumers took %ld in all (want %d), %d left",
			      atomic_load(&q->sum), n * (n + 1) / 2, q->count);
}

struct pc_arg {
	int consumers;
	enum pc_bug bug;
	int timed;
	struct serial *ser;
};

static int pc_body(stp_stepper *s, void *arg)
{
	const struct pc_arg *a = arg;
	struct queue q;
	queue_init(&q, a->consumers, a->bug);
	q.timed = a->timed;
	q.ser = a->ser;
	queue_threads(s, &q);
	int rc = stp_run(s);
	if (rc == 0)
		queue_check(s, &q);
	queue_destroy(&q);
	return rc != 0 || stp_error_count(s) != 0;
}

static void test_blocking_producer_consumer_passes_2000_seeds(void **state)
{
	(void)state;
	struct pc_arg one = { 1, PC_OK, 0, NULL }, two = { 2, PC_OK, 0, NULL };
	loop_passes("producer/consumer", pc_body, &one, SEEDS);
	loop_passes("producer/2 consumers", pc_body, &two, SEEDS);
}

static void test_if_instead_of_while_with_two_consumers_is_found(void **state)
{
	(void)state;
	struct pc_arg a = { 2, PC_IF_NOT_WHILE, 0, NULL };
	uint64_t seed = loop_finds("if-not-while", pc_body, &a, SEEDS);
	/* the failing seed again, by hand: the consumer popped an empty queue */
	struct queue q;
	queue_init(&q, 2, PC_IF_NOT_WHILE);
	stp_stepper *s = stepper_for(seed);
	queue_threads(s, &q);
	assert_true(stp_run(s) > 0);
	assert_true(atomic_load(&q.popped_empty) > 0);
	expect_error(s, "check failed: q->count > 0");
	assert_false(has_error(s, "stall"));
	stp_free(s);
	queue_destroy(&q);
}

/* ------------------------------------------------------------------ */
/* Deadlocks: AB/BA, a cycle of three, a self-deadlock                 */
/* ------------------------------------------------------------------ */

struct abba {
	pthread_mutex_t m[3];
	int rc[3];       /* each thread's second lock */
	atomic_int ended; /* threads that reached their end */
};

/* Where each thread takes its first and second mutex. */
static int first_line[3], second_line[3];

/* Thread i locks m[i], then m[(i + 1) % n]. */
struct abba_arg {
	struct abba *w;
	int i, n;
};

static void lock_two(void *p)
{
	struct abba_arg *a = p;
	struct abba *w = a->w;
	pthread_mutex_t *first = &w->m[a->i], *second = &w->m[(a->i + 1) % a->n];
	first_line[a->i] = __LINE__; int r1 = stp_mutex_lock(first);
	second_line[a->i] = __LINE__; w->rc[a->i] = stp_mutex_lock(second);
	if (w->rc[a->i] == 0)
		stp_mutex_unlock(second);
	if (r1 == 0)
		stp_mutex_unlock(first);
	atomic_fetch_add(&w->ended, 1);
}

/* One run of n threads in a lock cycle; the stepper, run, kept in *out. */
static int cycle_run(uint64_t seed, int n, struct abba *w, struct abba_arg *args,
		     const char *trace, stp_stepper **out)
{
	static const char *const names[] = { "a", "b", "c" };
	memset(w, 0, sizeof *w);
	for (int i = 0; i < n; i++)
		pthread_mutex_init(&w->m[i], NULL);
	stp_options o = options_for(seed);
	o.trace = trace;
	stp_stepper *s = stp_new(&o);
	for (int i = 0; i < n; i++) {
		args[i] = (struct abba_arg){ w, i, n };
		assert_int_equal(stp_thread(s, names[i], NULL, lock_two, &args[i]), i);
	}
	int rc = stp_run(s);
	for (int i = 0; i < n; i++)
		pthread_mutex_destroy(&w->m[i]);
	*out = s;
	return rc;
}

/* The report's line for thread i (waiting for the mutex of thread j). */
static void expect_blocked_line(stp_stepper *s, const char *who, const char *holder,
				int i, int j)
{
	char want[256];
	snprintf(want, sizeof want, "[%s] waits for m#%d at " HERE ":%d; [%s] holds it "
		 "(taken at " HERE ":%d)", who, j + 1, second_line[i], holder,
		 first_line[j]);
	expect_error(s, want);
}

static void test_ab_ba_deadlock_is_reported_at_once_with_the_cycle(void **state)
{
	(void)state;
	struct abba w;
	struct abba_arg args[2];
	stp_stepper *s = NULL;
	uint64_t seed;
	int rc = 0;
	for (seed = 1; seed <= 200; seed++) {
		rc = cycle_run(seed, 2, &w, args, DIR "/abba.json", &s);
		if (rc != 0)
			break;
		assert_int_equal(w.ended, 2);
		stp_free(s);
	}
	if (seed > 200)
		fail_msg("no AB/BA deadlock in 200 seeds");
	printf("AB/BA deadlock at seed %llu\n", (unsigned long long)seed);
	/* the run returned (no stall limit waited for), every thread ended */
	assert_true(rc > 0);
	assert_false(has_error(s, "stall"));
	assert_int_equal(atomic_load(&w.ended), 2);
	assert_int_equal(w.rc[0], STP_EDEADLOCK);
	assert_int_equal(w.rc[1], STP_EDEADLOCK);
	/* the mutexes are numbered by first use: a takes m[0] first */
	expect_error(s, "deadlock: a cycle of threads, each waiting for a mutex the next one holds:");
	expect_blocked_line(s, "a", "b", 0, 1);
	expect_blocked_line(s, "b", "a", 1, 0);
	if (!has_error(s, "the cycle: [a] -> m#2 -> [b] -> m#1 -> [a]") &&
	    !has_error(s, "the cycle: [b] -> m#1 -> [a] -> m#2 -> [b]"))
		fail_msg("no cycle in:\n%s", errors_of(s));
	stp_free(s);
	char outcome[32];
	outcome_of(DIR "/abba.json", outcome, sizeof outcome);
	assert_string_equal(outcome, "deadlock");
}

static void test_a_cycle_of_three_is_reported(void **state)
{
	(void)state;
	struct abba w;
	struct abba_arg args[3];
	stp_stepper *s = NULL;
	uint64_t seed;
	for (seed = 1; seed <= 500; seed++) {
		if (cycle_run(seed, 3, &w, args, NULL, &s) != 0)
			break;
		stp_free(s);
	}
	if (seed > 500)
		fail_msg("no three-thread deadlock in 500 seeds");
	if (!has_error(s, "the cycle: [a] -> m#2 -> [b] -> m#3 -> [c] -> m#1 -> [a]") &&
	    !has_error(s, "the cycle: [b] -> m#3 -> [c] -> m#1 -> [a] -> m#2 -> [b]") &&
	    !has_error(s, "the cycle: [c] -> m#1 -> [a] -> m#2 -> [b] -> m#3 -> [c]"))
		fail_msg("seed %llu: no cycle of three in:\n%s", (unsigned long long)seed,
			 errors_of(s));
	expect_blocked_line(s, "a", "b", 0, 1);
	expect_blocked_line(s, "b", "c", 1, 2);
	expect_blocked_line(s, "c", "a", 2, 0);
	assert_int_equal(atomic_load(&w.ended), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(w.rc[i], STP_EDEADLOCK);
	stp_free(s);
}

static int relock_line[2], relock_rc;
static atomic_int relock_ended;

static void relocks(void *p)
{
	pthread_mutex_t *m = p;
	relock_line[0] = __LINE__; stp_mutex_lock(m);
	STEP("inside");
	relock_line[1] = __LINE__; relock_rc = stp_mutex_lock(m);
	stp_mutex_unlock(m);
	atomic_fetch_add(&relock_ended, 1);
}

static void test_self_deadlock_is_reported_with_both_places(void **state)
{
	(void)state;
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	stp_options o = options_for(1);
	o.trace = DIR "/self.json";
	atomic_store(&relock_ended, 0);
	stp_stepper *s = stp_new(&o);
	assert_int_equal(stp_thread(s, "a", NULL, relocks, &m), 0);
	assert_true(stp_run(s) > 0);
	char want[256];
	snprintf(want, sizeof want, "deadlock: [a] locks m#1 at " HERE ":%d, which it already "
		 "holds (taken at " HERE ":%d): a self-deadlock", relock_line[1], relock_line[0]);
	expect_error(s, want);
	assert_int_equal(relock_rc, STP_EDEADLOCK);
	assert_int_equal(atomic_load(&relock_ended), 1);
	assert_false(has_error(s, "stall"));
	stp_free(s);
	/* the thread unlocked it on its way out */
	assert_int_equal(pthread_mutex_trylock(&m), 0);
	pthread_mutex_unlock(&m);
	char outcome[32];
	outcome_of(DIR "/self.json", outcome, sizeof outcome);
	assert_string_equal(outcome, "deadlock");
}

int main(void)
{
	mkdir("build", 0777);
	mkdir(DIR, 0777);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cas_retry_loop_passes_2000_seeds_and_its_twin_is_found),
		cmocka_unit_test(
			test_lazy_init_with_a_skipped_branch_passes_2000_seeds_and_its_twin_is_found),
		cmocka_unit_test(test_blocking_producer_consumer_passes_2000_seeds),
		cmocka_unit_test(test_if_instead_of_while_with_two_consumers_is_found),
		cmocka_unit_test(test_ab_ba_deadlock_is_reported_at_once_with_the_cycle),
		cmocka_unit_test(test_a_cycle_of_three_is_reported),
		cmocka_unit_test(test_self_deadlock_is_reported_with_both_places),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
