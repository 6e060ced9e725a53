/*
 * prims.c - semaphores, rwlocks, barriers and once, as points of a run.
 *
 * The same shape as locks.c's mutexes: each call parks the thread at a
 * point named for the operation and the object ("post(sem#1)",
 * "rdlock(rw#1)", "wait(bar#1)", "once(once#1)"), whose operation is
 * enabled or blocked by the model (stp__op_enabled), and the model
 * changes once the point is granted, by the thread that holds the
 * turnstile. So who takes a semaphore, which reader or writer goes in,
 * who leaves a barrier first and who runs a once routine are decisions of
 * the run's source, recorded and replayed like any other.
 *
 * The model never reads or writes the object's memory: a semaphore's
 * initial value and a barrier's count come from their *_init calls (an
 * object used without one is an error), a rwlock's kind and whether a
 * once ran before the run are passed in by the caller (the preload reads
 * them where glibc keeps them). After an abort nothing here touches the
 * model: every call returns STP_EDEADLOCK at once.
 */
#include "stepper_int.h"

#include <limits.h>
#include <semaphore.h>
#include <stdlib.h>

/* Park t at the point "what(label)" of o: 0 when granted, -1 when the
 * run was aborted first. */
static int point(struct stp__thread *t, enum stp__op op, const char *what, struct stp__obj *o)
{
	t->op = op;
	t->obj = o;
	t->mutex = NULL;
	t->join = NULL;
	if (!t->site[0])
		stp__set_site(t, "?");
	t->op_file = t->site;
	t->op_line = 0;
	return stp__online_point(t, stp__obj_point(o, what));
}

/* The record of addr for self's call; NULL with *rc when the run is
 * aborted (or was, for want of memory). */
static struct stp__obj *get(struct stp__thread *self, const void *addr,
			    enum stp__objtype type, int *rc)
{
	*rc = STP_EDEADLOCK;
	if (stp__aborted(self->s))
		return NULL;
	return stp__obj_find(self->s, addr, type);
}

/* ...which some *_init of the run made (init names it, call is what
 * self calls); else reported, the run aborted, NULL and STP_EINVAL. */
static struct stp__obj *initialised(struct stp__thread *self, const void *addr,
				    enum stp__objtype type, const char *call,
				    const char *init, int *rc)
{
	struct stp__obj *o = get(self, addr, type, rc);
	if (!o || o->inited)
		return o;
	stp__error(self->s, STP__OUT_FAIL,
		   "[%s] calls %s on %s at %s, which no %s of this run initialised", self->name,
		   call, o->label, self->site[0] ? self->site : "?", init);
	stp__abort(self->s);
	*rc = STP_EINVAL;
	return NULL;
}

/* A timed operation's deadline, ns from now on virtual time (as
 * locks.c's timed wait): it may time out once due; without virtual time,
 * when nothing else can go on. */
static void arm(struct stp__thread *t, int timed, uint64_t ns)
{
	stp_stepper *s = t->s;
	t->timed = timed;
	t->timer = NULL;
	t->has_deadline = timed && s->vtime;
	if (t->has_deadline)
		t->deadline = ns > UINT64_MAX - s->vnow ? UINT64_MAX : s->vnow + ns;
	atomic_store(&t->may_time_out, t->has_deadline && ns == 0);
}

static void disarm(struct stp__thread *t)
{
	t->timed = 0;
	t->has_deadline = 0;
}

/* The holder's site, kept with the object for reports. */
static void taken_by(struct stp__obj *o, const struct stp__thread *t)
{
	o->owner = t->index;
	snprintf(o->taken_at, sizeof o->taken_at, "%s", t->site[0] ? t->site : "?");
	o->file = o->taken_at;
	o->line = 0;
}

/* ------------------------------------------------------------------ */
/* Semaphores                                                          */
/* ------------------------------------------------------------------ */

int stp__semaphore_init(struct stp__thread *self, const void *sem, unsigned value)
{
	int rc;
	struct stp__obj *o = get(self, sem, STP__OBJ_SEM, &rc);
	if (!o)
		return rc;
	if (value > SEM_VALUE_MAX)
		return STP_EINVAL;
	o->inited = 1;
	o->value = value;
	stp__obj_changed(self->s, o);
	return 0;
}

int stp__semaphore_destroy(struct stp__thread *self, const void *sem)
{
	if (stp__aborted(self->s))
		return STP_EDEADLOCK;
	stp__obj_drop(self->s, sem);
	return 0;
}

