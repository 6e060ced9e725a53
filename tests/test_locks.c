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

#define SEEDS 2000   /* the issue's count for correct programs */
#define REPLAYS 100  /* the issue's count for replays */
#define DIR "build/test-locks"
#define HERE "tests/test_locks.c"

#ifdef __SANITIZE_THREAD__
/* The programs under test here take mutexes in both orders on purpose
 * (AB/BA, a cycle of three): that is the deadlock the stepper must find,
 * and in the seeds where it does not happen TSan would report the same
 * inversion as a potential deadlock of this binary. Data races are
 * still reported. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "detect_deadlocks=0";
}
#endif

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

/* A cycle through 200 threads, beside 100 that have ended: thread i takes
 * m[i], waits until every one of them holds its first, then takes
 * m[(i + 1) % N]. No schedule avoids the deadlock; the report names the
 * whole cycle and counts the threads past its line limit. */
#define RING 200
#define IDLE 100

struct ring {
	pthread_mutex_t m[RING], g;
	pthread_cond_t all_in;
	int in;
	int rc[RING];
	atomic_int ended;
};

struct ring_arg {
	struct ring *r;
	int i;
};

static void ring_member(void *p)
{
	struct ring_arg *a = p;
	struct ring *r = a->r;
	int r1 = stp_mutex_lock(&r->m[a->i]);
	stp_mutex_lock(&r->g);
	if (++r->in == RING)
		stp_cond_broadcast(&r->all_in);
	while (r->in < RING)
		if (stp_cond_wait(&r->all_in, &r->g) != 0)
			break;
	stp_mutex_unlock(&r->g);
	r->rc[a->i] = stp_mutex_lock(&r->m[(a->i + 1) % RING]);
	if (r->rc[a->i] == 0)
		stp_mutex_unlock(&r->m[(a->i + 1) % RING]);
	if (r1 == 0)
		stp_mutex_unlock(&r->m[a->i]);
	atomic_fetch_add(&r->ended, 1);
}

static void ring_idle(void *p)
{
	struct ring *r = p;
	STEP("idle");
	atomic_fetch_add(&r->ended, 1);
}

static void test_a_cycle_of_two_hundred_threads_is_reported(void **state)
{
	(void)state;
	struct ring *r = calloc(1, sizeof *r);
	struct ring_arg *args = calloc(RING, sizeof *args);
	assert_non_null(r);
	assert_non_null(args);
	for (uint64_t seed = 1; seed <= 3; seed++) {
		memset(r, 0, sizeof *r);
		for (int i = 0; i < RING; i++)
			pthread_mutex_init(&r->m[i], NULL);
		pthread_mutex_init(&r->g, NULL);
		pthread_cond_init(&r->all_in, NULL);
		stp_stepper *s = stepper_for(seed);
		char name[32];
		for (int i = 0; i < IDLE; i++) {
			snprintf(name, sizeof name, "idle%d", i);
			assert_int_equal(stp_thread(s, name, NULL, ring_idle, r), i);
		}
		for (int i = 0; i < RING; i++) {
			args[i] = (struct ring_arg){ r, i };
			snprintf(name, sizeof name, "r%d", i);
			assert_int_equal(stp_thread(s, name, NULL, ring_member, &args[i]), IDLE + i);
		}
		assert_true(stp_run(s) > 0);
		assert_int_equal(atomic_load(&r->ended), RING + IDLE);
		for (int i = 0; i < RING; i++)
			assert_int_equal(r->rc[i], STP_EDEADLOCK);
		expect_error(s, "deadlock: a cycle of threads, each waiting for a mutex the next "
				"one holds:");
		/* the cycle has every ring thread, each followed by the next */
		const char *c = NULL; /* (the report is longer than errors_of's) */
		for (size_t k = 0; k < stp_error_count(s) && !c; k++)
			c = strstr(stp_error(s, k), "the cycle: ");
		assert_non_null(c);
		int arrows = 0;
		for (const char *p = c; (p = strstr(p, "] -> m#")) != NULL; p++)
			arrows++;
		assert_int_equal(arrows, RING);
		for (int i = 0; i < RING; i++) {
			char hop[64];
			snprintf(hop, sizeof hop, "[r%d] -> m#", i);
			assert_non_null(strstr(c, hop));
		}
		expect_error(s, "the other threads:");
		expect_error(s, "[idle39] ended");
		assert_false(has_error(s, "[idle40] ended"));
		expect_error(s, "... and 60 more threads: 0 blocked, 60 ended, 0 running");
		stp_free(s);
		for (int i = 0; i < RING; i++)
			pthread_mutex_destroy(&r->m[i]);
		pthread_mutex_destroy(&r->g);
		pthread_cond_destroy(&r->all_in);
	}
	free(args);
	free(r);
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

/* ------------------------------------------------------------------ */
/* Lost wake-ups                                                       */
/* ------------------------------------------------------------------ */

enum setter { NEVER_SIGNALS, SETS_OUTSIDE_THE_LOCK, SETS_UNDER_THE_LOCK };

struct flag_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int flag;
	enum setter how;
	int wait_rc, wait_line;
	atomic_int ended;
};

static void flag_waiter(void *p)
{
	struct flag_wait *w = p;
	if (stp_mutex_lock(&w->mu) == 0) {
		while (!atomic_load(&w->flag) && w->wait_rc == 0) {
			w->wait_line = __LINE__; w->wait_rc = stp_cond_wait(&w->cv, &w->mu);
		}
		stp_mutex_unlock(&w->mu);
	}
	atomic_fetch_add(&w->ended, 1);
}

static void flag_setter(void *p)
{
	struct flag_wait *w = p;
	STEP("work");
	switch (w->how) {
	case NEVER_SIGNALS:
		break;
	case SETS_OUTSIDE_THE_LOCK: /* the waiter may check, then miss it */
		atomic_store(&w->flag, 1);
		stp_cond_signal(&w->cv);
		break;
	case SETS_UNDER_THE_LOCK: /* the signal may come after the unlock */
		if (stp_mutex_lock(&w->mu) == 0) {
			atomic_store(&w->flag, 1);
			stp_mutex_unlock(&w->mu);
		}
		stp_cond_signal(&w->cv);
		break;
	}
	atomic_fetch_add(&w->ended, 1);
}

static stp_stepper *flag_run(uint64_t seed, enum setter how, struct flag_wait *w,
			     const char *trace)
{
	memset(w, 0, sizeof *w);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->how = how;
	stp_options o = options_for(seed);
	o.trace = trace;
	stp_stepper *s = stp_new(&o);
	assert_int_equal(stp_thread(s, "consumer", NULL, flag_waiter, w), 0);
	assert_int_equal(stp_thread(s, "producer", NULL, flag_setter, w), 1);
	stp_run(s);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	return s;
}

