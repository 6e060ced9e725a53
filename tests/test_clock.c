/*
 * test_clock.c - virtual time: advances, timers, sleepers, condition
 * waits, auto mode, and the reports that replace hangs.
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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "examples/idle.h"
#include "helpers.h"

/* A member thread running fn(arg) in clock c; started() returns once it
 * has entered the clock. */
struct member_arg {
	stp_clock *c;
	const char *name;
	void (*fn)(void *);
	void *arg;
	event entered;
	pthread_t tid;
};

static void *member_main(void *p)
{
	struct member_arg *m = p;
	stp_clock_enter_named(m->c, m->name);
	event_set(&m->entered);
	m->fn(m->arg);
	stp_clock_leave();
	return NULL;
}

static void start_member(struct member_arg *m, stp_clock *c, const char *name,
			 void (*fn)(void *), void *arg)
{
	m->c = c;
	m->name = name;
	m->fn = fn;
	m->arg = arg;
	event_init(&m->entered);
	pthread_create(&m->tid, NULL, member_main, m);
	event_wait(&m->entered);
}

static void join_member(struct member_arg *m)
{
	pthread_join(m->tid, NULL);
	event_destroy(&m->entered);
}

/* ------------------------------------------------------------------ */
/* The idle connection                                                 */
/* ------------------------------------------------------------------ */

static void worker(void *p)
{
	conn_worker(p);
}

/* One repetition: returns 1 if the queue is open after advancing by ns. */
static int idle_after(uint64_t ns)
{
	stp_clock *c = stp_clock_new(0);
	struct conn conn;
	conn_init(&conn);
	struct member_arg m;
	start_member(&m, c, "conn", worker, &conn);
	assert_int_equal(stp_clock_wait_idle(c), 0);
	assert_true(stp_clock_advance(c, ns) >= 0);
	int open = conn_is_open(&conn);
	conn_stop(&conn);
	join_member(&m);
	stp_clock_free(c);
	return open;
}

static void test_idle_connection_closes_after_10s_not_5s(void **state)
{
	(void)state;
	int closed = 0, open = 0;
	for (int i = 0; i < 1000; i++) {
		closed += !idle_after(STP_SECONDS(10));
		open += idle_after(STP_SECONDS(5));
	}
	assert_int_equal(closed, 1000);
	assert_int_equal(open, 1000);
}

static void test_activity_restarts_the_idle_period(void **state)
{
	(void)state;
	stp_clock *c = stp_clock_new(0);
	struct conn conn;
	conn_init(&conn);
	struct member_arg m;
	start_member(&m, c, "conn", worker, &conn);
	assert_int_equal(stp_clock_wait_idle(c), 0);
	assert_true(stp_clock_advance(c, STP_SECONDS(8)) >= 0);
	conn_touch(&conn); /* at 8 s */
	assert_int_equal(stp_clock_wait_idle(c), 0);
	assert_true(stp_clock_advance(c, STP_SECONDS(8)) >= 0); /* 16 s */
	assert_true(conn_is_open(&conn));
	assert_true(stp_clock_advance(c, STP_SECONDS(2)) >= 0); /* 18 s */
	assert_false(conn_is_open(&conn));
	join_member(&m);
	stp_clock_free(c);
}

/* ------------------------------------------------------------------ */
/* Timers                                                              */
/* ------------------------------------------------------------------ */

struct seen {
	uint64_t deadline, now;
	int fired;
};

static void record_now(void *p)
{
	struct seen *s = p;
	s->now = stp_now_ns();
	s->fired++;
}

struct starter {
	struct seen *seen;
	int n;
	stp_timer **handles;
};

static void start_timers(void *p)
{
	struct starter *st = p;
	for (int i = 0; i < st->n; i++) {
		/* out of order on purpose, some equal */
		uint64_t d = STP_MILLIS(((i * 7919) % 13) * 100 + 50);
		st->seen[i].deadline = stp_now_ns() + d;
		st->handles[i] = stp_timer_start(d, record_now, &st->seen[i]);
	}
}

static void test_now_inside_a_callback_is_its_deadline(void **state)
{
	(void)state;
	stp_clock *c = stp_clock_new(STP_SECONDS(100));
	struct seen seen[40] = { { 0 } };
	stp_timer *h[40];
	struct starter st = { seen, 40, h };
	struct member_arg m;
	start_member(&m, c, "starter", start_timers, &st);
	join_member(&m);
	assert_int_equal(stp_clock_advance(c, STP_SECONDS(2)), 40);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(seen[i].fired, 1);
		assert_int_equal(seen[i].now, seen[i].deadline);
	}
	assert_int_equal(stp_clock_now(c), STP_SECONDS(102));
	stp_clock_free(c);
}

