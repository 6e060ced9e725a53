/*
 * bench.c - `make bench`: every number is printed beside a baseline
 * measured in the same run, because this machine is shared and noisy.
 *
 * Each measurement is repeated REPS times and the median is kept.
 */
#include <stepper/clock.h>
#include <stepper/stepper.h>

#include <malloc.h>
#include <errno.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handoff.h" /* the raw baseline uses the same primitive */
#include "zoo.h"     /* (f) the zoo of bugs, tests/bugs */

#define REPS 9

/* Rows measured a second time with the controlled threads as fibers
 * (stp_set_fibers) set this while they run. */
static int bench_fibers;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

/* ------------------------------------------------------------------ */
/* (a) raw hand-off: spin-then-futex ping-pong between two threads     */
/* ------------------------------------------------------------------ */

#define PINGPONG 200000

struct pp {
	stp__sem a, b;
};

static void *pong(void *p)
{
	struct pp *pp = p;
	for (int i = 0; i < PINGPONG; i++) {
		stp__sem_wait(&pp->b, STP__HOT);
		stp__sem_post(&pp->a);
	}
	return NULL;
}

/* Nanoseconds per one-way hand-off. */
static double raw_handoff(void)
{
	struct pp pp;
	stp__sem_init(&pp.a);
	stp__sem_init(&pp.b);
	pthread_t t;
	pthread_create(&t, NULL, pong, &pp);
	uint64_t t0 = now_ns();
	for (int i = 0; i < PINGPONG; i++) {
		stp__sem_post(&pp.b);
		stp__sem_wait(&pp.a, STP__HOT);
	}
	uint64_t t1 = now_ns();
	pthread_join(t, NULL);
	return (double)(t1 - t0) / (2.0 * PINGPONG);
}

/* ------------------------------------------------------------------ */
/* (a) stepper hand-off: two threads alternating steps                 */
/* ------------------------------------------------------------------ */

#define ALT_STEPS 20000

static void alternate(void *arg)
{
	(void)arg;
	for (int i = 0; i < ALT_STEPS; i++)
		STEP("s");
}

/* A schedule that alternates the two threads: every step is a hand-off. */
static double stepper_handoff(void)
{
	static const char *order[ALT_STEPS + 1];
	for (int i = 0; i < ALT_STEPS; i++)
		order[i] = "s";
	stp_options o;
	stp_options_init(&o);
	o.stall_ms = 60000;
	stp_stepper *s = stp_new(&o);
	stp_set_fibers(s, bench_fibers);
	stp_thread(s, "a", order, alternate, NULL);
	stp_thread(s, "b", order, alternate, NULL);
	/* Replace the random schedule by a strict alternation. */
	int *alt = malloc(2 * ALT_STEPS * sizeof *alt);
	for (int i = 0; i < 2 * ALT_STEPS; i++)
		alt[i] = i % 2;
	stp_set_schedule(s, alt, 2 * ALT_STEPS);
	uint64_t t0 = now_ns();
	int rc = stp_run(s);
	uint64_t t1 = now_ns();
	if (rc != 0)
		fprintf(stderr, "bench: alternation run failed: %s\n", stp_error(s, 0));
	free(alt);
	stp_free(s);
	return (double)(t1 - t0) / (2.0 * ALT_STEPS);
}

/* ------------------------------------------------------------------ */
/* (b) schedules per second: 2 threads x 3 steps, lost update          */
/* ------------------------------------------------------------------ */

struct account {
	int balance;
};

static void deposit(void *p)
{
	struct account *a = p;
	STEP("read balance");
	int b = a->balance;
	STEP("compute");
	b += 10;
	STEP("write balance");
	a->balance = b;
}

static const char *const lost_update_order[] = { "read balance", "compute",
						 "write balance", NULL };

static int lost_update_body(stp_stepper *s, void *arg)
{
	struct account a = { 100 };
	int *lost = arg;
	stp_set_fibers(s, bench_fibers);
	stp_thread(s, "alice", lost_update_order, deposit, &a);
	stp_thread(s, "bob", lost_update_order, deposit, &a);
	if (stp_run(s) != 0)
		return -1;
	if (a.balance != 120)
		(*lost)++;
	return 0; /* count, do not stop: we measure the loop's speed */
}

/* The same shape with free threads: a decision at every hand-off. */
static int lost_update_free_body(stp_stepper *s, void *arg)
{
	struct account a = { 100 };
	int *lost = arg;
	stp_set_fibers(s, bench_fibers);
	stp_thread(s, "alice", NULL, deposit, &a);
	stp_thread(s, "bob", NULL, deposit, &a);
	if (stp_run(s) != 0)
		return -1;
	if (a.balance != 120)
		(*lost)++;
	return 0;
}

/* (b'') The same shape with free threads and the critical section under
 * stp_mutex_lock: two more scheduling points per thread, and a thread whose
 * lock would wait is never chosen. */
struct locked_account {
	pthread_mutex_t mu;
	int balance;
};

static void deposit_locked(void *p)
{
	struct locked_account *a = p;
	if (stp_mutex_lock(&a->mu) != 0)
		return;
	STEP("read balance");
	int b = a->balance;
	STEP("compute");
	b += 10;
	STEP("write balance");
	a->balance = b;
	stp_mutex_unlock(&a->mu);
}

static int lost_update_locked_body(stp_stepper *s, void *arg)
{
	struct locked_account a = { PTHREAD_MUTEX_INITIALIZER, 100 };
	int *lost = arg;
	stp_thread(s, "alice", NULL, deposit_locked, &a);
	stp_thread(s, "bob", NULL, deposit_locked, &a);
	if (stp_run(s) != 0)
		return -1;
	if (a.balance != 120)
		(*lost)++;
	return 0;
}

#define SCHEDULES 20000

static double schedules_per_second_of(stp_body_fn body, int *lost)
{
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = 1;
	lo.count = SCHEDULES;
	lo.quiet = 1;
	*lost = 0;
	uint64_t t0 = now_ns();
	stp_loop_result r;
	int rc = stp_loop(&lo, body, lost, &r);
	uint64_t t1 = now_ns();
	if (rc != 0)
		fprintf(stderr, "bench: loop failed at seed %llu\n",
			(unsigned long long)r.failed_seed);
	return (double)r.tried / ((double)(t1 - t0) / 1e9);
}