static void test_a_wait_nothing_will_signal_is_a_lost_wake_up(void **state)
{
	(void)state;
	struct flag_wait w;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		stp_stepper *s = flag_run(seed, NEVER_SIGNALS, &w, DIR "/lost.json");
		char want[256];
		snprintf(want, sizeof want, "deadlock: lost wake-up: [consumer] waits on cv#1 at "
			 HERE ":%d (with m#1) and no thread that could signal it can go on",
			 w.wait_line);
		expect_error(s, want);
		expect_error(s, "[producer] ended");
		assert_false(has_error(s, "stall"));
		assert_int_equal(w.wait_rc, STP_EDEADLOCK);
		assert_int_equal(atomic_load(&w.ended), 2);
		stp_free(s);
	}
	char outcome[32];
	outcome_of(DIR "/lost.json", outcome, sizeof outcome);
	assert_string_equal(outcome, "deadlock");
}

static void test_a_signal_before_the_wait_is_found_as_a_lost_wake_up(void **state)
{
	(void)state;
	struct flag_wait w;
	uint64_t seed;
	for (seed = 1; seed <= SEEDS; seed++) {
		stp_stepper *s = flag_run(seed, SETS_OUTSIDE_THE_LOCK, &w, NULL);
		int lost = stp_error_count(s) > 0;
		if (lost)
			expect_error(s, "deadlock: lost wake-up: [consumer] waits on cv#1");
		stp_free(s);
		if (lost)
			break;
	}
	if (seed > SEEDS)
		fail_msg("no lost wake-up in %d seeds", SEEDS);
	printf("lost wake-up found at seed %llu\n", (unsigned long long)seed);
	/* the fix: the flag under the lock (the signal may stay outside) */
	for (seed = 1; seed <= 500; seed++) {
		stp_stepper *s = flag_run(seed, SETS_UNDER_THE_LOCK, &w, NULL);
		if (stp_error_count(s) != 0 || w.wait_rc != 0)
			fail_msg("seed %llu: rc %d:\n%s", (unsigned long long)seed, w.wait_rc,
				 errors_of(s));
		stp_free(s);
	}
}

/* ------------------------------------------------------------------ */
/* Unlocking what another thread holds, or what nobody holds           */
/* ------------------------------------------------------------------ */

struct owner {
	pthread_mutex_t mu;
	atomic_int locked, stolen;
	int lock_line, unlock_line, rc;
	atomic_int ended;
};

static void holder(void *p)
{
	struct owner *o = p;
	o->lock_line = __LINE__; stp_mutex_lock(&o->mu);
	atomic_store(&o->locked, 1);
	while (!atomic_load(&o->stolen)) /* holds it until the thief tried */
		STEP("hold");
	stp_mutex_unlock(&o->mu);
	atomic_fetch_add(&o->ended, 1);
}

static void thief(void *p)
{
	struct owner *o = p;
	while (!atomic_load(&o->locked))
		STEP("spin");
	o->unlock_line = __LINE__; o->rc = stp_mutex_unlock(&o->mu);
	atomic_store(&o->stolen, 1);
	atomic_fetch_add(&o->ended, 1);
}

static void test_unlocking_a_mutex_another_thread_holds_names_both(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 50; seed++) {
		struct owner o = { .rc = 1 };
		pthread_mutex_init(&o.mu, NULL);
		stp_stepper *s = stepper_for(seed);
		stp_thread(s, "holder", NULL, holder, &o);
		stp_thread(s, "thief", NULL, thief, &o);
		assert_true(stp_run(s) > 0);
		char want[256];
		snprintf(want, sizeof want, "[thief] unlocked m#1 at " HERE ":%d, but [holder] "
			 "holds it (taken at " HERE ":%d)", o.unlock_line, o.lock_line);
		expect_error(s, want);
		assert_int_equal(o.rc, STP_EPERM);
		assert_int_equal(atomic_load(&o.ended), 2);
		stp_free(s);
		/* the holder's own unlock still released it */
		assert_int_equal(pthread_mutex_trylock(&o.mu), 0);
		pthread_mutex_unlock(&o.mu);
		pthread_mutex_destroy(&o.mu);
	}
}

static void unlocks_once(void *p)
{
	struct owner *o = p;
	STEP("before");
	o->unlock_line = __LINE__; o->rc = stp_mutex_unlock(&o->mu);
}

static void test_unlocking_a_mutex_nobody_locked_is_an_error(void **state)
{
	(void)state;
	struct owner o = { .rc = 1 };
	pthread_mutex_init(&o.mu, NULL);
	stp_stepper *s = stepper_for(1);
	stp_thread(s, "t", NULL, unlocks_once, &o);
	assert_true(stp_run(s) > 0);
	char want[256];
	snprintf(want, sizeof want, "[t] unlocked m#1 at " HERE ":%d, which no thread holds "
		 "through stp_mutex_lock", o.unlock_line);
	expect_error(s, want);
	assert_int_equal(o.rc, STP_EPERM);
	stp_free(s);
	pthread_mutex_destroy(&o.mu);
}

/* ------------------------------------------------------------------ */
/* One controlled thread at a time, with locks and waits               */
/* ------------------------------------------------------------------ */

static void test_serial_invariant_holds_with_locks_and_waits(void **state)
{
	(void)state;
	struct serial ser = { 0 };
	struct pc_arg args[] = { { 2, PC_OK, 0, &ser }, { 2, PC_OK, 1, &ser },
				 { 1, PC_OK, 0, &ser } };
	for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
		loop_passes("serial invariant", pc_body, &args[i], 500);
	assert_int_equal(atomic_load(&ser.inside), 0);
	assert_int_equal(atomic_load(&ser.most), 1);
	assert_true(atomic_load(&ser.checks) > 1500 * 10);
}

/* ------------------------------------------------------------------ */
/* Timed waits                                                         */
/* ------------------------------------------------------------------ */

struct timed {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int flag;
	int signals;      /* the worker sets the flag and signals at its end */
	atomic_int worked; /* the worker's steps so far */
	int worked_at_timeout;
	int rc;
};

static void timed_waiter(void *p)
{
	struct timed *w = p;
	if (stp_mutex_lock(&w->mu) != 0)
		return;
	while (!w->flag) {
		w->rc = stp_cond_timedwait_ns(&w->cv, &w->mu, STP_SECONDS(10));
		if (w->rc == STP_ETIMEDOUT)
			w->worked_at_timeout = atomic_load(&w->worked);
		if (w->rc != 0)
			break;
	}
	stp_mutex_unlock(&w->mu);
}

static void timed_worker(void *p)
{
	struct timed *w = p;
	for (int k = 0; k < 5; k++) {
		STEP("work");
		atomic_fetch_add(&w->worked, 1);
	}
	if (w->signals && stp_mutex_lock(&w->mu) == 0) {
		w->flag = 1;
		stp_cond_signal(&w->cv);
		stp_mutex_unlock(&w->mu);
	}
}

static stp_stepper *timed_run(uint64_t seed, int signals, int with_worker, struct timed *w)
{
	memset(w, 0, sizeof *w);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->signals = signals;
	w->rc = 1;
	w->worked_at_timeout = -1;
	stp_stepper *s = stepper_for(seed);
	stp_thread(s, "waiter", NULL, timed_waiter, w);
	if (with_worker)
		stp_thread(s, "worker", NULL, timed_worker, w);
	if (stp_run(s) != 0)
		fail_msg("seed %llu:\n%s", (unsigned long long)seed, errors_of(s));
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	return s;
}