struct cascade {
	int left, fired;
	uint64_t last_now;
};

static void next_in_cascade(void *p)
{
	struct cascade *k = p;
	k->fired++;
	k->last_now = stp_now_ns();
	if (--k->left > 0)
		stp_timer_start(STP_MILLIS(1), next_in_cascade, k);
}

static void start_cascade(void *p)
{
	stp_timer_start(STP_MILLIS(1), next_in_cascade, p);
}

static void test_cascade_of_10000_timers_in_one_advance(void **state)
{
	(void)state;
	stp_clock *c = stp_clock_new(0);
	struct cascade k = { 10000, 0, 0 };
	struct member_arg m;
	start_member(&m, c, "starter", start_cascade, &k);
	join_member(&m);
	assert_int_equal(stp_clock_advance(c, STP_SECONDS(60)), 10000);
	assert_int_equal(k.fired, 10000);
	assert_int_equal(k.last_now, STP_SECONDS(10)); /* 10,000 x 1 ms */
	assert_int_equal(stp_clock_now(c), STP_SECONDS(60));
	stp_clock_free(c);
}

static void test_cancel_before_and_after_firing(void **state)
{
	(void)state;
	stp_clock *c = stp_clock_new(0);
	struct seen seen[2] = { { 0 } };
	stp_timer *h[2];
	struct starter st = { seen, 2, h };
	struct member_arg m;
	start_member(&m, c, "starter", start_timers, &st);
	join_member(&m);
	assert_int_equal(stp_timer_cancel(h[0]), 0);          /* pending */
	assert_int_equal(stp_timer_cancel(h[0]), STP_ENOENT); /* twice */
	assert_int_equal(stp_clock_advance(c, STP_SECONDS(5)), 1);
	assert_int_equal(seen[0].fired, 0);
	assert_int_equal(seen[1].fired, 1);
	assert_int_equal(stp_timer_cancel(h[1]), STP_ENOENT); /* fired */
	assert_int_equal(stp_timer_cancel(NULL), STP_EINVAL);
	stp_timer_free(h[0]);
	stp_clock_free(c);
}

/* ------------------------------------------------------------------ */
/* Sleepers and conditions                                             */
/* ------------------------------------------------------------------ */

struct sleeper {
	uint64_t ns;
	order_log *log;
	int id;
	uint64_t woke_at;
};

static void sleep_then_log(void *p)
{
	struct sleeper *s = p;
	stp_sleep_ns(s->ns);
	s->woke_at = stp_now_ns();
	log_add(s->log, s->id, 0);
}

static void test_sleepers_wake_in_deadline_order(void **state)
{
	(void)state;
	for (int rep = 0; rep < 50; rep++) {
		stp_clock *c = stp_clock_new(0);
		order_log log;
		log_init(&log);
		uint64_t secs[4] = { 4, 1, 3, 2 };
		struct sleeper s[4];
		struct member_arg m[4];
		for (int i = 0; i < 4; i++) {
			s[i] = (struct sleeper){ STP_SECONDS(secs[i]), &log, i, 0 };
			start_member(&m[i], c, NULL, sleep_then_log, &s[i]);
		}
		assert_int_equal(stp_clock_wait_idle(c), 0);
		assert_int_equal(stp_clock_advance(c, STP_SECONDS(5)), 4);
		for (int i = 0; i < 4; i++)
			join_member(&m[i]);
		assert_int_equal(log.n, 4);
		int want[4] = { 1, 3, 2, 0 }; /* 1 s, 2 s, 3 s, 4 s */
		for (int i = 0; i < 4; i++) {
			assert_int_equal(log.thread[i], want[i]);
			assert_int_equal(s[i].woke_at, STP_SECONDS(secs[i]));
		}
		stp_clock_free(c);
	}
}

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int rc;
	uint64_t returned_at;
};

static void timed_wait_5s(void *p)
{
	struct waiter *w = p;
	pthread_mutex_lock(&w->mu);
	w->rc = stp_cond_timedwait_ns(&w->cv, &w->mu, STP_SECONDS(5));
	w->returned_at = stp_now_ns();
	pthread_mutex_unlock(&w->mu);
}