static double schedules_per_second(int *lost)
{
	return schedules_per_second_of(lost_update_body, lost);
}

/* Baseline for (b): create and join two threads running the same body. */
static void *plain_deposit(void *p)
{
	deposit(p);
	return NULL;
}

/* Baseline for (b), the floor of its shape on this machine: a loop thread
 * starts two reused threads, they take six turns A B A B A B through the
 * raw semaphore (each waiting as the stepper's do: warm between runs, hot
 * for a turn, the loop warm for the end), the last posts the loop. No
 * stepper: what is left is the three threads' hand-offs on the cores. */
#define RAW_RUNS 50000

struct raw_shape {
	stp__sem start[2], turn[2], done;
};

struct raw_worker {
	struct raw_shape *sh;
	int me;
};

static void *raw_shape_worker(void *p)
{
	struct raw_worker *w = p;
	struct raw_shape *sh = w->sh;
	for (int r = 0; r < RAW_RUNS; r++) {
		stp__sem_wait(&sh->start[w->me], STP__WARM);
		for (int k = 0; k < 3; k++) {
			if (w->me == 0) {
				if (k > 0)
					stp__sem_wait(&sh->turn[0], STP__HOT);
				stp__sem_post(&sh->turn[1]);
			} else {
				stp__sem_wait(&sh->turn[1], STP__HOT);
				if (k < 2)
					stp__sem_post(&sh->turn[0]);
			}
		}
		if (w->me == 1)
			stp__sem_post(&sh->done);
	}
	return NULL;
}

static double raw_shape_per_second(void)
{
	struct raw_shape sh;
	stp__sem_init(&sh.done);
	struct raw_worker w[2];
	pthread_t t[2];
	for (int i = 0; i < 2; i++) {
		stp__sem_init(&sh.start[i]);
		stp__sem_init(&sh.turn[i]);
		w[i] = (struct raw_worker){ &sh, i };
		pthread_create(&t[i], NULL, raw_shape_worker, &w[i]);
	}
	uint64_t t0 = now_ns();
	for (int r = 0; r < RAW_RUNS; r++) {
		stp__sem_post(&sh.start[0]);
		stp__sem_post(&sh.start[1]);
		stp__sem_wait(&sh.done, STP__WARM);
	}
	uint64_t t1 = now_ns();
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return RAW_RUNS / ((double)(t1 - t0) / 1e9);
}

static double create_join_per_second(void)
{
	int n = 2000;
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++) {
		struct account a = { 100 };
		pthread_t x, y;
		pthread_create(&x, NULL, plain_deposit, &a);
		pthread_create(&y, NULL, plain_deposit, &a);
		pthread_join(x, NULL);
		pthread_join(y, NULL);
	}
	return n / ((double)(now_ns() - t0) / 1e9);
}

/* ------------------------------------------------------------------ */
/* (e) the AB/BA deadlock, reported at once                            */
/* ------------------------------------------------------------------ */

#define DEADLOCK_RUNS 5000

struct abba {
	pthread_mutex_t *first, *second;
};

static void lock_both(void *p)
{
	struct abba *t = p;
	STEP("begin");
	if (stp_mutex_lock(t->first) != 0)
		return;
	STEP("has one");
	if (stp_mutex_lock(t->second) == 0)
		stp_mutex_unlock(t->second);
	stp_mutex_unlock(t->first);
}

/* Decisions that make both threads take their first mutex before either
 * asks for its second (the last one has a single enabled thread). */
static const int abba_decisions[] = { 0, 1, 0, 1, 1, 0 };

/* Runs per second from stp_new to the end of stp_run, each run AB/BA over
 * free threads steered into the deadlock; *deadlocked counts the runs that
 * ended with the deadlock report. The stall limit is a minute: a run that
 * waited for it instead would show at once in the rate. */
static double deadlocks_per_second(int *deadlocked)
{
	*deadlocked = 0;
	stp_options o;
	stp_options_init(&o);
	o.stall_ms = 60000;
	o.mode = STP_SERIAL;
	o.debug = 0;
	o.trace = NULL;
	o.replay = NULL;
	uint64_t t0 = now_ns();
	for (int i = 0; i < DEADLOCK_RUNS; i++) {
		pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
		struct abba alice = { &a, &b }, bob = { &b, &a };
		stp_stepper *s = stp_new(&o);
		stp_thread(s, "alice", NULL, lock_both, &alice);
		stp_thread(s, "bob", NULL, lock_both, &bob);
		stp_set_schedule(s, abba_decisions,
				 sizeof abba_decisions / sizeof abba_decisions[0]);
		if (stp_run(s) == 1 && strncmp(stp_error(s, 0), "deadlock: a cycle", 17) == 0)
			(*deadlocked)++;
		else if (i == 0)
			fprintf(stderr, "bench: the AB/BA run did not end in a deadlock: %s\n",
				stp_error_count(s) ? stp_error(s, 0) : "(no error)");
		stp_free(s);
	}
	return DEADLOCK_RUNS / ((double)(now_ns() - t0) / 1e9);
}

/* ------------------------------------------------------------------ */
/* (c) stepper run against xargs -P 2, the same 2000 processes          */
/* ------------------------------------------------------------------ */

#define CLI_RUNS 2000

static double seconds_of(const char *cmd)
{
	uint64_t t0 = now_ns();
	int rc = system(cmd);
	uint64_t t1 = now_ns();
	if (rc != 0)
		fprintf(stderr, "bench: '%s' failed (%d)\n", cmd, rc);
	return (double)(t1 - t0) / 1e9;
}

