/*
 * stepper.c - the stepper object: making it, registering threads, errors,
 * printing the order, freeing it.
 */
#include "stepper_int.h"
#include "env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Error names                                                         */
/* ------------------------------------------------------------------ */

const char *stp__step_name(const struct stp__thread *t, size_t k)
{
	return k < t->nsteps ? t->order[k] : "?";
}

const char *stp__last_step(const struct stp__thread *t)
{
	struct stp__thread *m = (struct stp__thread *)t;
	size_t k = atomic_load_explicit(&m->passed, memory_order_acquire);
	if (k == 0)
		return "?";
	if (!t->is_free)
		return t->order[k - 1];
	const char *l = atomic_load_explicit(&m->last, memory_order_acquire);
	return l ? l : "?";
}

/* ------------------------------------------------------------------ */
/* Making and freeing                                                  */
/* ------------------------------------------------------------------ */

static int copy_option_strings(stp_stepper *s)
{
	const char **fields[] = { &s->opt.trace, &s->opt.replay, &s->opt.trace_dir,
				  &s->opt.strategy };
	size_t total = 0;
	for (size_t i = 0; i < 4; i++)
		if (*fields[i])
			total += strlen(*fields[i]) + 1;
	if (total == 0)
		return 0;
	s->opt_strings = malloc(total);
	if (!s->opt_strings)
		return STP_ENOMEM;
	char *p = s->opt_strings;
	for (size_t i = 0; i < 4; i++) {
		if (!*fields[i])
			continue;
		size_t n = strlen(*fields[i]) + 1;
		memcpy(p, *fields[i], n);
		*fields[i] = p;
		p += n;
	}
	return 0;
}

