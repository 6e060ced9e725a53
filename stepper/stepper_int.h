/*
 * stepper_int.h - the stepper's internal structures, shared by the files of
 * stepper/ and by the modules above the core that hook into a run (traces/,
 * and stepper/wire/ which connects them and the clock).
 *
 * The core calls no module: whatever else takes part in a run does so
 * through the hooks below, which the wiring (stepper/wire/wire.c) sets
 * before a run from the options.
 */
#ifndef STEPPER_STEPPER_INT_H
#define STEPPER_STEPPER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>

#include "stepper.h"
#include "base.h"
#include "handoff.h"
#include "prng.h"
#include "tset.h"

/* Where a controlled thread is, as the stall report shows it. */
enum stp__tstate {
	STP__T_IDLE,    /* not started */
	STP__T_PREFIX,  /* running before its first step */
	STP__T_PARKED,  /* waiting at a step for its turn */
	STP__T_RUNNING, /* running after a step */
	STP__T_ENDED
};

/* What a thread parked at a scheduling point is about to do (online runs). */
enum stp__op {
	STP__OP_STEP,
	STP__OP_LOCK,
	STP__OP_TRYLOCK,
	STP__OP_UNLOCK,
	STP__OP_WAIT,   /* a condition wait starts: the mutex goes */
	STP__OP_WOKEN,  /* blocked in a condition wait until signalled */
	STP__OP_SIGNAL,
	STP__OP_BROADCAST,
	STP__OP_SLEEP,  /* a sleep on the run's clock (or virtual time), until its deadline */
	/* Threads made during a run (spawn.c): */
	STP__OP_SPAWN,  /* the parent, its child made and arrived: always enabled */
	STP__OP_START,  /* a new thread, before its first instruction: always enabled */
	STP__OP_JOIN,   /* blocked until the joined thread (join) has ended */
	STP__OP_YIELD,  /* sched_yield: always enabled */
	STP__OP_EXIT,   /* the program's exit: always enabled; the run ends when granted */
	/* Semaphores, rwlocks, barriers, once (prims.c): */
	STP__OP_SEM_WAIT,    /* blocked while the count is 0 (timed: until it may time out) */
	STP__OP_SEM_TRYWAIT, /* always enabled; takes one if the count is above 0 */
	STP__OP_SEM_POST,    /* always enabled; the count goes up after it */
	STP__OP_RDLOCK,      /* blocked while a writer holds it (or, preferring writers, waits) */
	STP__OP_WRLOCK,      /* blocked while a writer or any reader holds it */
	STP__OP_TRYRDLOCK,   /* always enabled; takes it if a rdlock could */
	STP__OP_TRYWRLOCK,   /* always enabled; takes it if a wrlock could */
	STP__OP_RWUNLOCK,    /* always enabled; lets go after it */
	STP__OP_BARRIER,     /* blocked until the barrier's n-th arrival opens its round */
	STP__OP_ONCE,        /* blocked while another thread runs the once routine */
	STP__OP_RETURN       /* an escaped thread back under control (s->release) */
};

/* What an object of the run's table is (locks.c, prims.c). */
enum stp__objtype {
	STP__OBJ_MUTEX,
	STP__OBJ_COND,
	STP__OBJ_SEM,
	STP__OBJ_RWLOCK,
	STP__OBJ_BARRIER,
	STP__OBJ_ONCE,
	STP__OBJ_NTYPES
};

/* A mutex, a condition variable, a semaphore, a rwlock, a barrier or a
 * once the stepper has seen in a run (locks.c, prims.c), named by its type
 * and the order it was first used: m#1, cv#1, sem#1, rw#1, bar#1, once#1.
 * Thread sets are stp__tset (tset.h). */
struct stp__obj {
	const void *addr;
	enum stp__objtype type;
	int dropped;       /* destroyed: its address may name a new object */
	int inited;        /* a semaphore or a barrier: *_init was seen */
	int id;
	/* a mutex; a rwlock's writer; a once's runner: */
	int owner;         /* the holding thread's index, or -1 */
	const char *file;  /* where the owner took it */
	int line;
	/* a condition: */
	stp__tset waiting;  /* threads blocked in a wait on it */
	stp__tset bcast;    /* waiters a broadcast woke */
	stp__tset *signals; /* pending signals, oldest first: whom each may wake */
	size_t nsig, capsig;
	int kind;          /* a mutex of a model-only run: STP__MUTEX_*; a rwlock: STP__RW_* */
	int count;         /* a recursive mutex: how often its owner took it */
	/* a semaphore: */
	unsigned value;    /* its count */
	/* a rwlock (owner: its writer): */
	stp__tset readers;  /* threads holding it to read */
	stp__tset wwait;    /* threads parked at a wrlock of it */
	unsigned *reads;   /* per thread: its read locks held (made at first use) */
	/* a barrier: */
	unsigned need;     /* arrivals that open a round (its count) */
	stp__tset arrived;  /* arrived in the current round */
	stp__tset open;     /* released by a round that opened, not yet gone on */
	/* a once: */
	int state;         /* STP__ONCE_NEW, _RUNNING (by owner), _DONE */
	char taken_at[64]; /* file, when the site has no line (the preload's) */
	/* threads parked at an operation on it (a wake: on its mutex too),
	 * for the decider's blocked set (online.c); may hold threads that
	 * have gone on since */
	stp__tset parked_on;
	char label[16];    /* "m#1" */
	/* The names of its points, made at first use: "lock(m#1)"; they
	 * live as long as the run's table (the log points at them). */
	char names[7][32];
};