static void cli_versus_xargs(const char *b, double *ours, double *xargs)
{
	char cmd[1024];
	double o[3], x[3];
	for (int i = 0; i < 3; i++) {
		snprintf(cmd, sizeof cmd,
			 "%s/bin/stepper run -n %d -j 2 --trace-dir %s/bench-traces -- "
			 "%s/tests/progs/pass > /dev/null",
			 b, CLI_RUNS, b, b);
		o[i] = CLI_RUNS / seconds_of(cmd);
		/* the same program, the same one seed per process */
		snprintf(cmd, sizeof cmd,
			 "seq %d | STEPPER_SEED=1 xargs -n 1 -P 2 %s/tests/progs/pass",
			 CLI_RUNS, b);
		x[i] = CLI_RUNS / seconds_of(cmd);
	}
	*ours = median(o, 3);
	*xargs = median(x, 3);
}

/* ------------------------------------------------------------------ */
/* (h) --auto: an unmodified program, by the fork server and by exec    */
/* ------------------------------------------------------------------ */

#define AUTO_RUNS 2000

static void auto_rows(const char *b)
{
	char cmd[1024];
	double srv[3], exe[3], nat[3];
	for (int i = 0; i < 3; i++) {
		snprintf(cmd, sizeof cmd,
			 "%s/bin/stepper run --auto -n %d -j 2 --trace-dir %s/bench-traces -- "
			 "%s/tests/auto/bench_locks > /dev/null",
			 b, AUTO_RUNS, b, b);
		srv[i] = AUTO_RUNS / seconds_of(cmd);
		snprintf(cmd, sizeof cmd,
			 "%s/bin/stepper run --auto --no-server -n %d -j 2 --trace-dir "
			 "%s/bench-traces -- %s/tests/auto/bench_locks > /dev/null",
			 b, AUTO_RUNS, b, b);
		exe[i] = AUTO_RUNS / seconds_of(cmd);
		snprintf(cmd, sizeof cmd, "seq %d | xargs -n 1 -P 2 %s/tests/auto/bench_locks",
			 AUTO_RUNS, b);
		nat[i] = AUTO_RUNS / seconds_of(cmd);
	}
	double sv = median(srv, 3), ex = median(exe, 3), na = median(nat, 3);
	printf("(h) stepper run --auto -n %d -j 2 over tests/auto/bench_locks (3 threads,\n"
	       "    ~50 pthread calls; median of 3)\n",
	       AUTO_RUNS);
	printf("  --auto, fork server              %8.0f schedules per second   (target >= 2000)\n",
	       sv);
	printf("  --auto --no-server (exec each)   %8.0f schedules per second\n", ex);
	printf("  baseline: native, xargs -P 2     %8.0f runs per second\n", na);
	printf("  ratio server/exec                %8.2f   (target >= 5.00)\n", sv / ex);
	printf("  ratio server/native              %8.2f\n", sv / na);
}

/* (i) tests/auto: schedules to the first failure per strategy, one
 * stepper run --auto of AUTO_SEEDS seeds per program and strategy; from
 * its output, the lowest failing seed and the number that failed. */
#define AUTO_SEEDS 200

static void auto_cell(const char *b, const char *prog, const char *strategy)
{
	char cmd[1024], line[512];
	snprintf(cmd, sizeof cmd,
		 "%s/bin/stepper run --auto --strategy %s -n %d -j 2 --trace-dir "
		 "%s/bench-traces -- %s/tests/auto/%s_bug 2>&1",
		 b, strategy, AUTO_SEEDS, b, b, prog);
	FILE *f = popen(cmd, "r");
	unsigned long failed = 0, first = 0;
	while (f && fgets(line, sizeof line, f)) {
		char *p = strstr(line, " passed, ");
		if (p)
			failed = strtoul(p + 9, NULL, 10);
		if (!first && strncmp(line, "  seed ", 7) == 0)
			first = strtoul(line + 7, NULL, 10);
	}
	if (f)
		pclose(f);
	if (first)
		printf(" | %5lu %4lu", first, failed);
	else
		printf(" | %5s %4lu", ">200", failed);
}

static void auto_table(const char *b)
{
	static const char *const progs[] = { "lost_update",    "lazy_init",      "abba",
					     "lost_wakeup",    "bounded_buffer", "ten_threads",
					     "sleeps_minutes", "join_race",      "recursive_mutex",
					     "yield_spin",     "timed_wait",     "reader_writer",
					     "sem_pool",       "barrier_phase",  "c11_counter" };
	static const char *const strategies[] = { "random", "pct:3", "pos" };
	printf("(i) tests/auto under stepper run --auto: the first failing seed of 1..%d and\n"
	       "    how many of the %d fail, per strategy\n",
	       AUTO_SEEDS, AUTO_SEEDS);
	printf("  program          | random     | pct:3      | pos\n");
	printf("                   | first fail | first fail | first fail\n");
	for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
		printf("  %-16s", progs[i]);
		for (size_t k = 0; k < 3; k++)
			auto_cell(b, progs[i], strategies[k]);
		putchar('\n');
		fflush(stdout);
	}
}

/* ------------------------------------------------------------------ */
/* (d) virtual time                                                    */
/* ------------------------------------------------------------------ */

#define SLEEPS 2500
#define VTIMERS 10000

struct vmember {
	stp_clock *c;
	int timers; /* this member also starts the timers */
};

static void count_timer(void *p)
{
	atomic_fetch_add((atomic_int *)p, 1);
}

static atomic_int timers_fired;

static void *sleeper_main(void *p)
{
	struct vmember *m = p;
	stp_clock_enter(m->c);
	if (m->timers)
		for (int i = 0; i < VTIMERS; i++)
			stp_timer_start(STP_MILLIS(250) * (uint64_t)(i + 1), count_timer,
					&timers_fired);
	for (int i = 0; i < SLEEPS; i++)
		stp_sleep_ns(STP_SECONDS(1));
	stp_clock_leave();
	return NULL;
}

/* Virtual seconds per real second: 4 threads sleeping 2500 x 1 s each and
 * 10,000 timers, on a clock in auto mode. */
