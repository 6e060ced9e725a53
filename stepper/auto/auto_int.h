/*
 * auto_int.h - the preload layer (libstepper-auto.so): an unmodified
 * program's pthread calls as the core's points.
 *
 * Loaded with LD_PRELOAD and STEPPER_AUTO=1, the layer runs the program's
 * main as a free controlled thread of one run (start.c); every thread the
 * program makes is made by the core too (interpose.c), and every mutex,
 * condition, sleep, yield, join and exit call is a point where the run's
 * strategy decides who goes next. Only one thread runs at a time.
 *
 * The core calls pthread functions itself (its own locks, its worker
 * threads), and in this library those calls come back to the interposers.
 * A thread-local flag tells them apart: set while the layer runs core
 * code on a controlled thread, and on every thread that is not a
 * controlled thread of a live run, a call goes to the real function.
 */
/*
 * The names the layer defines in place of libc's (declared by libc's own
 * headers, listed here so each is named in one of ours):
 *   interpose.c: pthread_create pthread_join pthread_detach pthread_exit
 *     pthread_mutex_lock pthread_mutex_trylock pthread_mutex_timedlock
 *     pthread_mutex_unlock pthread_cond_wait pthread_cond_timedwait
 *     pthread_cond_signal pthread_cond_broadcast sched_yield sleep usleep
 *     nanosleep clock_nanosleep clock_gettime gettimeofday time exit clone
 *     pthread_cond_clockwait pthread_mutex_clocklock
 *   start.c: __libc_start_main __assert_fail
 *   c11.c: thrd_create thrd_join thrd_detach thrd_exit thrd_yield thrd_sleep call_once
 *     mtx_lock mtx_trylock mtx_timedlock mtx_unlock cnd_wait cnd_timedwait
 *     cnd_signal cnd_broadcast
 *   prims.c: sem_open (named semaphores stay real) sem_clockwait
 *     pthread_rwlock_clockrdlock pthread_rwlock_clockwrlock
 */
#ifndef STEPPER_AUTO_INT_H
#define STEPPER_AUTO_INT_H

#include "stepper_int.h"

