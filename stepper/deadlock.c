/*
 * deadlock.c - the report when no controlled thread can go on.
 *
 * Every live thread is parked at a point whose operation cannot complete:
 * a lock of a mutex another thread holds, or a condition wait. A mutex
 * waiter waits for one thread (the owner), so the wait-for graph has out-
 * degree at most one and following it from each blocked thread finds the
 * cycle, if there is one. A condition waiter nothing has signalled waits
 * for no thread in particular: with no cycle, that is a lost wake-up.
 */
#include "stepper_int.h"

#include <stdlib.h>
#include <string.h>

/* May t, in a wait on its condition, return from it: a broadcast or a
 * pending signal names it, or it is a timed wait allowed to time out?
 * (As locks.c decides it: a signal leaves the waiter's bit in `waiting`
 * until the waiter takes it, so that bit says nothing.) */
static int may_return(const struct stp__thread *t)
{
	uint64_t me = (uint64_t)1 << t->index;
	const struct stp__obj *cv = t->obj;
	if ((cv->bcast & me) || (t->timed && t->may_time_out))
		return 1;
	for (size_t i = 0; i < cv->nsig; i++)
		if (cv->signals[i] & me)
			return 1;
	return 0;
}

/* The thread t waits for (the owner of the mutex it needs), or -1. */
static int waits_for(const struct stp__thread *t)
{
	if (t->op == STP__OP_LOCK)
		return t->obj->owner;
	if (t->op == STP__OP_JOIN)
		return t->join->index;
	if (t->op == STP__OP_WOKEN && t->mutex->owner >= 0 && may_return(t))
		return t->mutex->owner; /* woken, the mutex is taken */
	return -1;
}

/* A mutex the model says is held, but nothing holds: its owner let go of
 * it with a plain pthread_mutex_unlock. (A trylock by the owner itself
 * fails on a held normal mutex, so the test does not lie to it.) */
static int unlocked_outside(const stp_stepper *s, const struct stp__obj *m)
{
	if (s->model_only)
		return 0; /* the real one is never locked */
	pthread_mutex_t *real = (pthread_mutex_t *)m->addr;
	if (pthread_mutex_trylock(real) != 0)
		return 0;
	pthread_mutex_unlock(real);
	return 1;
}

/* One line: what t waits for, where, and who holds it. */
static void blocked_line(stp_stepper *s, const struct stp__thread *t, char *line,
			 size_t size)
{
	int o = waits_for(t);
	const struct stp__obj *m = t->op == STP__OP_LOCK ? t->obj : t->mutex;
	char at[STP_MAX_NAME + 80];
	stp__site_text(t->op_file, t->op_line, at, sizeof at);
	if (t->op == STP__OP_JOIN)
		snprintf(line, size, "\n  [%s] joins [%s] at %s, which has not ended", t->name,
			 t->join->name, at);
	else if (o >= 0) {
		char taken[STP_MAX_NAME + 80];
		stp__site_text(m->file, m->line, taken, sizeof taken);
		snprintf(line, size, "\n  [%s] waits for %s at %s; [%s] holds it (taken at %s)%s",
			 t->name, m->label, at, s->threads[o]->name, taken,
			 unlocked_outside(s, m)
				 ? ", but it is not locked: a plain pthread_mutex_unlock let "
				   "go of it (use stp_mutex_unlock)"
			 : atomic_load(&s->threads[o]->ended) ? " and has ended without unlocking it"
							     : "");
	} else
		snprintf(line, size, "\n  [%s] waits on %s at %s (with %s); no signal is pending",
			 t->name, t->obj->label, at, t->mutex->label);
}

/* The first thread on a cycle of the wait-for graph among blocked, or -1. */
static int find_cycle(stp_stepper *s, uint64_t blocked)
{
	for (uint64_t b = blocked; b; b &= b - 1) {
		int slow = __builtin_ctzll(b), fast = slow;
		/* Floyd: the graph has out-degree at most one */
		for (;;) {
			int f1 = waits_for(s->threads[fast]);
			if (f1 < 0 || !(blocked >> f1 & 1))
				break;
			int f2 = waits_for(s->threads[f1]);
			if (f2 < 0 || !(blocked >> f2 & 1))
				break;
			fast = f2;
			slow = waits_for(s->threads[slow]);
			if (slow == fast)
				return slow;
		}
	}
	return -1;
}

