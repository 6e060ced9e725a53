/*
 * handoff.c - spin-then-futex binary semaphore (Linux).
 */
#include "handoff.h"
#include "condhook.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A hand-off between two running threads takes well under a microsecond;
 * HOT_SPINS pause instructions (tens of nanoseconds each, some 10 us in
 * all) cover it and a short segment of code between two steps. YIELD_NS
 * bounds how long a warm waiter keeps giving its core away before it
 * sleeps: long enough to span the gap between two runs of a seed loop,
 * short enough to cost nothing in a long wait. */
#define HOT_SPINS 4000
#define YIELD_NS 100000u

static atomic_int forced_ncpu;

void stp__ncpu_set(int n)
{
	atomic_store_explicit(&forced_ncpu, n, memory_order_relaxed);
}

int stp__ncpu(void)
{
	int f = atomic_load_explicit(&forced_ncpu, memory_order_relaxed);
	if (f > 0)
		return f;
	static atomic_int n;
	int v = atomic_load_explicit(&n, memory_order_relaxed);
	if (v == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		v = c > 0 ? (int)c : 1;
		atomic_store_explicit(&n, v, memory_order_relaxed);
	}
	return v;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

_Noreturn void stp__panic(const char *what, int err)
{
	fprintf(stderr, "stepper: internal error: %s: %s\n", what, strerror(err));
	abort();
}

void stp__lock(pthread_mutex_t *m)
{
	int e = pthread_mutex_lock(m);
	if (e)
		stp__panic("pthread_mutex_lock", e);
}

void stp__unlock(pthread_mutex_t *m)
{
	int e = pthread_mutex_unlock(m);
	if (e)
		stp__panic("pthread_mutex_unlock", e);
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

void stp__sem_init(stp__sem *s)
{
	atomic_init(&s->word, 0);
}

void stp__sem_wake_sleeper(stp__sem *s)
{
	futex(&s->word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

int stp__sem_sleeping(stp__sem *s)
{
	return atomic_load_explicit(&s->word, memory_order_relaxed) == 2;
}

static int try_take(stp__sem *s)
{
	uint32_t one = 1;
	return atomic_compare_exchange_strong_explicit(
		&s->word, &one, 0, memory_order_acquire, memory_order_relaxed);
}

static int posted(stp__sem *s)
{
	return atomic_load_explicit(&s->word, memory_order_relaxed) == 1 &&
	       try_take(s);
}

/* Spin as the heat allows. Returns 1 when taken, 0 to go to sleep. */
static int spin(stp__sem *s, enum stp__heat heat, uint64_t deadline_ns)
{
	if (heat == STP__COLD || stp__ncpu() == 1)
		return posted(s);
	if (heat == STP__HOT) {
		/* A hot waiter that spun this long without a post most likely
		 * shares its core with the thread it waits for; yielding would
		 * keep both runnable there (the scheduler does not move a busy,
		 * cache-hot thread), sleeping lets the wake-up place it on an
		 * idle core. */
		for (int i = 0; i < HOT_SPINS; i++) {
			if (posted(s))
				return 1;
			cpu_relax();
		}
		return 0;
	}
	uint64_t until = mono_ns() + YIELD_NS;
	if (deadline_ns && deadline_ns < until)
		until = deadline_ns;
	for (unsigned i = 0;; i++) {
		if (posted(s))
			return 1;
		sched_yield();
		if ((i & 15) == 15 && mono_ns() >= until)
			return posted(s);
	}
}

int stp__sem_trytake(stp__sem *s)
{
	return posted(s);
}

int stp__spin_while(_Atomic uint32_t *w, uint32_t v)
{
	if (stp__ncpu() == 1)
		return 0;
	for (int i = 0; i < HOT_SPINS; i++) {
		if (atomic_load_explicit(w, memory_order_acquire) != v)
			return 1;
		cpu_relax();
	}
	return atomic_load_explicit(w, memory_order_acquire) != v;
}

/* Returns 0 when taken, -1 on the deadline (deadline 0: none). */
static int wait_common(stp__sem *s, uint64_t deadline_ns, enum stp__heat heat)
{
	if (spin(s, heat, deadline_ns))
		return 0;
	for (;;) {
		uint32_t v = atomic_load_explicit(&s->word, memory_order_relaxed);
		if (v == 1) {
			if (try_take(s))
				return 0;
			continue;
		}
		if (v == 0 &&
		    !atomic_compare_exchange_strong_explicit(
			    &s->word, &v, 2, memory_order_relaxed,
			    memory_order_relaxed))
			continue;
		if (deadline_ns == 0) {
			futex(&s->word, FUTEX_WAIT_PRIVATE, 2, NULL);
			continue;
		}
		uint64_t n = mono_ns();
		if (n >= deadline_ns) {
			/* Leave the word as an empty semaphore. */
			uint32_t two = 2;
			atomic_compare_exchange_strong_explicit(
				&s->word, &two, 0, memory_order_relaxed,
				memory_order_relaxed);
			return try_take(s) ? 0 : -1;
		}
		uint64_t left = deadline_ns - n;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000000000u),
				       .tv_nsec = (long)(left % 1000000000u) };
		futex(&s->word, FUTEX_WAIT_PRIVATE, 2, &ts);
	}
}

void stp__sem_wait(stp__sem *s, enum stp__heat heat)
{
	(void)wait_common(s, 0, heat);
}


int stp__sem_wait_until(stp__sem *s, uint64_t deadline_ns, enum stp__heat heat)
{
	return wait_common(s, deadline_ns ? deadline_ns : 1, heat);
}

_Thread_local const stp__cond_hook *stp__cond_self;
