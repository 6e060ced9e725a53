/*
 * deadlock.c - the report when no controlled thread can go on.
 *
 * Every live thread is parked at a point whose operation cannot complete:
 * a lock of a mutex or a rwlock other threads hold, a join, a once whose
 * routine another thread runs, a condition wait, a semaphore at 0, a
 * barrier short of arrivals. The first kinds wait for threads (a mutex's
 * owner; a rwlock's writer, or every reader), so a depth-first search of
 * the wait-for graph finds a cycle, if there is one. A condition,
 * semaphore or barrier waiter waits for no thread in particular: with no
 * cycle, that is a lost wake-up (or a barrier nobody else reaches).
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

static uint64_t bit_of(int i)
{
	return i >= 0 ? (uint64_t)1 << i : 0;
}

/* The threads t waits for: the owner of the mutex it needs, the thread it
 * joins, the writer or the readers of a rwlock (and, preferring writers,
 * the writers waiting), the runner of a once routine. 0: no thread in
 * particular (a condition, a semaphore, a barrier) or none. */
static uint64_t waits_for(const struct stp__thread *t)
{
	switch (t->op) {
	case STP__OP_LOCK:
		return bit_of(t->obj->owner);
	case STP__OP_JOIN:
		return bit_of(t->join->index);
	case STP__OP_WOKEN: /* woken, the mutex is taken */
		return t->mutex->owner >= 0 && may_return(t) ? bit_of(t->mutex->owner) : 0;
	case STP__OP_RDLOCK:
	case STP__OP_WRLOCK:
		return stp__rw_blockers(t->obj, t, t->op == STP__OP_WRLOCK);
	case STP__OP_ONCE:
		return t->obj->state == STP__ONCE_RUNNING ? bit_of(t->obj->owner) : 0;
	default:
		return 0;
	}
}