/* A controlled thread: its declaration and, during a run, its position.
 * The fields are grouped by who writes them, one cache line per group, so
 * that a hand-off moves one line (the semaphore) and not three. */
/* The decider's hot state (online.c). While a planned run keeps to its
 * plan with steps only (s->carrying), it travels in the grant line of the
 * thread that holds the turnstile (each grant copies it into the chosen
 * thread's line, which the grant writes anyway), so that a hand-off moves
 * one cache line, as the raw hand-off does; otherwise it is s->dec. */
typedef struct stp__dec {
	stp__tset parked;   /* parked threads */
	stp__tset stepping; /* ...of those parked at a step (always enabled) */
	size_t plan_head;   /* the first plan entry not yet granted */
	size_t nlog;        /* decisions recorded */
} stp__dec;

/* The carried form of stp__dec: the sets in one word each, so that the
 * state fits in the grant line (a run of at most 64 threads carries). */
#define STP__CARRY_MAX 64
typedef struct stp__carry {
	uint64_t parked;
	uint64_t stepping;
	size_t plan_head;
	size_t nlog;
	int valid;          /* this copy was handed over in this run */
} stp__carry;

struct stp__thread {
	/* Written before the run (ended: once, at its end). */
	stp_stepper *s;
	int index;
	char *name;
	char **order;       /* nsteps step names, owned; NULL for a free thread */
	size_t nsteps;      /* 0 for a free thread */
	int is_free;        /* registered without an order: its steps are
			     * whatever STEP names it reaches */
	size_t *entry_of;   /* schedule index of each step, after interleave */
	uint64_t *times;    /* when each step passed (timed runs) */
	void (*fn)(void *);
	void *arg;
	void *member;       /* in the run's clock, if it has one (clock hooks) */
	uint64_t *vtimes;           /* virtual time of each step (clock runs) */
	atomic_int ended;

	/* Written by whoever hands the turnstile to this thread. */
	_Alignas(64) stp__sem sem;   /* posted: granted (or woken, or abort) */
	struct stp__fiber *fiber;    /* its stack, in a run of fibers (fibers.c) */
	atomic_size_t granted;       /* the entry last granted, plus one */
	stp__carry carry;            /* the decider's state, when carried */

	/* Written by the thread itself. */
	_Alignas(64) atomic_size_t passed; /* steps passed */
	atomic_int state;                  /* enum stp__tstate */
	/* Online runs: the step it is parked at or last passed, an interned
	 * name (names below); stored release, so readers see the string. */
	_Atomic(const char *) at;
	atomic_int at_step;         /* 0: at is a lock or wait point */
	_Atomic(const char *) last; /* the step it passed last */
	/* The STEP literal last found equal to the declared name hit_order
	 * (run.c: a repeated step is matched by its pointers). */
	const char *hit_name, *hit_order;
	char **names;           /* distinct step names reached, owned */
	size_t nnames, capnames;
	/* Online runs: the operation it is parked at, written by the thread
	 * before it parks and read by the decider (the hand-off orders
	 * them). */
	enum stp__op op;
	struct stp__obj *obj;   /* lock, unlock, signal: its object; a wait: the condition */
	struct stp__obj *mutex; /* a wait: the mutex */
	const char *op_file;
	int op_line;
	int timed;              /* a timed wait */
	atomic_int may_time_out; /* ...that nothing else could let go on, or
				  * whose deadline the clock reached */
	void *timer;            /* a timed wait's deadline on the run's clock */
	int held;               /* mutexes it holds */
	atomic_size_t points;   /* points passed: progress, for the watchdog */
	/* s->release: STP__HOLD_*: running with the turnstile, parked, or
	 * escaped (the watcher and the thread race for it by CAS); returned:
	 * 1 when an escaped thread came back to a point, 2 when it ended. */
	atomic_int hold;
	atomic_int returned;
	/* The label of a mutex it waits for that is held outside the
	 * stepper (a plain pthread_mutex_lock), for the stall report. */
	_Atomic(const char *) outside;
	/* Threads made during a run (spawn.c). */
	struct stp__thread *join;   /* joined: the thread it waits for */
	stp__tset joiners;          /* threads parked at a join of it (as parked_on) */
	struct stp__thread *parent; /* the thread that made it, or NULL */
	char spawn_point[STP_MAX_NAME + 8], join_point[STP_MAX_NAME + 8];
	int nchildren;              /* threads it made: names its next child */
	int detached, joined;       /* nobody will join it / somebody did */
	stp__sem arrived;           /* a child posts its parent's when parked at start */
	/* Virtual time (s->vtime): a sleep's or a timed wait's deadline. */
	uint64_t deadline;
	int has_deadline;
	char site[64];              /* the pending point's call site, when no file:line */
};