static double virtual_per_real(void)
{
	stp_clock *c = stp_clock_new(0);
	struct vmember m[4];
	pthread_t t[4];
	atomic_store(&timers_fired, 0);
	uint64_t t0 = now_ns();
	stp_clock_set_auto(c, 1);
	for (int i = 0; i < 4; i++) {
		m[i] = (struct vmember){ c, i == 0 };
		pthread_create(&t[i], NULL, sleeper_main, &m[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	uint64_t t1 = now_ns();
	double v = (double)stp_clock_now(c) / 1e9;
	stp_clock_free(c);
	return v / ((double)(t1 - t0) / 1e9);
}

#define ADVANCES 20000

static void noop_timer(void *p)
{
	(void)p;
}

static pthread_mutex_t entered_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t entered_cv = PTHREAD_COND_INITIALIZER;
static int entered;

static void *tick_main(void *p)
{
	stp_clock *c = p;
	stp_clock_enter(c);
	pthread_mutex_lock(&entered_mu);
	entered = 1;
	pthread_cond_signal(&entered_cv);
	pthread_mutex_unlock(&entered_mu);
	for (int i = 0; i < ADVANCES; i++) {
		stp_timer_start(STP_MILLIS(500), noop_timer, NULL);
		stp_sleep_ns(STP_SECONDS(1));
	}
	stp_clock_leave();
	return NULL;
}

/* Real nanoseconds of one advance that fires one timer and wakes one
 * sleeper, then waits for it to block again. */
static double advance_cost(void)
{
	stp_clock *c = stp_clock_new(0);
	pthread_t t;
	entered = 0;
	pthread_create(&t, NULL, tick_main, c);
	pthread_mutex_lock(&entered_mu);
	while (!entered)
		pthread_cond_wait(&entered_cv, &entered_mu);
	pthread_mutex_unlock(&entered_mu);
	stp_clock_wait_idle(c);
	uint64_t t0 = now_ns();
	for (int i = 0; i < ADVANCES; i++)
		stp_clock_advance(c, STP_SECONDS(1));
	uint64_t t1 = now_ns();
	pthread_join(t, NULL);
	stp_clock_free(c);
	return (double)(t1 - t0) / ADVANCES;
}

/* (d), printed. */
static void virtual_time_rows(void)
{
	double vr[3], ac[3], rw[3];
	for (int i = 0; i < 3; i++) {
		vr[i] = virtual_per_real();
		ac[i] = advance_cost();
		rw[i] = raw_handoff();
	}
	double v = median(vr, 3), a = median(ac, 3), w = median(rw, 3);
	printf("(d) virtual time (median of 3)\n");
	printf("  4 threads x 2500 sleeps of 1 s + 10000 timers, auto mode:\n");
	printf("  virtual seconds per real second  %8.0f\n", v);
	printf("  one advance (1 timer, 1 sleeper) %8.0f ns\n", a);
	printf("  raw hand-off, same run           %8.0f ns\n", w);
	printf("  ratio advance/hand-off           %8.1f   (target <= 10.0)\n", a / w);
}

/* ------------------------------------------------------------------ */
/* (f) the zoo of bugs: schedules to the first failure, per strategy    */
/* ------------------------------------------------------------------ */

#define ZOO_RANGES 20         /* independent seed ranges per program and strategy */
#define ZOO_STRIDE 100000     /* range r starts at seed 1 + r * ZOO_STRIDE */
#define ZOO_CAP 2000          /* schedules a range may try before it gives up */
#define ZOO_DFS_BOUNDS 4      /* dfs:0 .. dfs:3 */
#define ZOO_DFS_CAP 5000      /* schedules each dfs:B may explore */

struct zoo_cell {
	int ran;           /* 0: the strategy is not in this build */
	uint64_t tried[ZOO_RANGES]; /* schedules to the first failure; 0: none within the cap */
	int found;         /* ranges that found it within the cap */
	double per_second; /* schedules per second over all the ranges */
};

/* The buggy program's body, timed: the time spent in the bodies is what
 * sched/s divides by (the loop's own work and the trace it writes of the
 * failing run are left out: a range that finds the bug at once would
 * otherwise measure mostly that write). */
struct zoo_timed {
	const zoo_bug *b;
	uint64_t ns;
};

static int zoo_timed_body(stp_stepper *s, void *arg)
{
	struct zoo_timed *z = arg;
	int fixed = 0;
	uint64_t t0 = now_ns();
	int rc = z->b->body(s, &fixed);
	z->ns += now_ns() - t0;
	return rc;
}

static int zoo_loop(const zoo_bug *b, const char *strategy, uint64_t first, uint64_t count,
		    stp_loop_result *r, uint64_t *ns)
{
	char name[96], dir[256];
	const char *bdir = getenv("B") ? getenv("B") : "build";
	snprintf(name, sizeof name, "zoo %s %s", b->name, strategy);
	snprintf(dir, sizeof dir, "%s/bench-traces/zoo", bdir);
	struct zoo_timed z = { b, 0 };
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = first;
	lo.count = count;
	lo.quiet = 1;
	lo.name = name;
	lo.base.strategy = strategy;
	lo.base.mode = STP_SERIAL;
	lo.base.trace = NULL;
	lo.base.replay = NULL;
	lo.base.debug = 0;
	lo.base.trace_dir = dir;
	int rc = stp_loop(&lo, zoo_timed_body, &z, r);
	if (ns)
		*ns += z.ns;
	return rc;
}

static void zoo_measure(const zoo_bug *b, const char *strategy, struct zoo_cell *c)
{
	uint64_t total = 0, ns = 0;
	*c = (struct zoo_cell){ .ran = 1 };
	/* dfs explores the same schedules in the same order from any first
	 * seed: one range stands for the 20. */
	int ranges = strncmp(strategy, "dfs", 3) == 0 ? 1 : ZOO_RANGES;
	for (int r = 0; r < ranges; r++) {
		stp_loop_result res;
		int rc = zoo_loop(b, strategy, 1 + (uint64_t)r * ZOO_STRIDE, ZOO_CAP, &res, &ns);
		total += res.tried;
		if (rc == 1) {
			c->tried[r] = res.tried;
			c->found++;
		} else if (rc < 0) {
			fprintf(stderr, "bench: zoo %s %s: %s\n", b->name, strategy,
				stp_strerror(rc));
		}
	}
	for (int r = ranges; r < ZOO_RANGES; r++) {
		c->tried[r] = c->tried[0];
		c->found += c->tried[0] != 0;
	}
	c->per_second = ns ? (double)total / ((double)ns / 1e9) : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The median of the 20 ranges, a range that did not find it counting as
 * more than the cap; -1 when the median is such a range. */
static double zoo_median(const struct zoo_cell *c)
{
	uint64_t v[ZOO_RANGES];
	for (int r = 0; r < ZOO_RANGES; r++)
		v[r] = c->tried[r] ? c->tried[r] : UINT64_MAX;
	qsort(v, ZOO_RANGES, sizeof v[0], cmp_u64);
	uint64_t lo = v[ZOO_RANGES / 2 - 1], hi = v[ZOO_RANGES / 2];
	if (hi == UINT64_MAX)
		return -1;
	return ((double)lo + (double)hi) / 2;
}

static void zoo_print_cell(const struct zoo_cell *c)
{
	char med[16], rate[16];
	if (!c->ran) {
		printf(" | %6s %2s %7s", "-", "-", "-");
		return;
	}
	double m = zoo_median(c);
	if (m < 0)
		snprintf(med, sizeof med, ">%d", ZOO_CAP);
	else
		snprintf(med, sizeof med, "%.1f", m);
	snprintf(rate, sizeof rate, "%.1fk", c->per_second / 1000);
	printf(" | %6s %2d %7s", med, c->found, rate);
}

/* dfs:0, dfs:1, ... on one program until a bound finds the bug: how many
 * schedules each explored (the bounds are cumulative: dfs:B explores
 * bound 0, then 1, ... up to B). */
static void zoo_dfs_bounds(const zoo_bug *b)
{
	printf("  %-15s", b->name);
	for (int bound = 0; bound < ZOO_DFS_BOUNDS; bound++) {
		char strategy[16];
		snprintf(strategy, sizeof strategy, "dfs:%d", bound);
		stp_loop_result r;
		int rc = zoo_loop(b, strategy, 1, ZOO_DFS_CAP, &r, NULL);
		if (rc == 1) {
			printf("  dfs:%d found it at %llu", bound, (unsigned long long)r.tried);
			break;
		}
		printf("  dfs:%d %s%llu", bound, r.tried < ZOO_DFS_CAP ? "all " : "cap ",
		       (unsigned long long)r.tried);
		if (r.tried == ZOO_DFS_CAP) { /* a larger bound starts over at bound 0 */
			printf(" (larger bounds: the same)");
			break;
		}
	}
	printf("\n");
}

static void zoo_table(void)
{
	int have[16] = { 0 };
	for (size_t k = 0; k < zoo_nstrategies && k < 16; k++)
		have[k] = zoo_strategy_available(zoo_strategies[k], NULL, 0);
	printf("(f) the zoo of bugs (tests/bugs): schedules to the first failure, median of %d\n"
	       "  seed ranges (first seeds 1, %d, %d, ...), each capped at %d schedules\n"
	       "  (>%d: the median range did not find it); fd: ranges that found it within\n"
	       "  the cap; sched/s: schedules per second over the %d ranges, in the bodies\n"
	       "  (register, run, check); dfs: one range for all 20 (the seed plays no\n"
	       "  part in it); pre: the preemptions the bug needs; dep: its depth\n"
	       "  (ordering constraints, as PCT counts them)\n",
	       ZOO_RANGES, 1 + ZOO_STRIDE, 1 + 2 * ZOO_STRIDE, ZOO_CAP, ZOO_CAP, ZOO_RANGES);
	printf("  %-15s pre dep", "program");
	for (size_t k = 0; k < zoo_nstrategies; k++)
		printf(k + 1 < zoo_nstrategies ? " | %-17s" : " | %s", zoo_strategies[k]);
	printf("\n  %-15s        ", "");
	for (size_t k = 0; k < zoo_nstrategies; k++)
		printf(" | %s", "median fd sched/s");
	printf("\n");
	char slower[1024] = "";
	for (size_t i = 0; i < zoo_nbugs; i++) {
		const zoo_bug *b = &zoo_bugs[i];
		struct zoo_cell c[16] = { { 0 } };
		for (size_t k = 0; k < zoo_nstrategies; k++)
			if (have[k])
				zoo_measure(b, zoo_strategies[k], &c[k]);
		printf("  %-15s %3d %3d", b->name, b->preemptions, b->depth);
		for (size_t k = 0; k < zoo_nstrategies; k++)
			zoo_print_cell(&c[k]);
		printf("\n");
		/* the target: pct:3 no slower than random at the median (depth >= 2) */
		if (have[0] && have[1] && b->depth >= 2) {
			double r = zoo_median(&c[0]), p = zoo_median(&c[1]);
			if ((p < 0 && r >= 0) || (p >= 0 && r >= 0 && p > r))
				snprintf(slower + strlen(slower), sizeof slower - strlen(slower),
					 "\n    %-15s %s%.1f against %.1f", b->name,
					 p < 0 ? ">" : "", p < 0 ? ZOO_CAP : p, r);
		}
		fprintf(stderr, "\rbench: zoo %zu/%zu", i + 1, zoo_nbugs);
	}
	fputc('\n', stderr);
	for (size_t k = 0; k < zoo_nstrategies; k++)
		if (!have[k])
			printf("  %s: not in this build (stp_interleave refuses it)\n",
			       zoo_strategies[k]);
	if (have[0] && have[1])
		printf("  pct:3 needs more schedules than random at the median:%s\n",
		       *slower ? slower : " none");
	if (have[3]) {
		printf("  dfs by bound (capped at %d schedules each): schedules explored\n",
		       ZOO_DFS_CAP);
		for (size_t i = 0; i < zoo_nbugs; i++)
			zoo_dfs_bounds(&zoo_bugs[i]);
	}
}

/* ------------------------------------------------------------------ */
/* (g) a step's cost against the number of threads                     */
/* ------------------------------------------------------------------ */

#define SCALE_MAX_STEPS 100000

static void scale_body(void *arg)
{
	int k = *(const int *)arg;
	for (int i = 0; i < k; i++)
		STEP("s");
}

/* Nanoseconds per step of one run: `threads` threads passing `steps`
 * steps of one name each, declared (the random plan of seed 1) or free
 * (a decision among the enabled at every hand-off); serial mode. */
/* A stepper of `threads` threads passing *steps steps of one name each,
 * declared or free (seed 1, serial mode); *steps must outlive the run. */
static stp_stepper *scale_stepper(int threads, int *steps, int free_threads)
{
	static const char *order[STP_MAX_STEPS + 1];
	for (int i = 0; i < *steps; i++)
		order[i] = "s";
	order[*steps] = NULL;
	stp_options o;
	stp_options_init(&o);
	o.stall_ms = 60000;
	o.seed = 1;
	stp_stepper *s = stp_new(&o);
	stp_set_fibers(s, bench_fibers);
	for (int t = 0; t < threads; t++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", t);
		stp_thread(s, name, free_threads ? NULL : order, scale_body, steps);
	}
	return s;
}

static double scale_run(int threads, int steps, int free_threads)
{
	stp_stepper *s = scale_stepper(threads, &steps, free_threads);
	uint64_t t0 = now_ns();
	int rc = stp_run(s);
	uint64_t t1 = now_ns();
	if (rc != 0)
		fprintf(stderr, "bench: scaling run failed: %s\n", stp_error(s, 0));
	stp_free(s);
	return (double)(t1 - t0) / ((double)threads * steps);
}

/* Best of 5 runs. */
static double scale_best(int threads, int steps, int free_threads)
{
	double best = 0;
	for (int i = 0; i < 5; i++) {
		double v = scale_run(threads, steps, free_threads);
		if (i == 0 || v < best)
			best = v;
	}
	return best;
}

/* ------------------------------------------------------------------ */
/* (j) a decision's cost beside blocked and ended threads              */
/* ------------------------------------------------------------------ */

/* Two free threads pass CROWD_STEPS steps each (a decision among the
 * enabled at every step) beside a crowd of threads that either wait on a
 * condition until both are done (blocked) or pass one step and end
 * (ended). Timed from the first thread's middle step to its last, when
 * the crowd has long blocked or ended. */
#define CROWD_STEPS 20000

struct crowd {
	pthread_mutex_t g;
	pthread_cond_t cv;
	int go, done;
	long passed; /* steps of the two, in order (one thread runs at a time) */
	uint64_t t_half, t_end;
	long n_half, n_end;
};

static void crowd_done(struct crowd *c)
{
	stp_mutex_lock(&c->g);
	if (++c->done == 2) {
		c->go = 1;
		stp_cond_broadcast(&c->cv);
	}
	stp_mutex_unlock(&c->g);
}

static void crowd_timed(void *p)
{
	struct crowd *c = p;
	for (int i = 0; i < CROWD_STEPS; i++) {
		STEP("s");
		c->passed++;
		if (i == CROWD_STEPS / 2) {
			c->t_half = now_ns();
			c->n_half = c->passed;
		}
	}
	c->t_end = now_ns();
	c->n_end = c->passed;
	crowd_done(c);
}

static void crowd_other(void *p)
{
	struct crowd *c = p;
	for (int i = 0; i < CROWD_STEPS; i++) {
		STEP("s");
		c->passed++;
	}
	crowd_done(c);
}

static void crowd_blocked(void *p)
{
	struct crowd *c = p;
	stp_mutex_lock(&c->g);
	while (!c->go)
		stp_cond_wait(&c->cv, &c->g);
	stp_mutex_unlock(&c->g);
}

static void crowd_ended(void *p)
{
	(void)p;
	STEP("x");
}

/* ns per step of the two beside n threads that block (or end). */
static double crowd_run(int n, int blocked)
{
	struct crowd c = { .go = 0 };
	pthread_mutex_init(&c.g, NULL);
	pthread_cond_init(&c.cv, NULL);
	stp_options o;
	stp_options_init(&o);
	o.stall_ms = 60000;
	o.seed = 1;
	o.mode = STP_SERIAL;
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "a", NULL, crowd_timed, &c);
	stp_thread(s, "b", NULL, crowd_other, &c);
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof name, "c%d", i);
		stp_thread(s, name, NULL, blocked ? crowd_blocked : crowd_ended, &c);
	}
	int rc = stp_run(s);
	if (rc != 0)
		fprintf(stderr, "bench: crowd run failed: %s\n", stp_error(s, 0));
	stp_free(s);
	pthread_mutex_destroy(&c.g);
	pthread_cond_destroy(&c.cv);
	return c.n_end > c.n_half ? (double)(c.t_end - c.t_half) / (double)(c.n_end - c.n_half)
				  : 0;
}

static double crowd_best(int n, int blocked)
{
	double best = 0;
	for (int i = 0; i < 5; i++) {
		double v = crowd_run(n, blocked);
		if (i == 0 || v < best)
			best = v;
	}
	return best;
}

static void crowd_table(void)
{
	static const int rows[] = { 0, 100, 1000 };
	printf("(j) a decision beside blocked or ended threads (2 free threads x %d steps,\n"
	       "  best of 5; ratio: against none; target: the same cost, ratio about 1)\n",
	       CROWD_STEPS);
	printf("  threads beside | blocked ns/step ratio | ended ns/step ratio\n");
	double base[2] = { 0, 0 };
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		double v[2];
		for (int b = 0; b < 2; b++) {
			v[b] = crowd_best(rows[i], !b);
			if (i == 0)
				base[b] = v[b];
		}
		printf("  %14d | %15.0f %5.2f | %13.0f %5.2f\n", rows[i], v[0], v[0] / base[0],
		       v[1], v[1] / base[1]);
	}
}

