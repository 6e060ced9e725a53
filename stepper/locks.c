/*
 * locks.c - mutexes and condition variables the stepper sees.
 *
 * On a controlled thread of a serial run, stp_mutex_* and stp_cond_* are
 * scheduling points: the thread parks at the point (its pending operation
 * says what it will do) and the source decides who goes on among the
 * threads whose operation can complete. A lock of a mutex another thread
 * holds, or a condition wait nothing has signalled, cannot: the thread is
 * blocked, and no schedule that cannot happen is ever tried.
 *
 * The model (who holds each mutex, who waits on each condition, the
 * pending signals) is changed only by the thread that holds the turnstile,
 * right after its grant, so it needs no lock of its own until the run is
 * aborted; from then on threads run at once and objmu guards it. The real
 * pthread mutex is locked and unlocked underneath by the model's owner, so
 * a thread the stepper does not control still excludes.
 *
 * Signals follow Shuttle's model: a signal may wake any thread waiting
 * when it was sent; the first of them the source lets return takes it.
 * Which waiter a signal wakes is therefore a decision like any other.
 */
#include "stepper_int.h"
#include "condhook.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* The object table                                                    */
/* ------------------------------------------------------------------ */

static size_t slot_of(const void *addr, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)addr * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (cap - 1);
}

static int grow(stp_stepper *s)
{
	size_t cap = s->capobjs ? 2 * s->capobjs : 16;
	struct stp__obj **t = calloc(cap, sizeof *t);
	if (!t)
		return -1;
	for (size_t i = 0; i < s->capobjs; i++) {
		struct stp__obj *o = s->objs[i];
		if (!o)
			continue;
		size_t j = slot_of(o->addr, cap);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = o;
	}
	free(s->objs);
	s->objs = t;
	s->capobjs = cap;
	return 0;
}

static const char *const type_names[STP__OBJ_NTYPES] = {
	"mutex", "condition variable", "semaphore", "rwlock", "barrier", "once"
};
static const char *const label_prefix[STP__OBJ_NTYPES] = { "m", "cv", "sem", "rw", "bar", "once" };

/* The record of addr as an object of this type, made at its first use in
 * the run; NULL when out of memory. A record of another type at the same
 * address is dropped: the memory was reused without a destroy the stepper
 * saw. Called with objmu held. */
static struct stp__obj *find_locked(stp_stepper *s, const void *addr, enum stp__objtype type)
{
	if (2 * (s->nobjs + 1) > s->capobjs && grow(s) < 0)
		return NULL;
	size_t j = slot_of(addr, s->capobjs);
	for (; s->objs[j]; j = (j + 1) & (s->capobjs - 1)) {
		struct stp__obj *o = s->objs[j];
		if (o->addr != addr || o->dropped)
			continue;
		if (o->type == type)
			return o;
		o->dropped = 1;
	}
	struct stp__obj *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->addr = addr;
	o->type = type;
	o->owner = -1;
	o->id = ++s->nobj_of[type];
	snprintf(o->label, sizeof o->label, "%s#%d", label_prefix[type], o->id);
	s->objs[j] = o;
	s->nobjs++;
	return o;
}

struct stp__obj *stp__obj_find(stp_stepper *s, const void *addr, enum stp__objtype type)
{
	stp__lock(&s->objmu);
	struct stp__obj *o = find_locked(s, addr, type);
	stp__unlock(&s->objmu);
	if (!o) {
		stp__error(s, STP__OUT_FAIL, "out of memory recording a %s", type_names[type]);
		stp__abort(s);
	}
	return o;
}

static struct stp__obj *find(stp_stepper *s, const void *addr, int is_cond)
{
	return stp__obj_find(s, addr, is_cond ? STP__OBJ_COND : STP__OBJ_MUTEX);
}

void stp__obj_drop(stp_stepper *s, const void *addr)
{
	stp__lock(&s->objmu);
	if (s->capobjs)
		for (size_t j = slot_of(addr, s->capobjs); s->objs[j];
		     j = (j + 1) & (s->capobjs - 1))
			if (s->objs[j]->addr == addr)
				s->objs[j]->dropped = 1;
	stp__unlock(&s->objmu);
}

