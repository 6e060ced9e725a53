/*
 * stepper.h - controlled thread interleavings for testing concurrent C code.
 *
 * Code under test is annotated with STEP("name"). A test registers threads
 * with the order of the steps each will pass, picks a schedule (a total order
 * of those steps that keeps every thread's own order) and runs it: a
 * turnstile makes the threads pass their steps in exactly that order.
 *
 * Thread safety: an stp_stepper is used by one test thread (the thread that
 * made it). STEP, stp_fail and STP_CHECK may be called from any thread the
 * stepper controls. Separate steppers share nothing and may run at once on
 * different test threads. Exceptions are noted at each function.
 *
 * Errors: functions return 0 or a negative STP_E* code; stp_strerror names
 * it. Ownership: objects come from *_new and go with *_free; a returned
 * string belongs to the object it came from unless the function says so.
 */
#ifndef STEPPER_STEPPER_H
#define STEPPER_STEPPER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <stepper/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STP_VERSION "0.1.0"

/* The most threads one stepper controls. */
#define STP_MAX_THREADS 1024
/* The longest thread name and step name, in bytes. */
#define STP_MAX_NAME 128
/* The most declared steps one thread may have. */
#define STP_MAX_STEPS 1000000
/* The most decisions a run records beyond its plan's own entries (a run
 * with free threads, or one that met a lock or wait point: all threads
 * together); a run that would take more is a livelock to the stepper. */
#define STP_MAX_DECISIONS 100000

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

typedef enum {
	STP_SERIAL, /* one controlled thread runs at a time (the default) */
	STP_OVERLAP /* a thread runs on as soon as it passed its step */
} stp_mode;

struct stp_clock;

typedef struct stp_options {
	uint64_t seed;       /* seed of the strategy (default 1) */
	stp_mode mode;       /* STP_SERIAL by default */
	unsigned stall_ms;   /* stall limit in real milliseconds (default 2000) */
	int debug;           /* print expecting/done lines to log */
	FILE *log;           /* where reports go (default stderr) */
	const char *trace;   /* write this run's trace here (NULL: none) */
	const char *replay;  /* take the schedule from this trace (NULL: none) */
	const char *trace_dir; /* where seed loops keep failing traces */
	struct stp_clock *clock; /* virtual clock for the run (NULL: none) */
	const char *strategy; /* who goes next at each hand-off (NULL: "random");
			       * the accepted names are listed by
			       * stp_strategies() */
} stp_options;

/* Fill o with the defaults, then apply the STEPPER_* environment
 * (STEPPER_SEED, STEPPER_MODE, STEPPER_STALL_MS, STEPPER_DEBUG,
 * STEPPER_TRACE, STEPPER_REPLAY, STEPPER_TRACE_DIR, STEPPER_STRATEGY; a
 * malformed STEPPER_STRATEGY is not corrected here: stp_interleave and
 * stp_loop refuse it). Fields the caller sets
 * afterwards win over the environment. A malformed variable is reported once
 * on stderr, naming the variable, the value and what was expected, and the
 * default is kept. The strings point into the environment: they live as
 * long as it is not changed. Any thread. */
STP_API void stp_options_init(stp_options *o);

/* ------------------------------------------------------------------ */
/* The stepper                                                         */
/* ------------------------------------------------------------------ */

typedef struct stp_stepper stp_stepper;

/* A new stepper with a copy of *o (NULL: stp_options_init's defaults).
 * Strings in *o are copied. NULL when out of memory. Free with stp_free. */
STP_API stp_stepper *stp_new(const stp_options *o);

/* Register a controlled thread. order is a NULL-terminated array of step
 * names, copied; it must have at least one name and at most STP_MAX_STEPS:
 * a declared thread, whose steps must come in exactly that order (else the
 * run fails with a divergence or an early end). order NULL registers a
 * free thread: its steps are whatever STEP names it reaches, any number
 * of times (a run records at most STP_MAX_DECISIONS in all); a run with
 * a free thread decides who goes next at every step (serial mode only).
 * name may be NULL ("t0", "t1", ... by registration order); names are
 * unique. fn(arg) runs on a pooled OS thread during stp_run.
 * Names (thread and step) are 1..STP_MAX_NAME bytes of UTF-8, as a trace
 * holds them (a free thread reaching another name fails the run). Returns
 * the thread's index (>= 0) or STP_EINVAL (NULL s or fn, an empty order,
 * an empty, overlong or non-UTF-8 name), STP_EDUP, STP_ELIMIT (more than
 * STP_MAX_THREADS), STP_ESTATE (after stp_run), STP_ENOMEM. */
