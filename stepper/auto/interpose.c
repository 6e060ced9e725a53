/*
 * interpose.c - the pthread and libc calls of an unmodified program, as
 * points of the run.
 *
 * Each exported function checks its arguments as libc would, then makes
 * one core call with the call site (the return address) and maps the
 * core's code to the errno value libc returns. On a thread that is not a
 * controlled thread of a live run (or inside the core), each goes to the
 * real function. The model never reads or writes a mutex's or a
 * condition's memory, except the kind glibc keeps in a mutex.
 */
#include "auto_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "condhook.h"

#define STP_EXPORT __attribute__((visibility("default")))

_Thread_local const void *stp__auto_caller;

/* Run core code on t's behalf (the core's own pthread calls go real),
 * at the call site pc, or the one a C11 twin saw (c11.c). */
/* Reads of the clock since the thread's last point (see clock_read). */
static _Thread_local unsigned clock_reads;

static void enter(struct stp__thread *t, const void *pc)
{
	clock_reads = 0;
	stp__auto_inside = 1;
	stp__auto_site(t, stp__auto_caller ? stp__auto_caller : pc);
	stp__auto_caller = NULL;
}
#define ENTER(t, pc) enter((t), (pc))
#define LEAVE() (stp__auto_inside = 0)

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

void stp__auto_site(struct stp__thread *t, const void *pc)
{
	Dl_info di;
	if (!pc || !dladdr(pc, &di) || !di.dli_fname) {
		snprintf(t->site, sizeof t->site, "%p", pc);
		return;
	}
	uintptr_t at = (uintptr_t)pc - 1; /* the call, not the return */
	if (di.dli_sname && di.dli_saddr)
		snprintf(t->site, sizeof t->site, "%s+0x%lx (%s)", di.dli_sname,
			 (unsigned long)(at - (uintptr_t)di.dli_saddr), base_name(di.dli_fname));
	else
		snprintf(t->site, sizeof t->site, "%s+0x%lx", base_name(di.dli_fname),
			 (unsigned long)(at - (uintptr_t)di.dli_fbase));
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

/* A thread the program made under control. */
struct made {
	void *(*fn)(void *);
	void *arg;
	void *ret;
	pthread_t id;
	const pthread_attr_t *attr;
	struct stp__thread *t;
	int error; /* the real pthread_create's, when it failed */
};

/* The threads made in this run, by pthread_t (at most STP_MAX_THREADS;
 * read and written by the turnstile's holder only). */
static struct made *made[STP_MAX_THREADS];
static int nmade;

/* The thread id names: the newest made with it (glibc hands a joined or
 * detached thread's id to the next thread it makes). */
static struct made *made_of(pthread_t id)
{
	for (int i = nmade - 1; i >= 0; i--)
		if (pthread_equal(made[i]->id, id))
			return made[i];
	return NULL;
}

/* A made thread ends after what glibc runs at a thread's end: the cleanup
 * handlers of pthread_exit, C++ thread_local destructors, then the key
 * destructors, in up to PTHREAD_DESTRUCTOR_ITERATIONS (4) rounds while a
 * key has a value. Ours re-arms itself and ends the thread in the last
 * round but one, so what runs before (an unlock in a cleanup handler, a
 * destructor that locks) is made of points too. (Not the last round:
 * ThreadSanitizer ends its own record of the thread there, and the end's
 * instrumented code must come before.) */
static pthread_key_t end_key;
static int end_key_made;

static void thread_end(void *v)
{
	uintptr_t round = (uintptr_t)v;
	struct stp__thread *t = stp_self_;
	if (round < PTHREAD_DESTRUCTOR_ITERATIONS - 1) {
		pthread_setspecific(end_key, (void *)(round + 1));
		return;
	}
	if (t) {
		stp__auto_inside = 1;
		stp__thread_finish(t);
	}
}

void stp__auto_end_after_destructors(struct stp__thread *t)
{
	if (end_key_made && pthread_setspecific(end_key, (void *)1) == 0)
		return;
	stp__error(t->s, STP__OUT_FAIL, "cannot control the end of [%s]: no thread key",
		   t->name);
	stp__abort(t->s);
	stp__auto_stuck();
}

void stp__auto_threads_prepare(void)
{
	if (!end_key_made && pthread_key_create(&end_key, thread_end) == 0)
		end_key_made = 1;
}

static void made_body(void *p)
{
	struct made *m = p;
	m->ret = m->fn(m->arg);
}

static void *trampoline(void *p)
{
	struct stp__thread *t = p;
	struct made *m = t->arg;
	stp__auto_inside = 1;
	if (stp__thread_enter(t) != 0)
		stp__auto_stuck(); /* aborted: the abort hook ends the process */
	stp__auto_end_after_destructors(t);
	stp__auto_inside = 0;
	made_body(m);
	return m->ret; /* the end comes in thread_end, after the destructors */
}

static int start_real(struct stp__thread *child, void *ctx)
{
	struct made *m = ctx;
	m->t = child;
	m->error = REAL(create)(&m->id, m->attr, trampoline, child);
	return m->error;
}

STP_EXPORT int pthread_create(pthread_t *id, const pthread_attr_t *attr,
			      void *(*fn)(void *), void *arg)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(create)(id, attr, fn, arg);
	ENTER(t, __builtin_return_address(0));
	struct made *m = calloc(1, sizeof *m);
	if (!m) {
		LEAVE();
		return EAGAIN;
	}
	*m = (struct made){ .fn = fn, .arg = arg, .attr = attr };
	/* in the table before the child can run (the decision after the
	 * spawn may let it go first, as far as its pthread_exit) */
	made[nmade++] = m;
	struct stp__thread *child = NULL;
	int rc = stp__spawn(t, made_body, m, start_real, m, &child);
	if (rc == STP_ETHREAD || rc == STP_ENOMEM) {
		int e = rc == STP_ETHREAD && m->error ? m->error : EAGAIN;
		made[--nmade] = NULL;
		free(m);
		LEAVE();
		return e;
	}
	if (rc != 0)
		stp__auto_stuck(); /* aborted: the abort hook ends the process */
	*id = m->id;
	LEAVE();
	return 0;
}