static void test_cond_timedwait_times_out_at_the_virtual_deadline(void **state)
{
	(void)state;
	stp_clock *c = stp_clock_new(0);
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 99, 0 };
	struct member_arg m;
	start_member(&m, c, "waiter", timed_wait_5s, &w);
	assert_int_equal(stp_clock_wait_idle(c), 0);
	assert_int_equal(stp_clock_advance(c, STP_SECONDS(4)), 0);
	assert_int_equal(stp_clock_advance(c, STP_SECONDS(2)), 1);
	join_member(&m);
	assert_int_equal(w.rc, STP_ETIMEDOUT);
	assert_int_equal(w.returned_at, STP_SECONDS(5));
	stp_clock_free(c);
}

static void test_cond_timedwait_signalled_before_the_deadline(void **state)
{
	(void)state;
	stp_clock *c = stp_clock_new(0);
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 99, 0 };
	struct member_arg m;
	start_member(&m, c, "waiter", timed_wait_5s, &w);
	assert_int_equal(stp_clock_wait_idle(c), 0);
	assert_int_equal(stp_clock_advance(c, STP_SECONDS(1)), 0);
	pthread_mutex_lock(&w.mu);
	stp_cond_signal(&w.cv);
	pthread_mutex_unlock(&w.mu);
	join_member(&m);
	assert_int_equal(w.rc, 0);
	assert_int_equal(w.returned_at, STP_SECONDS(1));
	stp_clock_free(c);
}

/* ------------------------------------------------------------------ */
/* Auto mode with a stepper run                                        */
/* ------------------------------------------------------------------ */

static void sleepy(void *p)
{
	(void)p;
	STEP("start");
	stp_sleep_ns(STP_SECONDS(3600));
	STEP("after an hour");
	stp_sleep_ns(STP_SECONDS(3600));
	STEP("after two hours");
}

static void test_auto_mode_runs_hours_of_sleeps_at_once(void **state)
{
	(void)state;
	static const char *const o[] = { "start", "after an hour", "after two hours", NULL };
	mkdir("build", 0777);
	mkdir("build/test-traces", 0777);
	stp_clock *c = stp_clock_new(0);
	stp_clock_set_auto(c, 1);
	stp_options opt;
	stp_options_init(&opt);
	opt.clock = c;
	opt.seed = 7;
	opt.trace = "build/test-traces/clock.json";
	stp_stepper *s = stp_new(&opt);
	stp_thread(s, "a", o, sleepy, NULL);
	stp_thread(s, "b", o, sleepy, NULL);
	if (stp_run(s) != 0)
		fail_msg("run failed: %s | %s | clock: %s", stp_error(s, 0),
			 stp_error_count(s) > 1 ? stp_error(s, 1) : "", stp_clock_error(c));
	/* a sleep is a point: the sleeping thread is blocked until its
	 * deadline and the other goes on, so the two sleep side by side, as
	 * on a real clock: 2 hours in all */
	assert_int_equal(stp_clock_now(c), STP_SECONDS(2 * 3600));
	stp_free(s);
	stp_trace *t = stp_trace_load("build/test-traces/clock.json", NULL);
	assert_non_null(t);
	assert_int_equal(stp_trace_event_count(t), 6 + 4); /* the steps and the sleeps */
	stp_trace_free(t);
	capture cap;
	t = stp_trace_load("build/test-traces/clock.json", NULL);
	stp_trace_print(t, capture_open(&cap), 1);
	assert_non_null(strstr(capture_text(&cap), "virtual 7200.000000000 s"));
	capture_free(&cap);
	stp_trace_free(t);
	stp_clock_free(c);
}

/* A waiting thread must never count as blocked while its grant is on
 * the way: auto mode would then jump, or report a deadlock, too early.
 * (Found by running the test above thousands of times under TSan.) */
static void test_auto_mode_is_exact_over_500_runs(void **state)
{
	(void)state;
	static const char *const o[] = { "start", "after an hour", "after two hours", NULL };
	for (int i = 0; i < 500; i++) {
		stp_clock *c = stp_clock_new(0);
		stp_clock_set_auto(c, 1);
		stp_options opt;
		stp_options_init(&opt);
		opt.clock = c;
		opt.seed = (uint64_t)i;
		opt.stall_ms = 5000;
		stp_stepper *s = stp_new(&opt);
		stp_thread(s, "a", o, sleepy, NULL);
		stp_thread(s, "b", o, sleepy, NULL);
		if (stp_run(s) != 0)
			fail_msg("run %d: %s", i, stp_error(s, 0));
		assert_int_equal(stp_clock_now(c), STP_SECONDS(2 * 3600));
		stp_free(s);
		stp_clock_free(c);
	}
}