static void test_a_timed_wait_nobody_signals_times_out_without_a_deadlock(void **state)
{
	(void)state;
	struct timed w;
	stp_free(timed_run(1, 0, 0, &w));
	assert_int_equal(w.rc, STP_ETIMEDOUT);
	/* beside a thread that still works, only once nothing else can go on */
	for (uint64_t seed = 1; seed <= 500; seed++) {
		stp_free(timed_run(seed, 0, 1, &w));
		assert_int_equal(w.rc, STP_ETIMEDOUT);
		if (w.worked_at_timeout != 5)
			fail_msg("seed %llu: timed out after %d of the worker's 5 steps",
				 (unsigned long long)seed, w.worked_at_timeout);
	}
}

static void test_a_signalled_timed_wait_returns_0_and_never_times_out(void **state)
{
	(void)state;
	struct timed w;
	int waited = 0;
	for (uint64_t seed = 1; seed <= 500; seed++) {
		stp_free(timed_run(seed, 1, 1, &w));
		if (w.rc != 0 && w.rc != 1) /* 1: the flag was set before it waited */
			fail_msg("seed %llu: the timed wait returned %d (%s)",
				 (unsigned long long)seed, w.rc, stp_strerror(w.rc));
		waited += w.rc == 0;
	}
	assert_true(waited > 0);
}

/* Two waiters with timeouts, one token: one takes it, the other times
 * out once nothing else can go on; which one is the strategy's choice. */
struct token {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int tokens;
	int rc[2], got[2];
};

struct token_arg {
	struct token *k;
	int me;
};

static void token_waiter(void *p)
{
	struct token_arg *a = p;
	struct token *k = a->k;
	if (stp_mutex_lock(&k->mu) != 0)
		return;
	int rc = 0;
	while (k->tokens == 0 && rc == 0)
		rc = stp_cond_timedwait_ns(&k->cv, &k->mu, STP_MILLIS(100));
	if (k->tokens > 0) {
		k->tokens--;
		k->got[a->me] = 1;
	}
	k->rc[a->me] = rc;
	stp_mutex_unlock(&k->mu);
}

static void token_giver(void *p)
{
	struct token *k = p;
	STEP("give");
	if (stp_mutex_lock(&k->mu) != 0)
		return;
	k->tokens = 1;
	stp_cond_signal(&k->cv);
	stp_mutex_unlock(&k->mu);
}

static stp_stepper *token_run(uint64_t seed, struct token *k, const char *trace,
			      const char *replay)
{
	static struct token_arg args[2];
	memset(k, 0, sizeof *k);
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	stp_options o = options_for(seed);
	o.trace = trace;
	o.replay = replay;
	stp_stepper *s = stp_new(&o);
	for (int i = 0; i < 2; i++) {
		args[i] = (struct token_arg){ k, i };
		stp_thread(s, i ? "w2" : "w1", NULL, token_waiter, &args[i]);
	}
	stp_thread(s, "giver", NULL, token_giver, k);
	if (stp_run(s) != 0)
		fail_msg("seed %llu:\n%s", (unsigned long long)seed, errors_of(s));
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	return s;
}

static void test_of_two_timed_waiters_one_takes_the_token_one_times_out(void **state)
{
	(void)state;
	struct token k;
	int took[2] = { 0, 0 };
	for (uint64_t seed = 1; seed <= 500; seed++) {
		stp_free(token_run(seed, &k, NULL, NULL));
		if (k.got[0] + k.got[1] != 1)
			fail_msg("seed %llu: %d took the token", (unsigned long long)seed,
				 k.got[0] + k.got[1]);
		int loser = k.got[0] ? 1 : 0;
		assert_int_equal(k.rc[loser], STP_ETIMEDOUT);
		assert_int_equal(k.rc[1 - loser], 0);
		took[1 - loser]++;
	}
	/* who gets it is a decision: both do, over the seeds */
	assert_true(took[0] > 0 && took[1] > 0);
}

/* ------------------------------------------------------------------ */
/* Replay of runs with waits                                           */
/* ------------------------------------------------------------------ */

/* What a run did: its decisions, and what the program saw. */
struct ran {
	size_t n;
	int thread[256];
	char step[256][32];
	int seen[8];
	size_t errors;
};

static void keep_run(stp_stepper *s, struct ran *r, const int *seen, size_t nseen)
{
	memset(r, 0, sizeof *r);
	const int *sched = stp_schedule(s, &r->n);
	assert_true(r->n <= 256);
	for (size_t k = 0; k < r->n; k++) {
		r->thread[k] = sched[k];
		snprintf(r->step[k], sizeof r->step[k], "%s", stp_entry_step(s, k));
	}
	memcpy(r->seen, seen, nseen * sizeof *seen);
	r->errors = stp_error_count(s);
}

static void same_run(const struct ran *a, const struct ran *b, int i)
{
	if (a->n != b->n)
		fail_msg("replay %d: %zu decisions, recorded %zu", i, b->n, a->n);
	for (size_t k = 0; k < a->n; k++)
		if (a->thread[k] != b->thread[k] || strcmp(a->step[k], b->step[k]) != 0)
			fail_msg("replay %d: decision %zu is %d '%s', recorded %d '%s'", i,
				 k + 1, b->thread[k], b->step[k], a->thread[k], a->step[k]);
	assert_memory_equal(a->seen, b->seen, sizeof a->seen);
	assert_int_equal(a->errors, b->errors);
}

static int has_point(const struct ran *r, const char *prefix)
{
	for (size_t k = 0; k < r->n; k++)
		if (strncmp(r->step[k], prefix, strlen(prefix)) == 0)
			return 1;
	return 0;
}

/* One run of the producer and two consumers, traced or replayed. */
static void pc_run(uint64_t seed, const char *trace, const char *replay, struct ran *r)
{
	struct queue q;
	queue_init(&q, 2, PC_OK);
	stp_options o = options_for(seed);
	o.trace = trace;
	o.replay = replay;
	stp_stepper *s = stp_new(&o);
	queue_threads(s, &q);
	if (stp_run(s) != 0)
		fail_msg("seed %llu:\n%s", (unsigned long long)seed, errors_of(s));
	keep_run(s, r, &q.took[0][0], 2 * PER_CONSUMER);
	stp_free(s);
	queue_destroy(&q);
}

static void test_producer_consumer_replays_100_of_100(void **state)
{
	(void)state;
	struct ran rec, again;
	uint64_t seed = 1;
	do { /* a run in which a consumer waited */
		pc_run(seed++, DIR "/pc.json", NULL, &rec);
	} while (!has_point(&rec, "wake(") && seed < 100);
	printf("replaying seed %llu (%zu decisions)\n", (unsigned long long)(seed - 1), rec.n);
	assert_true(has_point(&rec, "wait(cv#"));
	assert_true(has_point(&rec, "signal(cv#"));
	for (int i = 0; i < REPLAYS; i++) {
		pc_run(seed + 1000 + (uint64_t)i, NULL, DIR "/pc.json", &again);
		same_run(&rec, &again, i);
	}
}

