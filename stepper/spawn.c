/*
 * spawn.c - threads made during a run, joins, yields, virtual sleeps and
 * the program's exit: the points an unmodified program reaches through
 * its pthread calls (stepper/auto), in the core's terms.
 *
 * A new thread is registered before its parent goes on, and parks at its
 * "start" point before any of its code runs (Fray's threadStartDone): the
 * parent waits for that, then parks at "spawn(<child>)", so the first
 * decision after a pthread_create may let either go first. Names are
 * creation paths ("main/2": main's second child), so a thread's name does
 * not depend on the schedule of its siblings, nor on addresses or ids.
 */
#include "stepper_int.h"

#include <stdio.h>
#include <string.h>

static void set_point(struct stp__thread *t, enum stp__op op, struct stp__thread *on)
{
	t->op = op;
	t->obj = NULL;
	t->mutex = NULL;
	t->join = on;
	if (!t->site[0])
		snprintf(t->site, sizeof t->site, "?");
	t->op_file = t->site;
	t->op_line = 0;
}

void stp__set_site(struct stp__thread *t, const char *site)
{
	snprintf(t->site, sizeof t->site, "%s", site ? site : "?");
}

static int too_many(stp_stepper *s, struct stp__thread *parent)
{
	stp__error(s, STP__OUT_FAIL,
		   "cannot control more than %d threads: [%s] creates one more at %s",
		   STP_MAX_THREADS, parent->name, parent->site[0] ? parent->site : "?");
	stp__abort(s);
	return STP_ELIMIT;
}

/* The child's record, registered (index and name), or NULL. */
static struct stp__thread *make_child(struct stp__thread *parent, void (*fn)(void *),
				      void *arg)
{
	stp_stepper *s = parent->s;
	char name[STP_MAX_NAME + 1];
	int n = snprintf(name, sizeof name, "%s/%d", parent->name, parent->nchildren + 1);
	if (n < 0 || n > STP_MAX_NAME)
		snprintf(name, sizeof name, "t%d", s->nthreads); /* too deep to name */
	struct stp__thread *t = stp__thread_alloc(s, name, fn, arg);
	if (!t)
		return NULL;
	parent->nchildren++;
	t->parent = parent;
	snprintf(t->spawn_point, sizeof t->spawn_point, "spawn(%s)", t->name);
	snprintf(t->join_point, sizeof t->join_point, "join(%s)", t->name);
	if (s->hooks.clock)
		t->member = s->hooks.clock->add_member(s->opt.clock, t);
	s->threads[s->nthreads] = t;
	__atomic_store_n(&s->nthreads, s->nthreads + 1, __ATOMIC_RELEASE);
	atomic_fetch_add(&s->refs, 1);
	return t;
}

int stp__spawn(struct stp__thread *parent, void (*fn)(void *), void *arg,
	       int (*start)(struct stp__thread *child, void *ctx), void *ctx,
	       struct stp__thread **out)
{
	stp_stepper *s = parent->s;
	if (stp__aborted(s))
		return STP_EDEADLOCK;
	if (s->planned || !s->online)
		return STP_ESTATE;
	if (s->nthreads >= STP_MAX_THREADS)
		return too_many(s, parent);
	struct stp__thread *t = make_child(parent, fn, arg);
	if (!t) {
		stp__error(s, STP__OUT_FAIL, "out of memory making a thread of [%s]",
			   parent->name);
		stp__abort(s);
		return STP_ENOMEM;
	}
	if (start(t, ctx) != 0) {
		/* never ran: it ends at once, unseen by any decision */
		atomic_store(&t->ended, 1);
		atomic_store(&t->state, STP__T_ENDED);
		if (atomic_fetch_add(&s->nended, 1) + 1 == stp__nthreads(s))
			stp__sem_post(&s->done);
		stp__unref(s);
		return STP_ETHREAD;
	}
	if (s->src.spawned)
		s->src.spawned(s, t->index);
	stp__sem_wait(&parent->arrived, STP__WARM);
	if (out)
		*out = t;
	set_point(parent, STP__OP_SPAWN, NULL);
	return stp__online_point(parent, t->spawn_point) < 0 ? STP_EDEADLOCK : 0;
}

int stp__join(struct stp__thread *self, struct stp__thread *target)
{
	if (target == self)
		return STP_EDEADLOCK;
	if (target->detached || target->joined)
		return STP_EINVAL;
	target->joined = 1;
	set_point(self, STP__OP_JOIN, target);
	int rc = stp__online_point(self, target->join_point);
	self->join = NULL;
	return rc < 0 ? STP_EDEADLOCK : 0;
}

int stp__detach(struct stp__thread *target)
{
	if (target->detached || target->joined)
		return STP_EINVAL;
	target->detached = 1;
	return 0;
}

int stp__yield(struct stp__thread *self)
{
	set_point(self, STP__OP_YIELD, NULL);
	return stp__online_point(self, "yield") < 0 ? STP_EDEADLOCK : 0;
}

int stp__vsleep(struct stp__thread *self, uint64_t ns)
{
	stp_stepper *s = self->s;
	set_point(self, STP__OP_SLEEP, NULL);
	self->timer = NULL;
	self->has_deadline = 1;
	self->deadline = ns > UINT64_MAX - s->vnow ? UINT64_MAX : s->vnow + ns;
	atomic_store(&self->may_time_out, ns == 0);
	int rc = stp__online_point(self, "sleep");
	self->has_deadline = 0;
	return rc < 0 ? STP_EDEADLOCK : 0;
}

int stp__exit_point(struct stp__thread *self)
{
	set_point(self, STP__OP_EXIT, NULL);
	return stp__online_point(self, "exit") < 0 ? STP_EDEADLOCK : 0;
}