/* Online runs: one entry of what happened, appended by the thread that
 * decides (serial: the one running), in the order the steps passed. */
typedef struct stp__entry {
	int thread;
	const char *name;  /* interned in the thread's names */
	uint64_t mono_ns;  /* since the run started (timed runs) */
	uint64_t virt_ns;  /* the clock's time (clock runs) */
	int passed;        /* 0: granted, but the run was aborted first */
	int is_step;       /* 0: a lock, unlock, wait or signal point */
	int current;       /* the thread that decided (-1: none) */
	int preempt;       /* it could have gone on, and another was chosen */
	const char *current_at; /* where current was (its point's name), NULL
				 * when it had ended or none decided: with
				 * current and the point's count, the anchor
				 * of a switch (traces, shrinking) */
} stp__entry;

/* What a source is asked at a decision: the enabled threads (ascending
 * indices, each parked at a step whose name is threads[i]->at), the
 * thread that decides (-1: none), and the decision's number (0-based; the
 * entry it will fill). */
typedef struct stp__choice {
	const int *enabled;
	int n;
	int current;
	size_t decision;
} stp__choice;

/* A source of decisions (random, an explicit schedule, a replay; PCT,
 * POS and DFS later). pick returns the chosen thread (one of c->enabled)
 * or a negative code after recording an error (the run is then aborted).
 * It is asked only when two or more threads are enabled; check (may be
 * NULL) sees every decision, forced ones included, and may refuse it the
 * same way; finish (may be NULL) is told the run ended after n entries
 * (every thread ended, or a deadlock; not after another abort).
 * A source whose threads are all declared offers its whole plan ahead
 * instead: stp_interleave builds sched[] and the turnstile follows it. */
typedef struct stp__source {
	const char *name;
	int (*pick)(stp_stepper *s, const stp__choice *c);
	int (*check)(stp_stepper *s, const stp__choice *c, int chosen);
	void (*finish)(stp_stepper *s, size_t n);
	/* A source with state of its own: begin (may be NULL) makes it in
	 * s->src_state before the threads start (0, or a negative code after
	 * recording an error: the run does not start); end (may be NULL)
	 * frees it, after finish, whatever became of the run. */
	int (*begin)(stp_stepper *s);
	void (*end)(stp_stepper *s);
	/* A thread was made during the run (spawn.c; may be NULL): give it
	 * its place (a priority), before any decision can pick it. */
	void (*spawned)(stp_stepper *s, int index);
} stp__source;

/* A strategy as stp_options.strategy names it: "random", or a name with
 * an optional parameter ("pct:3"). */
enum stp__strategy_kind {
	STP__ST_RANDOM,
	STP__ST_PCT,
	STP__ST_POS,
	STP__ST_DFS,
	STP__ST_PREEMPT /* shrinking's replays (preempt.h); no name users can give */
};

typedef struct stp__strategy {
	enum stp__strategy_kind kind;
	unsigned long param; /* the parameter, or the strategy's default */
	int has_param;
	char text[40];       /* as a trace names it: "pct:3" */
} stp__strategy;

/* Parse text (NULL: "random"). 0, or STP_EINVAL with why filled: the
 * value and what is accepted. */
int stp__strategy_parse(const char *text, stp__strategy *st, char *why, size_t size);
/* The source of a strategy that decides every hand-off itself (NULL for
 * random, whose source is online.c's own). */
const struct stp__source *stp__strategy_source(enum stp__strategy_kind kind);
/* The strategies' sources: pct.c (pct, pct:D) and pos.c (pos). */
#define STP__PCT_MAX_DEPTH 100
extern const stp__source stp__pct_source;
extern const stp__source stp__pos_source;

/* What a seed loop carries from one run to the next for its strategy (a
 * run outside a loop has none): what one run learned, the next uses. The
 * loop makes it zeroed and frees it with stp__explore_free. */
typedef struct stp__explore {
	size_t longest;   /* the most decisions of a run after its first (pct.c: L) */
	uint64_t runs;    /* runs made so far */
	int exhausted;    /* every schedule was tried: the loop stops */
	void *state;      /* the strategy's own, freed by free_state */
	void (*free_state)(void *state);
} stp__explore;

void stp__explore_free(stp__explore *e);

/* Outcome of a run, as traces name it. */
enum stp__outcome {
	STP__OUT_NONE, /* not run */
	STP__OUT_PASS,
	STP__OUT_FAIL,
	STP__OUT_DIVERGENCE,
	STP__OUT_STALL,
	STP__OUT_DEADLOCK
};

enum stp__phase { STP__NEW, STP__RUNNING, STP__DONE };

/* A run on a virtual clock: the core tells the clock when its threads
 * block and wake at the turnstile, through these. A member is the clock's
 * record of one thread; ctx is the clock (stp_options.clock). */