STP_EXPORT int pthread_join(pthread_t id, void **ret)
{
	struct stp__thread *t = stp__auto_self();
	struct made *m = t ? made_of(id) : NULL;
	if (!m)
		return REAL(join)(id, ret);
	ENTER(t, __builtin_return_address(0));
	int rc = stp__join(t, m->t);
	if (rc == STP_EDEADLOCK && m->t != t)
		stp__auto_stuck();
	LEAVE();
	if (rc == STP_EINVAL)
		return EINVAL;
	if (rc == STP_EDEADLOCK)
		return EDEADLK;
	int e = REAL(join)(id, NULL); /* it has ended: reap the OS thread */
	if (e == 0 && ret)
		*ret = m->ret;
	return e;
}

STP_EXPORT int pthread_detach(pthread_t id)
{
	struct stp__thread *t = stp__auto_self();
	struct made *m = t ? made_of(id) : NULL;
	if (!m)
		return REAL(detach)(id);
	stp__auto_inside = 1;
	int rc = stp__detach(m->t);
	LEAVE();
	return rc == 0 ? REAL(detach)(id) : EINVAL;
}

STP_EXPORT void pthread_exit(void *ret)
{
	struct stp__thread *t = stp__auto_self();
	for (int i = nmade - 1; t && i >= 0; i--)
		if (made[i]->t == t) {
			made[i]->ret = ret;
			break;
		}
	/* its cleanup handlers and destructors run as points; it ends in
	 * thread_end */
	REAL(thread_exit)(ret);
}

/* ------------------------------------------------------------------ */
/* Mutexes                                                             */
/* ------------------------------------------------------------------ */

/* The kind glibc keeps in the mutex (PTHREAD_MUTEX_ADAPTIVE_NP and the
 * robust and priority flags: a normal mutex to the model). */