int stp__semaphore_wait(struct stp__thread *self, const void *sem, int timed, uint64_t ns)
{
	int rc;
	struct stp__obj *o = initialised(self, sem, STP__OBJ_SEM,
					 timed ? "sem_timedwait" : "sem_wait", "sem_init", &rc);
	if (!o)
		return rc;
	arm(self, timed, ns);
	int parked = point(self, STP__OP_SEM_WAIT, timed ? "timedwait" : "wait", o);
	disarm(self);
	if (parked < 0)
		return STP_EDEADLOCK;
	if (o->value == 0)
		return STP_ETIMEDOUT;
	o->value--;
	return 0;
}

int stp__semaphore_trywait(struct stp__thread *self, const void *sem)
{
	int rc;
	struct stp__obj *o = initialised(self, sem, STP__OBJ_SEM, "sem_trywait", "sem_init", &rc);
	if (!o)
		return rc;
	if (point(self, STP__OP_SEM_TRYWAIT, "trywait", o) < 0)
		return STP_EDEADLOCK;
	if (o->value == 0)
		return STP_EAGAIN;
	o->value--;
	return 0;
}

int stp__semaphore_post(struct stp__thread *self, const void *sem)
{
	int rc;
	struct stp__obj *o = initialised(self, sem, STP__OBJ_SEM, "sem_post", "sem_init", &rc);
	if (!o)
		return rc;
	if (point(self, STP__OP_SEM_POST, "post", o) < 0)
		return STP_EDEADLOCK;
	if (o->value >= SEM_VALUE_MAX)
		return STP_ERANGE;
	o->value++;
	stp__obj_changed(self->s, o);
	return 0;
}