typedef struct stp__clock_hooks {
	/* A member for thread t, made at run start; NULL when out of memory. */
	void *(*add_member)(void *ctx, struct stp__thread *t);
	/* The calling thread is this member (on the thread, at its start). */
	void (*adopt)(void *member);
	/* Block at the turnstile unless ready(arg) holds, checked under the
	 * clock's lock; 1 when it blocked (see clock_int.h). */
	int (*block_unless)(void *member, int (*ready)(void *), void *arg, size_t key,
			    const char *what, const char *name);
	void (*unblock)(void *member);
	/* A grant for the turn key: the member runs from now on. */
	void (*mark_running)(void *member, size_t key);
	/* The thread ended; the member lives on until free_member. */
	void (*leave)(void *member);
	void (*free_member)(void *member);
	uint64_t (*now)(void *ctx);
	/* Append one line per member to buf (stall reports). */
	void (*describe)(void *ctx, char *buf, size_t size);
	/* The run starts (s) or is over (NULL). */
	void (*attach)(void *ctx, stp_stepper *s);
	/* A virtual timer on the calling member's clock: cb(arg) runs when
	 * the clock reaches now + ns (on the thread that moves the clock,
	 * while every member is blocked). NULL when it cannot be made. */
	void *(*timer)(uint64_t ns, void (*cb)(void *), void *arg);
	void (*timer_free)(void *timer);
} stp__clock_hooks;

/* Modules above the core in a run: the source of a schedule other than
 * the seed (replay), and the observers (the trace writer). Any may be
 * NULL. */
typedef struct stp__hooks {
	int (*interleave)(stp_stepper *s);    /* take the schedule */
	void (*run_start)(stp_stepper *s);    /* before any thread starts */
	void (*run_end)(stp_stepper *s);      /* the outcome is known */
	void (*errors_added)(stp_stepper *s); /* stp_add_error after the run; stp_free */
	/* The run is being aborted, before any thread is woken (the aborting
	 * thread calls it once): a run of an unmodified program ends here. */
	void (*aborting)(stp_stepper *s);
	const stp__clock_hooks *clock;        /* with stp_options.clock */
} stp__hooks;

/* Per-thread scratch arrays of up to this many entries live on the stack;
 * a larger run's are allocated (a 1,024-entry array is 4-8 KB of stack,
 * a page fault or two in each thread of a process made for one run). */
#define STP__SMALL_RUN 64

struct stp_stepper {
	stp_options opt;
	char *opt_strings; /* copies of the option strings, one block */
	atomic_int refs;   /* the test's reference and one per running thread */

	struct stp__thread *threads[STP_MAX_THREADS];
	int nthreads;
	/* The decider's list of the threads that can go on, for a run of more
	 * than STP__SMALL_RUN threads (online.c; smaller runs keep it on the
	 * stack, which a process forked for one run touches page by page). */
	int *en_big;

	/* The schedule: thread and step index of every entry. */
	int *sched;
	size_t *sched_step;
	size_t nsched;
	int interleaved;
	const char *strategy; /* "random", "explicit" or "replay" */

	/* Online runs (some thread is free, or a version 2 replay): every
	 * hand-off is a decision of src; log records what happened. */
	int online;
	stp__source src;
	stp__strategy strat;  /* from opt.strategy, at stp_interleave */
	void *src_state;      /* the source's own (begin/end) */
	stp__explore *explore; /* the seed loop's, or NULL */
	struct stp__preempts *preempts; /* a shrinking replay's (preempt.h), or NULL */
	stp__rng rng;         /* the random source's stream */
	int *rec_thread;      /* explicit or recorded decisions, owned */
	char **rec_name;      /* recorded step names (NULL: not checked) */
	size_t nrec;
	const char *rec_label; /* "replay" or "schedule", for errors */
	/* Serial runs decide at every hand-off (deciding). With every
	 * thread declared, the source follows the plan in sched[] (planned),
	 * and a run that only passed steps ends as a plain planned run
	 * (online stays 0); one with a lock or wait point ends online. */
	int deciding;
	int planned;
	/* Mutexes and conditions seen in the run (locks.c): an open-addressed
	 * table by address; objmu guards it after an abort, when threads run
	 * at once. */
	struct stp__obj **objs;
	size_t capobjs, nobjs;
	int nobj_of[STP__OBJ_NTYPES]; /* objects of each type made: the next label */
	pthread_mutex_t objmu;
	void *replay;         /* loaded trace when replaying (traces/) */
	void (*replay_free)(void *);

	enum stp__phase phase;
	stp__hooks hooks; /* set by the wiring before the first interleave or run */
	int wired;