static void test_timed_waits_replay_100_of_100(void **state)
{
	(void)state;
	int done[2] = { 0, 0 }; /* a recording where w1, and one where w2, timed out */
	for (uint64_t seed = 1; seed <= 200 && !(done[0] && done[1]); seed++) {
		struct token k;
		struct ran rec, again;
		stp_stepper *s = token_run(seed, &k, DIR "/timed.json", NULL);
		int loser = k.got[0] ? 1 : 0;
		if (done[loser]) {
			stp_free(s);
			continue;
		}
		done[loser] = 1;
		int seen[4] = { k.rc[0], k.rc[1], k.got[0], k.got[1] };
		keep_run(s, &rec, seen, 4);
		stp_free(s);
		assert_true(has_point(&rec, "timedwait(cv#1)"));
		for (int i = 0; i < REPLAYS; i++) {
			s = token_run(seed + 7 + (uint64_t)i, &k, NULL, DIR "/timed.json");
			int now[4] = { k.rc[0], k.rc[1], k.got[0], k.got[1] };
			keep_run(s, &again, now, 4);
			stp_free(s);
			same_run(&rec, &again, i);
		}
	}
	assert_true(done[0] && done[1]);
}

/* A trace replayed into a program that no longer fits it: the error
 * names the decision; no crash, no stall. */
static void test_a_replay_into_a_changed_program_names_the_decision(void **state)
{
	(void)state;
	struct flag_wait w;
	stp_free(flag_run(3, SETS_UNDER_THE_LOCK, &w, DIR "/fit.json"));
	stp_options o = options_for(3);
	o.replay = DIR "/fit.json";
	memset(&w, 0, sizeof w);
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	w.how = NEVER_SIGNALS; /* the producer no longer locks nor signals */
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "consumer", NULL, flag_waiter, &w);
	stp_thread(s, "producer", NULL, flag_setter, &w);
	assert_true(stp_run(s) > 0);
	expect_error(s, "replay: decision ");
	expect_error(s, "recorded [");
	assert_false(has_error(s, "stall"));
	assert_int_equal(atomic_load(&w.ended), 2);
	stp_free(s);
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
}

/* ------------------------------------------------------------------ */
/* Declared threads with locks around their steps                     */
/* ------------------------------------------------------------------ */

struct bank {
	pthread_mutex_t mu;
	int balance;
	int racy;
};

static void deposit(void *p)
{
	struct bank *b = p;
	if (!b->racy && stp_mutex_lock(&b->mu) != 0)
		return;
	STEP("read");
	int v = b->balance;
	STEP("write");
	b->balance = v + 10;
	if (!b->racy)
		stp_mutex_unlock(&b->mu);
}

static int bank_body(stp_stepper *s, void *arg)
{
	static const char *const order[] = { "read", "write", NULL };
	struct bank b = { .racy = *(const int *)arg };
	pthread_mutex_init(&b.mu, NULL);
	int n = 2 + (int)(stp_get_options(s)->seed % 2);
	for (int i = 0; i < n; i++)
		stp_thread(s, NULL, order, deposit, &b);
	int rc = stp_run(s);
	pthread_mutex_destroy(&b.mu);
	if (rc != 0)
		return 1;
	if (b.balance != 10 * n)
		stp_add_error(s, "lost update: balance %d, want %d", b.balance, 10 * n);
	return stp_error_count(s) != 0;
}

static void test_declared_deposits_with_a_lock_pass_2000_seeds(void **state)
{
	(void)state;
	static const int locked = 0, racy = 1;
	loop_passes("bank", bank_body, (void *)&locked, SEEDS);
	loop_finds("bank without the lock", bank_body, (void *)&racy, SEEDS);
}

/* ------------------------------------------------------------------ */
/* Bad input                                                           */
/* ------------------------------------------------------------------ */

static int null_call, null_line, null_rc;

static void calls_with_null(void *p)
{
	(void)p;
	STEP("before");
	switch (null_call) {
	case 0:
		null_line = __LINE__; null_rc = stp_mutex_lock(NULL);
		break;
	case 1:
		null_line = __LINE__; null_rc = stp_mutex_trylock(NULL);
		break;
	default:
		null_line = __LINE__; null_rc = stp_mutex_unlock(NULL);
		break;
	}
}

static void test_null_mutexes_are_einval_and_fail_a_run(void **state)
{
	(void)state;
	static const char *const fns[] = { "stp_mutex_lock", "stp_mutex_trylock",
					    "stp_mutex_unlock" };
	for (null_call = 0; null_call < 3; null_call++) {
		stp_stepper *s = stepper_for(1);
		stp_thread(s, "t", NULL, calls_with_null, NULL);
		assert_true(stp_run(s) > 0);
		char want[128];
		snprintf(want, sizeof want, "[t] called %s with NULL at " HERE ":%d",
			 fns[null_call], null_line);
		expect_error(s, want);
		assert_int_equal(null_rc, STP_EINVAL);
		stp_free(s);
	}
	/* on a thread no stepper controls: just the code */
	assert_int_equal(stp_mutex_lock(NULL), STP_EINVAL);
	assert_int_equal(stp_mutex_trylock(NULL), STP_EINVAL);
	assert_int_equal(stp_mutex_unlock(NULL), STP_EINVAL);
}

static int unheld_line, unheld_rc;

static void waits_without_the_lock(void *p)
{
	struct timed *w = p;
	STEP("before");
	unheld_line = __LINE__; unheld_rc = stp_cond_wait(&w->cv, &w->mu);
}

static void test_a_wait_without_holding_the_mutex_is_an_error(void **state)
{
	(void)state;
	struct timed w;
	memset(&w, 0, sizeof w);
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	stp_stepper *s = stepper_for(1);
	stp_thread(s, "t", NULL, waits_without_the_lock, &w);
	assert_true(stp_run(s) > 0);
	char want[256];
	snprintf(want, sizeof want, "[t] waits on cv#1 at " HERE ":%d with m#1, which it "
		 "does not hold (lock it with stp_mutex_lock first)", unheld_line);
	expect_error(s, want);
	assert_int_equal(unheld_rc, STP_EPERM);
	stp_free(s);
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
}

static void long_step_in_a_lock(void *p)
{
	struct timed *w = p;
	char name[STP_MAX_NAME + 2];
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	if (stp_mutex_lock(&w->mu) != 0)
		return;
	STEP(name);
	stp_mutex_unlock(&w->mu);
}

static void test_an_overlong_free_step_name_fails_the_run_clearly(void **state)
{
	(void)state;
	struct timed w;
	memset(&w, 0, sizeof w);
	pthread_mutex_init(&w.mu, NULL);
	for (uint64_t seed = 1; seed <= 20; seed++) {
		stp_stepper *s = stepper_for(seed);
		stp_thread(s, "long", NULL, long_step_in_a_lock, &w);
		stp_thread(s, "other", NULL, long_step_in_a_lock, &w);
		assert_true(stp_run(s) > 0);
		expect_error(s, "reached a step at " HERE);
		expect_error(s, "whose name is longer than the limit (names are 1..128 bytes");
		assert_false(has_error(s, "stall"));
		stp_free(s);
		/* released on the way out, by whoever held it */
		assert_int_equal(pthread_mutex_trylock(&w.mu), 0);
		pthread_mutex_unlock(&w.mu);
	}
	pthread_mutex_destroy(&w.mu);
}

static void *plain_trylock(void *p)
{
	return (void *)(intptr_t)stp_mutex_trylock((pthread_mutex_t *)p);
}