void stp__objs_clear(stp_stepper *s)
{
	for (size_t i = 0; i < s->capobjs; i++) {
		if (s->objs[i]) {
			free(s->objs[i]->signals);
			free(s->objs[i]->reads);
		}
		free(s->objs[i]);
	}
	free(s->objs);
	s->objs = NULL;
	s->capobjs = s->nobjs = 0;
	memset(s->nobj_of, 0, sizeof s->nobj_of);
}

/* ------------------------------------------------------------------ */
/* Who can go on                                                       */
/* ------------------------------------------------------------------ */

/* Has a signal or a broadcast woken t (waiting on cv)? */
static int woken(const struct stp__obj *cv, const struct stp__thread *t)
{
	if (stp__tset_has(&cv->bcast, t->index))
		return 1;
	for (size_t i = 0; i < cv->nsig; i++)
		if (stp__tset_has(&cv->signals[i], t->index))
			return 1;
	return 0;
}

int stp__op_enabled(const stp_stepper *s, const struct stp__thread *t)
{
	/* an escaped thread can go on once it came back (its op is its own
	 * until then: not read) */
	if (s->release &&
	    atomic_load_explicit(&t->hold, memory_order_acquire) == STP__HOLD_ESCAPED)
		return atomic_load_explicit(&t->returned, memory_order_acquire) == 1;
	switch (t->op) {
	case STP__OP_LOCK:
		return t->obj->owner < 0;
	case STP__OP_SLEEP:
		return atomic_load(&t->may_time_out);
	case STP__OP_JOIN:
		return atomic_load(&t->join->ended);
	case STP__OP_WOKEN:
		return (woken(t->obj, t) || (t->timed && atomic_load(&t->may_time_out))) &&
		       t->mutex->owner < 0;
	case STP__OP_SEM_WAIT:
		return t->obj->value > 0 || (t->timed && atomic_load(&t->may_time_out));
	case STP__OP_RDLOCK:
	case STP__OP_WRLOCK: {
		stp__tset b = stp__rw_blockers(t->obj, t, t->op == STP__OP_WRLOCK);
		return stp__tset_empty(&b) || (t->timed && atomic_load(&t->may_time_out));
	}
	case STP__OP_BARRIER:
		return stp__tset_has(&t->obj->open, t->index);
	case STP__OP_ONCE:
		return t->obj->state != STP__ONCE_RUNNING;
	default:
		return 1;
	}
}

/* t returns from its wait on cv: it takes a broadcast, or the oldest
 * signal that may wake it (no other waiter can take that one now); 1 when
 * it was woken, 0 when it timed out. No signal names t any more. */
static int consume(struct stp__obj *cv, const struct stp__thread *t)
{
	int got = stp__tset_has(&cv->bcast, t->index);
	stp__tset_del(&cv->bcast, t->index);
	stp__tset_del(&cv->waiting, t->index);
	size_t n = 0;
	for (size_t i = 0; i < cv->nsig; i++) {
		stp__tset m = cv->signals[i];
		if (!got && stp__tset_has(&m, t->index)) {
			got = 1;
			continue; /* taken */
		}
		stp__tset_del(&m, t->index);
		if (!stp__tset_empty(&m))
			cv->signals[n++] = m;
	}
	cv->nsig = n;
	return got;
}

