/*
 * handoff.c - spin-then-futex binary semaphore (Linux).
 */
#include "handoff.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How long a waiter spins before it sleeps. A hand-off between two running
 * threads takes well under a microsecond; this covers it with room, and is
 * short enough that a waiter whose turn is far away costs little. */
#define SPIN_LIMIT 4000

static int spin_limit(void)
{
	static atomic_int limit = -1;
	int l = atomic_load_explicit(&limit, memory_order_relaxed);
	if (l < 0) {
		/* On one core spinning only delays the thread we wait for. */
		l = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? SPIN_LIMIT : 0;
		atomic_store_explicit(&limit, l, memory_order_relaxed);
	}
	return l;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

_Noreturn void stp__panic(const char *what, int err)
{
	fprintf(stderr, "stepper: internal error: %s: %s\n", what, strerror(err));
	abort();
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

void stp__sem_post(stp__sem *s)
{
	if (atomic_exchange_explicit(&s->word, 1, memory_order_acq_rel) == 2)
		futex(&s->word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static int try_take(stp__sem *s)
{
	uint32_t one = 1;
	return atomic_compare_exchange_strong_explicit(
		&s->word, &one, 0, memory_order_acquire, memory_order_relaxed);
}

/* Returns 0 when taken, -1 on the deadline (deadline 0: none). */
static int wait_common(stp__sem *s, uint64_t deadline_ns)
{
	int limit = spin_limit();
	for (int i = 0; i < limit; i++) {
		if (atomic_load_explicit(&s->word, memory_order_relaxed) == 1 &&
		    try_take(s))
			return 0;
		cpu_relax();
	}
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
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		uint64_t n = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
		if (n >= deadline_ns) {
			/* Leave the word as we found it for the next waiter. */
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

void stp__sem_wait(stp__sem *s)
{
	(void)wait_common(s, 0);
}

int stp__sem_wait_until(stp__sem *s, uint64_t deadline_ns)
{
	return wait_common(s, deadline_ns ? deadline_ns : 1);
}