struct try {
	pthread_mutex_t mu;
	atomic_int phase; /* 1: held, 2: released */
	atomic_int tried; /* the other thread tried the held mutex */
	int rc_held, rc_free, rc_plain;
};

static void try_holder(void *p)
{
	struct try *t = p;
	if (stp_mutex_lock(&t->mu) != 0)
		return;
	atomic_store(&t->phase, 1);
	/* a thread no stepper controls sees the real mutex taken */
	pthread_t th;
	void *rc;
	pthread_create(&th, NULL, plain_trylock, &t->mu);
	pthread_join(th, &rc);
	t->rc_plain = (int)(intptr_t)rc;
	while (!atomic_load(&t->tried))
		STEP("holding");
	stp_mutex_unlock(&t->mu);
	atomic_store(&t->phase, 2);
}

static void try_other(void *p)
{
	struct try *t = p;
	while (atomic_load(&t->phase) != 1)
		STEP("spin");
	t->rc_held = stp_mutex_trylock(&t->mu);
	atomic_store(&t->tried, 1);
	while (atomic_load(&t->phase) != 2)
		STEP("spin");
	t->rc_free = stp_mutex_trylock(&t->mu);
	if (t->rc_free == 0)
		stp_mutex_unlock(&t->mu);
}

static void test_trylock_of_a_held_mutex_is_ebusy(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 100; seed++) {
		struct try t = { .rc_held = 1, .rc_free = 1, .rc_plain = 1 };
		pthread_mutex_init(&t.mu, NULL);
		stp_stepper *s = stepper_for(seed);
		stp_thread(s, "holder", NULL, try_holder, &t);
		stp_thread(s, "other", NULL, try_other, &t);
		if (stp_run(s) != 0)
			fail_msg("seed %llu:\n%s", (unsigned long long)seed, errors_of(s));
		assert_int_equal(t.rc_held, STP_EBUSY);
		assert_int_equal(t.rc_free, 0);
		assert_int_equal(t.rc_plain, STP_EBUSY);
		stp_free(s);
		pthread_mutex_destroy(&t.mu);
	}
}

static void test_on_an_uncontrolled_thread_mutex_calls_are_plain_pthread(void **state)
{
	(void)state;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_t m;
	pthread_mutex_init(&m, &a);
	pthread_mutexattr_destroy(&a);
	assert_int_equal(stp_mutex_lock(&m), 0);
	assert_int_equal(stp_mutex_lock(&m), STP_EDEADLOCK); /* EDEADLK */
	pthread_t th;
	void *rc;
	pthread_create(&th, NULL, plain_trylock, &m);
	pthread_join(th, &rc);
	assert_int_equal((int)(intptr_t)rc, STP_EBUSY);
	assert_int_equal(stp_mutex_unlock(&m), 0);
#ifndef __SANITIZE_THREAD__ /* TSan reports the unlock it refuses */
	assert_int_equal(stp_mutex_unlock(&m), STP_EPERM); /* EPERM */
#endif
	assert_int_equal(stp_mutex_trylock(&m), 0);
	assert_int_equal(stp_mutex_unlock(&m), 0);
	pthread_mutex_destroy(&m);
}

/* A mutex unlocked with a plain pthread call goes unseen: the stepper
 * still counts it held, and the report says so. */
static int plain_lock_line;

static void unlocks_behind_the_stepper(void *p)
{
	pthread_mutex_t *m = p;
	plain_lock_line = __LINE__; stp_mutex_lock(m);
	pthread_mutex_unlock(m);
}

static void locks_and_unlocks(void *p)
{
	pthread_mutex_t *m = p;
	if (stp_mutex_lock(m) == 0)
		stp_mutex_unlock(m);
}

static void test_a_plain_unlock_of_a_stepper_mutex_is_reported_as_held(void **state)
{
	(void)state;
	uint64_t seed;
	stp_stepper *s = NULL;
	for (seed = 1; seed <= 100; seed++) {
		pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
		s = stepper_for(seed);
		stp_thread(s, "a", NULL, unlocks_behind_the_stepper, &m);
		stp_thread(s, "b", NULL, locks_and_unlocks, &m);
		int rc = stp_run(s);
		if (rc != 0)
			break;
		stp_free(s);
	}
	if (seed > 100)
		fail_msg("b never came after a");
	char want[256];
	snprintf(want, sizeof want, "[a] holds it (taken at " HERE ":%d), but it is not "
		 "locked: a plain pthread_mutex_unlock let go of it (use stp_mutex_unlock)",
		 plain_lock_line);
	expect_error(s, "deadlock: ");
	expect_error(s, want);
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* Overlap mode: plain pthread locks                                   */
/* ------------------------------------------------------------------ */

#define OVERLAP_ROUNDS 2000

struct overlap {
	pthread_mutex_t mu;
	long total; /* plain: only the mutex keeps it right */
	atomic_int inside, most;
};

static void overlap_adder(void *p)
{
	struct overlap *o = p;
	STEP("before");
	for (int k = 0; k < OVERLAP_ROUNDS; k++) {
		if (stp_mutex_lock(&o->mu) != 0)
			return;
		int now = atomic_fetch_add(&o->inside, 1) + 1;
		if (now > atomic_load(&o->most))
			atomic_store(&o->most, now);
		o->total = o->total + 1;
		atomic_fetch_sub(&o->inside, 1);
		stp_mutex_unlock(&o->mu);
	}
	STEP("after");
}

static void test_overlap_mode_mutexes_are_plain_and_still_exclude(void **state)
{
	(void)state;
	static const char *const order[] = { "before", "after", NULL };
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct overlap o = { .total = 0 };
		pthread_mutex_init(&o.mu, NULL);
		stp_options opt = options_for(seed);
		opt.mode = STP_OVERLAP;
		stp_stepper *s = stp_new(&opt);
		for (int i = 0; i < 3; i++)
			stp_thread(s, NULL, order, overlap_adder, &o);
		if (stp_run(s) != 0)
			fail_msg("seed %llu:\n%s", (unsigned long long)seed, errors_of(s));
		/* no lock point in the order: the stepper did not see them */
		size_t n;
		stp_schedule(s, &n);
		assert_int_equal(n, 6);
		for (size_t k = 0; k < n; k++)
			assert_null(strstr(stp_entry_step(s, k), "lock("));
		stp_free(s);
		assert_int_equal(o.total, 3 * OVERLAP_ROUNDS);
		assert_int_equal(atomic_load(&o.most), 1);
		pthread_mutex_destroy(&o.mu);
	}
}

/* ------------------------------------------------------------------ */
/* More waits: broadcast and signal, a cycle through a woken waiter    */
/* ------------------------------------------------------------------ */

struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int open, broadcast;
	int rc[2];
	atomic_int through;
};

struct gate_arg {
	struct gate *g;
	int me;
};

static void gate_waiter(void *p)
{
	struct gate_arg *a = p;
	struct gate *g = a->g;
	if (stp_mutex_lock(&g->mu) != 0)
		return;
	while (!g->open && g->rc[a->me] == 0)
		g->rc[a->me] = stp_cond_wait(&g->cv, &g->mu);
	if (g->rc[a->me] == 0)
		atomic_fetch_add(&g->through, 1);
	stp_mutex_unlock(&g->mu);
}