static int add_signal(stp_stepper *s, struct stp__obj *cv)
{
	if (cv->nsig == cv->capsig) {
		size_t cap = cv->capsig ? 2 * cv->capsig : 4;
		stp__tset *p = realloc(cv->signals, cap * sizeof *p);
		if (!p) {
			stp__error(s, STP__OUT_FAIL, "out of memory recording a signal");
			return -1;
		}
		cv->signals = p;
		cv->capsig = cap;
	}
	cv->signals[cv->nsig++] = cv->waiting;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Taking and releasing                                                */
/* ------------------------------------------------------------------ */

static int from_errno(int e)
{
	switch (e) {
	case 0:
		return 0;
	case EBUSY:
		return STP_EBUSY;
	case EDEADLK:
		return STP_EDEADLOCK;
	case EPERM:
		return STP_EPERM;
	default:
		return STP_EINVAL;
	}
}

/* t owns m now, taken at file:line (a call site without a line, from
 * the preload, is copied: its buffer is the thread's). */
static void took(struct stp__obj *m, struct stp__thread *t, const char *file, int line)
{
	m->owner = t->index;
	m->line = line;
	m->file = file;
	if (line <= 0) {
		snprintf(m->taken_at, sizeof m->taken_at, "%s", file ? file : "?");
		m->file = m->taken_at;
	}
	t->held++;
}

/* The model says m is free and t may take it: take it underneath too. */
static void take(stp_stepper *s, struct stp__thread *t, struct stp__obj *m,
		 pthread_mutex_t *real, const char *file, int line)
{
	int e = s->model_only ? 0 : pthread_mutex_trylock(real);
	if (e == EBUSY) {
		/* held outside the stepper: wait for real, and say so if the
		 * wait turns into a stall */
		atomic_store_explicit(&t->outside, m->label, memory_order_release);
		e = pthread_mutex_lock(real);
		atomic_store_explicit(&t->outside, NULL, memory_order_release);
	}
	if (e)
		stp__panic("pthread_mutex_lock on a mutex of the code under test", e);
	stp__lock(&s->objmu);
	took(m, t, file, line);
	stp__unlock(&s->objmu);
}

static void release(stp_stepper *s, struct stp__thread *t, struct stp__obj *m,
		    pthread_mutex_t *real)
{
	stp__lock(&s->objmu);
	m->owner = -1;
	m->count = 0;
	t->held--;
	stp__unlock(&s->objmu);
	stp__obj_changed(s, m);
	if (!s->model_only)
		pthread_mutex_unlock(real);
}

/* Is t a thread of a run that decides at every hand-off? */
static int controlled(const struct stp__thread *t)
{
	return t && t->s->deciding;
}

static const char *name_of(const stp_stepper *s, int i)
{
	return i >= 0 && i < s->nthreads ? s->threads[i]->name : "?";
}

const char *stp__obj_point(struct stp__obj *o, const char *what)
{
	static const char *const kinds[STP__OBJ_NTYPES][7] = {
		[STP__OBJ_MUTEX] = { "lock", "trylock", "unlock" },
		[STP__OBJ_COND] = { "wait", "timedwait", "wake", "signal", "broadcast" },
		[STP__OBJ_SEM] = { "wait", "trywait", "timedwait", "post" },
		[STP__OBJ_RWLOCK] = { "rdlock", "wrlock", "tryrdlock", "trywrlock", "timedrdlock",
				      "timedwrlock", "unlock" },
		[STP__OBJ_BARRIER] = { "wait" },
		[STP__OBJ_ONCE] = { "once" },
	};
	int i = 0;
	while (i < 7 && kinds[o->type][i] && strcmp(kinds[o->type][i], what) != 0)
		i++;
	if (i == 7 || !kinds[o->type][i])
		stp__panic("a point name no object of this type has", 0);
	if (!o->names[i][0])
		snprintf(o->names[i], sizeof o->names[i], "%s(%s)", what, o->label);
	return o->names[i];
}

/* Park t at a point "what(label)": 0 when granted, -1 when aborted. */
static int point(struct stp__thread *t, enum stp__op op, const char *what,
		 struct stp__obj *o, const char *file, int line)
{
	const char *at = stp__obj_point(o, what);
	t->op = op;
	t->obj = o;
	t->op_file = file;
	t->op_line = line;
	return stp__online_point(t, at);
}

static int null_arg(struct stp__thread *t, const char *fn, const char *file, int line)
{
	if (t) {
		stp__error(t->s, STP__OUT_FAIL, "[%s] called %s with NULL at %s:%d", t->name,
			   fn, file, line);
		stp__abort(t->s);
	}
	return STP_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Mutexes                                                             */
/* ------------------------------------------------------------------ */

static int self_deadlock(stp_stepper *s, struct stp__thread *t, struct stp__obj *m,
			 const char *file, int line)
{
	char at[STP__SITE_MAX], taken[STP__SITE_MAX];
	stp__error(s, STP__OUT_DEADLOCK,
		   "deadlock: [%s] locks %s at %s, which it already holds (taken at %s): a "
		   "self-deadlock",
		   t->name, m->label, stp__site_text(file, line, at, sizeof at),
		   stp__site_text(m->file, m->line, taken, sizeof taken));
	stp__abort(s);
	return STP_EDEADLOCK;
}

/* A lock after the run was aborted: threads run at once now. It never
 * waits for a mutex another controlled thread holds (that one may be
 * stuck in the deadlock that ended the run). */
static int lock_after_abort(stp_stepper *s, struct stp__thread *t,
			    pthread_mutex_t *real, const char *file, int line)
{
	stp__lock(&s->objmu);
	struct stp__obj *m = find_locked(s, real, STP__OBJ_MUTEX);
	int free_now = m && m->owner < 0;
	stp__unlock(&s->objmu);
	if (!free_now)
		return STP_EDEADLOCK;
	take(s, t, m, real, file, line);
	return 0;
}

/* Did the run end in a deadlock? Then every thread parked at a lock when
 * it was aborted was blocked in it (or parked beside a self-deadlock): its
 * lock returns STP_EDEADLOCK, whatever becomes of the mutex afterwards.
 * (Asking the mutex instead would race with the other blocked threads,
 * which release what they hold as they run to their ends.) */
static int deadlocked(stp_stepper *s)
{
	stp__lock(&s->mu);
	int d = s->outcome == STP__OUT_DEADLOCK;
	stp__unlock(&s->mu);
	return d;
}

/* m's kind, from its first use that names one (under objmu: after an
 * abort, threads that unlock run at once; a normal mutex's 0 is never
 * written). */
static void set_kind(stp_stepper *s, struct stp__obj *m, int kind)
{
	if (kind == STP__MUTEX_NORMAL)
		return;
	stp__lock(&s->objmu);
	if (!m->kind)
		m->kind = kind;
	stp__unlock(&s->objmu);
}

int stp_mutex_lock_(pthread_mutex_t *real, const char *file, int line)
{
	return stp__mutex_lock(real, STP__MUTEX_NORMAL, file, line);
}

/* A relock by the owner: a recursive mutex counts it, an error-checking
 * one says EDEADLK, a normal one deadlocks (reported). */
static int relock(stp_stepper *s, struct stp__thread *t, struct stp__obj *m,
		  const char *file, int line)
{
	if (m->kind == STP__MUTEX_RECURSIVE) {
		m->count++;
		return 0;
	}
	if (m->kind == STP__MUTEX_ERRORCHECK)
		return STP_EDEADLOCK;
	return self_deadlock(s, t, m, file, line);
}

int stp__mutex_lock(pthread_mutex_t *real, int kind, const char *file, int line)
{
	struct stp__thread *t = stp_self_;
	if (!real)
		return null_arg(t, "stp_mutex_lock", file, line);
	if (!controlled(t))
		return from_errno(pthread_mutex_lock(real));
	stp_stepper *s = t->s;
	if (stp__aborted(s))
		return lock_after_abort(s, t, real, file, line);
	struct stp__obj *m = find(s, real, 0);
	if (!m)
		return STP_ENOMEM;
	set_kind(s, m, kind);
	if (m->owner == t->index)
		return relock(s, t, m, file, line);
	if (point(t, STP__OP_LOCK, "lock", m, file, line) < 0)
		return deadlocked(s) ? STP_EDEADLOCK
				     : lock_after_abort(s, t, real, file, line);
	take(s, t, m, real, file, line);
	return 0;
}

int stp_mutex_trylock_(pthread_mutex_t *real, const char *file, int line)
{
	return stp__mutex_trylock(real, STP__MUTEX_NORMAL, file, line);
}

int stp__mutex_trylock(pthread_mutex_t *real, int kind, const char *file, int line)
{
	struct stp__thread *t = stp_self_;
	if (!real)
		return null_arg(t, "stp_mutex_trylock", file, line);
	if (!controlled(t))
		return from_errno(pthread_mutex_trylock(real));
	stp_stepper *s = t->s;
	struct stp__obj *m = stp__aborted(s) ? NULL : find(s, real, 0);
	if (m)
		set_kind(s, m, kind);
	if (m && m->owner == t->index && m->kind == STP__MUTEX_RECURSIVE) {
		m->count++;
		return 0;
	}
	if (!m || point(t, STP__OP_TRYLOCK, "trylock", m, file, line) < 0)
		return lock_after_abort(s, t, real, file, line) == 0 ? 0 : STP_EBUSY;
	if (m->owner >= 0)
		return STP_EBUSY;
	int e = s->model_only ? 0 : pthread_mutex_trylock(real);
	if (e) /* held outside the stepper */
		return from_errno(e);
	stp__lock(&s->objmu);
	took(m, t, file, line);
	stp__unlock(&s->objmu);
	return 0;
}

static int not_owner(stp_stepper *s, struct stp__thread *t, struct stp__obj *m,
		     const char *file, int line)
{
	char at[STP__SITE_MAX], taken[STP__SITE_MAX];
	stp__site_text(file, line, at, sizeof at);
	if (m->owner >= 0)
		stp__error(s, STP__OUT_FAIL, "[%s] unlocked %s at %s, but [%s] holds it (taken at %s)",
			   t->name, m->label, at, name_of(s, m->owner),
			   stp__site_text(m->file, m->line, taken, sizeof taken));
	else if (s->model_only)
		stp__error(s, STP__OUT_FAIL,
			   "[%s] unlocked %s at %s, which no thread holds (an unlock too many?)",
			   t->name, m->label, at);
	else
		stp__error(s, STP__OUT_FAIL,
			   "[%s] unlocked %s at %s, which no thread holds through "
			   "stp_mutex_lock (a plain pthread_mutex_lock on it, or an "
			   "unlock too many?)",
			   t->name, m->label, at);
	stp__abort(s);
	return STP_EPERM;
}

int stp_mutex_unlock_(pthread_mutex_t *real, const char *file, int line)
{
	return stp__mutex_unlock(real, STP__MUTEX_NORMAL, file, line);
}

int stp__mutex_unlock(pthread_mutex_t *real, int kind, const char *file, int line)
{
	struct stp__thread *t = stp_self_;
	if (!real)
		return null_arg(t, "stp_mutex_unlock", file, line);
	if (!controlled(t))
		return from_errno(pthread_mutex_unlock(real));
	stp_stepper *s = t->s;
	struct stp__obj *m = find(s, real, 0);
	if (!m)
		return STP_ENOMEM;
	set_kind(s, m, kind);
	stp__lock(&s->objmu);
	int mine = m->owner == t->index;
	int counted = mine && m->count > 0;
	if (counted)
		m->count--;
	stp__unlock(&s->objmu);
	if (counted)
		return 0;
	if (!mine)
		return stp__aborted(s) || m->kind != STP__MUTEX_NORMAL
			       ? STP_EPERM
			       : not_owner(s, t, m, file, line);
	if (!stp__aborted(s))
		point(t, STP__OP_UNLOCK, "unlock", m, file, line);
	release(s, t, m, real);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Conditions                                                          */
/* ------------------------------------------------------------------ */

/* A wait ended by the abort: take the mutex back if that can be done
 * without waiting, as the caller expects to hold it. */
static int wait_aborted(stp_stepper *s, struct stp__thread *t, pthread_mutex_t *mu,
			struct stp__obj *m, const char *file, int line)
{
	stp__lock(&s->objmu);
	int mine = m && m->owner == t->index;
	stp__unlock(&s->objmu);
	if (!mine)
		lock_after_abort(s, t, mu, file, line);
	return STP_EDEADLOCK;
}

static int wait_unheld(stp_stepper *s, struct stp__thread *t, struct stp__obj *cv,
		       struct stp__obj *m, const char *file, int line)
{
	char at[STP__SITE_MAX];
	stp__error(s, STP__OUT_FAIL, "[%s] waits on %s at %s with %s, which it does not hold%s",
		   t->name, cv->label, stp__site_text(file, line, at, sizeof at), m->label,
		   s->model_only ? "" : " (lock it with stp_mutex_lock first)");
	stp__abort(s);
	return STP_EPERM;
}

static void deadline_came(void *arg)
{
	stp__online_deadline(arg);
}

/* On a run with a clock, a timed wait's deadline: a virtual timer that
 * lets the wait time out when the clock reaches it. NULL without a clock
 * (the wait may time out when nothing else can go on). */
static void *clock_deadline(stp_stepper *s, struct stp__thread *t, uint64_t ns)
{
	if (!t->member || !s->hooks.clock || !s->hooks.clock->timer)
		return NULL;
	return s->hooks.clock->timer(ns, deadline_came, t);
}

static int core_wait(pthread_cond_t *cvp, pthread_mutex_t *mu, uint64_t ns, int timed,
		     const char *file, int line)
{
	struct stp__thread *t = stp_self_;
	if (!controlled(t))
		return STP__COND_PASS;
	stp_stepper *s = t->s;
	if (stp__aborted(s))
		return STP_EDEADLOCK;
	struct stp__obj *cv = find(s, cvp, 1), *m = cv ? find(s, mu, 0) : NULL;
	if (!m)
		return STP_ENOMEM;
	if (m->owner != t->index)
		return wait_unheld(s, t, cv, m, file, line);
	t->mutex = m;
	if (point(t, STP__OP_WAIT, timed ? "timedwait" : "wait", cv, file, line) < 0)
		return STP_EDEADLOCK;
	release(s, t, m, mu);
	stp__tset_add(&cv->waiting, t->index);
	t->timed = timed;
	atomic_store(&t->may_time_out, 0);
	t->mutex = m;
	t->timer = timed ? clock_deadline(s, t, ns) : NULL;
	t->has_deadline = timed && s->vtime;
	if (t->has_deadline) {
		t->deadline = ns > UINT64_MAX - s->vnow ? UINT64_MAX : s->vnow + ns;
		atomic_store(&t->may_time_out, ns == 0);
	}
	int parked = point(t, STP__OP_WOKEN, "wake", cv, file, line);
	t->has_deadline = 0;
	if (t->timer) {
		s->hooks.clock->timer_free(t->timer);
		t->timer = NULL;
	}
	if (parked < 0) {
		stp__lock(&s->objmu); /* threads run at once now */
		consume(cv, t);
		stp__unlock(&s->objmu);
		return wait_aborted(s, t, mu, m, file, line);
	}
	int got = consume(cv, t);
	take(s, t, m, mu, file, line);
	return got ? 0 : STP_ETIMEDOUT;
}

static int core_wake(pthread_cond_t *cvp, int all, const char *file, int line)
{
	struct stp__thread *t = stp_self_;
	if (!controlled(t) || stp__aborted(t->s))
		return STP__COND_PASS;
	stp_stepper *s = t->s;
	struct stp__obj *cv = find(s, cvp, 1);
	if (!cv || point(t, all ? STP__OP_BROADCAST : STP__OP_SIGNAL,
			 all ? "broadcast" : "signal", cv, file, line) < 0)
		return STP__COND_PASS;
	if (all) {
		cv->bcast = stp__tset_union(cv->bcast, &cv->waiting);
		stp__tset_clear(&cv->waiting);
		cv->nsig = 0;
	} else if (!stp__tset_empty(&cv->waiting) && add_signal(s, cv) < 0) {
		stp__abort(s);
	}
	stp__obj_changed(s, cv);
	return STP__COND_PASS; /* and wake any waiter outside the stepper */
}

/* A sleep of a controlled thread on the run's clock is a point: the
 * thread is blocked until the clock reaches its deadline, and the others
 * go on meanwhile (as they would on a real clock). */
static int core_sleep(uint64_t ns)
{
	struct stp__thread *t = stp_self_;
	if (!controlled(t) || stp__aborted(t->s))
		return STP__COND_PASS;
	stp_stepper *s = t->s;
	atomic_store(&t->may_time_out, 0);
	t->timer = clock_deadline(s, t, ns);
	if (!t->timer)
		return STP__COND_PASS; /* no clock: a real sleep */
	t->op = STP__OP_SLEEP;
	t->obj = NULL;
	t->op_file = "?";
	t->op_line = 0;
	int parked = stp__online_point(t, "sleep");
	s->hooks.clock->timer_free(t->timer);
	t->timer = NULL;
	return parked < 0 ? STP_EDEADLOCK : 0;
}

const stp__cond_hook stp__core_cond_hook = { core_wait, core_wake, core_sleep };
