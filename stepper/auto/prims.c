/*
 * prims.c - an unmodified program's semaphores, rwlocks, barriers and
 * once calls, as points of the run (the core's prims.c).
 *
 * The same pattern as interpose.c: on a thread that is not a controlled
 * thread of a live run (or inside the core), each goes to the real
 * function; else it checks its arguments as libc would, makes one core
 * call with the call site, and maps the core's code to what libc returns:
 * sem_* return -1 and set errno, pthread_* return the error number.
 *
 * The *_init and *_destroy calls also run the real ones, so the memory
 * stays a valid object for whatever runs outside the run (the real exit
 * and its handlers); the model never reads it but for what glibc keeps
 * there and the caller cannot say otherwise: a rwlock's kind (its
 * __flags: set by pthread_rwlock_init from the attr, or by a static
 * initialiser) and whether a once already ran (its DONE bit). A once
 * routine runs inside the real pthread_once, on the one thread the model
 * let in, so the once's memory says done afterwards too.
 */
#include "auto_int.h"

#include <stdarg.h>

#include <fcntl.h>

#include <dlfcn.h>

#include <errno.h>
#include <semaphore.h>

#define STP_EXPORT __attribute__((visibility("default")))

/* Run core code on t's behalf: the core's own pthread calls go real. */
#define ENTER(t, pc) (stp__auto_inside = 1, stp__auto_site((t), (pc)))
#define LEAVE() (stp__auto_inside = 0)

/* glibc's mark of a once whose routine has run (__PTHREAD_ONCE_DONE). */
#define ONCE_DONE 2

/* ...as sem_* give it: 0, or -1 with errno set. */
static int sem_answer(struct stp__thread *t, int rc)
{
	int e = stp__auto_answer(t, rc);
	if (e == 0)
		return 0;
	errno = e;
	return -1;
}