static void gate_opener(void *p)
{
	struct gate *g = p;
	STEP("ready");
	if (stp_mutex_lock(&g->mu) != 0)
		return;
	g->open = 1;
	if (g->broadcast)
		stp_cond_broadcast(&g->cv);
	else
		stp_cond_signal(&g->cv);
	stp_mutex_unlock(&g->mu);
}

static stp_stepper *gate_run(uint64_t seed, int broadcast, struct gate *g)
{
	static struct gate_arg args[2];
	memset(g, 0, sizeof *g);
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->broadcast = broadcast;
	stp_stepper *s = stepper_for(seed);
	for (int i = 0; i < 2; i++) {
		args[i] = (struct gate_arg){ g, i };
		stp_thread(s, i ? "w2" : "w1", NULL, gate_waiter, &args[i]);
	}
	stp_thread(s, "opener", NULL, gate_opener, g);
	stp_run(s);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	return s;
}

static void test_a_broadcast_wakes_every_waiter_a_signal_only_one(void **state)
{
	(void)state;
	struct gate g;
	int both_waited = 0;
	for (uint64_t seed = 1; seed <= 500; seed++) {
		stp_stepper *s = gate_run(seed, 1, &g);
		if (stp_error_count(s) != 0 || atomic_load(&g.through) != 2)
			fail_msg("seed %llu: %d through:\n%s", (unsigned long long)seed,
				 atomic_load(&g.through), errors_of(s));
		size_t n;
		stp_schedule(s, &n);
		int waits = 0;
		for (size_t k = 0; k < n; k++)
			waits += strcmp(stp_entry_step(s, k), "wait(cv#1)") == 0;
		both_waited += waits == 2;
		stp_free(s);
	}
	assert_true(both_waited > 0);
	/* a signal wakes one of two waiters: the other's wake-up is lost */
	uint64_t seed;
	for (seed = 1; seed <= SEEDS; seed++) {
		stp_stepper *s = gate_run(seed, 0, &g);
		int lost = stp_error_count(s) > 0;
		if (lost) {
			expect_error(s, "deadlock: lost wake-up: [w");
			assert_int_equal(atomic_load(&g.through), 1);
			assert_true(g.rc[0] == STP_EDEADLOCK || g.rc[1] == STP_EDEADLOCK);
		}
		stp_free(s);
		if (lost)
			break;
	}
	assert_true(seed <= SEEDS);
}

/* a takes m2, then m and waits on cv; b takes m, signals, then wants m2:
 * woken, a needs m back, which b holds. */
struct woken_cycle {
	pthread_mutex_t m, m2;
	pthread_cond_t cv;
	int signalled;
	int rc_wait, rc_lock;
	int wait_line, m2_line, m_line, lock_line;
};

static void takes_m2_then_waits(void *p)
{
	struct woken_cycle *w = p;
	w->m2_line = __LINE__; stp_mutex_lock(&w->m2);
	if (stp_mutex_lock(&w->m) != 0) { /* the plain AB/BA cycle */
		stp_mutex_unlock(&w->m2);
		return;
	}
	while (!w->signalled && w->rc_wait == 0) {
		w->wait_line = __LINE__; w->rc_wait = stp_cond_wait(&w->cv, &w->m);
	}
	stp_mutex_unlock(&w->m);
	stp_mutex_unlock(&w->m2);
}

static void signals_then_wants_m2(void *p)
{
	struct woken_cycle *w = p;
	w->m_line = __LINE__; stp_mutex_lock(&w->m);
	w->signalled = 1;
	stp_cond_signal(&w->cv);
	w->lock_line = __LINE__; w->rc_lock = stp_mutex_lock(&w->m2);
	if (w->rc_lock == 0)
		stp_mutex_unlock(&w->m2);
	stp_mutex_unlock(&w->m);
}