static int kind_of(const pthread_mutex_t *m)
{
	int k = m->__data.__kind & 3;
	return k == PTHREAD_MUTEX_RECURSIVE    ? STP__MUTEX_RECURSIVE
	       : k == PTHREAD_MUTEX_ERRORCHECK ? STP__MUTEX_ERRORCHECK
					       : STP__MUTEX_NORMAL;
}

int stp__auto_errno(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case STP_EBUSY:
		return EBUSY;
	case STP_EAGAIN:
		return EAGAIN;
	case STP_EDEADLOCK:
		return EDEADLK;
	case STP_EPERM:
		return EPERM;
	case STP_ETIMEDOUT:
		return ETIMEDOUT;
	case STP_ERANGE:
		return EOVERFLOW;
	default:
		return EINVAL;
	}
}

int stp__auto_answer(struct stp__thread *t, int rc)
{
	if (stp__aborted(t->s))
		stp__auto_stuck();
	LEAVE();
	return stp__auto_errno(rc);
}

STP_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(mutex_lock)(m);
	ENTER(t, __builtin_return_address(0));
	return stp__auto_answer(t, stp__mutex_lock(m, kind_of(m), t->site, 0));
}

/* A timed lock is a lock to the model: it does not time out (README). */
STP_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *at)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(mutex_timedlock)(m, at);
	ENTER(t, __builtin_return_address(0));
	return stp__auto_answer(t, stp__mutex_lock(m, kind_of(m), t->site, 0));
}

STP_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(mutex_trylock)(m);
	ENTER(t, __builtin_return_address(0));
	return stp__auto_answer(t, stp__mutex_trylock(m, kind_of(m), t->site, 0));
}

STP_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(mutex_unlock)(m);
	ENTER(t, __builtin_return_address(0));
	return stp__auto_answer(t, stp__mutex_unlock(m, kind_of(m), t->site, 0));
}

/* ------------------------------------------------------------------ */
/* Conditions                                                          */
/* ------------------------------------------------------------------ */

/* The clock a condition's timed waits use (glibc keeps it in __wrefs). */
static clockid_t clock_of(const pthread_cond_t *cv)
{
	return (cv->__data.__wrefs & 2) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

static uint64_t ns_of(const struct timespec *ts)
{
	if (ts->tv_sec < 0)
		return 0;
	if ((uint64_t)ts->tv_sec >= (uint64_t)INT64_MAX / 1000000000u)
		return INT64_MAX; /* virtual time holds ~292 years */
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* From now on the run's clock clk to the absolute time at. */
static uint64_t until(stp_stepper *s, clockid_t clk, const struct timespec *at)
{
	uint64_t now = stp__auto_vclock(s, clk), then = ns_of(at);
	return then > now ? then - now : 0;
}

STP_EXPORT int pthread_cond_wait(pthread_cond_t *cv, pthread_mutex_t *m)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(cond_wait)(cv, m);
	ENTER(t, __builtin_return_address(0));
	return stp__auto_answer(t, stp__core_cond_hook.wait(cv, m, 0, 0, t->site, 0));
}

STP_EXPORT int pthread_cond_timedwait(pthread_cond_t *cv, pthread_mutex_t *m,
				      const struct timespec *at)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(cond_timedwait)(cv, m, at);
	if (at->tv_nsec < 0 || at->tv_nsec >= 1000000000)
		return EINVAL;
	ENTER(t, __builtin_return_address(0));
	uint64_t ns = until(t->s, clock_of(cv), at);
	return stp__auto_answer(t, stp__core_cond_hook.wait(cv, m, ns, 1, t->site, 0));
}

static void *real_cond_clockwait, *real_mutex_clocklock;

/* pthread_cond_timedwait on a clock of the caller's choice (glibc 2.30;
 * what C++'s condition_variable::wait_for calls). */
STP_EXPORT int pthread_cond_clockwait(pthread_cond_t *cv, pthread_mutex_t *m, clockid_t clk,
				      const struct timespec *at)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return ((int (*)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
				 const struct timespec *))stp__auto_libc(&real_cond_clockwait,
									 "pthread_cond_clockwait"))(
			cv, m, clk, at);
	if (at->tv_nsec < 0 || at->tv_nsec >= 1000000000 ||
	    (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC))
		return EINVAL;
	ENTER(t, __builtin_return_address(0));
	uint64_t ns = until(t->s, clk, at);
	return stp__auto_answer(t, stp__core_cond_hook.wait(cv, m, ns, 1, t->site, 0));
}

