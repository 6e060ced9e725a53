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
	const struct stp__obj *cv = t->obj;
	if (stp__tset_has(&cv->bcast, t->index) || (t->timed && t->may_time_out))
		return 1;
	for (size_t i = 0; i < cv->nsig; i++)
		if (stp__tset_has(&cv->signals[i], t->index))
			return 1;
	return 0;
}

/* The threads t waits for: the owner of the mutex it needs, the thread it
 * joins, the writer or the readers of a rwlock (and, preferring writers,
 * the writers waiting), the runner of a once routine. 0: no thread in
 * particular (a condition, a semaphore, a barrier) or none. */
static stp__tset waits_for(const struct stp__thread *t)
{
	switch (t->op) {
	case STP__OP_LOCK:
		return stp__tset_of(t->obj->owner);
	case STP__OP_JOIN:
		return stp__tset_of(t->join->index);
	case STP__OP_WOKEN: /* woken, the mutex is taken */
		return stp__tset_of(t->mutex->owner >= 0 && may_return(t) ? t->mutex->owner : -1);
	case STP__OP_RDLOCK:
	case STP__OP_WRLOCK:
		return stp__rw_blockers(t->obj, t, t->op == STP__OP_WRLOCK);
	case STP__OP_ONCE:
		return stp__tset_of(t->obj->state == STP__ONCE_RUNNING ? t->obj->owner : -1);
	default:
		return stp__tset_of(-1);
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
static const char *names_of(const stp_stepper *s, const stp__tset *set, char *buf,
			    size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	STP__TSET_EACH(i, set)
	{
		if (len >= size)
			break;
		len += (size_t)snprintf(buf + len, size - len, "%s[%s]", len ? ", " : "",
					s->threads[i]->name);
	}
	return buf;
}

/* " and has ended without ...", when every thread of set has ended. */
static const char *ended_text(const stp_stepper *s, const stp__tset *set, const char *what)
{
	STP__TSET_EACH(i, set)
	if (!atomic_load(&s->threads[i]->ended))
		return "";
	return what;
}

static const char *ended_one(const stp_stepper *s, int i, const char *what)
{
	stp__tset one = stp__tset_of(i);
	return ended_text(s, &one, what);
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
	stp__tset none = stp__tset_of(-1), owner = stp__tset_of(rw->owner);
	stp__tset readers = write ? rw->readers : none;
	stp__tset writers = write ? none : stp__tset_minus(stp__rw_blockers(rw, t, 0), &owner);
	if (rw->owner >= 0)
		len += (size_t)snprintf(line + len, size - len, "; [%s] holds it to write (taken at %s)%s",
					s->threads[rw->owner]->name,
					stp__site_text(rw->file, rw->line, taken, sizeof taken),
					ended_one(s, rw->owner, " and has ended without unlocking it"));
	if (!stp__tset_empty(&readers) && len < size)
		len += (size_t)snprintf(line + len, size - len, "; %s %s it to read%s",
					names_of(s, &readers, who, sizeof who),
					stp__tset_count(&readers) > 1 ? "hold" : "holds",
					ended_text(s, &readers, ", ended without unlocking it"));
	if (!stp__tset_empty(&writers) && len < size)
		snprintf(line + len, size - len, "; %s %s to write first (writers go first)",
			 names_of(s, &writers, who, sizeof who),
			 stp__tset_count(&writers) > 1 ? "wait" : "waits");
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
			 o->label, at, stp__tset_count(&o->arrived), o->need);
	else
		snprintf(line, size, "\n  [%s] waits on %s at %s; [%s] runs its routine (since %s)%s",
			 t->name, o->label, at, s->threads[o->owner]->name,
			 stp__site_text(o->file, o->line, taken, sizeof taken),
			 ended_one(s, o->owner, " and has ended in it"));
}

/* One line: what t waits for, where, and who holds it. */
static void blocked_line(stp_stepper *s, const struct stp__thread *t, char *line,
			 size_t size)
{
	stp__tset w = waits_for(t);
	int o = stp__tset_first(&w);
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
static int find_cycle(stp_stepper *s, const stp__tset *blocked, int *cyc)
{
	/* path[d]: the thread at depth d; from[d]: the least thread it waits
	 * for that is not yet looked at */
	int path[STP_MAX_THREADS], from[STP_MAX_THREADS];
	stp__tset done = stp__tset_of(-1), on_path;
	STP__TSET_EACH(root, blocked)
	{
		if (stp__tset_has(&done, root))
			continue;
		int depth = 0;
		on_path = stp__tset_of(root);
		path[0] = root;
		from[0] = 0;
		while (depth >= 0) {
			stp__tset w = waits_for(s->threads[path[depth]]);
			w = stp__tset_inter(w, blocked);
			int v = stp__tset_next(&w, from[depth]);
			if (v < 0) {
				stp__tset_add(&done, path[depth]);
				stp__tset_del(&on_path, path[depth--]);
				continue;
			}
			from[depth] = v + 1;
			if (stp__tset_has(&on_path, v)) {
				int k = 0, n = 0;
				while (path[k] != v)
					k++;
				while (k <= depth)
					cyc[n++] = path[k++];
				return n;
			}
			if (stp__tset_has(&done, v))
				continue;
			path[++depth] = v;
			from[depth] = 0;
			stp__tset_add(&on_path, v);
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
static int lost_waiter(stp_stepper *s, const stp__tset *blocked)
{
	STP__TSET_EACH(i, blocked)
	{
		const struct stp__thread *t = s->threads[i];
		stp__tset w = waits_for(t);
		if ((t->op == STP__OP_WOKEN || t->op == STP__OP_SEM_WAIT ||
		     t->op == STP__OP_BARRIER) &&
		    stp__tset_empty(&w))
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
			 t->name, t->obj->label, at, stp__tset_count(&t->obj->arrived),
			 t->obj->need);
	else
		snprintf(line, size,
			 "deadlock: lost wake-up: [%s] waits on %s at %s (with %s) and "
			 "no thread that could signal it can go on",
			 t->name, t->obj->label, at, t->mutex->label);
}

/* At most this many threads outside the cycle get a line of their own;
 * the rest are counted (a run may have a thousand threads). */
#define REPORT_LINES 40

void stp__report_deadlock(stp_stepper *s, const stp__tset *blocked)
{
	s->blocked_at_end = *blocked; /* their points stay in at: printed after the order */
	size_t cap = 1024, len = 0;
	char *buf = calloc(1, cap), line[4 * STP_MAX_NAME + 256];
	int cyc[STP_MAX_THREADS];
	int n = find_cycle(s, blocked, cyc), w = n ? -1 : lost_waiter(s, blocked);
	if (n) {
		append(&buf, &len, &cap, cycle_head(s, cyc, n));
		cycle_text(s, cyc, n, &buf, &len, &cap);
	} else if (w >= 0) {
		lost_text(s->threads[w], line, sizeof line);
		append(&buf, &len, &cap, line);
	} else {
		append(&buf, &len, &cap, "deadlock: no thread can go on");
	}
	/* every blocked thread gets its line: the cycle's above, the rest here */
	stp__tset told = stp__tset_of(-1); /* the cycle's threads, told first */
	for (int k = 0; k < n; k++)
		stp__tset_add(&told, cyc[k]);
	if (n < s->nthreads)
		append(&buf, &len, &cap, n ? "\n  the other threads:" : "\n  every thread:");
	int lines = 0, more_blocked = 0, more_ended = 0, more_running = 0;
	for (int i = 0; i < s->nthreads; i++) {
		const struct stp__thread *t = s->threads[i];
		int is_blocked = stp__tset_has(blocked, i), ended = atomic_load(&t->ended);
		if (stp__tset_has(&told, i))
			continue;
		if (lines++ >= REPORT_LINES) {
			more_blocked += is_blocked;
			more_ended += !is_blocked && ended;
			more_running += !is_blocked && !ended;
			continue;
		}
		if (is_blocked)
			blocked_line(s, t, line, sizeof line);
		else
			snprintf(line, sizeof line, "\n  [%s] %s", t->name,
				 ended ? "ended" : "running");
		append(&buf, &len, &cap, line);
	}
	if (lines > REPORT_LINES) {
		snprintf(line, sizeof line,
			 "\n  ... and %d more threads: %d blocked, %d ended, %d running",
			 lines - REPORT_LINES, more_blocked, more_ended, more_running);
		append(&buf, &len, &cap, line);
	}
	stp__error(s, STP__OUT_DEADLOCK, "%s", buf ? buf : "deadlock");
	free(buf);
}