/* The object t waits on, for the cycle's arrows ("m#1"), or "join". */
static const char *waits_on(const struct stp__thread *t)
{
	if (t->op == STP__OP_JOIN)
		return "join";
	return (t->op == STP__OP_WOKEN ? t->mutex : t->obj)->label;
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

/* "[a], [b]": the threads of set, into buf. */
static const char *names_of(const stp_stepper *s, uint64_t set, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (uint64_t b = set; b && len < size; b &= b - 1)
		len += (size_t)snprintf(buf + len, size - len, "%s[%s]", len ? ", " : "",
					s->threads[__builtin_ctzll(b)]->name);
	return buf;
}

/* " and has ended without ...", when every thread of set has ended. */
static const char *ended_text(const stp_stepper *s, uint64_t set, const char *what)
{
	for (uint64_t b = set; b; b &= b - 1)
		if (!atomic_load(&s->threads[__builtin_ctzll(b)]->ended))
			return "";
	return what;
}

/* One line for a rwlock waiter: who holds it, or waits to write first. */
static void rw_line(stp_stepper *s, const struct stp__thread *t, const char *at, char *line,
		    size_t size)
{
	const struct stp__obj *rw = t->obj;
	int write = t->op == STP__OP_WRLOCK;
	char who[2 * STP_MAX_NAME + 64], taken[STP__SITE_MAX];
	int n = snprintf(line, size, "\n  [%s] waits for %s (to %s) at %s", t->name, rw->label,
			 write ? "write" : "read", at);
	size_t len = n > 0 && (size_t)n < size ? (size_t)n : size - 1;
	uint64_t readers = write ? rw->readers : 0;
	uint64_t writers = write ? 0 : stp__rw_blockers(rw, t, 0) & ~bit_of(rw->owner);
	if (rw->owner >= 0)
		len += (size_t)snprintf(line + len, size - len, "; [%s] holds it to write (taken at %s)%s",
					s->threads[rw->owner]->name,
					stp__site_text(rw->file, rw->line, taken, sizeof taken),
					ended_text(s, bit_of(rw->owner), " and has ended without unlocking it"));
	if (readers && len < size)
		len += (size_t)snprintf(line + len, size - len, "; %s %s it to read%s",
					names_of(s, readers, who, sizeof who),
					readers & (readers - 1) ? "hold" : "holds",
					ended_text(s, readers, ", ended without unlocking it"));
	if (writers && len < size)
		snprintf(line + len, size - len, "; %s %s to write first (writers go first)",
			 names_of(s, writers, who, sizeof who),
			 writers & (writers - 1) ? "wait" : "waits");
}

/* One line for a waiter on a semaphore, a barrier or a once. */
static void prim_line(stp_stepper *s, const struct stp__thread *t, const char *at, char *line,
		      size_t size)
{
	const struct stp__obj *o = t->obj;
	char taken[STP__SITE_MAX];
	if (t->op == STP__OP_SEM_WAIT)
		snprintf(line, size, "\n  [%s] waits on %s at %s; its count is 0", t->name, o->label,
			 at);
	else if (t->op == STP__OP_BARRIER)
		snprintf(line, size, "\n  [%s] waits at %s at %s; %d of %u arrived", t->name,
			 o->label, at, __builtin_popcountll(o->arrived), o->need);
	else
		snprintf(line, size, "\n  [%s] waits on %s at %s; [%s] runs its routine (since %s)%s",
			 t->name, o->label, at, s->threads[o->owner]->name,
			 stp__site_text(o->file, o->line, taken, sizeof taken),
			 ended_text(s, bit_of(o->owner), " and has ended in it"));
}

/* One line: what t waits for, where, and who holds it. */
static void blocked_line(stp_stepper *s, const struct stp__thread *t, char *line,
			 size_t size)
{
	uint64_t w = waits_for(t);
	int o = w ? __builtin_ctzll(w) : -1;
	const struct stp__obj *m = t->op == STP__OP_LOCK ? t->obj : t->mutex;
	char at[STP_MAX_NAME + 80];
	stp__site_text(t->op_file, t->op_line, at, sizeof at);
	if (t->op == STP__OP_JOIN)
		snprintf(line, size, "\n  [%s] joins [%s] at %s, which has not ended", t->name,
			 t->join->name, at);
	else if (t->op == STP__OP_RDLOCK || t->op == STP__OP_WRLOCK)
		rw_line(s, t, at, line, size);
	else if (t->op == STP__OP_SEM_WAIT || t->op == STP__OP_BARRIER || t->op == STP__OP_ONCE)
		prim_line(s, t, at, line, size);
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

/* A cycle of the wait-for graph among blocked: a depth-first search from
 * each blocked thread in turn (a rwlock waiter waits for several threads,
 * so the graph's out-degree is not bounded by one). The threads of the
 * cycle go to cyc, each waiting for the next (the last for the first);
 * their number, or 0 when there is none. */
static int find_cycle(stp_stepper *s, uint64_t blocked, int *cyc)
{
	int path[64];
	uint64_t left[64], done = 0;
	for (uint64_t b = blocked; b; b &= b - 1) {
		int root = __builtin_ctzll(b), depth = 0;
		if (done >> root & 1)
			continue;
		uint64_t on_path = bit_of(root);
		path[0] = root;
		left[0] = waits_for(s->threads[root]) & blocked;
		while (depth >= 0) {
			if (!left[depth]) {
				done |= bit_of(path[depth]);
				on_path &= ~bit_of(path[depth--]);
				continue;
			}
			int v = __builtin_ctzll(left[depth]);
			left[depth] &= left[depth] - 1;
			if (on_path >> v & 1) {
				int k = 0, n = 0;
				while (path[k] != v)
					k++;
				while (k <= depth)
					cyc[n++] = path[k++];
				return n;
			}
			if (done >> v & 1)
				continue;
			path[++depth] = v;
			left[depth] = waits_for(s->threads[v]) & blocked;
			on_path |= bit_of(v);
		}
	}
	return 0;
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

/* The cycle, one line per thread, and the arrow summary. */
static void cycle_text(stp_stepper *s, const int *cyc, int n, char **buf, size_t *len,
		       size_t *cap)
{
	char line[4 * STP_MAX_NAME + 256];
	for (int k = 0; k < n; k++) {
		blocked_line(s, s->threads[cyc[k]], line, sizeof line);
		append(buf, len, cap, line);
	}
	append(buf, len, cap, "\n  the cycle: ");
	for (int k = 0; k < n; k++) {
		const struct stp__thread *t = s->threads[cyc[k]];
		snprintf(line, sizeof line, "[%s] -> %s -> ", t->name, waits_on(t));
		append(buf, len, cap, line);
	}
	snprintf(line, sizeof line, "[%s]", s->threads[cyc[0]]->name);
	append(buf, len, cap, line);
}

/* The first line of a cycle's report: what its threads wait for. */
static const char *cycle_head(stp_stepper *s, const int *cyc, int n)
{
	int joins = 0, others = 0;
	for (int k = 0; k < n; k++) {
		enum stp__op op = s->threads[cyc[k]]->op;
		joins |= op == STP__OP_JOIN;
		others |= op != STP__OP_JOIN && op != STP__OP_LOCK && op != STP__OP_WOKEN;
	}
	if (others)
		return "deadlock: a cycle of threads, each waiting for the next (a lock it holds, "
		       "a once routine it runs, or its end):";
	return joins ? "deadlock: a cycle of threads, each waiting for the next (a mutex it "
		       "holds, or its end):"
		     : "deadlock: a cycle of threads, each waiting for a mutex the next one holds:";
}

/* The first waiter that waits for no thread in particular (a condition
 * nothing signalled, a semaphore at 0, a barrier short of arrivals), or
 * -1. */
static int lost_waiter(stp_stepper *s, uint64_t blocked)
{
	for (uint64_t b = blocked; b; b &= b - 1) {
		const struct stp__thread *t = s->threads[__builtin_ctzll(b)];
		if ((t->op == STP__OP_WOKEN || t->op == STP__OP_SEM_WAIT ||
		     t->op == STP__OP_BARRIER) &&
		    waits_for(t) == 0)
			return t->index;
	}
	return -1;
}

/* The first line of a report with no cycle but a lost waiter t. */
static void lost_text(const struct stp__thread *t, char *line, size_t size)
{
	char at[STP_MAX_NAME + 80];
	stp__site_text(t->op_file, t->op_line, at, sizeof at);
	if (t->op == STP__OP_SEM_WAIT)
		snprintf(line, size,
			 "deadlock: lost wake-up: [%s] waits on %s at %s; its count is 0 and no "
			 "thread that could post it can go on",
			 t->name, t->obj->label, at);
	else if (t->op == STP__OP_BARRIER)
		snprintf(line, size,
			 "deadlock: [%s] waits at %s at %s; %d of %u arrived and no thread that "
			 "could arrive can go on",
			 t->name, t->obj->label, at, __builtin_popcountll(t->obj->arrived),
			 t->obj->need);
	else
		snprintf(line, size,
			 "deadlock: lost wake-up: [%s] waits on %s at %s (with %s) and "
			 "no thread that could signal it can go on",
			 t->name, t->obj->label, at, t->mutex->label);
}

void stp__report_deadlock(stp_stepper *s, uint64_t blocked)
{
	s->blocked_at_end = blocked; /* their points stay in at: printed after the order */
	size_t cap = 1024, len = 0;
	char *buf = calloc(1, cap), line[4 * STP_MAX_NAME + 256];
	int cyc[64];
	int n = find_cycle(s, blocked, cyc), w = n ? -1 : lost_waiter(s, blocked);
	uint64_t told = 0; /* the cycle's threads, told first */
	if (n) {
		append(&buf, &len, &cap, cycle_head(s, cyc, n));
		cycle_text(s, cyc, n, &buf, &len, &cap);
		for (int k = 0; k < n; k++)
			told |= bit_of(cyc[k]);
	} else if (w >= 0) {
		lost_text(s->threads[w], line, sizeof line);
		append(&buf, &len, &cap, line);
	} else {
		append(&buf, &len, &cap, "deadlock: no thread can go on");
	}
	/* every blocked thread gets its line: the cycle's above, the rest here */
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