/* A clock lock is a lock to the model, as a timed one is (README). */
STP_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk,
				       const struct timespec *at)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return ((int (*)(pthread_mutex_t *, clockid_t, const struct timespec *))
				stp__auto_libc(&real_mutex_clocklock, "pthread_mutex_clocklock"))(
			m, clk, at);
	if (at->tv_nsec < 0 || at->tv_nsec >= 1000000000 ||
	    (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC))
		return EINVAL;
	ENTER(t, __builtin_return_address(0));
	return stp__auto_answer(t, stp__mutex_lock(m, kind_of(m), t->site, 0));
}

static int wake(pthread_cond_t *cv, int all, const void *pc)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return all ? REAL(cond_broadcast)(cv) : REAL(cond_signal)(cv);
	ENTER(t, pc);
	stp__core_cond_hook.wake(cv, all, t->site, 0);
	return stp__auto_answer(t, 0);
}

STP_EXPORT int pthread_cond_signal(pthread_cond_t *cv)
{
	return wake(cv, 0, __builtin_return_address(0));
}

STP_EXPORT int pthread_cond_broadcast(pthread_cond_t *cv)
{
	return wake(cv, 1, __builtin_return_address(0));
}

/* ------------------------------------------------------------------ */
/* Yields, sleeps and the clock                                        */
/* ------------------------------------------------------------------ */

/* Virtual time moves only when every thread is blocked, so a thread that
 * waits by polling the clock would never see it move: a yield after a
 * read of the clock passes POLL_NS of virtual time, and so do every
 * POLL_READS reads without a point (a yield point there: a busy poll is a
 * spin). The amounts depend on the schedule only. */
#define POLL_NS 1000000u /* 1 ms */
#define POLL_READS 1000u

static int polled_yield(struct stp__thread *t, const void *pc)
{
	int polled = clock_reads > 0;
	ENTER(t, pc);
	if (polled)
		stp__vtime_pass(t->s, POLL_NS);
	return stp__auto_answer(t, stp__yield(t));
}

STP_EXPORT int sched_yield(void)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(sched_yield)();
	return polled_yield(t, __builtin_return_address(0));
}

/* A read of the virtual clock on a controlled thread. */
static void clock_read(struct stp__thread *t, const void *pc)
{
	if (++clock_reads >= POLL_READS)
		polled_yield(t, pc);
}

static int vsleep(struct stp__thread *t, uint64_t ns, const void *pc)
{
	ENTER(t, pc);
	return stp__auto_answer(t, stp__vsleep(t, ns));
}

STP_EXPORT unsigned sleep(unsigned sec)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(sleep)(sec);
	vsleep(t, (uint64_t)sec * 1000000000u, __builtin_return_address(0));
	return 0;
}

STP_EXPORT int usleep(useconds_t us)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(usleep)(us);
	vsleep(t, (uint64_t)us * 1000u, __builtin_return_address(0));
	return 0;
}

static int valid_ts(const struct timespec *ts)
{
	return ts && ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

STP_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(nanosleep)(req, rem);
	if (!valid_ts(req)) {
		errno = EINVAL;
		return -1;
	}
	vsleep(t, ns_of(req), __builtin_return_address(0));
	return 0;
}

static int virtual_clock(clockid_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC || clk == CLOCK_MONOTONIC_RAW ||
	       clk == CLOCK_REALTIME_COARSE || clk == CLOCK_MONOTONIC_COARSE ||
	       clk == CLOCK_BOOTTIME;
}

/* The clocks a sleep may be on (glibc refuses the others: the real call
 * says so). */
static int sleep_clock(clockid_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC || clk == CLOCK_BOOTTIME;
}

