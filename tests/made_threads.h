/*
 * made_threads.h - for the suites of the core's internal calls for
 * unmodified programs (test_spawn.c, test_prims.c): runs whose threads are
 * made during the run, started on pool workers as the library does, with
 * the preload's run settings (threads made in the run, model-only objects,
 * virtual time). Include after cmocka.h and stepper_int.h.
 */
#ifndef STEPPER_TESTS_MADE_THREADS_H
#define STEPPER_TESTS_MADE_THREADS_H

#include <stdio.h>

#include "helpers.h" /* errors_of */

static void child_main(void *p)
{
	struct stp__thread *t = p;
	if (stp__thread_enter(t) == 0)
		t->fn(t->arg);
	stp__thread_finish(t);
}

static int start_on_pool(struct stp__thread *child, void *ctx)
{
	(void)ctx;
	stp__worker *w;
	if (stp__pool_get(&w) < 0)
		return -1;
	stp__pool_start(w, child_main, child);
	return 0;
}

/* A thread made by the calling controlled thread, or NULL. */
static inline struct stp__thread *spawn(void (*fn)(void *), void *arg)
{
	struct stp__thread *t = NULL;
	int rc = stp__spawn(stp_self_, fn, arg, start_on_pool, NULL, &t);
	return rc == 0 ? t : NULL;
}

/* A run of main_fn(arg) as thread "main", with seed. */
static inline stp_stepper *new_run(uint64_t seed, void (*main_fn)(void *), void *arg)
{
	stp_options o;
	stp_options_init(&o);
	o.seed = seed;
	o.mode = STP_SERIAL;
	o.trace = NULL;
	o.replay = NULL;
	stp_stepper *s = stp_new(&o);
	assert_non_null(s);
	assert_int_equal(stp_thread(s, "main", NULL, main_fn, arg), 0);
	s->dynamic = 1;
	s->model_only = 1;
	s->vtime = 1;
	return s;
}

#endif