static void append(char **buf, size_t *len, size_t *cap, const char *text)
{
	size_t n = strlen(text);
	if (*len + n + 1 > *cap) {
		size_t c = (*len + n + 1) * 2;
		char *b = realloc(*buf, c);
		if (!b)
			return;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, text, n + 1);
	*len += n;
}

/* The cycle from thread c, one line per thread, and the arrow summary. */
static void cycle_text(stp_stepper *s, int c, char **buf, size_t *len, size_t *cap)
{
	char line[4 * STP_MAX_NAME + 128];
	int i = c;
	do {
		blocked_line(s, s->threads[i], line, sizeof line);
		append(buf, len, cap, line);
		i = waits_for(s->threads[i]);
	} while (i != c);
	append(buf, len, cap, "\n  the cycle: ");
	i = c;
	do {
		const struct stp__thread *t = s->threads[i];
		if (t->op == STP__OP_JOIN)
			snprintf(line, sizeof line, "[%s] -> join -> ", t->name);
		else
			snprintf(line, sizeof line, "[%s] -> %s -> ", t->name,
				 (t->op == STP__OP_LOCK ? t->obj : t->mutex)->label);
		append(buf, len, cap, line);
		i = waits_for(t);
	} while (i != c);
	snprintf(line, sizeof line, "[%s]", s->threads[c]->name);
	append(buf, len, cap, line);
}

/* The threads on the cycle through c. */
static uint64_t on_cycle(stp_stepper *s, int c)
{
	uint64_t m = 0;
	int i = c;
	do {
		m |= (uint64_t)1 << i;
		i = waits_for(s->threads[i]);
	} while (i != c);
	return m;
}

/* Does a join wait on the cycle through c? */
static int joins_on_cycle(stp_stepper *s, int c)
{
	int i = c;
	do {
		if (s->threads[i]->op == STP__OP_JOIN)
			return 1;
		i = waits_for(s->threads[i]);
	} while (i != c);
	return 0;
}

/* The first condition waiter nothing has signalled, or -1. */
static int lost_waiter(stp_stepper *s, uint64_t blocked)
{
	for (uint64_t b = blocked; b; b &= b - 1) {
		const struct stp__thread *t = s->threads[__builtin_ctzll(b)];
		if (t->op == STP__OP_WOKEN && waits_for(t) < 0)
			return t->index;
	}
	return -1;
}

void stp__report_deadlock(stp_stepper *s, uint64_t blocked)
{
	s->blocked_at_end = blocked; /* their points stay in at: printed after the order */
	size_t cap = 1024, len = 0;
	char *buf = calloc(1, cap), line[4 * STP_MAX_NAME + 128];
	int c = find_cycle(s, blocked), w = c < 0 ? lost_waiter(s, blocked) : -1;
	if (c >= 0) {
		append(&buf, &len, &cap,
		       joins_on_cycle(s, c) ? "deadlock: a cycle of threads, each waiting for "
					      "the next (a mutex it holds, or its end):"
					    : "deadlock: a cycle of threads, each waiting for a "
					      "mutex the next one holds:");
		cycle_text(s, c, &buf, &len, &cap);
	} else if (w >= 0) {
		const struct stp__thread *t = s->threads[w];
		char at[STP_MAX_NAME + 80];
		stp__site_text(t->op_file, t->op_line, at, sizeof at);
		snprintf(line, sizeof line,
			 "deadlock: lost wake-up: [%s] waits on %s at %s (with %s) and "
			 "no thread that could signal it can go on",
			 t->name, t->obj->label, at, t->mutex->label);
		append(&buf, &len, &cap, line);
	} else {
		append(&buf, &len, &cap, "deadlock: no thread can go on");
	}
	/* every blocked thread gets its line: the cycle's above, the rest here */
	uint64_t told = c >= 0 ? on_cycle(s, c) : 0;
	uint64_t all = s->nthreads >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << s->nthreads) - 1;
	if (told != all)
		append(&buf, &len, &cap, told ? "\n  the other threads:" : "\n  every thread:");
	for (int i = 0; i < s->nthreads; i++) {
		const struct stp__thread *t = s->threads[i];
		if (told >> i & 1)
			continue;
		if (blocked >> i & 1)
			blocked_line(s, t, line, sizeof line);
		else
			snprintf(line, sizeof line, "\n  [%s] %s", t->name,
				 atomic_load(&t->ended) ? "ended" : "running");
		append(&buf, &len, &cap, line);
	}
	stp__error(s, STP__OUT_DEADLOCK, "%s", buf ? buf : "deadlock");
	free(buf);
}