	/* Run state. Only the thread that passed the last entry writes next
	 * (and, in serial mode, prefix_next); the grant, a release/acquire
	 * pair on the next holder's semaphore, carries them on. next sits on
	 * its own cache line: it moves with the turnstile, nothing else should
	 * move with it. */
	/* What the decider writes, one line that moves with the turnstile:
	 * the log of decisions, the parked threads, the plan's head. While a
	 * planned run follows its plan with steps only (lazy_log), the log
	 * is the plan itself and no entry is written: nlog counts them, and
	 * the first departure writes them out (online.c). */
	_Alignas(64) stp__entry *log;
	size_t caplog;
	stp__dec dec;         /* the decider's state, unless carried */
	int carrying;         /* dec is carried by the turnstile's holder */
	int lazy_log;
	int deviated;         /* a decision left the plan's order */
	/* Nothing could go on but a timed wait whose deadline the clock has
	 * not reached: no thread holds the turnstile, and the clock's timer
	 * decides when it fires. */
	int idle;
	stp__tset blocked_at_end; /* the threads a deadlock left blocked */
	/* Parked threads found unable to go on, not looked at again until an
	 * object they wait on changes (stp__obj_changed) or their time may
	 * run out: a decision costs the threads that may go on, not the
	 * blocked ones (online.c). */
	stp__tset blocked;
	stp__tset timing;     /* parked threads with a deadline on virtual time */
	atomic_int recheck;   /* a clock's timer let a thread time out: look at all */
	int check_sets;       /* STEPPER_CHECK_SETS=1: check blocked against a full scan */
	/* Runs of unmodified programs (stepper/auto): threads are made during
	 * the run (dynamic: a replay compares the threads made so far), the
	 * real mutex underneath is never touched (model_only), sleeps and
	 * timed waits have deadlines on the run's virtual time (vtime), and
	 * the run ends at the program's exit (concluded). */
	int dynamic;
	int model_only;
	int vtime;
	/* STEPPER_ON_STALL=release (a program's run): a thread that holds the
	 * turnstile and makes no pthread call for escape_ms *leaves control*
	 * (escapes): the watcher decides in its place and the others go on;
	 * at its next point it comes back ("return", a decision like any).
	 * Escaped threads are parked (escaped: owned by the decider);
	 * escape_mu orders a comeback against the decider going idle. */
	int release;
	unsigned escape_ms;
	stp__tset escaped;
	int nescaped;
	atomic_int nreturned;  /* escaped threads that came back or ended */
	atomic_uint escapes;   /* threads that left control in this run */
	pthread_mutex_t escape_mu;
	uint64_t vnow;        /* virtual ns since the run started */
	uint64_t narmed;      /* deadlines armed: ties go to the older */
	atomic_int concluded;

	_Alignas(64) atomic_size_t next; /* next schedule entry to pass */
	atomic_int prefix_next; /* serial: next thread whose prefix runs */
	int nprefix;            /* the threads registered before the run */
	_Alignas(64) atomic_int aborted;
	int timed;            /* record when each step passed */
	uint64_t start_ns;
	atomic_int nended;
	stp__sem done;        /* posted by the thread that ends last */

	/* Fibers (fibers.c): asked for, and this run's threads are fibers on
	 * one OS thread, the host, which runs whichever was posted. Written
	 * at every grant, so on a line of their own (the watcher polls done). */
	int fibers;
	int fibered;
	_Alignas(64) struct stp__fiber *fiber_host;
	_Atomic(struct stp__thread *) fiber_next; /* the one posted last */
	stp__sem fiber_wake;  /* a post from another OS thread (an abort) */

	/* Guards errors. */
	pthread_mutex_t mu;
	char **errors;
	size_t nerrors, caperrors;
	enum stp__outcome outcome;
	int trace_stale; /* errors added after the trace was written */
	int trace_state; /* traces/replay.c's bookkeeping of opt.trace */
};

/* Record an error (thread-safe); outcome is raised to at least out. */
void stp__error(stp_stepper *s, enum stp__outcome out, const char *fmt, ...)
	STP_PRINTF(3, 4);
void stp__verror(stp_stepper *s, enum stp__outcome out, const char *fmt,
		 va_list ap);
/* Abort the schedule: no step waits from now on; wake every thread. */
void stp__abort(stp_stepper *s);
/* Has the run been aborted? (Acquire: what the aborting thread did
 * before is seen.) */
static inline int stp__aborted(stp_stepper *s)
{
	return atomic_load_explicit(&s->aborted, memory_order_acquire);
}
void stp__unref(stp_stepper *s);
/* The number of registered threads, as a thread other than the
 * turnstile's holder may read it while threads are made (spawn.c). */
static inline int stp__nthreads(const stp_stepper *s)
{
	return __atomic_load_n(&s->nthreads, __ATOMIC_ACQUIRE);
}
/* A free thread's record, not yet registered (index: the next one). */
struct stp__thread *stp__thread_alloc(stp_stepper *s, const char *name,
				      void (*fn)(void *), void *arg);
void stp__thread_free(struct stp__thread *t);
/* A thread made during a run starts: it becomes the calling thread's
 * controlled thread and parks at its start point until a decision lets it
 * go (0), or the run was aborted first (-1). */
int stp__thread_enter(struct stp__thread *t);
/* A controlled thread's body is over (it returned, or pthread_exit): the
 * early-end check, its end point, the count of ended threads. */
