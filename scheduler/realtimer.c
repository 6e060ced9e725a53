/*
 * realtimer.c - timers started on threads that no clock controls: one
 * process-wide thread runs their callbacks at their real deadlines
 * (CLOCK_MONOTONIC). It sleeps on a condition until the earliest deadline
 * or a new timer; nothing polls.
 */
#include "clock_int.h"

#include <errno.h>
#include <time.h>

/* A clock used only for its heap, mutex and (monotonic) condition. */
static stp_clock *rt;
static pthread_once_t rt_once = PTHREAD_ONCE_INIT;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * STP_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void *rt_main(void *p)
{
	(void)p;
	pthread_mutex_lock(&rt->mu);
	for (;;) {
		if (rt->nheap == 0) {
			pthread_cond_wait(&rt->idle_cv, &rt->mu);
			continue;
		}
		struct stp_timer *t = rt->heap[0];
		uint64_t now = mono_ns();
		if (t->deadline > now) {
			struct timespec ts = { .tv_sec = (time_t)(t->deadline / STP_NS_PER_SEC),
					       .tv_nsec = (long)(t->deadline % STP_NS_PER_SEC) };
			pthread_cond_timedwait(&rt->idle_cv, &rt->mu, &ts);
			continue;
		}
		stp__clock_remove(rt, t);
		t->state = STP__TS_FIRED;
		pthread_mutex_unlock(&rt->mu);
		t->cb(t->arg);
		pthread_mutex_lock(&rt->mu);
	}
	return NULL;
}

static int rt_started;

static void rt_init(void)
{
	rt = stp_clock_new(0);
	if (!rt)
		return;
	pthread_t tid;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	rt_started = pthread_create(&tid, &a, rt_main, NULL) == 0;
	pthread_attr_destroy(&a);
}

int stp__realtimer_start(struct stp_timer *t, uint64_t ns)
{
	pthread_once(&rt_once, rt_init);
	if (!rt || !rt_started)
		return STP_ETHREAD;
	uint64_t now = mono_ns();
	t->deadline = now + ns < now ? UINT64_MAX : now + ns;
	pthread_mutex_lock(&rt->mu);
	int rc = stp__clock_push(rt, t);
	pthread_cond_signal(&rt->idle_cv);
	pthread_mutex_unlock(&rt->mu);
	return rc;
}

int stp__realtimer_cancel(struct stp_timer *t)
{
	if (!rt)
		return STP_ENOENT;
	pthread_mutex_lock(&rt->mu);
	int rc = STP_ENOENT;
	if (t->state == STP__TS_PENDING) {
		stp__clock_remove(rt, t);
		t->state = STP__TS_CANCELLED;
		rc = 0;
	}
	pthread_mutex_unlock(&rt->mu);
	return rc;
}
