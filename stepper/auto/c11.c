/*
 * c11.c - C11 <threads.h> as points: thrd_*, mtx_*, cnd_*.
 *
 * glibc implements them over its pthread internals, not through the
 * pthread symbols this layer defines, so they are defined here too, each
 * as the same core call as its pthread twin. glibc's mtx_t and cnd_t have
 * the layout of pthread_mutex_t and pthread_cond_t (mtx_init sets the
 * same kinds), and thrd_t is a pthread_t. On a thread out of control each
 * goes to libc's own, found on first use.
 */
#include "auto_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <threads.h>

#define STP_EXPORT __attribute__((visibility("default")))

/* libc's function name, found once (a missing one is a panic: glibc has
 * had them all since 2.28). */
static void *libc_fn(void **slot, const char *name)
{
	void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!f) {
		f = dlsym(RTLD_NEXT, name);
		if (!f)
			stp__panic("libstepper-auto: no libc function for a C11 thread call", 0);
		__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	}
	return f;
}
#define LIBC(type, name) ((type)libc_fn(&real_##name, #name))

static void *real_thrd_create, *real_thrd_join, *real_thrd_detach, *real_thrd_yield,
	*real_thrd_sleep, *real_mtx_lock, *real_mtx_trylock, *real_mtx_timedlock,
	*real_mtx_unlock, *real_cnd_wait, *real_cnd_timedwait, *real_cnd_signal,
	*real_cnd_broadcast;

/* The twin's answer, its point's site being the C11 call's caller. */
#define TWIN(call) (stp__auto_caller = __builtin_return_address(0), twin_done(call))

static int twin_done(int e)
{
	stp__auto_caller = NULL;
	return e;
}

/* A pthread answer as a thrd_ one. */
static int thrd_of(int e)
{
	switch (e) {
	case 0:
		return thrd_success;
	case EBUSY:
		return thrd_busy;
	case ETIMEDOUT:
		return thrd_timedout;
	case ENOMEM:
	case EAGAIN:
		return thrd_nomem;
	default:
		return thrd_error;
	}
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

struct c11_start {
	thrd_start_t fn;
	void *arg;
};

static void *c11_body(void *p)
{
	struct c11_start st = *(struct c11_start *)p;
	free(p);
	return (void *)(intptr_t)st.fn(st.arg);
}

STP_EXPORT int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg)
{
	if (!stp__auto_self())
		return LIBC(int (*)(thrd_t *, thrd_start_t, void *), thrd_create)(thr, fn, arg);
	struct c11_start *st = malloc(sizeof *st);
	if (!st)
		return thrd_nomem;
	*st = (struct c11_start){ fn, arg };
	pthread_t id;
	int e = TWIN(pthread_create(&id, NULL, c11_body, st));
	if (e) {
		free(st);
		return thrd_of(e);
	}
	*thr = (thrd_t)id;
	return thrd_success;
}

STP_EXPORT int thrd_join(thrd_t thr, int *res)
{
	if (!stp__auto_self())
		return LIBC(int (*)(thrd_t, int *), thrd_join)(thr, res);
	void *ret = NULL;
	int e = TWIN(pthread_join((pthread_t)thr, &ret));
	if (e == 0 && res)
		*res = (int)(intptr_t)ret;
	return thrd_of(e);
}

STP_EXPORT int thrd_detach(thrd_t thr)
{
	if (!stp__auto_self())
		return LIBC(int (*)(thrd_t), thrd_detach)(thr);
	return thrd_of(TWIN(pthread_detach((pthread_t)thr)));
}

/* glibc's thrd_exit calls its internal pthread exit, past ours: the end
 * of the thread would not reach the core. */
STP_EXPORT _Noreturn void thrd_exit(int res)
{
	pthread_exit((void *)(intptr_t)res);
}

STP_EXPORT void thrd_yield(void)
{
	if (!stp__auto_self()) {
		LIBC(void (*)(void), thrd_yield)();
		return;
	}
	TWIN(sched_yield());
}

STP_EXPORT int thrd_sleep(const struct timespec *d, struct timespec *rem)
{
	if (!stp__auto_self())
		return LIBC(int (*)(const struct timespec *, struct timespec *), thrd_sleep)(d,
											rem);
	return TWIN(nanosleep(d, rem)) == 0 ? 0 : -2;
}

/* glibc's call_once is its internal once, past pthread_once: the twin
 * (once_flag is a pthread_once_t there). */
STP_EXPORT void call_once(once_flag *flag, void (*fn)(void))
{
	static void *real_call_once;
	if (!stp__auto_self()) {
		LIBC(void (*)(once_flag *, void (*)(void)), call_once)(flag, fn);
		return;
	}
	TWIN(pthread_once((pthread_once_t *)flag, fn));
}

/* ------------------------------------------------------------------ */
/* Mutexes and conditions                                              */
/* ------------------------------------------------------------------ */

STP_EXPORT int mtx_lock(mtx_t *m)
{
	if (!stp__auto_self())
		return LIBC(int (*)(mtx_t *), mtx_lock)(m);
	return thrd_of(TWIN(pthread_mutex_lock((pthread_mutex_t *)m)));
}

STP_EXPORT int mtx_trylock(mtx_t *m)
{
	if (!stp__auto_self())
		return LIBC(int (*)(mtx_t *), mtx_trylock)(m);
	return thrd_of(TWIN(pthread_mutex_trylock((pthread_mutex_t *)m)));
}

STP_EXPORT int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict at)
{
	if (!stp__auto_self())
		return LIBC(int (*)(mtx_t *, const struct timespec *), mtx_timedlock)(m, at);
	return thrd_of(TWIN(pthread_mutex_timedlock((pthread_mutex_t *)m, at)));
}

STP_EXPORT int mtx_unlock(mtx_t *m)
{
	if (!stp__auto_self())
		return LIBC(int (*)(mtx_t *), mtx_unlock)(m);
	return thrd_of(TWIN(pthread_mutex_unlock((pthread_mutex_t *)m)));
}

STP_EXPORT int cnd_wait(cnd_t *cv, mtx_t *m)
{
	if (!stp__auto_self())
		return LIBC(int (*)(cnd_t *, mtx_t *), cnd_wait)(cv, m);
	return thrd_of(TWIN(pthread_cond_wait((pthread_cond_t *)cv, (pthread_mutex_t *)m)));
}

STP_EXPORT int cnd_timedwait(cnd_t *restrict cv, mtx_t *restrict m,
			     const struct timespec *restrict at)
{
	if (!stp__auto_self())
		return LIBC(int (*)(cnd_t *, mtx_t *, const struct timespec *), cnd_timedwait)(
			cv, m, at);
	/* C11 timed waits are on TIME_UTC, the realtime clock */
	return thrd_of(TWIN(pthread_cond_timedwait((pthread_cond_t *)cv, (pthread_mutex_t *)m, at)));
}

STP_EXPORT int cnd_signal(cnd_t *cv)
{
	if (!stp__auto_self())
		return LIBC(int (*)(cnd_t *), cnd_signal)(cv);
	return thrd_of(TWIN(pthread_cond_signal((pthread_cond_t *)cv)));
}

STP_EXPORT int cnd_broadcast(cnd_t *cv)
{
	if (!stp__auto_self())
		return LIBC(int (*)(cnd_t *), cnd_broadcast)(cv);
	return thrd_of(TWIN(pthread_cond_broadcast((pthread_cond_t *)cv)));
}