void stp__thread_finish(struct stp__thread *t);
/* The run is over (every thread ended, or the program exits): the source
 * is told, the outcome fixed, the trace written. Once; later calls do
 * nothing. */
void stp__run_conclude(stp_stepper *s);
/* Steps passed by all threads together. */
size_t stp__passed_total(const stp_stepper *s);

/* Build the schedule with the random strategy from s->opt.seed. */
int stp__interleave_random(stp_stepper *s);
/* Fill entry_of from sched/sched_step. */
void stp__index_schedule(stp_stepper *s);
/* Take a schedule given as thread indices (replay). STP_EMISMATCH when it
 * does not fit the declared orders. */
int stp__set_schedule(stp_stepper *s, const int *threads, size_t n);

/* Worker pool: run fn(arg) on a reused OS thread. */
typedef struct stp__worker stp__worker;
int stp__pool_get(stp__worker **w);
void stp__pool_start(stp__worker *w, void (*fn)(void *), void *arg);
void stp__pool_put_unused(stp__worker *w);

/* The core's interleave and run, behind the public stp_interleave and
 * stp_run of the wiring (which sets the hooks first). */
int stp__interleave(stp_stepper *s);
int stp__run(stp_stepper *s);


/* Helpers for the position text used by reports: "'name' (k/n)". */
const char *stp__step_name(const struct stp__thread *t, size_t k);
/* The name of the step t passed last ("?" before its first). */
const char *stp__last_step(const struct stp__thread *t);

/* ------------------------------------------------------------------ */
/* Online runs (online.c)                                              */
/* ------------------------------------------------------------------ */

/* At interleave: is the run online (a free thread, or decisions taken
 * from a version 2 replay)? If so, pick the source and clear the log.
 * STP_EINVAL in overlap mode (recorded as an error). */
int stp__online_prepare(stp_stepper *s);
/* Take decisions from a list (threads[k] decides entry k; names[k], when
 * names is not NULL, is the step it must be at). Copied. label names the
 * source in errors ("replay" or "schedule"). */
int stp__set_recorded(stp_stepper *s, const int *threads,
		      const char *const *names, size_t n, const char *label);
/* A controlled thread of an online run reaches a step, or ends. */
void stp__online_step(struct stp__thread *t, const char *name, const char *file,
		      int line);
/* The common case of stp__online_step in one piece: a declared thread's
 * step, repeated by the same literal (hit_name), while the decider's
 * state is carried, untimed and clockless. 1 when it took the step, 0
 * when it is not that case (nothing done: take stp__online_step). */
int stp__online_step_carried(struct stp__thread *t, const char *name, const char *file,
			     int line);
/* Park t at the point of its pending operation (t->op and friends set)
 * named at, until a decision grants it; 0, or -1 when the run was
 * aborted first. */
int stp__online_point(struct stp__thread *t, const char *at);
/* Serial runs: decide at every hand-off, following the plan in sched[]
 * (every thread declared). */
void stp__online_plan(stp_stepper *s);
/* A thread made during the run parks at its start point (its parent
 * waits for that on its `arrived`), then waits for its turn: 0, or -1
 * when the run was aborted first. */
int stp__online_arrive(struct stp__thread *t);

/* ------------------------------------------------------------------ */
/* Threads made during a run, and the program's end (spawn.c)          */
/* ------------------------------------------------------------------ */

/* The calling controlled thread makes a free thread running fn(arg),
 * named by its creation path ("main/2": the parent's second child).
 * start(child, ctx) must start an OS thread that calls stp__thread_enter,
 * then fn, then stp__thread_finish. Returns once the child is parked at
 * its start and the parent has passed its point "spawn(main/2)": 0 and
 * *out, or STP_ELIMIT (too many threads: reported, the run aborted),
 * STP_ESTATE (a run that follows a plan), STP_ENOMEM, STP_ETHREAD, or
 * STP_EDEADLOCK (the run was aborted). */
int stp__spawn(struct stp__thread *parent, void (*fn)(void *), void *arg,
	       int (*start)(struct stp__thread *child, void *ctx), void *ctx,
	       struct stp__thread **out);
/* The point join(<target>): blocked until target ended. 0, STP_EINVAL
 * (detached, or joined before), STP_EDEADLOCK (itself, or aborted). */
int stp__join(struct stp__thread *self, struct stp__thread *target);
/* Nobody will join target. STP_EINVAL when it was detached or joined. */
int stp__detach(struct stp__thread *target);
/* The point "yield", always enabled: 0, or STP_EDEADLOCK when aborted. */
int stp__yield(struct stp__thread *self);
/* A sleep of ns on the run's virtual time (s->vtime): blocked until
 * nothing else can go on and its deadline is the earliest. */
int stp__vsleep(struct stp__thread *self, uint64_t ns);
/* Virtual time passes ns while threads can still go on (a thread polling
 * the clock, the preload's rule), called by the turnstile's holder: the
 * timed operations due by then may time out. */
