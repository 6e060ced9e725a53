/*
 * waits.c - the calls code under test makes: now, sleep, timers,
 * condition waits. Virtual on a member of a clock (or inside a virtual
 * timer's callback), real everywhere else.
 */
#include "clock_int.h"
#include "condhook.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The clock the calling thread sees, or NULL for real time. */
static stp_clock *current(void)
{
	if (stp__member_self)
		return stp__member_self->c;
	return stp__callback_clock;
}

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * STP_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t stp_now_ns(void)
{
	stp_clock *c = current();
	return c ? atomic_load(&c->now) : real_ns();
}

int stp_sleep_ns(uint64_t ns)
{
	if (stp__cond_self) {
		int rc = stp__cond_self->sleep(ns);
		if (rc != STP__COND_PASS)
			return rc;
	}
	stp__member *m = stp__member_self;
	if (!m) {
		struct timespec ts = { .tv_sec = (time_t)(ns / STP_NS_PER_SEC),
				       .tv_nsec = (long)(ns % STP_NS_PER_SEC) };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		return 0;
	}
	stp_clock *c = m->c;
	struct stp_timer e = { .is_virtual = 1, .c = c, .kind = STP__TK_SLEEP,
			       .waiter = m };
	stp__lock(&c->mu);
	if (c->deadlocked) {
		stp__unlock(&c->mu);
		return STP_EDEADLOCK;
	}
	uint64_t now = atomic_load(&c->now);
	e.deadline = now + ns < now ? UINT64_MAX : now + ns;
	if (stp__clock_push(c, &e) < 0) {
		stp__unlock(&c->mu);
		return STP_ENOMEM;
	}
	atomic_store_explicit(&m->fired, 0, memory_order_relaxed);
	stp__clock_block_sleep_locked(m, e.deadline);
	/* the fire posts m->sem; with more members than CPUs, waiting
	 * members give their cores away */
	enum stp__heat heat = c->nmembers <= stp__ncpu() ? STP__HOT : STP__COLD;
	stp__unlock(&c->mu);
	for (;;) {
		stp__sem_wait(&m->sem, heat);
		/* The fire took the entry off the heap and marked this member
		 * running before it posted: nothing is left to do under the
		 * clock's lock, which the advancing thread still holds. */
		if (atomic_load_explicit(&m->fired, memory_order_acquire))
			return 0;
		stp__lock(&c->mu);
		if (m->fired || c->deadlocked)
			break;
		stp__unlock(&c->mu);
	}
	stp__clock_unblock_locked(m);
	int rc = 0;
	if (!m->fired) {
		stp__clock_remove(c, &e);
		rc = STP_EDEADLOCK;
	}
	stp__unlock(&c->mu);
	return rc;
}

static int cond_wait_common(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t ns,
			    int timed, const char *file, int line)
{
	if (!cv || !mu)
		return STP_EINVAL;
	if (stp__cond_self) {
		int rc = stp__cond_self->wait(cv, mu, ns, timed, file, line);
		if (rc != STP__COND_PASS)
			return rc;
	}
	stp__member *m = stp__member_self;
	if (!m) {
		if (!timed)
			return pthread_cond_wait(cv, mu) ? STP_EINVAL : 0;
		uint64_t dl = real_ns() + ns;
		struct timespec ts = { .tv_sec = (time_t)(dl / STP_NS_PER_SEC),
				       .tv_nsec = (long)(dl % STP_NS_PER_SEC) };
		int e = pthread_cond_clockwait(cv, mu, CLOCK_MONOTONIC, &ts);
		return e == ETIMEDOUT ? STP_ETIMEDOUT : 0;
	}
	stp_clock *c = m->c;
	struct stp_timer e = { .is_virtual = 1, .c = c, .kind = STP__TK_COND,
			       .waiter = m };
	stp__lock(&c->mu);
	if (c->deadlocked) {
		stp__unlock(&c->mu);
		return STP_EDEADLOCK;
	}
	atomic_store_explicit(&m->fired, 0, memory_order_relaxed);
	m->wait_cv = cv;
	m->wait_mu = mu;
	if (timed) {
		uint64_t now = atomic_load(&c->now);
		e.deadline = now + ns < now ? UINT64_MAX : now + ns;
		if (stp__clock_push(c, &e) < 0) {
			m->wait_cv = NULL;
			stp__unlock(&c->mu);
			return STP_ENOMEM;
		}
		char when[48];
		stp__clock_seconds_text(when, sizeof when, e.deadline);
		stp__clock_block_locked(m, "a condition, until %s", when);
	} else {
		stp__clock_block_locked(m, "a condition, with no deadline");
	}
	stp__unlock(&c->mu);
	/* mu is held from the caller until this wait releases it: a wake-up
	 * (stp_cond_signal with mu held, or the clock's, which takes mu)
	 * cannot fall in between. */
	pthread_cond_wait(cv, mu);
	stp__lock(&c->mu);
	stp__clock_unblock_locked(m);
	int rc = 0;
	if (timed && m->fired)
		rc = STP_ETIMEDOUT;
	else if (timed)
		stp__clock_remove(c, &e);
	if (!m->fired && c->deadlocked)
		rc = STP_EDEADLOCK;
	m->wait_cv = NULL;
	m->wait_mu = NULL;
	stp__unlock(&c->mu);
	return rc;
}