/* ------------------------------------------------------------------ */
/* (k) memory: bytes per declared step and per recorded decision       */
/* ------------------------------------------------------------------ */

/* The heap in use (malloc's arenas and its mmapped blocks). */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* Bytes the stepper holds after a run of `threads` threads passing
 * `steps` steps each (declared or free), over the steps in all. */
static double bytes_per_step(int threads, int steps, int free_threads)
{
	size_t before = heap_in_use();
	stp_stepper *s = scale_stepper(threads, &steps, free_threads);
	if (stp_run(s) != 0)
		fprintf(stderr, "bench: memory run failed: %s\n", stp_error(s, 0));
	size_t after = heap_in_use();
	stp_free(s);
	return after > before ? (double)(after - before) / ((double)threads * steps) : 0;
}

/* The resident set now, in KiB (/proc/self/statm), or -1. */
static long resident_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size, resident;
	int ok = f && fscanf(f, "%ld %ld", &size, &resident) == 2;
	if (f)
		fclose(f);
	return ok ? resident * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

/* Each measured in a child made for it, which has no run before it: a
 * run's memory goes back when its last thread lets go of the stepper,
 * which may be after stp_free returns, and would count against the next. */
static void memory_row(int free_threads)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("bench: fork");
		return;
	}
	if (pid > 0) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return;
	}
	if (free_threads) {
		printf("  free, 2 x %d steps            %8.1f bytes per recorded decision\n",
		       SCALE_MAX_STEPS / 2, bytes_per_step(2, SCALE_MAX_STEPS / 2, 1));
	} else {
		long rss0 = resident_kb();
		double declared = bytes_per_step(2, STP_MAX_STEPS, 0);
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("  declared, 2 x %d steps       %8.1f bytes per step\n", STP_MAX_STEPS,
		       declared);
		printf("  that run holds                   %8.0f MB   (target <= 200)\n",
		       declared * 2.0 * STP_MAX_STEPS / 1e6);
		printf("  peak resident set, grown by it   %8.0f MB\n",
		       rss0 >= 0 ? (double)(ru.ru_maxrss - rss0) / 1024.0 : -1.0);
	}
	fflush(stdout);
	_exit(0);
}