void stp__vtime_pass(stp_stepper *s, uint64_t ns);
/* The point "exit": the program ends (the run is concluded by the caller
 * when this returns 0). */
int stp__exit_point(struct stp__thread *self);
/* Where the pending point was called from, for threads without file:line
 * (the preload): site is copied. */
void stp__set_site(struct stp__thread *t, const char *site);

/* ------------------------------------------------------------------ */
/* Locks and waits (locks.c)                                           */
/* ------------------------------------------------------------------ */

/* Where a point was called: "file:line", or the site alone when it has
 * no line (the preload's "function+0x1c (prog)"). */
static inline const char *stp__site_text(const char *file, int line, char *buf, size_t size)
{
	if (line > 0)
		snprintf(buf, size, "%s:%d", file, line);
	else
		snprintf(buf, size, "%s", file ? file : "?");
	return buf;
}
#define STP__SITE_MAX (STP_MAX_NAME + 80)

/* Mutex kinds, as glibc numbers them (a model-only run reads the kind
 * from the mutex; stp_mutex_* are normal). */
#define STP__MUTEX_NORMAL 0
#define STP__MUTEX_RECURSIVE 1
#define STP__MUTEX_ERRORCHECK 2
/* stp_mutex_* with a kind: a recursive mutex counts relocks, an
 * error-checking one returns STP_EDEADLOCK on a relock and STP_EPERM on
 * an unlock by another thread, without a report. */
int stp__mutex_lock(pthread_mutex_t *m, int kind, const char *file, int line);
int stp__mutex_trylock(pthread_mutex_t *m, int kind, const char *file, int line);
int stp__mutex_unlock(pthread_mutex_t *m, int kind, const char *file, int line);

/* The run's object table (locks.c): the record of addr as an object of
 * type, made at its first use (a record of another type at addr is
 * dropped: reused memory); NULL when out of memory (reported, the run
 * aborted). stp__obj_drop: addr's record is no longer found (a destroy;
 * the record lives on for the log, until the table is cleared). */
struct stp__obj *stp__obj_find(stp_stepper *s, const void *addr, enum stp__objtype type);
void stp__obj_drop(stp_stepper *s, const void *addr);
/* The name of o's point "what(label)" ("post(sem#1)"), made once per
 * object and point; what must be one of its type's points. */
const char *stp__obj_point(struct stp__obj *o, const char *what);

/* ------------------------------------------------------------------ */
/* Semaphores, rwlocks, barriers, once (prims.c)                       */
/* ------------------------------------------------------------------ */

/* Each call is made by the controlled thread self of a serial run (the
 * preload's interposers, with self->site set) and, but for init, destroy
 * and getvalue, is a point named "what(label)". The model never reads or
 * writes the object's memory: what it needs from it (a semaphore's value,
 * a barrier's count, a rwlock's kind, a once done before the run) is
 * passed in. Every call returns STP_EDEADLOCK once the run is aborted;
 * a semaphore or a barrier that no *_init of the run made is reported
 * (the run aborted) and the call returns STP_EINVAL. */

/* Semaphores: a count; a wait is blocked while it is 0, a post is a point
 * before the count goes up. A timed wait has a deadline of ns on virtual
 * time (s->vtime; else it may time out when nothing else can go on):
 * STP_ETIMEDOUT. trywait: STP_EAGAIN at 0. post: STP_ERANGE at
 * SEM_VALUE_MAX. */
int stp__semaphore_init(struct stp__thread *self, const void *sem, unsigned value);
int stp__semaphore_destroy(struct stp__thread *self, const void *sem);
int stp__semaphore_wait(struct stp__thread *self, const void *sem, int timed, uint64_t ns);
int stp__semaphore_trywait(struct stp__thread *self, const void *sem);
int stp__semaphore_post(struct stp__thread *self, const void *sem);
int stp__semaphore_value(struct stp__thread *self, const void *sem, unsigned *value);

/* Rwlocks, of a kind: glibc's default prefers readers (a reader goes in
 * whenever no writer holds it), PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
 * prefers writers (a reader waits while a writer waits, even one that
 * holds a read lock already). A lock by its writer: STP_EDEADLOCK, no
 * point. Timed locks as the sem's timed wait. trylock: STP_EBUSY. An
 * unlock by a thread that holds nothing is reported: STP_EPERM. */
#define STP__RW_PREFER_READER 0
#define STP__RW_PREFER_WRITER 1
int stp__rwlock_init(struct stp__thread *self, const void *rw, int kind);
int stp__rwlock_destroy(struct stp__thread *self, const void *rw);
int stp__rwlock_lock(struct stp__thread *self, const void *rw, int kind, int write, int timed,
		     uint64_t ns);
int stp__rwlock_trylock(struct stp__thread *self, const void *rw, int kind, int write);
int stp__rwlock_unlock(struct stp__thread *self, const void *rw, int kind);
/* The threads that keep t from taking rw to write (or to read) now: its
 * writer, its readers (to write), the other waiting writers (to read,
 * preferring writers). 0: it can take it. */
