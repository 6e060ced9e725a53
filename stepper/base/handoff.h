/*
 * handoff.h - the one-waiter binary semaphore behind every hand-off.
 *
 * A post wakes the single thread that waits on the semaphore (or lets its
 * next wait return at once). The waiter spins briefly, because the common
 * case is a hand-off that completes within a microsecond on another core,
 * then sleeps in the kernel (futex on Linux, a condition variable
 * elsewhere). Nothing here sleeps for a time or polls.
 */
#ifndef STEPPER_HANDOFF_H
#define STEPPER_HANDOFF_H

#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

typedef struct stp__sem {
	/* 0: empty; 1: posted; 2: empty and the waiter sleeps. */
	_Atomic uint32_t word;
} stp__sem;

/* How eagerly a waiter waits. A sleeping thread costs tens of
 * microseconds to wake on a virtual machine, a spinning one a cache-line
 * transfer; but a spinner that shares a core with the thread it waits for
 * only delays it. So only the thread whose turn is next spins hard. */
enum stp__heat {
	STP__HOT,  /* next in line: spin with pause, then yield, then sleep */
	STP__WARM, /* soon: spin with sched_yield for a while, then sleep */
	STP__COLD  /* not soon: sleep at once */
};

/* A turn key that names any turn: a grant with it ends whichever wait a
 * thread is in (an abort). Turn keys are shared by the turnstile and the
 * clock (clock_int.h). */
#define STP__ANY_TURN SIZE_MAX

void stp__sem_init(stp__sem *s);
/* Wake the waiter that sleeps in the kernel (stp__sem_post's slow path). */
void stp__sem_wake_sleeper(stp__sem *s);
/* Post (inline: it is on the critical path of every hand-off). */
static inline void stp__sem_post(stp__sem *s)
{
	if (atomic_exchange_explicit(&s->word, 1, memory_order_acq_rel) == 2)
		stp__sem_wake_sleeper(s);
}
void stp__sem_wait(stp__sem *s, enum stp__heat heat);
/* Wait until posted or the absolute CLOCK_MONOTONIC deadline passes.
 * Returns 0 when posted, -1 on the deadline. */
int stp__sem_wait_until(stp__sem *s, uint64_t deadline_ns, enum stp__heat heat);
/* Spin (pause) while *w equals v, at most about as long as a hot
 * waiter spins; 1 when it changed. Never on one CPU (returns 0 at once). */
int stp__spin_while(_Atomic uint32_t *w, uint32_t v);
/* Take a post if there is one, without waiting: 1 when taken. */
int stp__sem_trytake(stp__sem *s);
/* Is the waiter asleep in the kernel (so a post costs a system call)? */
int stp__sem_sleeping(stp__sem *s);

/* Abort with a message: a failed pthread call on an internal lock. */
_Noreturn void stp__panic(const char *what, int err);

#include <pthread.h>
/* pthread_mutex_lock/unlock that abort on failure (a bug, not an error). */
void stp__lock(pthread_mutex_t *m);
void stp__unlock(pthread_mutex_t *m);

/* The number of online CPUs, read once per process (a fork server
 * reads it before its copies are made). */
int stp__ncpu(void);
/* Take n as the CPU count from now on (a process pinned to one CPU: no
 * waiter may spin). */
void stp__ncpu_set(int n);

#endif