static int valid_ts(const struct timespec *ts)
{
	return ts && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

/* From now on the run's realtime clock (which sem_timedwait and the
 * rwlocks' timed locks use) to the absolute time at. */
static uint64_t until_on(stp_stepper *s, clockid_t clk, const struct timespec *at)
{
	if (at->tv_sec < 0)
		return 0;
	uint64_t now = stp__auto_vclock(s, clk);
	if ((uint64_t)at->tv_sec >= UINT64_MAX / 1000000000u)
		return UINT64_MAX - now;
	uint64_t then = (uint64_t)at->tv_sec * 1000000000u + (uint64_t)at->tv_nsec;
	return then > now ? then - now : 0;
}

static uint64_t until(stp_stepper *s, const struct timespec *at)
{
	return until_on(s, CLOCK_REALTIME, at);
}

/* ------------------------------------------------------------------ */
/* Semaphores                                                          */
/* ------------------------------------------------------------------ */

/* Named semaphores (sem_open) are shared with other processes, which the
 * model cannot see: their calls go to the real functions (README). */
#define MAX_NAMED 64
static sem_t *named[MAX_NAMED];
static atomic_int nnamed;

static void *real_sem_open;

STP_EXPORT sem_t *sem_open(const char *name, int oflag, ...)
{
	mode_t mode = 0;
	unsigned value = 0;
	if (oflag & O_CREAT) {
		va_list ap;
		va_start(ap, oflag);
		mode = va_arg(ap, mode_t);
		value = va_arg(ap, unsigned);
		va_end(ap);
	}
	if (!__atomic_load_n(&real_sem_open, __ATOMIC_ACQUIRE))
		__atomic_store_n(&real_sem_open, dlsym(RTLD_NEXT, "sem_open"), __ATOMIC_RELEASE);
	sem_t *(*f)(const char *, int, ...) = (sem_t * (*)(const char *, int, ...))
		__atomic_load_n(&real_sem_open, __ATOMIC_ACQUIRE);
	if (!f) {
		errno = ENOSYS;
		return SEM_FAILED;
	}
	sem_t *sem = f(name, oflag, mode, value);
	int k = atomic_load(&nnamed);
	if (sem != SEM_FAILED && k < MAX_NAMED && atomic_compare_exchange_strong(&nnamed, &k, k + 1))
		named[k] = sem;
	return sem;
}

/* The calling thread when a call on sem is a point: not for a named one. */
static struct stp__thread *sem_self(const sem_t *sem)
{
	struct stp__thread *t = stp__auto_self();
	for (int i = 0, n = t ? atomic_load(&nnamed) : 0; i < n; i++)
		if (named[i] == sem)
			return NULL;
	return t;
}

STP_EXPORT int sem_init(sem_t *sem, int pshared, unsigned value)
{
	struct stp__thread *t = stp__auto_self();
	int rc = REAL(sem_init)(sem, pshared, value);
	if (!t || rc != 0)
		return rc;
	ENTER(t, __builtin_return_address(0));
	return sem_answer(t, stp__semaphore_init(t, sem, value));
}

STP_EXPORT int sem_destroy(sem_t *sem)
{
	struct stp__thread *t = sem_self(sem);
	if (t) {
		ENTER(t, __builtin_return_address(0));
		if (sem_answer(t, stp__semaphore_destroy(t, sem)) != 0)
			return -1;
	}
	return REAL(sem_destroy)(sem);
}

STP_EXPORT int sem_wait(sem_t *sem)
{
	struct stp__thread *t = sem_self(sem);
	if (!t)
		return REAL(sem_wait)(sem);
	ENTER(t, __builtin_return_address(0));
	return sem_answer(t, stp__semaphore_wait(t, sem, 0, 0));
}

STP_EXPORT int sem_timedwait(sem_t *sem, const struct timespec *at)
{
	struct stp__thread *t = sem_self(sem);
	if (!t)
		return REAL(sem_timedwait)(sem, at);
	if (!valid_ts(at)) {
		errno = EINVAL;
		return -1;
	}
	ENTER(t, __builtin_return_address(0));
	return sem_answer(t, stp__semaphore_wait(t, sem, 1, until(t->s, at)));
}

static void *real_sem_clockwait, *real_rw_clockrd, *real_rw_clockwr;

static int known_clock(clockid_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC;
}

STP_EXPORT int sem_clockwait(sem_t *sem, clockid_t clk, const struct timespec *at)
{
	struct stp__thread *t = sem_self(sem);
	if (!t)
		return ((int (*)(sem_t *, clockid_t, const struct timespec *))stp__auto_libc(
			&real_sem_clockwait, "sem_clockwait"))(sem, clk, at);
	if (!valid_ts(at) || !known_clock(clk)) {
		errno = EINVAL;
		return -1;
	}
	ENTER(t, __builtin_return_address(0));
	return sem_answer(t, stp__semaphore_wait(t, sem, 1, until_on(t->s, clk, at)));
}

STP_EXPORT int sem_trywait(sem_t *sem)
{
	struct stp__thread *t = sem_self(sem);
	if (!t)
		return REAL(sem_trywait)(sem);
	ENTER(t, __builtin_return_address(0));
	return sem_answer(t, stp__semaphore_trywait(t, sem));
}

STP_EXPORT int sem_post(sem_t *sem)
{
	struct stp__thread *t = sem_self(sem);
	if (!t)
		return REAL(sem_post)(sem);
	ENTER(t, __builtin_return_address(0));
	return sem_answer(t, stp__semaphore_post(t, sem));
}

/* Not a point: it reads the model's count. */
STP_EXPORT int sem_getvalue(sem_t *sem, int *value)
{
	struct stp__thread *t = sem_self(sem);
	if (!t)
		return REAL(sem_getvalue)(sem, value);
	ENTER(t, __builtin_return_address(0));
	unsigned v = 0;
	int rc = sem_answer(t, stp__semaphore_value(t, sem, &v));
	if (rc == 0)
		*value = (int)v;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Rwlocks                                                             */
/* ------------------------------------------------------------------ */

/* The kind glibc keeps in the rwlock (PTHREAD_RWLOCK_PREFER_WRITER_NP
 * is the reader-preferring default there too). */
static int rw_kind(const pthread_rwlock_t *rw)
{
	return rw->__data.__flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
		       ? STP__RW_PREFER_WRITER
		       : STP__RW_PREFER_READER;
}

STP_EXPORT int pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
	struct stp__thread *t = stp__auto_self();
	int rc = REAL(rwlock_init)(rw, attr);
	if (!t || rc != 0)
		return rc;
	ENTER(t, __builtin_return_address(0));
	return stp__auto_answer(t, stp__rwlock_init(t, rw, rw_kind(rw)));
}

STP_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
	struct stp__thread *t = stp__auto_self();
	if (t) {
		ENTER(t, __builtin_return_address(0));
		int rc = stp__auto_answer(t, stp__rwlock_destroy(t, rw));
		if (rc != 0)
			return rc;
	}
	return REAL(rwlock_destroy)(rw);
}