stp__tset stp__rw_blockers(const struct stp__obj *rw, const struct stp__thread *t, int write);

/* Barriers: a wait arrives, then is blocked until the count-th arrival
 * of its round opens it; the last arriver gets STP__BARRIER_SERIAL, the
 * others 0. The next round starts at once. */
#define STP__BARRIER_SERIAL 1
int stp__barrier_init(struct stp__thread *self, const void *bar, unsigned count);
int stp__barrier_destroy(struct stp__thread *self, const void *bar);
int stp__barrier_wait(struct stp__thread *self, const void *bar);

/* Once: the point once(label); the first caller gets STP__ONCE_RUN, runs
 * the routine and calls stp__once_done; until then the other callers are
 * blocked; afterwards (or when done_before: the object says the routine
 * ran before the run) they get 0. */
#define STP__ONCE_NEW 0
#define STP__ONCE_RUNNING 1
#define STP__ONCE_DONE 2
#define STP__ONCE_RUN 1
int stp__once_enter(struct stp__thread *self, const void *once, int done_before);
void stp__once_done(struct stp__thread *self, const void *once);

/* Can t, parked at its pending operation, go on? */
int stp__op_enabled(const stp_stepper *s, const struct stp__thread *t);
enum { STP__HOLD_PARKED, STP__HOLD_RUNNING, STP__HOLD_ESCAPED };
/* s->release: the watcher found t, running with the turnstile, without
 * a point for the escape limit: t leaves control and the watcher decides
 * in its place. 0 when t came to a point first. */
int stp__escape(stp_stepper *s, struct stp__thread *t);
/* o changed so that a thread waiting on it may go on (a mutex or rwlock
 * let go of, a signal, a post, a barrier opened, a once done): its
 * parked threads are looked at again at the next decision. Called by the
 * thread holding the turnstile. */
void stp__obj_changed(stp_stepper *s, const struct stp__obj *o);
/* t ended: the threads parked at a join of it are looked at again. */
void stp__thread_ended(stp_stepper *s, const struct stp__thread *t);
/* No thread can go on and these (bitset) are blocked: report the
 * deadlock, the cycle or the lost wake-up (the run is then aborted). */
void stp__report_deadlock(stp_stepper *s, const stp__tset *blocked);
/* The run's object table: cleared before a run, freed with s. */
void stp__objs_clear(stp_stepper *s);
/* A timed wait's deadline came on the run's clock (a timer callback,
 * while every controlled thread is blocked): t may time out, and when no
 * thread holds the turnstile, this decides who goes on (online.c). */
void stp__online_deadline(struct stp__thread *t);
/* The hook the core installs on its threads (condhook.h). */
extern const struct stp__cond_hook stp__core_cond_hook;
void stp__online_end(struct stp__thread *t);
/* Has any thread no declared order? */
int stp__any_free(const stp_stepper *s);
/* Is name the declared thread t's k-th step? If not, report the
 * divergence, abort and return 0 (run.c). */
int stp__declared_here(struct stp__thread *t, size_t k, const char *name,
		       const char *file, int line);
/* The run is over: sched[] becomes what happened; the source is told. */
void stp__online_finish(stp_stepper *s);
/* The source's begin, before the threads start (0 or a negative code),
 * and its end, after the run (online.c). */
int stp__online_begin(stp_stepper *s);
void stp__online_end_source(stp_stepper *s);
/* Grant a thread its turn (run.c); key as the clock's mark_running. */
/* Grant a thread its turn. With a clock, the thread is marked running
 * first, so that an advance never sees it as idle while it wakes. */
void stp__fibers_woke(stp_stepper *s, struct stp__thread *t);
static inline void stp__wake(stp_stepper *s, struct stp__thread *t, size_t key)
{
	if (t->member)
		s->hooks.clock->mark_running(t->member, key);
	stp__sem_post(&t->sem);
	if (s->fibered)
		stp__fibers_woke(s, t);
}
/* Fibers (fibers.c). Can this run have them (serial, no clock, not a
 * program's)? */
int stp__fibers_usable(const stp_stepper *s);
/* Start the run's threads as fibers on the worker w. */
void stp__fibers_start(stp_stepper *s, stp__worker *w, void (*thread_main)(void *));
/* t, a fiber, waits for a post of t->sem: takes it, or lets another
 * fiber run and returns when t runs again (the caller checks again). */
void stp__fibers_park(stp_stepper *s, struct stp__thread *t);
/* Serial mode: hand the turnstile to the next prefix, if one has not run
 * yet; 1 when it did. */
int stp__prefix_turn_slow(stp_stepper *s, const struct stp__thread *self);
/* Serial mode: hand the turnstile to the next prefix while one has not
 * run yet (1); the last prefix's hand-off opens the schedule (0). Inline
 * for the common case, every prefix run. */
static inline int stp__prefix_turn(stp_stepper *s, const struct stp__thread *self)
{
	if (atomic_load_explicit(&s->prefix_next, memory_order_relaxed) > s->nprefix)
		return 0;
	return stp__prefix_turn_slow(s, self);
}

#endif