#include <pthread.h>
#include <stdio.h>
#include <semaphore.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* The real functions, resolved with dlsym(RTLD_NEXT) (real.c). */
struct stp__real {
	int (*create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	int (*join)(pthread_t, void **);
	int (*detach)(pthread_t);
	void (*thread_exit)(void *) __attribute__((noreturn));
	int (*mutex_lock)(pthread_mutex_t *);
	int (*mutex_trylock)(pthread_mutex_t *);
	int (*mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
	int (*mutex_unlock)(pthread_mutex_t *);
	int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
	int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
	int (*cond_signal)(pthread_cond_t *);
	int (*cond_broadcast)(pthread_cond_t *);
	/* semaphores, rwlocks, barriers, once (prims.c) */
	int (*sem_init)(sem_t *, int, unsigned);
	int (*sem_destroy)(sem_t *);
	int (*sem_wait)(sem_t *);
	int (*sem_trywait)(sem_t *);
	int (*sem_timedwait)(sem_t *, const struct timespec *);
	int (*sem_post)(sem_t *);
	int (*sem_getvalue)(sem_t *, int *);
	int (*rwlock_init)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
	int (*rwlock_destroy)(pthread_rwlock_t *);
	int (*rwlock_rdlock)(pthread_rwlock_t *);
	int (*rwlock_wrlock)(pthread_rwlock_t *);
	int (*rwlock_tryrdlock)(pthread_rwlock_t *);
	int (*rwlock_trywrlock)(pthread_rwlock_t *);
	int (*rwlock_timedrdlock)(pthread_rwlock_t *, const struct timespec *);
	int (*rwlock_timedwrlock)(pthread_rwlock_t *, const struct timespec *);
	int (*rwlock_unlock)(pthread_rwlock_t *);
	int (*barrier_init)(pthread_barrier_t *, const pthread_barrierattr_t *, unsigned);
	int (*barrier_destroy)(pthread_barrier_t *);
	int (*barrier_wait)(pthread_barrier_t *);
	int (*once)(pthread_once_t *, void (*)(void));
	int (*sched_yield)(void);
	unsigned (*sleep)(unsigned);
	int (*usleep)(useconds_t);
	int (*nanosleep)(const struct timespec *, struct timespec *);
	int (*clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
	int (*clock_gettime)(clockid_t, struct timespec *);
	int (*gettimeofday)(struct timeval *, void *);
	time_t (*time)(time_t *);
	void (*exit)(int) __attribute__((noreturn));
	int (*clone)(int (*)(void *), void *, int, void *, ...);
	void (*assert_fail)(const char *, const char *, unsigned, const char *)
		__attribute__((noreturn));
	int (*start_main)(int (*)(int, char **, char **), int, char **, void (*)(void),
			  void (*)(void), void (*)(void), void *);
};
extern struct stp__real stp__real;
/* Fill stp__real (idempotent; a missing function is a panic). */
void stp__real_resolve(void);
#define REAL(f) (stp__real.f ? stp__real.f : (stp__real_resolve(), stp__real.f))

/* The core's code as the error number libc returns (interpose.c). */
int stp__auto_errno(int rc);
/* A call's end: the core's answer as an error number, unless the run was
 * aborted meanwhile (the abort hook ends the process); leaves core code. */
int stp__auto_answer(struct stp__thread *t, int rc);

/* The interposers, exported (visibility default) and declared by libc's
 * headers: interpose.c has pthread_create, pthread_join, pthread_detach,
 * pthread_exit, pthread_mutex_lock, pthread_mutex_timedlock,
 * pthread_mutex_trylock, pthread_mutex_unlock, pthread_cond_wait,
 * pthread_cond_timedwait, pthread_cond_signal, pthread_cond_broadcast,
 * sched_yield, sleep, usleep, nanosleep, clock_nanosleep, clock_gettime,
 * gettimeofday, time, exit, clone; start.c has __libc_start_main and
 * __assert_fail; prims.c has sem_init, sem_destroy, sem_wait,
 * sem_trywait, sem_timedwait, sem_post, sem_getvalue,
 * pthread_rwlock_init, pthread_rwlock_destroy, pthread_rwlock_rdlock,
 * pthread_rwlock_wrlock, pthread_rwlock_tryrdlock, pthread_rwlock_trywrlock,
 * pthread_rwlock_timedrdlock, pthread_rwlock_timedwrlock,
 * pthread_rwlock_unlock, pthread_barrier_init, pthread_barrier_destroy,
 * pthread_barrier_wait and pthread_once. */

/* A libc function the table above does not hold (newer or rarely used
 * ones), found on first use into *slot. */
void *stp__auto_libc(void **slot, const char *name);

/* Set while the layer runs core code on this thread (see above). */
extern _Thread_local int stp__auto_inside;

/* A C11 call about to make its pthread twin's point sets the site of its
 * own caller here (c11.c); the twin takes it, and it is cleared after. */
extern _Thread_local const void *stp__auto_caller;

/* The calling thread's record when its call is a point (a controlled
 * thread of a live run, not inside the core), else NULL. */
struct stp__thread *stp__auto_self(void);
/* The run's virtual time as clock clk shows it (realtime from
 * 2020-01-01T00:00:00Z, monotonic from 1,000 s; both move together). */
uint64_t stp__auto_vclock(const stp_stepper *s, clockid_t clk);
/* t's pending point was called from pc: its site, "function+0x1c (prog)"
 * or "prog+0x1234" without a symbol, for reports. */
void stp__auto_site(struct stp__thread *t, const void *pc);
/* A core call returned after the run was aborted, which the aborting
 * hook ends at once: only an exit under way gets here. Wait for it. */
void stp__auto_stuck(void) __attribute__((noreturn));
/* The program ends: exit(status) or the return from main on thread t. */
void stp__auto_exit(struct stp__thread *t, int status) __attribute__((noreturn));
/* t, the calling thread, ends after glibc's end-of-thread work (cleanup
 * handlers, destructors) rather than when its function returns; on a
 * failure the run is aborted (interpose.c). */
void stp__auto_end_after_destructors(struct stp__thread *t);
/* The wrapped start of every program (start.c). */
int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv,
		      void (*init)(void), void (*fini)(void), void (*rtld_fini)(void),
		      void *stack_end);
/* STEPPER_AUTO_FD names the CLI's socket: serve RUNs (server.c). Returns
 * 0 in each copy made for a run, which goes on to the controlled main;
 * the server itself never returns. */
int stp__auto_serve(int fd);
/* In a copy the server made: how many it made before (runs side by side
 * are consecutive copies); -1 in a run that was exec'd. */
long stp__auto_copy_index(void);
/* Print the run's errors, one "stepper: " line each, with the sites of
 * the program's executable named by addr2line when symbolise (sites.c). */
void stp__auto_print_errors(stp_stepper *s, FILE *out, int symbolise);
/* Make what the ends of made threads need (interpose.c), once, before
 * the first is made. */
void stp__auto_threads_prepare(void);

#endif