/* The same over free threads: a thread parked at a step for a decision
 * is blocked to the clock, so virtual time and the turnstile agree. */
static void test_auto_mode_is_exact_over_free_threads(void **state)
{
	(void)state;
	for (int i = 0; i < 500; i++) {
		stp_clock *c = stp_clock_new(0);
		stp_clock_set_auto(c, 1);
		stp_options opt;
		stp_options_init(&opt);
		opt.clock = c;
		opt.seed = (uint64_t)i;
		opt.stall_ms = 5000;
		opt.trace = i == 0 ? "build/test-traces/clock-free.json" : NULL;
		stp_stepper *s = stp_new(&opt);
		stp_thread(s, "a", NULL, sleepy, NULL);
		stp_thread(s, "b", NULL, sleepy, NULL);
		if (stp_run(s) != 0)
			fail_msg("seed %d: %s", i, stp_error(s, 0));
		assert_int_equal(stp_clock_now(c), STP_SECONDS(2 * 3600));
		stp_free(s);
		stp_clock_free(c);
	}
	capture cap;
	stp_trace *t = stp_trace_load("build/test-traces/clock-free.json", NULL);
	assert_non_null(t);
	assert_int_equal(stp_trace_event_count(t), 6 + 4); /* the steps and the sleeps */
	stp_trace_print(t, capture_open(&cap), 1);
	assert_non_null(strstr(capture_text(&cap), "virtual 7200.000000000 s"));
	capture_free(&cap);
	stp_trace_free(t);
}

/* ------------------------------------------------------------------ */
/* Reports instead of hangs                                            */
/* ------------------------------------------------------------------ */

static void waits_forever(void *p)
{
	struct waiter *w = p;
	pthread_mutex_lock(&w->mu);
	w->rc = stp_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

static void test_deadlock_is_reported_not_a_hang(void **state)
{
	(void)state;
	stp_clock *c = stp_clock_new(0);
	struct waiter a = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 99, 0 };
	struct waiter b = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 99, 0 };
	struct member_arg ma, mb;
	start_member(&ma, c, "left", waits_forever, &a);
	start_member(&mb, c, "right", waits_forever, &b);
	stp_clock_set_auto(c, 1);
	join_member(&ma);
	join_member(&mb);
	assert_int_equal(a.rc, STP_EDEADLOCK);
	assert_int_equal(b.rc, STP_EDEADLOCK);
	const char *e = stp_clock_error(c);
	assert_non_null(strstr(e, "deadlock: every member of the clock is blocked and "
				 "no deadline is pending:"));
	assert_non_null(strstr(e, "\n  [left] waits on a condition, with no deadline"));
	assert_non_null(strstr(e, "\n  [right] waits on a condition, with no deadline"));
	stp_clock_free(c);
}

/* More condition waiters than break_deadlock's batch: each is woken. */
static void test_a_deadlock_of_a_hundred_waiters_wakes_them_all(void **state)
{
	(void)state;
	enum { N = 100 };
	stp_clock *c = stp_clock_new(0);
	struct waiter *w = calloc(N, sizeof *w);
	struct member_arg *ma = calloc(N, sizeof *ma);
	static char names[N][16];
	assert_non_null(w);
	assert_non_null(ma);
	for (int i = 0; i < N; i++) {
		pthread_mutex_init(&w[i].mu, NULL);
		pthread_cond_init(&w[i].cv, NULL);
		w[i].rc = 99;
		snprintf(names[i], sizeof names[i], "w%d", i);
		start_member(&ma[i], c, names[i], waits_forever, &w[i]);
	}
	stp_clock_set_auto(c, 1);
	for (int i = 0; i < N; i++) {
		join_member(&ma[i]);
		assert_int_equal(w[i].rc, STP_EDEADLOCK);
		pthread_mutex_destroy(&w[i].mu);
		pthread_cond_destroy(&w[i].cv);
	}
	assert_non_null(strstr(stp_clock_error(c), "deadlock: every member of the clock"));
	stp_clock_free(c);
	free(w);
	free(ma);
}