#undef stp_cond_timedwait_ns
#undef stp_cond_wait
#undef stp_cond_signal
#undef stp_cond_broadcast

int stp_cond_timedwait_ns_at_(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t ns,
			      const char *file, int line)
{
	return cond_wait_common(cv, mu, ns, 1, file, line);
}

int stp_cond_wait_at_(pthread_cond_t *cv, pthread_mutex_t *mu, const char *file,
		      int line)
{
	return cond_wait_common(cv, mu, 0, 0, file, line);
}

int stp_cond_timedwait_ns(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t ns)
{
	return cond_wait_common(cv, mu, ns, 1, "?", 0);
}

int stp_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu)
{
	return cond_wait_common(cv, mu, 0, 0, "?", 0);
}

static void wake_common(pthread_cond_t *cv, int all, const char *file, int line)
{
	if (!cv)
		return;
	if (stp__cond_self && stp__cond_self->wake(cv, all, file, line) != STP__COND_PASS)
		return;
	stp__clock_waking(cv);
	pthread_cond_broadcast(cv);
}

void stp_cond_signal_at_(pthread_cond_t *cv, const char *file, int line)
{
	wake_common(cv, 0, file, line);
}

void stp_cond_broadcast_at_(pthread_cond_t *cv, const char *file, int line)
{
	wake_common(cv, 1, file, line);
}

void stp_cond_signal(pthread_cond_t *cv)
{
	wake_common(cv, 0, "?", 0);
}

void stp_cond_broadcast(pthread_cond_t *cv)
{
	wake_common(cv, 1, "?", 0);
}

/* ------------------------------------------------------------------ */
/* Timers                                                              */
/* ------------------------------------------------------------------ */

stp_timer *stp_timer_start(uint64_t ns, void (*cb)(void *), void *arg)
{
	if (!cb)
		return NULL;
	struct stp_timer *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->kind = STP__TK_TIMER;
	t->cb = cb;
	t->arg = arg;
	t->state = STP__TS_PENDING;
	stp_clock *c = current();
	if (!c) {
		if (stp__realtimer_start(t, ns) < 0) {
			free(t);
			return NULL;
		}
		return t;
	}
	t->is_virtual = 1;
	t->c = c;
	stp__lock(&c->mu);
	uint64_t now = atomic_load(&c->now);
	t->deadline = now + ns;
	if (now + ns < now || stp__clock_push(c, t) < 0) {
		stp__unlock(&c->mu);
		free(t);
		return NULL;
	}
	t->all_next = c->all;
	c->all = t;
	stp__unlock(&c->mu);
	return t;
}

int stp_timer_cancel(stp_timer *t)
{
	if (!t)
		return STP_EINVAL;
	if (!t->is_virtual)
		return stp__realtimer_cancel(t);
	stp_clock *c = t->c;
	stp__lock(&c->mu);
	int rc = STP_ENOENT;
	if (t->state == STP__TS_PENDING) {
		stp__clock_remove(c, t);
		t->state = STP__TS_CANCELLED;
		rc = 0;
	}
	stp__unlock(&c->mu);
	return rc;
}

void stp_timer_free(stp_timer *t)
{
	if (!t)
		return;
	stp_timer_cancel(t);
	if (!t->is_virtual) {
		free(t);
		return;
	}
	/* a virtual handle is on its clock's list; the clock frees it */
	stp__lock(&t->c->mu);
	t->freed_by_user = 1;
	stp__unlock(&t->c->mu);
}
