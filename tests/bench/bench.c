/*
 * bench.c - `make bench`: every number is printed beside a baseline
 * measured in the same run, because this machine is shared and noisy.
 *
 * Each measurement is repeated REPS times and the median is kept.
 */
#include <stepper/stepper.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handoff.h" /* the raw baseline uses the same primitive */

#define REPS 9

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
	stp_thread(s, "alice", lost_update_order, deposit, &a);
	stp_thread(s, "bob", lost_update_order, deposit, &a);
	if (stp_run(s) != 0)
		return -1;
	if (a.balance != 120)
		(*lost)++;
	return 0; /* count, do not stop: we measure the loop's speed */
}

#define SCHEDULES 20000

static double schedules_per_second(int *lost)
{
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = 1;
	lo.count = SCHEDULES;
	lo.quiet = 1;
	*lost = 0;
	uint64_t t0 = now_ns();
	stp_loop_result r;
	int rc = stp_loop(&lo, lost_update_body, lost, &r);
	uint64_t t1 = now_ns();
	if (rc != 0)
		fprintf(stderr, "bench: loop failed at seed %llu\n",
			(unsigned long long)r.failed_seed);
	return (double)r.tried / ((double)(t1 - t0) / 1e9);
}

/* Baseline for (b): create and join two threads running the same body. */
static void *plain_deposit(void *p)
{
	deposit(p);
	return NULL;
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

int main(void)
{
	double raw[REPS], step[REPS], sps[REPS], cj[REPS];
	int lost = 0;
	for (int i = 0; i < REPS; i++) {
		raw[i] = raw_handoff();
		step[i] = stepper_handoff();
		sps[i] = schedules_per_second(&lost);
		cj[i] = create_join_per_second();
		fprintf(stderr, "\rbench: round %d/%d", i + 1, REPS);
	}
	fputc('\n', stderr);
	double r = median(raw, REPS), st = median(step, REPS);
	double s = median(sps, REPS), c = median(cj, REPS);
	double stmax = step[REPS - 1], rmax = raw[REPS - 1]; /* sorted */
	printf("stepper bench (median of %d runs, same process)\n", REPS);
	printf("(a) hand-off\n");
	printf("  raw spin-then-futex ping-pong    %8.0f ns per hand-off\n", r);
	printf("  stepper step hand-off            %8.0f ns per step\n", st);
	printf("  ratio stepper/raw                %8.2f   (target <= 2.00)\n", st / r);
	printf("  slowest round: raw %.0f ns, stepper %.0f ns (a run whose two\n"
	       "  threads the OS put on one core pays until it moves one)\n",
	       rmax, stmax);
	printf("(b) 2 threads x 3 steps (lost update), in-process loop\n");
	printf("  stepper schedules per second     %8.0f   (target >= 50000)\n", s);
	printf("  baseline: create+join 2 threads  %8.0f per second\n", c);
	printf("  ratio schedules/create+join      %8.2f\n", s / c);
	printf("  lost updates found               %8d of %d schedules\n", lost, SCHEDULES);
	const char *b = getenv("B") ? getenv("B") : "build";
	double ours, xargs;
	cli_versus_xargs(b, &ours, &xargs);
	printf("(c) stepper run -n %d -j 2 over a trivial passing test (median of 3)\n",
	       CLI_RUNS);
	printf("  stepper run                      %8.0f runs per second\n", ours);
	printf("  baseline: xargs -n 1 -P 2        %8.0f runs per second\n", xargs);
	printf("  ratio stepper run/xargs          %8.2f   (target >= 0.80)\n",
	       ours / xargs);
	return 0;
}
