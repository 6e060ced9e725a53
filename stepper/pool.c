/*
 * pool.c - OS threads reused across runs.
 *
 * Creating and joining two threads costs tens of microseconds, more than a
 * whole 2x3 schedule; a loop over 10,000 seeds would spend its time there.
 * So a controlled thread runs on a pooled worker that, after its job, goes
 * back to the idle list and waits on its own semaphore for the next one.
 * The pool is process-wide like malloc: steppers take workers from it and
 * share no state through it. Workers are detached; idle ones beyond
 * POOL_MAX_IDLE (enough for the runs of most tests, not a run of a thousand
 * threads: those make theirs again) end.
 */
#include "stepper_int.h"

#include <stdlib.h>

#define POOL_MAX_IDLE 256

struct stp__worker {
	stp__sem sem;
	void (*fn)(void *);
	void *arg;
	struct stp__worker *next;
};

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct stp__worker *idle;
static int nidle;

static void pool_lock(void)
{
	int e = pthread_mutex_lock(&pool_mu);
	if (e)
		stp__panic("pthread_mutex_lock(pool)", e);
}

static void pool_unlock(void)
{
	int e = pthread_mutex_unlock(&pool_mu);
	if (e)
		stp__panic("pthread_mutex_unlock(pool)", e);
}

/* Returns 1 when w went back to the idle list, 0 when it should end. */
static int park_idle(struct stp__worker *w)
{
	pool_lock();
	int kept = nidle < POOL_MAX_IDLE;
	if (kept) {
		w->next = idle;
		idle = w;
		nidle++;
	}
	pool_unlock();
	return kept;
}

static void *worker_main(void *p)
{
	struct stp__worker *w = p;
	for (;;) {
		stp__sem_wait(&w->sem, STP__WARM);
		if (w->fn)
			w->fn(w->arg);
		if (!park_idle(w))
			break;
	}
	free(w);
	return NULL;
}

/* fork(): the child has none of the idle workers' threads, only their
 * records, which it drops (a child that runs a stepper makes new ones);
 * the pool's lock is held across the fork so the child's is free. */
static void before_fork(void)
{
	pool_lock();
}

static void after_fork_parent(void)
{
	pool_unlock();
}

static void after_fork_child(void)
{
	while (idle) {
		struct stp__worker *w = idle;
		idle = w->next;
		free(w);
	}
	nidle = 0;
	pool_unlock();
}

static void watch_forks(void)
{
	int e = pthread_atfork(before_fork, after_fork_parent, after_fork_child);
	if (e)
		stp__panic("pthread_atfork(pool)", e);
}

int stp__pool_get(stp__worker **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, watch_forks);
	pool_lock();
	struct stp__worker *w = idle;
	if (w) {
		idle = w->next;
		nidle--;
	}
	pool_unlock();
	if (w) {
		*out = w;
		return 0;
	}
	w = calloc(1, sizeof *w);
	if (!w)
		return STP_ENOMEM;
	stp__sem_init(&w->sem);
	pthread_attr_t a;
	pthread_t tid;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int e = pthread_create(&tid, &a, worker_main, w);
	pthread_attr_destroy(&a);
	if (e) {
		free(w);
		return STP_ETHREAD;
	}
	*out = w;
	return 0;
}

void stp__pool_start(stp__worker *w, void (*fn)(void *), void *arg)
{
	w->fn = fn;
	w->arg = arg;
	stp__sem_post(&w->sem);
}

void stp__pool_put_unused(stp__worker *w)
{
	if (!park_idle(w)) {
		/* The worker waits for a job that will not come; give it one
		 * that does nothing, after which it ends on its own. */
		stp__pool_start(w, NULL, NULL);
	}
}