stp_stepper *stp_new(const stp_options *o)
{
	/* aligned: the run state keeps hot fields on their own cache lines */
	stp_stepper *s = aligned_alloc(64, (sizeof *s + 63) & ~(size_t)63);
	if (!s)
		return NULL;
	memset(s, 0, sizeof *s);
	if (o)
		s->opt = *o;
	else
		stp_options_init(&s->opt);
	if (!s->opt.log)
		s->opt.log = stderr;
	if (s->opt.stall_ms == 0)
		s->opt.stall_ms = 2000;
	if (copy_option_strings(s) < 0) {
		free(s);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	if (pthread_mutex_init(&s->mu, NULL)) {
		free(s->opt_strings);
		free(s);
		return NULL;
	}
	if (pthread_mutex_init(&s->escape_mu, NULL)) {
		pthread_mutex_destroy(&s->mu);
		free(s->opt_strings);
		free(s);
		return NULL;
	}
	if (pthread_mutex_init(&s->objmu, NULL)) {
		pthread_mutex_destroy(&s->escape_mu);
		pthread_mutex_destroy(&s->mu);
		free(s->opt_strings);
		free(s);
		return NULL;
	}
	stp__sem_init(&s->done);
	stp__sem_init(&s->fiber_wake);
	s->fibers = stp__env_fibers();
	s->timed = s->opt.trace != NULL;
	s->strategy = "random";
	return s;
}

static void free_thread(struct stp__thread *t)
{
	if (!t)
		return;
	free(t->order); /* its names are t->names */
	for (size_t k = 0; k < t->nnames; k++)
		free(t->names[k]);
	free(t->names);
	free(t->entry_of);
	free(t->times);
	free(t->vtimes);
	if (t->member)
		t->s->hooks.clock->free_member(t->member);
	free(t->name);
	free(t);
}

static void destroy(stp_stepper *s)
{
	for (int i = 0; i < s->nthreads; i++)
		free_thread(s->threads[i]);
	for (size_t i = 0; i < s->nerrors; i++)
		free(s->errors[i]);
	free(s->errors);
	free(s->sched);
	free(s->sched_step);
	for (size_t k = 0; s->rec_name && k < s->nrec; k++)
		free(s->rec_name[k]);
	free(s->rec_name);
	free(s->rec_thread);
	free(s->log);
	free(s->en_big);
	free(s->opt_strings);
	if (s->replay && s->replay_free)
		s->replay_free(s->replay);
	stp__objs_clear(s);
	pthread_mutex_destroy(&s->objmu);
	pthread_mutex_destroy(&s->escape_mu);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void stp__unref(stp_stepper *s)
{
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		destroy(s);
}

void stp_free(stp_stepper *s)
{
	if (!s)
		return;
	if (s->hooks.errors_added)
		s->hooks.errors_added(s);
	stp__unref(s);
}

/* ------------------------------------------------------------------ */
/* Registering threads                                                 */
/* ------------------------------------------------------------------ */

static int valid_name(const char *n)
{
	size_t len = strnlen(n, STP_MAX_NAME + 1);
	return len > 0 && len <= STP_MAX_NAME && stp__utf8_valid(n);
}

/* An open-addressed set of the names interned so far (indices + 1 into
 * t->names), for intern_order. */
struct name_set {
	size_t *slot;
	size_t cap; /* a power of two, at least twice the names */
};

static size_t name_hash(const char *p)
{
	size_t h = 14695981039346656037u; /* FNV-1a */
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	return h;
}

/* The slot of name in the set: its own, or the empty one it would take. */
static size_t *name_slot(const struct name_set *ns, char **names, const char *name)
{
	size_t i = name_hash(name) & (ns->cap - 1);
	while (ns->slot[i] && strcmp(names[ns->slot[i] - 1], name) != 0)
		i = (i + 1) & (ns->cap - 1);
	return &ns->slot[i];
}

static int name_set_grow(struct name_set *ns, char **names, size_t nnames)
{
	struct name_set g = { calloc(ns->cap * 2, sizeof *g.slot), ns->cap * 2 };
	if (!g.slot)
		return -1;
	for (size_t k = 0; k < nnames; k++)
		*name_slot(&g, names, names[k]) = k + 1;
	free(ns->slot);
	*ns = g;
	return 0;
}

/* Point order[k] at one copy of each distinct name, kept in t->names: a
 * long order repeats a few names, and a step compares its name with the
 * same string each time (cache-warm, and memory per step is a pointer). */
static int intern_order(struct stp__thread *t, const char *const *order, size_t n)
{
	struct name_set ns = { calloc(16, sizeof *ns.slot), 16 };
	int rc = ns.slot ? 0 : -1;
	for (size_t k = 0; rc == 0 && k < n; k++) {
		size_t *sl = name_slot(&ns, t->names, order[k]);
		if (*sl) {
			t->order[k] = t->names[*sl - 1];
			continue;
		}
		if (t->nnames == t->capnames) {
			size_t cap = t->capnames ? 2 * t->capnames : 8;
			char **p = realloc(t->names, cap * sizeof *p);
			if (!p) {
				rc = -1;
				break;
			}
			t->names = p;
			t->capnames = cap;
		}
		char *c = stp__strdup(order[k]);
		if (!c) {
			rc = -1;
			break;
		}
		t->names[t->nnames++] = c;
		*sl = t->nnames;
		t->order[k] = c;
		if (2 * t->nnames >= ns.cap)
			rc = name_set_grow(&ns, t->names, t->nnames);
	}
	free(ns.slot);
	return rc;
}

int stp_thread(stp_stepper *s, const char *name, const char *const *order,
	       void (*fn)(void *), void *arg)
{
	if (!s || !fn || (name && !valid_name(name)))
		return STP_EINVAL;
	if (s->phase != STP__NEW)
		return STP_ESTATE;
	if (s->nthreads >= STP_MAX_THREADS)
		return STP_ELIMIT;
	size_t n = 0;
	while (order && order[n]) {
		if (!valid_name(order[n]))
			return STP_EINVAL;
		if (++n > STP_MAX_STEPS)
			return STP_ELIMIT;
	}
	if (order && n == 0)
		return STP_EINVAL;

	char defname[32];
	if (!name) {
		snprintf(defname, sizeof defname, "t%d", s->nthreads);
		name = defname;
	}
	for (int i = 0; i < s->nthreads; i++)
		if (strcmp(s->threads[i]->name, name) == 0)
			return STP_EDUP;

	struct stp__thread *t = stp__thread_alloc(s, name, fn, arg);
	if (!t)
		return STP_ENOMEM;
	t->is_free = !order;
	t->order = order ? calloc(n, sizeof *t->order) : NULL;
	if ((order && !t->order) || (order && intern_order(t, order, n) < 0)) {
		free_thread(t);
		return STP_ENOMEM;
	}
	t->nsteps = n;
	s->threads[s->nthreads++] = t;
	s->interleaved = 0; /* a schedule picked before no longer covers all */
	return t->index;
}

struct stp__thread *stp__thread_alloc(stp_stepper *s, const char *name,
				      void (*fn)(void *), void *arg)
{
	struct stp__thread *t = aligned_alloc(64, (sizeof *t + 63) & ~(size_t)63);
	if (!t)
		return NULL;
	memset(t, 0, sizeof *t);
	t->name = stp__strdup(name);
	if (!t->name) {
		free(t);
		return NULL;
	}
	t->is_free = 1;
	t->s = s;
	t->index = s->nthreads;
	t->fn = fn;
	t->arg = arg;
	stp__sem_init(&t->sem);
	stp__sem_init(&t->arrived);
	return t;
}

void stp__thread_free(struct stp__thread *t)
{
	free_thread(t);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

void stp__verror(stp_stepper *s, enum stp__outcome out, const char *fmt,
		 va_list ap)
{
	char *msg = stp__vstrdupf(fmt, ap);
	stp__lock(&s->mu);
	if (out > s->outcome)
		s->outcome = out;
	if (s->nerrors == s->caperrors) {
		size_t cap = s->caperrors ? s->caperrors * 2 : 4;
		char **e = realloc(s->errors, cap * sizeof *e);
		if (e) {
			s->errors = e;
			s->caperrors = cap;
		}
	}
	if (s->nerrors < s->caperrors)
		s->errors[s->nerrors++] = msg ? msg : stp__strdup("(out of memory)");
	else
		free(msg);
	stp__unlock(&s->mu);
	if (s->opt.debug && msg)
		fprintf(s->opt.log, "error: %s\n", msg);
}

void stp__error(stp_stepper *s, enum stp__outcome out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	stp__verror(s, out, fmt, ap);
	va_end(ap);
}

int stp_add_error(stp_stepper *s, const char *fmt, ...)
{
	if (!s || !fmt)
		return STP_EINVAL;
	va_list ap;
	va_start(ap, fmt);
	stp__verror(s, STP__OUT_FAIL, fmt, ap);
	va_end(ap);
	if (s->phase == STP__DONE) { /* the trace said how the run ended */
		s->trace_stale = 1;
		if (s->hooks.errors_added)
			s->hooks.errors_added(s);
	}
	return (int)stp_error_count(s);
}

size_t stp_error_count(const stp_stepper *s)
{
	if (!s)
		return 0;
	stp_stepper *m = (stp_stepper *)s;
	stp__lock(&m->mu);
	size_t n = m->nerrors;
	stp__unlock(&m->mu);
	return n;
}

const char *stp_error(const stp_stepper *s, size_t i)
{
	if (!s)
		return NULL;
	stp_stepper *m = (stp_stepper *)s;
	stp__lock(&m->mu);
	const char *e = i < m->nerrors ? m->errors[i] : NULL;
	stp__unlock(&m->mu);
	return e;
}

/* ------------------------------------------------------------------ */
/* Accessors and printing                                              */
/* ------------------------------------------------------------------ */

size_t stp_steps_left(const stp_stepper *s)
{
	if (!s || !s->interleaved || s->online)
		return 0;
	return s->nsched - stp__passed_total(s);
}

size_t stp__passed_total(const stp_stepper *s)
{
	size_t n = 0; /* the watchdog reads it while threads are made (spawn.c) */
	for (int i = 0, nt = stp__nthreads(s); i < nt; i++)
		n += atomic_load_explicit(&s->threads[i]->passed,
					  memory_order_acquire);
	return n;
}

const int *stp_schedule(const stp_stepper *s, size_t *n)
{
	if (n)
		*n = (s && s->interleaved) ? s->nsched : 0;
	return (s && s->interleaved) ? s->sched : NULL;
}

const char *stp_thread_name(const stp_stepper *s, int i)
{
	return (s && i >= 0 && i < s->nthreads) ? s->threads[i]->name : NULL;
}

const char *stp_entry_step(const stp_stepper *s, size_t k)
{
	if (!s || !s->interleaved || k >= s->nsched)
		return NULL;
	if (s->online)
		return s->log[k].name;
	return s->threads[s->sched[k]]->order[s->sched_step[k]];
}

size_t stp_thread_count(const stp_stepper *s)
{
	return s ? (size_t)s->nthreads : 0;
}

const stp_options *stp_get_options(const stp_stepper *s)
{
	return s ? &s->opt : NULL;
}

void stp_print_order(const stp_stepper *s, FILE *out)
{
	if (!out)
		return;
	fputs("====\n", out);
	if (s && s->interleaved)
		for (size_t k = 0; k < s->nsched; k++)
			fprintf(out, "[%s] %s\n", s->threads[s->sched[k]]->name,
				stp_entry_step(s, k));
	for (int i = 0; s && s->phase == STP__DONE && i < s->nthreads; i++)
		if (stp__tset_has(&s->blocked_at_end, i))
			fprintf(out, "[%s] %s   (blocked: the deadlock)\n", s->threads[i]->name,
				atomic_load(&s->threads[i]->at));
	fputs("====\n", out);
}