static int rw_lock_on(pthread_rwlock_t *rw, int write, clockid_t clk,
		      const struct timespec *at, const void *pc)
{
	struct stp__thread *t = stp__auto_self();
	if (!t) {
		typedef int (*clocked)(pthread_rwlock_t *, clockid_t, const struct timespec *);
		if (at && clk != CLOCK_REALTIME)
			return ((clocked)stp__auto_libc(write ? &real_rw_clockwr : &real_rw_clockrd,
							write ? "pthread_rwlock_clockwrlock"
							      : "pthread_rwlock_clockrdlock"))(rw, clk,
											      at);
		if (at)
			return write ? REAL(rwlock_timedwrlock)(rw, at)
				     : REAL(rwlock_timedrdlock)(rw, at);
		return write ? REAL(rwlock_wrlock)(rw) : REAL(rwlock_rdlock)(rw);
	}
	if (at && (!valid_ts(at) || !known_clock(clk)))
		return EINVAL;
	ENTER(t, pc);
	uint64_t ns = at ? until_on(t->s, clk, at) : 0;
	return stp__auto_answer(t, stp__rwlock_lock(t, rw, rw_kind(rw), write, at != NULL, ns));
}

static int rw_lock(pthread_rwlock_t *rw, int write, const struct timespec *at, const void *pc)
{
	return rw_lock_on(rw, write, CLOCK_REALTIME, at, pc);
}

STP_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *rw, clockid_t clk,
					  const struct timespec *at)
{
	return rw_lock_on(rw, 0, clk, at, __builtin_return_address(0));
}

STP_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *rw, clockid_t clk,
					  const struct timespec *at)
{
	return rw_lock_on(rw, 1, clk, at, __builtin_return_address(0));
}

STP_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
	return rw_lock(rw, 0, NULL, __builtin_return_address(0));
}

STP_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
	return rw_lock(rw, 1, NULL, __builtin_return_address(0));
}

STP_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *rw, const struct timespec *at)
{
	return rw_lock(rw, 0, at, __builtin_return_address(0));
}

STP_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *rw, const struct timespec *at)
{
	return rw_lock(rw, 1, at, __builtin_return_address(0));
}

STP_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(rwlock_tryrdlock)(rw);
	ENTER(t, __builtin_return_address(0));
	return stp__auto_answer(t, stp__rwlock_trylock(t, rw, rw_kind(rw), 0));
}

STP_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(rwlock_trywrlock)(rw);
	ENTER(t, __builtin_return_address(0));
	return stp__auto_answer(t, stp__rwlock_trylock(t, rw, rw_kind(rw), 1));
}

STP_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(rwlock_unlock)(rw);
	ENTER(t, __builtin_return_address(0));
	return stp__auto_answer(t, stp__rwlock_unlock(t, rw, rw_kind(rw)));
}

/* ------------------------------------------------------------------ */
/* Barriers and once                                                   */
/* ------------------------------------------------------------------ */

STP_EXPORT int pthread_barrier_init(pthread_barrier_t *bar, const pthread_barrierattr_t *attr,
				    unsigned count)
{
	struct stp__thread *t = stp__auto_self();
	int rc = REAL(barrier_init)(bar, attr, count);
	if (!t || rc != 0)
		return rc;
	ENTER(t, __builtin_return_address(0));
	return stp__auto_answer(t, stp__barrier_init(t, bar, count));
}

STP_EXPORT int pthread_barrier_destroy(pthread_barrier_t *bar)
{
	struct stp__thread *t = stp__auto_self();
	if (t) {
		ENTER(t, __builtin_return_address(0));
		int rc = stp__auto_answer(t, stp__barrier_destroy(t, bar));
		if (rc != 0)
			return rc;
	}
	return REAL(barrier_destroy)(bar);
}

STP_EXPORT int pthread_barrier_wait(pthread_barrier_t *bar)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(barrier_wait)(bar);
	ENTER(t, __builtin_return_address(0));
	int rc = stp__barrier_wait(t, bar);
	if (rc == STP__BARRIER_SERIAL) {
		stp__auto_answer(t, 0);
		return PTHREAD_BARRIER_SERIAL_THREAD;
	}
	return stp__auto_answer(t, rc);
}

STP_EXPORT int pthread_once(pthread_once_t *once, void (*routine)(void))
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(once)(once, routine);
	ENTER(t, __builtin_return_address(0));
	int done = (__atomic_load_n(once, __ATOMIC_ACQUIRE) & ONCE_DONE) != 0;
	int rc = stp__once_enter(t, once, done);
	if (rc != STP__ONCE_RUN)
		return stp__auto_answer(t, rc);
	LEAVE(); /* the routine's calls are points */
	rc = REAL(once)(once, routine);
	stp__auto_inside = 1;
	stp__once_done(t, once);
	stp__auto_answer(t, 0);
	return rc;
}