static void test_a_cycle_through_a_woken_waiter_is_reported(void **state)
{
	(void)state;
	struct woken_cycle w;
	uint64_t seed;
	stp_stepper *s = NULL;
	for (seed = 1; seed <= 500; seed++) {
		memset(&w, 0, sizeof w);
		pthread_mutex_init(&w.m, NULL);
		pthread_mutex_init(&w.m2, NULL);
		pthread_cond_init(&w.cv, NULL);
		s = stepper_for(seed);
		stp_thread(s, "a", NULL, takes_m2_then_waits, &w);
		stp_thread(s, "b", NULL, signals_then_wants_m2, &w);
		int rc = stp_run(s);
		pthread_mutex_destroy(&w.m);
		pthread_mutex_destroy(&w.m2);
		pthread_cond_destroy(&w.cv);
		if (rc != 0 && w.wait_line != 0 && has_error(s, "a cycle"))
			break;
		stp_free(s);
	}
	if (seed > 500)
		fail_msg("no cycle through the woken waiter in 500 seeds");
	/* a took m2 first (m#1), then m (m#2) */
	char want[256];
	snprintf(want, sizeof want, "[a] waits for m#2 at " HERE ":%d; [b] holds it (taken at "
		 HERE ":%d)", w.wait_line, w.m_line);
	expect_error(s, want);
	snprintf(want, sizeof want, "[b] waits for m#1 at " HERE ":%d; [a] holds it (taken at "
		 HERE ":%d)", w.lock_line, w.m2_line);
	expect_error(s, want);
	if (!has_error(s, "the cycle: [a] -> m#2 -> [b] -> m#1 -> [a]") &&
	    !has_error(s, "the cycle: [b] -> m#1 -> [a] -> m#2 -> [b]"))
		fail_msg("seed %llu:\n%s", (unsigned long long)seed, errors_of(s));
	assert_int_equal(w.rc_wait, STP_EDEADLOCK);
	assert_int_equal(w.rc_lock, STP_EDEADLOCK);
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* Replaying a deadlock; the order with waits                          */
/* ------------------------------------------------------------------ */

static void test_a_deadlock_replays_100_of_100(void **state)
{
	(void)state;
	struct abba w;
	struct abba_arg args[2];
	stp_stepper *s = NULL;
	uint64_t seed;
	for (seed = 1; seed <= 200; seed++) {
		if (cycle_run(seed, 2, &w, args, DIR "/abba-replay.json", &s) != 0)
			break;
		stp_free(s);
	}
	assert_true(seed <= 200);
	struct ran rec, again;
	int none[1] = { 0 };
	keep_run(s, &rec, none, 0);
	char report[2048];
	snprintf(report, sizeof report, "%s", stp_error(s, 0));
	stp_free(s);
	for (int i = 0; i < REPLAYS; i++) {
		stp_options o = options_for(seed + 100 + (uint64_t)i);
		o.replay = DIR "/abba-replay.json";
		memset(&w, 0, sizeof w);
		for (int k = 0; k < 2; k++)
			pthread_mutex_init(&w.m[k], NULL);
		s = stp_new(&o);
		for (int k = 0; k < 2; k++) {
			args[k] = (struct abba_arg){ &w, k, 2 };
			stp_thread(s, k ? "b" : "a", NULL, lock_two, &args[k]);
		}
		assert_true(stp_run(s) > 0);
		keep_run(s, &again, none, 0);
		same_run(&rec, &again, i);
		assert_string_equal(stp_error(s, 0), report);
		assert_int_equal(w.rc[0], STP_EDEADLOCK);
		assert_int_equal(w.rc[1], STP_EDEADLOCK);
		stp_free(s);
		for (int k = 0; k < 2; k++)
			pthread_mutex_destroy(&w.m[k]);
	}
}

static void test_the_order_after_a_run_shows_locks_and_waits(void **state)
{
	(void)state;
	struct queue q;
	uint64_t seed;
	for (seed = 1; seed <= 100; seed++) {
		queue_init(&q, 1, PC_OK);
		stp_stepper *s = stepper_for(seed);
		queue_threads(s, &q);
		assert_int_equal(stp_run(s), 0);
		queue_destroy(&q);
		capture c;
		stp_print_order(s, capture_open(&c));
		const char *text = capture_text(&c);
		int waited = strstr(text, "[c1] wait(cv#1)\n") != NULL;
		if (waited) {
			if (!strstr(text, "====\n[producer] lock(m#1)\n") &&
			    !strstr(text, "====\n[c1] lock(m#1)\n"))
				fail_msg("%s", text);
			assert_non_null(strstr(text, "[producer] signal(cv#1)\n"));
			assert_non_null(strstr(text, "[c1] wake(cv#1)\n"));
			assert_non_null(strstr(text, "[producer] push\n"));
			assert_non_null(strstr(text, "[c1] unlock(m#1)\n"));
		}
		capture_free(&c);
		stp_free(s);
		if (waited)
			break;
	}
	assert_true(seed <= 100);
}

/* ------------------------------------------------------------------ */
/* On a clock: blocked threads are blocked to the clock                */
/* ------------------------------------------------------------------ */

/* The producer sleeps a virtual second before each push; the consumer
 * blocks in its wait meanwhile. Auto mode moves time only when every
 * member is blocked, so it must count the consumer (parked, disabled) as
 * blocked, and the producer (running) not. */
static void sleepy_producer(void *p)
{
	struct queue *q = p;
	for (int i = 1; i <= PER_CONSUMER; i++) {
		if (stp_sleep_ns(STP_SECONDS(1)) != 0 || q_lock(q) != 0)
			return;
		int rc = 0;
		while (q->count == CAP && (rc = q_wait(q, &q->not_full)) == 0)
			;
		if (rc != 0) {
			q_unlock(q);
			return;
		}
		q->items[0] = i;
		q->count++;
		q_signal(q, &q->not_empty);
		q_unlock(q);
		STEP("pushed");
	}
}

static void test_on_a_clock_waits_and_locks_are_blocked_to_the_clock(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 200; seed++) {
		struct queue q;
		queue_init(&q, 1, PC_OK);
		stp_clock *c = stp_clock_new(0);
		stp_clock_set_auto(c, 1);
		stp_options o = options_for(seed);
		o.clock = c;
		stp_stepper *s = stp_new(&o);
		stp_thread(s, "producer", NULL, sleepy_producer, &q);
		stp_thread(s, "c1", NULL, consumer, &q);
		if (stp_run(s) != 0)
			fail_msg("seed %llu:\n%s\nclock: %s", (unsigned long long)seed,
				 errors_of(s), stp_clock_error(c));
		queue_check(s, &q);
		assert_int_equal(stp_error_count(s), 0);
		assert_int_equal(stp_clock_now(c), STP_SECONDS(PER_CONSUMER));
		stp_free(s);
		stp_clock_free(c);
		queue_destroy(&q);
	}
	/* a deadlock on a clock is the stepper's report, at once */
	struct abba w;
	struct abba_arg args[2];
	for (uint64_t seed = 1; seed <= 200; seed++) {
		memset(&w, 0, sizeof w);
		stp_clock *c = stp_clock_new(0);
		stp_clock_set_auto(c, 1);
		stp_options o = options_for(seed);
		o.clock = c;
		stp_stepper *s = stp_new(&o);
		for (int i = 0; i < 2; i++) {
			pthread_mutex_init(&w.m[i], NULL);
			args[i] = (struct abba_arg){ &w, i, 2 };
			stp_thread(s, i ? "b" : "a", NULL, lock_two, &args[i]);
		}
		int rc = stp_run(s);
		if (rc != 0) {
			expect_error(s, "the cycle: [");
			assert_false(has_error(s, "stall"));
			assert_int_equal(atomic_load(&w.ended), 2);
		}
		stp_free(s);
		stp_clock_free(c);
		for (int i = 0; i < 2; i++)
			pthread_mutex_destroy(&w.m[i]);
		if (rc != 0)
			return;
	}
	fail_msg("no AB/BA deadlock on a clock in 200 seeds");
}

/* ------------------------------------------------------------------ */
/* Fixed bugs                                                          */
/* ------------------------------------------------------------------ */

/* A schedule or replay whose decision names a thread blocked at a lock
 * says so, and where: "[b] is blocked at 'lock(m#1)'". */
static pthread_mutex_t pinned_m = PTHREAD_MUTEX_INITIALIZER;

static void pinned_a(void *p)
{
	(void)p;
	stp_mutex_lock(&pinned_m);
	STEP("in");
	stp_mutex_unlock(&pinned_m);
}

static void pinned_b(void *p)
{
	(void)p;
	stp_mutex_lock(&pinned_m);
	stp_mutex_unlock(&pinned_m);
}

static void test_a_schedule_that_picks_a_blocked_thread_says_it_is_blocked(void **state)
{
	(void)state;
	const int sched[] = { 0, 1, 0, 0, 1, 1 }; /* b's lock while a holds m */
	stp_stepper *s = stepper_for(1);
	stp_thread(s, "a", NULL, pinned_a, NULL);
	stp_thread(s, "b", NULL, pinned_b, NULL);
	assert_int_equal(stp_set_schedule(s, sched, 6), 0);
	assert_true(stp_run(s) > 0);
	expect_error(s, "schedule: decision 2: recorded [b]");
	/* the wording is the lead's to choose; these it must say */
	expect_error(s, "blocked");
	expect_error(s, "'lock(m#1)'");
	assert_false(has_error(s, "[b] is not at a step"));
	stp_free(s);
}

/* On a clock run a timed wait times out when virtual time reaches its
 * deadline: a 5 s wait nobody signals returns STP_ETIMEDOUT at 5 s, and
 * one whose signaller first sleeps 10 s (a sleep is a point: the sleeper
 * is blocked until its deadline) times out at 5 s too. */
struct clocked {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int flag, rc;
	uint64_t sleep_ns, waited_ns;
};

static void clocked_waiter(void *p)
{
	struct clocked *w = p;
	if (stp_mutex_lock(&w->mu) != 0)
		return;
	uint64_t t0 = stp_now_ns();
	while (!w->flag && w->rc == 0)
		w->rc = stp_cond_timedwait_ns(&w->cv, &w->mu, STP_SECONDS(5));
	w->waited_ns = stp_now_ns() - t0;
	stp_mutex_unlock(&w->mu);
}