STP_API int stp_thread(stp_stepper *s, const char *name,
		       const char *const *order, void (*fn)(void *), void *arg);

/* Choose the schedule: from the replay trace when one is set, else the
 * random strategy from the seed. When every thread is declared, this
 * computes the whole schedule now; with a free thread, it picks the source
 * of the decisions taken during the run (STP_EINVAL in overlap mode, with
 * an error saying so). May be called again to re-pick (before
 * stp_run). Returns 0, STP_EINVAL (no threads), STP_ESTATE (after stp_run),
 * STP_EMISMATCH (the replay trace's threads or orders differ; stp_error
 * says where), STP_EPARSE/STP_EIO (the trace could not be loaded). */
STP_API int stp_interleave(stp_stepper *s);

/* Use an explicit schedule instead of a strategy, e.g. to pin a known-bad
 * order in a regression test: threads[k] is the index (from stp_thread) of
 * the thread that passes entry k; each thread appears exactly as often as
 * it has declared steps. With a free thread, threads[k] is the thread of
 * decision k instead (any length, indices in range); a run that departs
 * from it (a thread that ended, a list too short or too long) fails with
 * an error naming the decision. The array is copied. Returns 0, STP_EINVAL (NULL
 * s or threads, no threads), STP_ESTATE (after stp_run), STP_EMISMATCH
 * (an index out of range, or a thread appearing too often or too rarely). */
STP_API int stp_set_schedule(stp_stepper *s, const int *threads, size_t n);

/* Print the schedule: a "====" line, one "[thread] step" line per entry,
 * a "====" line. Prints nothing but the two rules before stp_interleave,
 * and, with a free thread (or a strategy other than random), before
 * stp_run: then there is no plan. After a run that met a lock or wait
 * point it prints the order that happened, points included ("[t]
 * lock(m#1)", "[t] wait(cv#1)"); after a deadlock, one more line per
 * blocked thread: "[t] lock(m#2)   (blocked: the deadlock)". */
STP_API void stp_print_order(const stp_stepper *s, FILE *out);

/* Run the controlled threads as fibers: stacks of their own that take
 * turns on one OS thread, switched in user space (some tens of
 * nanoseconds a hand-off, whatever the number of threads; an OS thread
 * costs microseconds a hand-off once the threads outnumber the CPUs).
 * The schedules are the same; what a thread sees of itself is not: every
 * controlled thread has the same pthread_self() and the same
 * _Thread_local variables (errno excepted: each keeps its own), and a
 * thread that blocks outside the stepper (a plain mutex held across a
 * step, read(), a loop that spins until another controlled thread sets a
 * flag) stops them all, which the stall limit reports; such a run's host
 * OS thread stays where it blocked. Each fiber has an 8 MiB stack. Serial
 * mode, no clock. STEPPER_FIBERS=1 in the environment turns it on for
 * every run that can have it. Returns 0, STP_EINVAL (NULL s, overlap
 * mode, a clock), STP_ESTATE (after stp_run). */
STP_API int stp_set_fibers(stp_stepper *s, int on);

/* Start the threads, enforce the schedule, wait for every thread to end
 * (or, after a stall, for one more stall limit). Calls stp_interleave first
 * if it was not called. Returns the number of errors recorded (0: the run
 * passed), or a negative STP_E* code when the run could not start
 * (STP_ESTATE when run twice, STP_EINVAL without threads, STP_ETHREAD). */
STP_API int stp_run(stp_stepper *s);

/* Errors recorded by the run, in the order they happened. stp_error returns
 * NULL for i out of range; the string lives as long as s. */
STP_API size_t stp_error_count(const stp_stepper *s);
STP_API const char *stp_error(const stp_stepper *s, size_t i);

