/*
 * clock_int.h - the clock's internals, shared by the files of scheduler/
 * and by the adapter that makes a stepper's threads members (the clock
 * knows no stepper: it describes members and reports stalls through the
 * callbacks given here).
 */
#ifndef STEPPER_CLOCK_INT_H
#define STEPPER_CLOCK_INT_H

#include "clock.h"
#include "base.h"
#include "handoff.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

enum stp__mstate { STP__M_RUNNING, STP__M_BLOCKED };
enum stp__tkind { STP__TK_TIMER, STP__TK_SLEEP, STP__TK_COND };
enum stp__tstate_t { STP__TS_PENDING, STP__TS_FIRED, STP__TS_CANCELLED };

typedef struct stp__member {
	stp_clock *c;
	char name[STP_MAX_NAME + 1];
	int state;                 /* enum stp__mstate */
	int at_turnstile;          /* blocked waiting for its turn at a step */
	size_t turn_key;           /* which turn: see stp__clock_block_unless */
	int kept;                  /* a stepper's: freed by stp__clock_free_member */
	int left;                  /* no longer counted by the clock */
	char waits_on[STP_MAX_NAME + 96];
	/* A sleep writes no text on its way to sleep (it is on the path of
	 * every advance): its deadline, put into words when a report asks. */
	uint64_t sleeps_until;
	int sleeping;
	stp__sem sem;              /* a sleeper waits here (the turnstile's hand-off) */
	_Atomic int fired;         /* its deadline came (set before the post) */
	pthread_cond_t *wait_cv;   /* the condition it waits on, if any */
	pthread_mutex_t *wait_mu;
	/* Where its thread is, for reports (" (last step 'x', 2/3)"), if
	 * whoever added it said. */
	void (*describe)(void *arg, char *buf, size_t size);
	void *describe_arg;
	struct stp__member *next;
} stp__member;

struct stp_timer {
	int is_virtual;
	stp_clock *c;              /* virtual timers */
	uint64_t deadline, seq;
	int kind;                  /* enum stp__tkind */
	int state;                 /* enum stp__tstate_t */
	void (*cb)(void *);
	void *arg;
	stp__member *waiter;       /* sleep and condition entries */
	size_t heap_index;
	struct stp_timer *all_next; /* every user handle of the clock */
	int freed_by_user;
};

struct stp_clock {
	pthread_mutex_t mu;
	pthread_cond_t idle_cv;    /* a member blocked or left: stp_clock_wait_idle */
	stp__sem idle_sem;         /* ...the auto-mode thread waits here, as a
				    * turnstile's waiter does (posted with idle_cv) */
	_Atomic uint32_t idle_gen; /* counts those changes: an advance spins on it */
	_Atomic uint64_t now;
	uint64_t seq;
	struct stp_timer **heap;
	size_t nheap, capheap;
	stp__member *members;
	int nmembers, nblocked, nanon;
	int auto_on, auto_started, quit;
	pthread_t auto_tid;
	unsigned stall_ms;
	char error[4096];
	int deadlocked;
	/* While a stepper run uses it: told when an advance stalls. */
	void (*on_stall)(void *arg, const char *report);
	void *stall_arg;
	struct stp_timer *all;
	stp_clock *next_clock;     /* the registry of live clocks */
};

/* The calling thread's membership, and the clock whose virtual timer
 * callback it is running (clock.c). */
extern _Thread_local stp__member *stp__member_self;
extern _Thread_local stp_clock *stp__callback_clock;

/* The deadline heap; caller holds c->mu. push: STP_ENOMEM or 0. */
int stp__clock_push(stp_clock *c, struct stp_timer *t);
void stp__clock_remove(stp_clock *c, struct stp_timer *t);
/* Mark m blocked (waiting on what fmt says) or running; caller holds
 * m->c->mu. */
void stp__clock_block_locked(stp__member *m, const char *fmt, ...)
	STP_PRINTF(2, 3);
void stp__clock_unblock_locked(stp__member *m);
/* Mark m blocked in a sleep until the virtual time deadline. */
void stp__clock_block_sleep_locked(stp__member *m, uint64_t deadline);
/* What m waits on, in words (caller holds m->c->mu). */
const char *stp__clock_waits_text(stp__member *m);
/* "12.000000001 s" */
void stp__clock_seconds_text(char *buf, size_t size, uint64_t ns);
/* For stp_cond_signal: mark every clock-aware waiter of cv running. */
void stp__clock_waking(pthread_cond_t *cv);

/* Timers on threads no clock controls (realtimer.c): one process-wide
 * thread runs them at their real deadlines. */
int stp__realtimer_start(struct stp_timer *t, uint64_t ns);
int stp__realtimer_cancel(struct stp_timer *t);

/* For the stepper's run. */
stp__member *stp__clock_add_member(stp_clock *c, const char *name,
				   void (*describe)(void *arg, char *buf, size_t size),
				   void *arg);
void stp__clock_adopt(stp__member *m);
/* Free a stepper's member once its run is over (it has left). */
void stp__clock_free_member(stp__member *m);
void stp__clock_leave_member(stp__member *m);
/* Block at the turnstile unless ready(arg) holds, checked under the
 * clock's lock: the granter stores the grant before it takes that lock to
 * mark the thread running, so either this sees the grant and does not
 * block, or it is blocked when the granter marks it running. Returns 1
 * when it blocked. */
int stp__clock_block_unless(stp__member *m, int (*ready)(void *), void *arg,
			    size_t key, const char *what, const char *name);
void stp__clock_unblock(stp__member *m);
/* A turnstile grant for the turn named key ends the wait with that key
 * (STP__ANY_TURN: any, for an abort). A late grant for a turn the thread
 * no longer waits for changes nothing. */
void stp__clock_mark_running(stp__member *m, size_t key);
/* A run uses the clock: its stall limit, and on_stall(arg, report) when an
 * advance stalls (on_stall NULL: the run is over). */
void stp__clock_attach(stp_clock *c, unsigned stall_ms,
		       void (*on_stall)(void *arg, const char *report), void *arg);
/* One line per member ("[a] blocked on ...", "[b] running"), for stall
 * reports; appended to buf. */
void stp__clock_describe(stp_clock *c, char *buf, size_t size);

#endif
