/*
 * real.c - the functions the layer stands in for, as libc has them.
 *
 * Resolved once, in the layer's first constructor, with dlsym(RTLD_NEXT):
 * the next definition after this library, libc's default version (for
 * pthread_cond_*, the GLIBC_2.3.2 one, which matches the condition layout
 * of every program built since 2002). An interposer called before that
 * (another library's constructor) resolves them itself.
 */
#include "auto_int.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct stp__real stp__real;

static void *need(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f) {
		char msg[160];
		int n = snprintf(msg, sizeof msg,
				 "libstepper-auto: cannot find the real %s: %s\n", name,
				 dlerror());
		if (n > 0)
			(void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg);
		_exit(90);
	}
	return f;
}

#define RESOLVE(field, name) *(void **)(&r.field) = need(name)

void stp__real_resolve(void)
{
	struct stp__real r;
	memset(&r, 0, sizeof r);
	RESOLVE(create, "pthread_create");
	RESOLVE(clone, "clone");
	RESOLVE(join, "pthread_join");
	RESOLVE(detach, "pthread_detach");
	RESOLVE(thread_exit, "pthread_exit");
	RESOLVE(mutex_lock, "pthread_mutex_lock");
	RESOLVE(mutex_trylock, "pthread_mutex_trylock");
	RESOLVE(mutex_timedlock, "pthread_mutex_timedlock");
	RESOLVE(mutex_unlock, "pthread_mutex_unlock");
	RESOLVE(cond_wait, "pthread_cond_wait");
	RESOLVE(cond_timedwait, "pthread_cond_timedwait");
	RESOLVE(cond_signal, "pthread_cond_signal");
	RESOLVE(cond_broadcast, "pthread_cond_broadcast");
	RESOLVE(sem_init, "sem_init");
	RESOLVE(sem_destroy, "sem_destroy");
	RESOLVE(sem_wait, "sem_wait");
	RESOLVE(sem_trywait, "sem_trywait");
	RESOLVE(sem_timedwait, "sem_timedwait");
	RESOLVE(sem_post, "sem_post");
	RESOLVE(sem_getvalue, "sem_getvalue");
	RESOLVE(rwlock_init, "pthread_rwlock_init");
	RESOLVE(rwlock_destroy, "pthread_rwlock_destroy");
	RESOLVE(rwlock_rdlock, "pthread_rwlock_rdlock");
	RESOLVE(rwlock_wrlock, "pthread_rwlock_wrlock");
	RESOLVE(rwlock_tryrdlock, "pthread_rwlock_tryrdlock");
	RESOLVE(rwlock_trywrlock, "pthread_rwlock_trywrlock");
	RESOLVE(rwlock_timedrdlock, "pthread_rwlock_timedrdlock");
	RESOLVE(rwlock_timedwrlock, "pthread_rwlock_timedwrlock");
	RESOLVE(rwlock_unlock, "pthread_rwlock_unlock");
	RESOLVE(barrier_init, "pthread_barrier_init");
	RESOLVE(barrier_destroy, "pthread_barrier_destroy");
	RESOLVE(barrier_wait, "pthread_barrier_wait");
	RESOLVE(once, "pthread_once");
	RESOLVE(sched_yield, "sched_yield");
	RESOLVE(sleep, "sleep");
	RESOLVE(usleep, "usleep");
	RESOLVE(nanosleep, "nanosleep");
	RESOLVE(clock_nanosleep, "clock_nanosleep");
	RESOLVE(clock_gettime, "clock_gettime");
	RESOLVE(gettimeofday, "gettimeofday");
	RESOLVE(time, "time");
	RESOLVE(exit, "exit");
	RESOLVE(assert_fail, "__assert_fail");
	RESOLVE(start_main, "__libc_start_main");
	/* one thread runs constructors: a plain copy is enough */
	stp__real = r;
}

__attribute__((constructor(101))) static void resolve_first(void)
{
	stp__real_resolve();
}

void *stp__auto_libc(void **slot, const char *name)
{
	void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!f) {
		f = need(name);
		__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	}
	return f;
}