/* Record an error from the test thread (e.g. a check after stp_run fails),
 * so that loops and traces report it with the run: after stp_run, the
 * run's trace (opt.trace) is written again at once, with outcome "fail".
 * Returns the error count. */
STP_API int stp_add_error(stp_stepper *s, const char *fmt, ...) STP_PRINTF(2, 3);

/* Schedule entries never passed (0 after a complete run; always 0 with a
 * free thread, whose run has no plan). */
STP_API size_t stp_steps_left(const stp_stepper *s);

/* The schedule as thread indices: *n receives its length. NULL before
 * stp_interleave. With a free thread: empty until the run, then the
 * order that happened. The array lives as long as s. */
STP_API const int *stp_schedule(const stp_stepper *s, size_t *n);
/* Thread i's name, and the name of schedule entry k; NULL if out of range. */
STP_API const char *stp_thread_name(const stp_stepper *s, int i);
STP_API const char *stp_entry_step(const stp_stepper *s, size_t k);
STP_API size_t stp_thread_count(const stp_stepper *s);
/* The options in force (after defaults and environment). */
STP_API const stp_options *stp_get_options(const stp_stepper *s);

/* The strategies stp_options.strategy accepts, as one line for a person
 * ("random, pct, pct:D (D >= 1), ..."). Static. Any thread. */
STP_API const char *stp_strategies(void);
/* Is text a strategy stp_options.strategy accepts (NULL: "random")? 0, or
 * STP_EINVAL with why (size bytes, may be NULL) holding the value and what
 * is accepted. Any thread. */
STP_API int stp_strategy_check(const char *text, char *why, size_t size);

/* Free s and everything it owns. A thread that was stuck when stp_run gave
 * up keeps what it needs until it ends. NULL is a no-op. */
STP_API void stp_free(stp_stepper *s);

/* From a controlled thread: record an error naming the thread, its last
 * step and the message, and abort the schedule (from then on no step waits;
 * every thread runs to its end). Returns normally. On a thread no stepper
 * controls it prints the message to stderr. */
STP_API void stp_fail(const char *fmt, ...) STP_PRINTF(1, 2);

/* ------------------------------------------------------------------ */
/* Step points                                                         */
/* ------------------------------------------------------------------ */

struct stp__thread;
/* The calling thread's controlled-thread record; NULL on any thread no
 * stepper controls. Support for STEP(); not for direct use. */
extern STP_API _Thread_local struct stp__thread *stp_self_;
/* Support for STEP() and STP_CHECK(); not for direct use. */
STP_API void stp_step_(struct stp__thread *t, const char *name,
		       const char *file, int line);
STP_API void stp_check_failed_(const char *cond, const char *file, int line);

#ifdef STEPPER_DISABLE
#define STEP(name) ((void)0)
#define STP_CHECK(cond) ((void)0)
#else
/* A step point. On a controlled thread it waits for its turn; on any other
 * thread it costs one thread-local load and a branch. */
#define STEP(name)                                                          \
	do {                                                                \
		struct stp__thread *stp_t_ = stp_self_;                     \
		if (stp_t_)                                                 \
			stp_step_(stp_t_, (name), __FILE__, __LINE__);      \
	} while (0)