STP_EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
			       struct timespec *rem)
{
	struct stp__thread *t = stp__auto_self();
	if (!t || !sleep_clock(clk))
		return REAL(clock_nanosleep)(clk, flags, req, rem);
	if (!valid_ts(req))
		return EINVAL;
	const void *pc = __builtin_return_address(0);
	uint64_t ns = flags & TIMER_ABSTIME ? until(t->s, clk, req) : ns_of(req);
	vsleep(t, ns, pc);
	return 0;
}

uint64_t stp__auto_vclock(const stp_stepper *s, clockid_t clk)
{
	static const uint64_t realtime_epoch = 1577836800ull * 1000000000u; /* 2020-01-01 */
	static const uint64_t monotonic_epoch = 1000ull * 1000000000u;
	int real = clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE;
	uint64_t epoch = real ? realtime_epoch : monotonic_epoch;
	return s->vnow > UINT64_MAX - epoch ? UINT64_MAX : epoch + s->vnow;
}

STP_EXPORT int clock_gettime(clockid_t clk, struct timespec *ts)
{
	struct stp__thread *t = stp__auto_self();
	if (!t || !virtual_clock(clk))
		return REAL(clock_gettime)(clk, ts);
	clock_read(t, __builtin_return_address(0));
	uint64_t ns = stp__auto_vclock(t->s, clk);
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
	return 0;
}

STP_EXPORT int gettimeofday(struct timeval *tv, void *tz)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(gettimeofday)(tv, tz);
	clock_read(t, __builtin_return_address(0));
	uint64_t ns = stp__auto_vclock(t->s, CLOCK_REALTIME);
	tv->tv_sec = (time_t)(ns / 1000000000u);
	tv->tv_usec = (suseconds_t)(ns % 1000000000u / 1000u);
	return 0;
}

STP_EXPORT time_t time(time_t *out)
{
	struct stp__thread *t = stp__auto_self();
	if (!t)
		return REAL(time)(out);
	clock_read(t, __builtin_return_address(0));
	time_t now = (time_t)(stp__auto_vclock(t->s, CLOCK_REALTIME) / 1000000000u);
	if (out)
		*out = now;
	return now;
}

/* ------------------------------------------------------------------ */
/* The end                                                             */
/* ------------------------------------------------------------------ */

/* A thread made with clone() rather than pthread_create would run beside
 * the controlled ones, outside the run (it keeps no turn, and its pthread
 * calls go to the real functions): the run ends, "cannot control" (exit
 * 90). A clone that makes a process, without CLONE_VM, or a vfork-style
 * child (CLONE_VM | CLONE_VFORK: its parent waits until it execs or
 * ends), goes to the real clone and runs uncontrolled, as a fork does.
 * (glibc's own pthread_create calls the system call, not this.) */
STP_EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	pid_t *ptid = NULL, *ctid = NULL;
	void *tls = NULL;
	va_list ap;
	va_start(ap, arg);
	if (flags & (CLONE_PARENT_SETTID | CLONE_SETTLS | CLONE_CHILD_SETTID |
		     CLONE_CHILD_CLEARTID)) { /* (positional: each before the next) */
		ptid = va_arg(ap, pid_t *);
		tls = va_arg(ap, void *);
		ctid = va_arg(ap, pid_t *);
	}
	va_end(ap);
	struct stp__thread *t = stp__auto_self();
	if (t && (flags & CLONE_VM) && !(flags & CLONE_VFORK)) {
		ENTER(t, __builtin_return_address(0));
		stp__error(t->s, STP__OUT_FAIL,
			   "cannot control a thread made with clone() at %s: [%s] made it; the "
			   "stepper controls the threads of pthread_create and thrd_create only",
			   t->site, t->name);
		stp__abort(t->s); /* the run ends here (start.c's aborting hook) */
		LEAVE();
		errno = EAGAIN;
		return -1;
	}
	return REAL(clone)(fn, stack, flags, arg, ptid, tls, ctid);
}

STP_EXPORT void exit(int status)
{
	struct stp__thread *t = stp__auto_self();
	if (t) {
		stp__auto_site(t, __builtin_return_address(0));
		stp__auto_exit(t, status);
	}
	REAL(exit)(status);
}