static void memory_rows(void)
{
	printf("(k) memory the stepper holds after a run (heap in use, mallinfo2)\n");
	memory_row(0);
	memory_row(1);
}

/* The table of issue 14: ns per step with 2 to 64 threads, declared and
 * free, and each against the 2-thread cost of its kind. */
static void scaling_table(void)
{
	static const int rows[][2] = { { 2, 1000 }, { 2, 100000 }, { 4, 1000 },
				       { 8, 1000 }, { 16, 1000 },  { 64, 100 } };
	printf("(g) a step's cost against the number of threads (best of 5, serial,\n"
	       "  one step name; ratio: against 2 x 1000 of the same kind; target: 4, 8,\n"
	       "  16 and 64 threads at most 2x; free: at most 100000 steps in all, a run's\n"
	       "  limit of decisions, so 2 x 50000 on the second row)\n");
	printf("  threads x steps | OS threads: declared     free    | fibers: declared     free\n"
	       "                  |        ns/step ratio ns/step ratio |    ns/step ratio ns/step ratio\n");
	double base[4] = { 0, 0, 0, 0 };
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		double v[4];
		for (int c = 0; c < 4; c++) {
			int f = c & 1, steps = rows[i][1];
			if (f && (long)steps * rows[i][0] > SCALE_MAX_STEPS)
				steps = SCALE_MAX_STEPS / rows[i][0]; /* a run's decision limit */
			bench_fibers = c >= 2;
			v[c] = scale_best(rows[i][0], steps, f);
			if (i == 0)
				base[c] = v[c];
		}
		bench_fibers = 0;
		printf("  %7d x %-7d | %14.0f %5.2f %7.0f %5.2f | %10.0f %5.2f %7.0f %5.2f\n",
		       rows[i][0], rows[i][1], v[0], v[0] / base[0], v[1], v[1] / base[1], v[2],
		       v[2] / base[2], v[3], v[3] / base[3]);
	}
}