/* stp_fail with the condition's text, file and line when cond is false. */
#define STP_CHECK(cond)                                                     \
	do {                                                                \
		if (!(cond))                                                \
			stp_check_failed_(#cond, __FILE__, __LINE__);       \
	} while (0)
#endif

/* ------------------------------------------------------------------ */
/* Locks and waits                                                     */
/* ------------------------------------------------------------------ */

/* pthread_mutex_lock, _trylock and _unlock on a plain pthread_mutex_t that
 * the stepper sees. On a controlled thread of a serial run each is a
 * scheduling point: the strategy decides who goes on there, among the
 * threads that can (a thread whose lock would wait for a mutex another
 * controlled thread holds is blocked and never chosen; an unlock lets
 * every waiter compete, and which one gets the mutex is a decision, kept
 * in the trace). When no thread can go on, the run ends at once with the
 * outcome "deadlock" and a report of the cycle (each thread, the mutex it
 * waits for and where, who holds it and where it was taken), or of the
 * condition wait nothing is left to signal (a lost wake-up). Locking a
 * mutex the thread already holds is a self-deadlock; unlocking one it
 * does not hold fails the run naming both threads. After a run is
 * aborted (a deadlock, a failure), a lock that would wait returns
 * STP_EDEADLOCK at once, without the mutex, so that every thread can run
 * to its end. On any other thread, and in overlap mode, these are the
 * plain pthread calls. Use one mutex either with these or with plain
 * pthread_mutex_* calls, not both: a plain unlock of a mutex locked here
 * goes unseen (the report then names it as held), a plain lock of one
 * held here waits outside the stepper (a stall).
 * Returns 0, STP_EBUSY (trylock: held), STP_EPERM (unlock: not held by
 * the caller), STP_EDEADLOCK, STP_EINVAL (NULL; on a controlled thread the
 * run fails saying where). The conditions of scheduler/clock.h
 * (stp_cond_wait, stp_cond_timedwait_ns, stp_cond_signal,
 * stp_cond_broadcast) are scheduling points in the same way. */
STP_API int stp_mutex_lock_(pthread_mutex_t *m, const char *file, int line);
STP_API int stp_mutex_trylock_(pthread_mutex_t *m, const char *file, int line);
STP_API int stp_mutex_unlock_(pthread_mutex_t *m, const char *file, int line);
#define stp_mutex_lock(m) stp_mutex_lock_((m), __FILE__, __LINE__)
#define stp_mutex_trylock(m) stp_mutex_trylock_((m), __FILE__, __LINE__)
#define stp_mutex_unlock(m) stp_mutex_unlock_((m), __FILE__, __LINE__)

/* ------------------------------------------------------------------ */
/* Seed loops                                                          */
/* ------------------------------------------------------------------ */

/* One run of a test body: register threads on s, call stp_run, check the
 * outcome; return 0 when the run passed, anything else when it failed. A
 * run with recorded errors (stp_error_count > 0) fails too. s is made and
 * freed by the loop. Called on the loop's (the test's) thread. */
typedef int (*stp_body_fn)(stp_stepper *s, void *arg);

typedef struct stp_loop_options {
	uint64_t first_seed; /* default 1 */
	uint64_t count;      /* seeds to try (default 1000) */
	int quiet;           /* no progress line, no failure report */
	FILE *out;           /* reports (default stderr) */
	const char *name;    /* the test's name, used in messages and traces */
	const char *command; /* the command that reruns this test, printed with
			      * STEPPER_REPLAY= before it (NULL: the command
			      * line of this process) */
	stp_options base;    /* options of each run; seed is set per run */
} stp_loop_options;

typedef struct stp_loop_result {
	uint64_t tried;        /* runs made */
	uint64_t failed_seed;  /* the first failing seed (when failures > 0) */
	uint64_t failures;     /* 0 or 1: the loop stops at the first failure */
	char trace_path[512];  /* trace of the failing run ("" if none) */
} stp_loop_result;

/* Defaults for a loop (first seed 1, 1000 seeds), then the environment:
 * STEPPER_SEEDS (N: seeds 1..N; A..B: seeds A to B inclusive) or
 * STEPPER_SEED (exactly that one seed) replaces the range, because a person
 * or `stepper run` chose it; STEPPER_REPLAY makes the loop run the trace
 * once. base gets stp_options_init. Fields set afterwards win. A malformed
 * seed or range is not reported here: stp_loop refuses to run. */
STP_API void stp_loop_options_init(stp_loop_options *lo);

/* Run body once per seed until one fails. On a failure it prints the seed,
 * how many seeds it took, the errors and the order, writes the run's trace
 * into the trace dir (STEPPER_TRACE_DIR, default ./stepper-traces) and
 * prints the command that replays it. Before it reports, it shrinks the
 * failure: replays of the body find an order with the fewest preemptions
 * that fails the same way, printed with its replay command and written
 * beside the trace as seed-N-shrunk.json (README "Shrinking";
 * STEPPER_SHRINK=0 turns it off, a quiet loop shrinks only with
 * STEPPER_SHRINK=1; STEPPER_SHRINK_REPLAYS and STEPPER_SHRINK_SECONDS are
 * its budget). res (may be NULL) receives the
 * outcome. Returns 0 when every seed passed, 1 when one failed, or a
 * negative STP_E* code (bad arguments, out of memory; STP_EINVAL, printed
 * even when quiet, when STEPPER_SEED or STEPPER_SEEDS is set but malformed:
 * then no seed runs). lo NULL: defaults. */
STP_API int stp_loop(const stp_loop_options *lo, stp_body_fn body, void *arg,
		     stp_loop_result *res);

/* ------------------------------------------------------------------ */
/* Shrinking a trace with a command (`stepper shrink`)                 */
/* ------------------------------------------------------------------ */

/* What a seed loop does in process (README "Shrinking"), for a failing
 * trace and a command that runs its test: each replay is a process of the
 * command, which the caller starts. The library writes each candidate to
 * a file and gives the process these variables: STEPPER_REPLAY (the
 * failing trace), STEPPER_SHRINK_CANDIDATE (the candidate: the process's
 * stepper replays the trace by the candidate's switches and writes its
 * decisions beside it), STEPPER_TRACE (the process's own trace) and
 * STEPPER_SHRINK=0. */

/* One process to run. */
typedef struct stp_shrink_proc {
	const char *env[5]; /* "NAME=value" to add to its environment, NULL
			     * after the last; owned by the library */
	/* Filled by the caller: */
	int started;        /* 0: it could not be started, or the caller
			     * stops (why in what) */
	int timed_out;      /* it ran past the caller's timeout and was killed */
	int status;         /* its wait status (started, not timed out) */
	char what[256];     /* why it did not start ("interrupted by SIGINT") */
} stp_shrink_proc;

/* Run procs[0..n) at once (n is at most the jobs asked for), each a
 * process of the command, and return when every one has ended. Called on
 * the thread that called stp_shrink_trace. */
typedef void (*stp_shrink_exec_fn)(void *arg, stp_shrink_proc *procs, size_t n);

typedef struct stp_shrink_options {
	const char *trace;       /* the failing trace; only read */
	const char *dir;         /* an existing folder for the replays' files
				  * (each is removed once read; the caller
				  * removes the folder) */
	unsigned jobs;           /* processes at once (0: 1); the result does
				  * not depend on it */
	uint64_t max_replays;    /* 0: STEPPER_SHRINK_REPLAYS (default 2000) */
	double max_seconds;      /* 0: STEPPER_SHRINK_SECONDS (default 10) */
	stp_shrink_exec_fn exec; /* required */
	void *arg;
} stp_shrink_options;

typedef struct stp_shrink_result stp_shrink_result;

/* Shrink the failure of o->trace by replays in processes, and write the
 * shrunk trace beside it (NAME-shrunk.json). Returns 0 with *out set
 * (stp_shrink_result_why says "" when it shrank, else why not: the
 * command did not fail the same way, ...), or without *out: STP_EINVAL
 * (bad options, or a trace that cannot be shrunk: version 1, a run that
 * passed, died before its trace was complete, stalled or ran in overlap
 * mode), STP_EPARSE or STP_EIO (the trace cannot be read), STP_ENOMEM;
 * why (may be NULL) then says what was expected and what was found. Free
 * *out with stp_shrink_result_free. */
STP_API int stp_shrink_trace(const stp_shrink_options *o, stp_shrink_result **out,
			     char *why, size_t size);
/* The report, as a seed loop prints it; its last line is "replay shrunk:
 * " before TRACE after (e.g. "stepper replay ", " -- ./test"). */
STP_API void stp_shrink_result_print(const stp_shrink_result *r, FILE *out,
				     const char *before, const char *after);
/* Why it was not shrunk ("" when it was), and the shrunk trace's path ("":
 * none written). Strings live as long as r. */
STP_API const char *stp_shrink_result_why(const stp_shrink_result *r);
STP_API const char *stp_shrink_result_trace(const stp_shrink_result *r);
/* Preemptions of the shrunk run; *before (may be NULL): of the failing one. */
STP_API size_t stp_shrink_result_preemptions(const stp_shrink_result *r, size_t *before);
STP_API void stp_shrink_result_free(stp_shrink_result *r);

#ifdef __cplusplus
}
#endif
#endif