static void clocked_signaller(void *p)
{
	struct clocked *w = p;
	STEP("start");
	if (!w->sleep_ns)
		return;
	stp_sleep_ns(w->sleep_ns);
	if (stp_mutex_lock(&w->mu) != 0)
		return;
	w->flag = 1;
	stp_cond_signal(&w->cv);
	stp_mutex_unlock(&w->mu);
}

static void test_a_timed_wait_on_a_clock_times_out_at_its_deadline(void **state)
{
	(void)state;
	for (int sleeps = 0; sleeps < 2; sleeps++) {
		int waited = 0;
		for (uint64_t seed = 1; seed <= 20; seed++) {
			struct clocked w = { .sleep_ns = sleeps ? STP_SECONDS(10) : 0 };
			pthread_mutex_init(&w.mu, NULL);
			pthread_cond_init(&w.cv, NULL);
			stp_clock *c = stp_clock_new(0);
			stp_clock_set_auto(c, 1);
			stp_options o = options_for(seed);
			o.clock = c;
			stp_stepper *s = stp_new(&o);
			stp_thread(s, "waiter", NULL, clocked_waiter, &w);
			stp_thread(s, "signaller", NULL, clocked_signaller, &w);
			if (stp_run(s) != 0)
				fail_msg("seed %llu:\n%s", (unsigned long long)seed, errors_of(s));
			stp_free(s);
			stp_clock_free(c);
			pthread_mutex_destroy(&w.mu);
			pthread_cond_destroy(&w.cv);
			if (w.flag && w.waited_ns == 0)
				continue; /* the flag was set before it waited */
			waited++;
			if (w.rc != STP_ETIMEDOUT || w.waited_ns != STP_SECONDS(5))
				fail_msg("seed %llu, signaller sleeps %d s: the 5 s wait returned "
					 "%d (%s) after %.3f s of virtual time",
					 (unsigned long long)seed, sleeps ? 10 : 0, w.rc,
					 stp_strerror(w.rc), (double)w.waited_ns / 1e9);
		}
		assert_true(waited > 0);
	}
}

/* ------------------------------------------------------------------ */
/* STEPPER_DEBUG                                                       */
/* ------------------------------------------------------------------ */

static void test_debug_shows_a_decision_at_a_lock_point(void **state)
{
	(void)state;
	capture c;
	struct abba w;
	memset(&w, 0, sizeof w);
	pthread_mutex_init(&w.m[0], NULL);
	stp_options o;
	setenv("STEPPER_DEBUG", "1", 1);
	stp_options_init(&o);
	unsetenv("STEPPER_DEBUG");
	o.seed = 1;
	o.log = capture_open(&c);
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "a", NULL, locks_and_unlocks, &w.m[0]);
	stp_thread(s, "b", NULL, locks_and_unlocks, &w.m[0]);
	assert_int_equal(stp_run(s), 0);
	stp_free(s);
	const char *text = capture_text(&c);
	if (!strstr(text, "decision 1: enabled [a] 'lock(m#1)', [b] 'lock(m#1)' -> [") ||
	    !strstr(text, "'unlock(m#1)'") || !strstr(text, "done [a] lock(m#1)"))
		fail_msg("%s", text);
	capture_free(&c);
	pthread_mutex_destroy(&w.m[0]);
}

/* The names of lock and wait points ("lock(m#1)", ...) belong to their
 * objects, not to a thread's 4096 distinct step names: correct code that
 * locks thousands of distinct mutexes (a lock per bucket) passes. */
#define MANY_MUTEXES 3000

static void locks_every_bucket(void *p)
{
	pthread_mutex_t *ms = p;
	for (int i = 0; i < MANY_MUTEXES; i++) {
		if (stp_mutex_lock(&ms[i]) != 0)
			return;
		stp_mutex_unlock(&ms[i]);
	}
}

static void test_a_thread_may_lock_thousands_of_distinct_mutexes(void **state)
{
	(void)state;
	pthread_mutex_t *ms = calloc(MANY_MUTEXES, sizeof *ms);
	assert_non_null(ms);
	for (int i = 0; i < MANY_MUTEXES; i++)
		pthread_mutex_init(&ms[i], NULL);
	stp_stepper *s = stepper_for(1);
	stp_thread(s, "a", NULL, locks_every_bucket, ms);
	stp_thread(s, "b", NULL, locks_every_bucket, ms);
	if (stp_run(s) != 0)
		fail_msg("%.400s", errors_of(s));
	stp_free(s);
	for (int i = 0; i < MANY_MUTEXES; i++)
		pthread_mutex_destroy(&ms[i]);
	free(ms);
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
		cmocka_unit_test(test_a_cycle_of_two_hundred_threads_is_reported),
		cmocka_unit_test(test_self_deadlock_is_reported_with_both_places),
		cmocka_unit_test(test_a_wait_nothing_will_signal_is_a_lost_wake_up),
		cmocka_unit_test(test_a_signal_before_the_wait_is_found_as_a_lost_wake_up),
		cmocka_unit_test(test_unlocking_a_mutex_another_thread_holds_names_both),
		cmocka_unit_test(test_unlocking_a_mutex_nobody_locked_is_an_error),
		cmocka_unit_test(test_serial_invariant_holds_with_locks_and_waits),
		cmocka_unit_test(test_a_timed_wait_nobody_signals_times_out_without_a_deadlock),
		cmocka_unit_test(test_a_signalled_timed_wait_returns_0_and_never_times_out),
		cmocka_unit_test(test_of_two_timed_waiters_one_takes_the_token_one_times_out),
		cmocka_unit_test(test_producer_consumer_replays_100_of_100),
		cmocka_unit_test(test_timed_waits_replay_100_of_100),
		cmocka_unit_test(test_a_replay_into_a_changed_program_names_the_decision),
		cmocka_unit_test(test_declared_deposits_with_a_lock_pass_2000_seeds),
		cmocka_unit_test(test_null_mutexes_are_einval_and_fail_a_run),
		cmocka_unit_test(test_a_wait_without_holding_the_mutex_is_an_error),
		cmocka_unit_test(test_an_overlong_free_step_name_fails_the_run_clearly),
		cmocka_unit_test(test_trylock_of_a_held_mutex_is_ebusy),
		cmocka_unit_test(test_on_an_uncontrolled_thread_mutex_calls_are_plain_pthread),
		cmocka_unit_test(test_a_plain_unlock_of_a_stepper_mutex_is_reported_as_held),
		cmocka_unit_test(test_overlap_mode_mutexes_are_plain_and_still_exclude),
		cmocka_unit_test(test_a_broadcast_wakes_every_waiter_a_signal_only_one),
		cmocka_unit_test(test_a_cycle_through_a_woken_waiter_is_reported),
		cmocka_unit_test(test_a_deadlock_replays_100_of_100),
		cmocka_unit_test(test_the_order_after_a_run_shows_locks_and_waits),
		cmocka_unit_test(test_on_a_clock_waits_and_locks_are_blocked_to_the_clock),
		cmocka_unit_test(test_debug_shows_a_decision_at_a_lock_point),
		cmocka_unit_test(test_a_schedule_that_picks_a_blocked_thread_says_it_is_blocked),
		cmocka_unit_test(test_a_thread_may_lock_thousands_of_distinct_mutexes),
		cmocka_unit_test(test_a_timed_wait_on_a_clock_times_out_at_its_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
