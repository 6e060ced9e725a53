/*
 * fibers.c - a run whose controlled threads are fibers (stp_set_fibers).
 *
 * One pool worker, the host, makes a fiber per thread and switches to
 * whichever fiber's semaphore was posted: the turnstile and the decider
 * are the same as with OS threads, and so are the schedules. A fiber
 * that waits for its turn (stp__fibers_park) switches straight to the
 * fiber granted last, else back to the host; the host finds a posted
 * fiber, or sleeps until a post from another OS thread (the watcher's
 * abort) wakes it, and ends when every thread has ended. The stepper's own
 * thread-locals (the current thread, the condition hook) are kept by each
 * fiber across its switches; errno by the switch itself.
 */
#include "stepper_int.h"
#include "condhook.h"
#include "fiber.h"

#include <stdlib.h>

/* Each fiber's stack: as large as an OS thread's by default (8 MiB),
 * mapped lazily, so only what a thread uses costs. */
#define FIBER_STACK ((size_t)8 << 20)

int stp__fibers_usable(const stp_stepper *s)
{
	return s->opt.mode == STP_SERIAL && !s->opt.clock && !s->dynamic;
}

int stp_set_fibers(stp_stepper *s, int on)
{
	if (!s)
		return STP_EINVAL;
	if (s->phase != STP__NEW)
		return STP_ESTATE;
	if (on && !stp__fibers_usable(s))
		return STP_EINVAL;
	s->fibers = on != 0;
	return 0;
}

/* The run whose host this OS thread is (its fibers share it). */
static _Thread_local stp_stepper *hosting;

void stp__fibers_woke(stp_stepper *s, struct stp__thread *t)
{
	atomic_store_explicit(&s->fiber_next, t, memory_order_release);
	/* a fiber's grant comes from the host's own OS thread, which is not
	 * waiting then; only another thread's post (an abort) must wake it */
	if (hosting != s)
		stp__sem_post(&s->fiber_wake);
}

static int posted(const struct stp__thread *t)
{
	return atomic_load_explicit(&((struct stp__thread *)t)->sem.word,
				    memory_order_acquire) == 1 &&
	       !stp__fiber_done(t->fiber);
}

/* A fiber other than self whose semaphore is posted, the last granted
 * first; NULL when there is none. */
static struct stp__thread *ready(stp_stepper *s, const struct stp__thread *self)
{
	/* (a hint: left in place, and checked like any other) */
	struct stp__thread *t = atomic_load_explicit(&s->fiber_next, memory_order_acquire);
	if (t && t != self && posted(t))
		return t;
	for (int i = 0; i < s->nthreads; i++) {
		t = s->threads[i];
		if (t != self && posted(t))
			return t;
	}
	return NULL;
}

void stp__fibers_park(stp_stepper *s, struct stp__thread *t)
{
	if (stp__sem_trytake(&t->sem))
		return;
	struct stp__thread *next = ready(s, t);
	struct stp__thread *self = stp_self_;
	const stp__cond_hook *hook = stp__cond_self;
	stp__fiber_switch(t->fiber, next ? next->fiber : s->fiber_host);
	stp_self_ = self;
	stp__cond_self = hook;
	/* it runs because it was posted: that post is taken */
	(void)stp__sem_trytake(&t->sem);
}

/* The threads never started: each ends at once, as a thread whose start
 * failed does (spawn.c), and the run is over. */
static void never_started(stp_stepper *s)
{
	for (int i = 0; i < s->nthreads; i++) {
		struct stp__thread *t = s->threads[i];
		atomic_store(&t->ended, 1);
		atomic_store(&t->state, STP__T_ENDED);
		if (atomic_fetch_add(&s->nended, 1) + 1 == s->nthreads)
			stp__sem_post(&s->done);
		stp__unref(s);
	}
}

struct host {
	stp_stepper *s;
	void (*thread_main)(void *);
};

static int all_ended(stp_stepper *s)
{
	for (int i = 0; i < s->nthreads; i++)
		if (!stp__fiber_done(s->threads[i]->fiber))
			return 0;
	return 1;
}

/* Make the fibers; on failure the threads never start and end at once. */
static int make_fibers(stp_stepper *s, void (*thread_main)(void *))
{
	for (int i = 0; i < s->nthreads; i++) {
		struct stp__thread *t = s->threads[i];
		t->fiber = stp__fiber_new(FIBER_STACK, thread_main, t, s->fiber_host);
		if (!t->fiber)
			return -1;
	}
	return 0;
}

static void free_fibers(stp_stepper *s)
{
	for (int i = 0; i < s->nthreads; i++) {
		stp__fiber_free(s->threads[i]->fiber);
		s->threads[i]->fiber = NULL;
	}
	stp__fiber_free(s->fiber_host);
	s->fiber_host = NULL;
}

static void host_main(void *p)
{
	struct host *h = p;
	stp_stepper *s = h->s;
	void (*thread_main)(void *) = h->thread_main;
	free(h);
	hosting = s;
	s->fiber_host = stp__fiber_host();
	if (!s->fiber_host || make_fibers(s, thread_main) < 0) {
		stp__error(s, STP__OUT_FAIL, "out of memory making the fibers of %d threads",
			   s->nthreads);
		free_fibers(s);
		hosting = NULL;
		stp__abort(s);
		never_started(s);
		stp__unref(s);
		return;
	}
	/* the first prefix runs first, as with OS threads */
	stp__fiber_switch(s->fiber_host, s->threads[0]->fiber);
	while (!all_ended(s)) {
		struct stp__thread *t = ready(s, NULL);
		if (t)
			stp__fiber_switch(s->fiber_host, t->fiber);
		else
			stp__sem_wait(&s->fiber_wake, STP__WARM);
	}
	stp_self_ = NULL;
	stp__cond_self = NULL;
	hosting = NULL;
	free_fibers(s);
	stp__unref(s); /* the host's reference: the run may be freed now */
}

void stp__fibers_start(stp_stepper *s, stp__worker *w, void (*thread_main)(void *))
{
	struct host *h = malloc(sizeof *h);
	if (!h) {
		stp__error(s, STP__OUT_FAIL, "out of memory starting the fibers' host");
		stp__abort(s);
		stp__pool_put_unused(w);
		never_started(s);
		return;
	}
	*h = (struct host){ s, thread_main };
	atomic_fetch_add(&s->refs, 1);
	stp__pool_start(w, host_main, h);
}