int stp__semaphore_value(struct stp__thread *self, const void *sem, unsigned *value)
{
	int rc;
	struct stp__obj *o = initialised(self, sem, STP__OBJ_SEM, "sem_getvalue", "sem_init", &rc);
	if (!o)
		return rc;
	*value = o->value;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Rwlocks                                                             */
/* ------------------------------------------------------------------ */

stp__tset stp__rw_blockers(const struct stp__obj *rw, const struct stp__thread *t, int write)
{
	stp__tset b = stp__tset_of(rw->owner);
	if (write)
		return stp__tset_union(b, &rw->readers);
	if (rw->kind == STP__RW_PREFER_WRITER) {
		stp__tset w = rw->wwait;
		stp__tset_del(&w, t->index);
		b = stp__tset_union(b, &w);
	}
	return b;
}

static int rw_blocked(const struct stp__obj *rw, const struct stp__thread *t, int write)
{
	stp__tset b = stp__rw_blockers(rw, t, write);
	return !stp__tset_empty(&b);
}

/* The rwlock's record, its readers' counts made at first use, when its
 * kind is taken too. */
static struct stp__obj *rwlock(struct stp__thread *self, const void *rw, int kind, int *rc)
{
	struct stp__obj *o = get(self, rw, STP__OBJ_RWLOCK, rc);
	if (!o || o->reads)
		return o;
	o->reads = calloc(STP_MAX_THREADS, sizeof *o->reads);
	if (!o->reads) {
		stp__error(self->s, STP__OUT_FAIL, "out of memory recording a rwlock");
		stp__abort(self->s);
		*rc = STP_ENOMEM;
		return NULL;
	}
	o->kind = kind;
	return o;
}

int stp__rwlock_init(struct stp__thread *self, const void *rw, int kind)
{
	int rc;
	struct stp__obj *o = rwlock(self, rw, kind, &rc);
	if (!o)
		return rc;
	o->kind = kind;
	return 0;
}

int stp__rwlock_destroy(struct stp__thread *self, const void *rw)
{
	if (stp__aborted(self->s))
		return STP_EDEADLOCK;
	stp__obj_drop(self->s, rw);
	return 0;
}

static void take_rw(struct stp__obj *o, const struct stp__thread *t, int write)
{
	if (write) {
		taken_by(o, t);
		return;
	}
	o->reads[t->index]++;
	stp__tset_add(&o->readers, t->index);
}

static const char *lock_what(int write, int timed)
{
	if (timed)
		return write ? "timedwrlock" : "timedrdlock";
	return write ? "wrlock" : "rdlock";
}

int stp__rwlock_lock(struct stp__thread *self, const void *rw, int kind, int write, int timed,
		     uint64_t ns)
{
	int rc;
	struct stp__obj *o = rwlock(self, rw, kind, &rc);
	if (!o)
		return rc;
	if (o->owner == self->index)
		return STP_EDEADLOCK; /* glibc's EDEADLK: its writer locks it again */
	if (write)
		stp__tset_add(&o->wwait, self->index);
	arm(self, timed, ns);
	int parked = point(self, write ? STP__OP_WRLOCK : STP__OP_RDLOCK, lock_what(write, timed), o);
	disarm(self);
	if (parked < 0)
		return STP_EDEADLOCK;
	stp__tset_del(&o->wwait, self->index);
	if (write) /* readers may go on: a writer no longer waits */
		stp__obj_changed(self->s, o);
	if (rw_blocked(o, self, write))
		return STP_ETIMEDOUT;
	take_rw(o, self, write);
	return 0;
}

int stp__rwlock_trylock(struct stp__thread *self, const void *rw, int kind, int write)
{
	int rc;
	struct stp__obj *o = rwlock(self, rw, kind, &rc);
	if (!o)
		return rc;
	if (point(self, write ? STP__OP_TRYWRLOCK : STP__OP_TRYRDLOCK,
		  write ? "trywrlock" : "tryrdlock", o) < 0)
		return STP_EDEADLOCK;
	if (rw_blocked(o, self, write))
		return STP_EBUSY;
	take_rw(o, self, write);
	return 0;
}

static int not_held(struct stp__thread *self, const struct stp__obj *o)
{
	stp__error(self->s, STP__OUT_FAIL,
		   "[%s] unlocked %s at %s, which it does not hold (an unlock too many?)",
		   self->name, o->label, self->site[0] ? self->site : "?");
	stp__abort(self->s);
	return STP_EPERM;
}

int stp__rwlock_unlock(struct stp__thread *self, const void *rw, int kind)
{
	int rc;
	struct stp__obj *o = rwlock(self, rw, kind, &rc);
	if (!o)
		return rc;
	int writer = o->owner == self->index;
	if (!writer && o->reads[self->index] == 0)
		return not_held(self, o);
	if (point(self, STP__OP_RWUNLOCK, "unlock", o) < 0)
		return STP_EDEADLOCK;
	if (writer)
		o->owner = -1;
	else if (--o->reads[self->index] == 0)
		stp__tset_del(&o->readers, self->index);
	stp__obj_changed(self->s, o);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Barriers                                                            */
/* ------------------------------------------------------------------ */

int stp__barrier_init(struct stp__thread *self, const void *bar, unsigned count)
{
	int rc;
	struct stp__obj *o = get(self, bar, STP__OBJ_BARRIER, &rc);
	if (!o)
		return rc;
	if (count == 0)
		return STP_EINVAL;
	o->inited = 1;
	o->need = count;
	stp__tset_clear(&o->arrived);
	stp__tset_clear(&o->open);
	return 0;
}

int stp__barrier_destroy(struct stp__thread *self, const void *bar)
{
	if (stp__aborted(self->s))
		return STP_EDEADLOCK;
	stp__obj_drop(self->s, bar);
	return 0;
}

int stp__barrier_wait(struct stp__thread *self, const void *bar)
{
	int rc;
	struct stp__obj *o = initialised(self, bar, STP__OBJ_BARRIER, "pthread_barrier_wait",
					 "pthread_barrier_init", &rc);
	if (!o)
		return rc;
	/* it arrives now (it runs); leaving is the point, once the round is open */
	stp__tset_add(&o->arrived, self->index);
	int last = (unsigned)stp__tset_count(&o->arrived) >= o->need;
	if (last) {
		o->open = stp__tset_union(o->open, &o->arrived);
		stp__tset_clear(&o->arrived);
		stp__obj_changed(self->s, o);
	}
	if (point(self, STP__OP_BARRIER, "wait", o) < 0)
		return STP_EDEADLOCK;
	stp__tset_del(&o->open, self->index);
	return last ? STP__BARRIER_SERIAL : 0;
}

/* ------------------------------------------------------------------ */
/* Once                                                                */
/* ------------------------------------------------------------------ */

int stp__once_enter(struct stp__thread *self, const void *once, int done_before)
{
	int rc;
	struct stp__obj *o = get(self, once, STP__OBJ_ONCE, &rc);
	if (!o)
		return rc;
	if (!o->inited) {
		o->inited = 1;
		o->state = done_before ? STP__ONCE_DONE : STP__ONCE_NEW;
	}
	if (point(self, STP__OP_ONCE, "once", o) < 0)
		return STP_EDEADLOCK;
	if (o->state == STP__ONCE_DONE)
		return 0;
	o->state = STP__ONCE_RUNNING;
	taken_by(o, self);
	return STP__ONCE_RUN;
}

void stp__once_done(struct stp__thread *self, const void *once)
{
	int rc;
	struct stp__obj *o = get(self, once, STP__OBJ_ONCE, &rc);
	if (!o || o->owner != self->index)
		return;
	o->state = STP__ONCE_DONE;
	o->owner = -1;
	stp__obj_changed(self->s, o);
}
