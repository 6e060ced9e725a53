/*
 * clock_adapter.c - a stepper's run on a virtual clock: the core's clock
 * hooks, served by scheduler/. The clock knows no stepper; here a thread
 * becomes a member that describes itself, and a stalled advance becomes
 * the run's error.
 */
#include "clock_int.h"
#include "wire.h"

#include <stdio.h>

/* " (last step 'x', 2/3)" or " (before its first step)". */
static void describe_thread(void *arg, char *buf, size_t size)
{
	const struct stp__thread *t = arg;
	size_t k = atomic_load(&((struct stp__thread *)t)->passed);
	if (k > 0 && t->is_free)
		snprintf(buf, size, " (last step '%s', step %zu, free)", stp__last_step(t), k);
	else if (k > 0)
		snprintf(buf, size, " (last step '%s', %zu/%zu)", stp__last_step(t), k,
			 t->nsteps);
	else
		snprintf(buf, size, " (before its first step)");
}

static void on_stall(void *arg, const char *report)
{
	stp_stepper *s = arg;
	stp__error(s, STP__OUT_STALL, "%s", report);
	stp__abort(s);
}

static void *add_member(void *ctx, struct stp__thread *t)
{
	return stp__clock_add_member(ctx, t->name, describe_thread, t);
}

static void adopt(void *m)
{
	stp__clock_adopt(m);
}

static int block_unless(void *m, int (*ready)(void *), void *arg, size_t key,
			const char *what, const char *name)
{
	return stp__clock_block_unless(m, ready, arg, key, what, name);
}

static void unblock(void *m)
{
	stp__clock_unblock(m);
}

static void mark_running(void *m, size_t key)
{
	stp__clock_mark_running(m, key);
}

static void leave(void *m)
{
	stp__clock_leave_member(m);
}

static void free_member(void *m)
{
	stp__clock_free_member(m);
}

static uint64_t now(void *ctx)
{
	return stp_clock_now(ctx);
}

static void describe(void *ctx, char *buf, size_t size)
{
	stp__clock_describe(ctx, buf, size);
}

static void attach(void *ctx, stp_stepper *s)
{
	if (s)
		stp__clock_attach(ctx, s->opt.stall_ms, on_stall, s);
	else
		stp__clock_attach(ctx, 0, NULL, NULL);
}

static void *timer(uint64_t ns, void (*cb)(void *), void *arg)
{
	return stp_timer_start(ns, cb, arg);
}

static void timer_free(void *t)
{
	stp_timer_free(t);
}

const stp__clock_hooks stp__clock_adapter = {
	.timer = timer,
	.timer_free = timer_free,
	.add_member = add_member,
	.adopt = adopt,
	.block_unless = block_unless,
	.unblock = unblock,
	.mark_running = mark_running,
	.leave = leave,
	.free_member = free_member,
	.now = now,
	.describe = describe,
	.attach = attach,
};