/* Row (a) alone, over more rounds: for work on the hand-off. */
static void handoff_only(void)
{
	enum { ROUNDS = 15 };
	double raw[ROUNDS], step[ROUNDS], ratio[ROUNDS], fib[ROUNDS];
	for (int i = 0; i < ROUNDS; i++) {
		raw[i] = raw_handoff();
		step[i] = stepper_handoff();
		ratio[i] = step[i] / raw[i];
		bench_fibers = 1;
		fib[i] = stepper_handoff() / raw[i];
		bench_fibers = 0;
	}
	printf("(a) hand-off, median of %d rounds\n", ROUNDS);
	printf("  raw spin-then-futex ping-pong    %8.0f ns per hand-off\n", median(raw, ROUNDS));
	printf("  stepper step hand-off            %8.0f ns per step\n", median(step, ROUNDS));
	printf("  ratio stepper/raw (per round)    %8.2f   (target <= 2.00)\n",
	       median(ratio, ROUNDS));
	printf("  fibers: ratio step/raw           %8.2f   (issue 14: <= 1.50)\n",
	       median(fib, ROUNDS));
}

/* Rows (b) and (b'), median of 5, for measuring the loop's cost alone. */
static void schedules_only(void)
{
	double d[5], f[5], w[5], fd[5];
	int lost = 0, flost = 0;
	for (int i = 0; i < 5; i++) {
		d[i] = schedules_per_second(&lost);
		f[i] = schedules_per_second_of(lost_update_free_body, &flost);
		w[i] = raw_shape_per_second();
		bench_fibers = 1;
		fd[i] = schedules_per_second(&lost);
		bench_fibers = 0;
	}
	printf("(b) 2 threads x 3 steps, declared: %8.0f schedules per second "
	       "(median of 5; target >= 150000)\n", median(d, 5));
	printf("(b') the same, free threads:       %8.0f schedules per second\n",
	       median(f, 5));
	printf("baseline: the same shape, raw:     %8.0f runs per second\n", median(w, 5));
	printf("(b) with fibers:                   %8.0f schedules per second\n", median(fd, 5));
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "zoo") == 0) { /* the zoo's table alone */
		zoo_table();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "handoff") == 0) { /* row (a) alone */
		handoff_only();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "auto") == 0) { /* rows (h) and (i) alone */
		auto_rows(getenv("B") ? getenv("B") : "build");
		auto_table(getenv("B") ? getenv("B") : "build");
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "scaling") == 0 && strcmp(argv[2], "pinned") == 0) {
		/* row (g) with every thread on CPU 0 and no waiter spinning, as a
		 * program's run under --auto (issue 14's question) */
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(0, &one);
		if (sched_setaffinity(0, sizeof one, &one) != 0) {
			perror("bench: sched_setaffinity");
			return 1;
		}
		stp__ncpu_set(1);
	}
	if (argc > 1 && strcmp(argv[1], "schedules") == 0) { /* rows (b), (b') alone */
		schedules_only();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "vtime") == 0) { /* row (d) alone */
		virtual_time_rows();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "memory") == 0) { /* row (k) alone */
		memory_rows();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "crowd") == 0) { /* row (j) alone */
		crowd_table();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "scaling") == 0) { /* row (g) alone */
		scaling_table();
		return 0;
	}
	double raw[REPS], step[REPS], sps[REPS], cj[REPS], fsps[REPS], lsps[REPS], dps[REPS];
	double shape[REPS], fib_step[REPS], fib_sps[REPS], fib_ratio[REPS];
	int lost = 0, flost = 0, llost = 0, dead = 0, dead_total = 0, fib_lost = 0;
	for (int i = 0; i < REPS; i++) {
		raw[i] = raw_handoff();
		step[i] = stepper_handoff();
		bench_fibers = 1;
		fib_step[i] = stepper_handoff();
		fib_ratio[i] = fib_step[i] / raw[i]; /* the round's own raw, just before */
		fib_sps[i] = schedules_per_second(&fib_lost);
		bench_fibers = 0;
		sps[i] = schedules_per_second(&lost);
		fsps[i] = schedules_per_second_of(lost_update_free_body, &flost);
		lsps[i] = schedules_per_second_of(lost_update_locked_body, &llost);
		dps[i] = deadlocks_per_second(&dead);
		dead_total += dead;
		cj[i] = create_join_per_second();
		shape[i] = raw_shape_per_second();
		fprintf(stderr, "\rbench: round %d/%d", i + 1, REPS);
	}
	fputc('\n', stderr);
	double r = median(raw, REPS), st = median(step, REPS);
	double s = median(sps, REPS), c = median(cj, REPS), fs = median(fsps, REPS);
	double ls = median(lsps, REPS), dl = median(dps, REPS), sh = median(shape, REPS);
	double stmax = step[REPS - 1], rmax = raw[REPS - 1]; /* sorted */
	double fst = median(fib_step, REPS), fsp = median(fib_sps, REPS);
	double frt = median(fib_ratio, REPS);
	printf("stepper bench (median of %d runs, same process)\n", REPS);
	printf("(a) hand-off\n");
	printf("  raw spin-then-futex ping-pong    %8.0f ns per hand-off\n", r);
	printf("  stepper step hand-off            %8.0f ns per step\n", st);
	printf("  ratio stepper/raw                %8.2f   (target <= 2.00; issue 14: <= 1.50)\n",
	       st / r);
	printf("  slowest round: raw %.0f ns, stepper %.0f ns (a run whose two\n"
	       "  threads the OS put on one core pays until it moves one)\n",
	       rmax, stmax);
	printf("  fibers (stp_set_fibers): a step  %8.0f ns; ratio to the raw hand-off of\n"
	       "  the same round, median          %8.2f   (issue 14: <= 1.50)\n",
	       fst, frt);
	printf("(b) 2 threads x 3 steps (lost update), in-process loop\n");
	printf("  stepper schedules per second     %8.0f   (target >= 50000; issue 14: >= 150000)\n",
	       s);
	printf("  baseline: create+join 2 threads  %8.0f per second\n", c);
	printf("  ratio schedules/create+join      %8.2f\n", s / c);
	printf("  floor: the same shape by raw     %8.0f per second (a loop thread and\n"
	       "  semaphores, no stepper            two reused threads, six hand-offs)\n",
	       sh);
	printf("  ratio schedules/floor            %8.2f\n", s / sh);
	printf("  lost updates found               %8d of %d schedules\n", lost, SCHEDULES);
	printf("  fibers: schedules per second     %8.0f   (issue 14: >= 150000), ratio to floor %.2f\n",
	       fsp, fsp / sh);
	printf("  fibers: lost updates found       %8d of %d schedules (the same seeds)\n",
	       fib_lost, SCHEDULES);
	printf("(b') the same with free threads (a decision at every hand-off)\n");
	printf("  stepper schedules per second     %8.0f\n", fs);
	printf("  ratio free/declared (b)          %8.2f\n", fs / s);
	printf("  lost updates found               %8d of %d schedules\n", flost, SCHEDULES);
	printf("(b'') the same, free threads, stp_mutex_lock around the critical section\n");
	printf("  stepper schedules per second     %8.0f\n", ls);
	printf("  ratio locked free/declared (b)   %8.2f   (target >= 0.70)\n", ls / s);
	printf("  lost updates found               %8d of %d schedules\n", llost, SCHEDULES);
	printf("(e) AB/BA deadlock, free threads steered into it, stall limit 60 s\n");
	printf("  runs per second to the report    %8.0f\n", dl);
	printf("  ratio deadlock runs/(b)          %8.2f\n", dl / s);
	printf("  runs that ended in deadlock      %8d of %d\n", dead_total, REPS * DEADLOCK_RUNS);
	const char *b = getenv("B") ? getenv("B") : "build";
	double ours, xargs;
	cli_versus_xargs(b, &ours, &xargs);
	printf("(c) stepper run -n %d -j 2 over a trivial passing test (median of 3)\n",
	       CLI_RUNS);
	printf("  stepper run                      %8.0f runs per second\n", ours);
	printf("  baseline: xargs -n 1 -P 2        %8.0f runs per second\n", xargs);
	printf("  ratio stepper run/xargs          %8.2f   (target >= 0.80)\n",
	       ours / xargs);
	virtual_time_rows();
	zoo_table();
	scaling_table();
	crowd_table();
	memory_rows();
	auto_rows(b);
	auto_table(b);
	return 0;
}