static void locks_plain_mutex(void *p)
{
	pthread_mutex_t *mu = p;
	pthread_mutex_lock(mu); /* the clock cannot see this wait */
	pthread_mutex_unlock(mu);
}

static void test_a_thread_the_clock_cannot_see_is_named(void **state)
{
	(void)state;
	stp_clock *c = stp_clock_new(0);
	/* a wall-clock bound: the stall limit is the behaviour under test */
	stp_clock_set_stall_ms(c, 100);
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	struct member_arg m;
	start_member(&m, c, "locker", locks_plain_mutex, &mu);
	assert_int_equal(stp_clock_advance(c, STP_SECONDS(1)), STP_ESTALL);
	assert_non_null(strstr(stp_clock_error(c), "[locker] is neither blocked in a "
						   "clock-aware wait nor ended"));
	pthread_mutex_unlock(&mu);
	join_member(&m);
	stp_clock_free(c);
}

/* ------------------------------------------------------------------ */
/* Real time off the clock, and bad input                              */
/* ------------------------------------------------------------------ */

static void fire_event(void *p)
{
	event_set(p);
}

static void test_non_members_use_real_time(void **state)
{
	(void)state;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t real = (uint64_t)ts.tv_sec * STP_NS_PER_SEC + (uint64_t)ts.tv_nsec;
	uint64_t a = stp_now_ns();
	assert_true(a >= real);
	assert_int_equal(stp_sleep_ns(STP_MILLIS(2)), 0);
	assert_true(stp_now_ns() >= a + STP_MILLIS(2)); /* a real sleep happened */
	event fired;
	event_init(&fired);
	stp_timer *t = stp_timer_start(STP_MILLIS(1), fire_event, &fired);
	assert_non_null(t);
	event_wait(&fired); /* the real timer thread ran it */
	assert_int_equal(stp_timer_cancel(t), STP_ENOENT);
	stp_timer_free(t);
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	pthread_mutex_lock(&mu);
	assert_int_equal(stp_cond_timedwait_ns(&cv, &mu, STP_MILLIS(1)), STP_ETIMEDOUT);
	pthread_mutex_unlock(&mu);
}

static void test_bad_input_gets_error_codes(void **state)
{
	(void)state;
	stp_clock *c = stp_clock_new(UINT64_MAX - 10);
	assert_int_equal(stp_clock_advance(c, 11), STP_ERANGE);
	assert_int_equal(stp_clock_advance(c, 10), 0);
	assert_int_equal(stp_clock_leave(), STP_ESTATE);
	assert_int_equal(stp_clock_enter(c), 0);
	assert_int_equal(stp_clock_enter(c), STP_ESTATE);      /* two clocks */
	assert_int_equal(stp_clock_advance(c, 1), STP_ESTATE); /* from a member */
	assert_int_equal(stp_clock_wait_idle(c), STP_ESTATE);
	assert_int_equal(stp_clock_leave(), 0);
	assert_int_equal(stp_clock_advance(NULL, 1), STP_EINVAL);
	assert_int_equal(stp_clock_enter_named(c, ""), STP_EINVAL);
	assert_null(stp_timer_start(1, NULL, NULL));
	stp_clock_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_connection_closes_after_10s_not_5s),
		cmocka_unit_test(test_activity_restarts_the_idle_period),
		cmocka_unit_test(test_now_inside_a_callback_is_its_deadline),
		cmocka_unit_test(test_cascade_of_10000_timers_in_one_advance),
		cmocka_unit_test(test_cancel_before_and_after_firing),
		cmocka_unit_test(test_sleepers_wake_in_deadline_order),
		cmocka_unit_test(test_cond_timedwait_times_out_at_the_virtual_deadline),
		cmocka_unit_test(test_cond_timedwait_signalled_before_the_deadline),
		cmocka_unit_test(test_auto_mode_runs_hours_of_sleeps_at_once),
		cmocka_unit_test(test_auto_mode_is_exact_over_500_runs),
		cmocka_unit_test(test_auto_mode_is_exact_over_free_threads),
		cmocka_unit_test(test_deadlock_is_reported_not_a_hang),
		cmocka_unit_test(test_a_deadlock_of_a_hundred_waiters_wakes_them_all),
		cmocka_unit_test(test_a_thread_the_clock_cannot_see_is_named),
		cmocka_unit_test(test_non_members_use_real_time),
		cmocka_unit_test(test_bad_input_gets_error_codes),
	};
	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
