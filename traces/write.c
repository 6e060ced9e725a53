/*
 * write.c - a stepper's trace as a JSON document, written atomically.
 */
#include "trace_int.h"
#include "preempt.h"

#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *stp__outcome_name(enum stp__outcome o)
{
	switch (o) {
	case STP__OUT_PASS:
		return "pass";
	case STP__OUT_FAIL:
		return "fail";
	case STP__OUT_DIVERGENCE:
		return "divergence";
	case STP__OUT_STALL:
		return "stall";
	case STP__OUT_DEADLOCK:
		return "deadlock";
	default:
		return "none";
	}
}

/* JSON integers are signed 64-bit: a larger seed is written as a string. */
static json_t *u64_json(uint64_t v)
{
	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	char buf[24];
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
	return json_string(buf);
}

static int add(json_t *obj, const char *key, json_t *v)
{
	return v ? json_object_set_new(obj, key, v) : -1;
}

/* A string as a trace holds it: valid UTF-8 (each byte of an ill-formed
 * sequence becomes U+FFFD), at most max bytes. NULL when out of memory. */
static json_t *text_json(const char *s, size_t max)
{
	char *fixed = stp__utf8_repair(s ? s : "", max, STP__TRACE_CUT);
	json_t *v = fixed ? json_string(fixed) : NULL;
	free(fixed);
	return v;
}

static json_t *name_json(const char *s)
{
	return text_json(s, STP_MAX_NAME);
}

static json_t *thread_json(const struct stp__thread *t)
{
	json_t *o = json_object();
	if (o && t->is_free) { /* version 2: no declared order */
		if (!add(o, "name", name_json(t->name)))
			return o;
		json_decref(o);
		return NULL;
	}
	json_t *order = json_array();
	int bad = !order || !o;
	for (size_t k = 0; !bad && k < t->nsteps; k++)
		bad = json_array_append_new(order, name_json(t->order[k]));
	bad = bad || add(o, "name", name_json(t->name)) ||
	      json_object_set(o, "order", order);
	json_decref(order);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *threads_json(const stp_stepper *s)
{
	json_t *arr = json_array();
	for (int i = 0; arr && i < s->nthreads; i++)
		if (json_array_append_new(arr, thread_json(s->threads[i]))) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

/* Version 2: an entry's "kind", written for a lock or wait point, and
 * for a step whose name looks like one (a free thread's step named
 * "lock(m#1)"); without it, a reader takes the kind the name's shape says
 * (FORMAT.md). */
static int add_kind(json_t *e, enum stp__kind kind, const char *name)
{
	if (kind == STP__K_STEP && stp__kind_of_name(name) == STP__K_STEP)
		return 0;
	return add(e, "kind", json_string(stp__kind_name(kind)));
}

/* An online run's entry k: a step, or the point its name says. */
static enum stp__kind log_kind(const stp__entry *l)
{
	if (l->is_step)
		return STP__K_STEP;
	enum stp__kind k = stp__kind_of_name(l->name);
	return k == STP__K_STEP ? STP__K_POINT : k;
}

/* The version an online run's trace needs: 3 when a point of kind
 * "point" is in it (a program's run), else 2. */
static int online_version(const stp_stepper *s)
{
	if (atomic_load(&((stp_stepper *)s)->escapes))
		return 3;
	for (size_t k = 0; k < s->dec.nlog; k++)
		if (log_kind(&s->log[k]) == STP__K_POINT)
			return 3;
	return 2;
}

/* Version 2: how entry k came (FORMAT.md): the how-many-th time its
 * thread was at its point, and, when another thread decided, where that
 * one was and whether it could have gone on. */
static int add_anchor(json_t *e, const stp__entry *l, size_t occ, size_t from_occ)
{
	if (add(e, "occurrence", json_integer((json_int_t)occ)))
		return -1;
	if (l->current < 0 || l->current == l->thread)
		return 0;
	json_t *from = json_object();
	if (!from || add(from, "thread", json_integer(l->current)) ||
	    (l->current_at && (add(from, "at", name_json(l->current_at)) ||
			       add(from, "occurrence", json_integer((json_int_t)from_occ))))) {
		json_decref(from);
		return -1;
	}
	return add(e, "from", from) || (l->preempt && add(e, "preempt", json_true()));
}

/* Does the trace carry each entry's anchor (what a lenient replay
 * applies)? A shrunk trace always; any other online run's up to
 * STP__TRACE_ANCHORED entries: past that, anchors could take a long run's
 * trace past its size limit, and it replays leniently by the default
 * policy alone. */
static int with_anchors(const stp_stepper *s)
{
	if (!s->online)
		return 0;
	return (s->strategy && strcmp(s->strategy, "shrunk") == 0) ||
	       (s->dec.nlog > s->nsched ? s->dec.nlog : s->nsched) <= STP__TRACE_ANCHORED;
}

static json_t *schedule_json(const stp_stepper *s)
{
	size_t n = !with_anchors(s) ? 0 : s->dec.nlog > s->nsched ? s->dec.nlog : s->nsched;
	size_t *occ = calloc(n ? n : 1, sizeof *occ);
	size_t *from_occ = calloc(n ? n : 1, sizeof *from_occ);
	json_t *arr = occ && from_occ && !(n && stp__log_occurrences(s, occ, from_occ) < 0)
			      ? json_array()
			      : NULL;
	for (size_t k = 0; arr && k < s->nsched; k++) {
		json_t *e = json_object();
		if (!e || add(e, "thread", json_integer(s->sched[k])) ||
		    add(e, "step", name_json(stp_entry_step(s, k))) ||
		    (s->online && add_kind(e, log_kind(&s->log[k]), s->log[k].name)) ||
		    (n && add_anchor(e, &s->log[k], occ[k], from_occ[k])) ||
		    json_array_append_new(arr, e)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(occ);
	free(from_occ);
	return arr;
}

/* One event: entry k's thread and step, and when it passed. */
static json_t *event_json(const stp_stepper *s, const struct stp__thread *t,
			  size_t step)
{
	json_t *e = json_object();
	if (!e || add(e, "thread", json_integer(t->index)) ||
	    add(e, "step", name_json(t->order[step])) ||
	    (s->timed && add(e, "mono_ns", u64_json(t->times[step]))) ||
	    (s->opt.clock && add(e, "virt_ns", u64_json(t->vtimes[step])))) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* Online runs: the entries that passed, with their times. */
static json_t *online_events_json(const stp_stepper *s)
{
	json_t *arr = json_array();
	for (size_t k = 0; arr && k < s->nsched; k++) {
		const stp__entry *l = &s->log[k];
		if (!l->passed)
			continue;
		json_t *e = json_object();
		if (!e || add(e, "thread", json_integer(l->thread)) ||
		    add(e, "step", name_json(l->name)) ||
		    add_kind(e, log_kind(l), l->name) ||
		    (s->timed && add(e, "mono_ns", u64_json(l->mono_ns))) ||
		    (s->opt.clock && add(e, "virt_ns", u64_json(l->virt_ns))) ||
		    json_array_append_new(arr, e)) {
			json_decref(e);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* The events, rebuilt from each thread's passed count: steps pass in
 * schedule order, so entry k happened iff its step index is below its
 * thread's passed count. */
static json_t *events_json(const stp_stepper *s)
{
	if (s->online)
		return online_events_json(s);
	json_t *arr = json_array();
	for (size_t k = 0; arr && k < s->nsched; k++) {
		const struct stp__thread *t = s->threads[s->sched[k]];
		size_t step = s->sched_step[k];
		if (step >= atomic_load(&((struct stp__thread *)t)->passed))
			continue;
		if (json_array_append_new(arr, event_json(s, t, step))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* The errors, each cut to STP__TRACE_MAX_ERROR bytes; past
 * STP__TRACE_MAX_ERRORS errors or STP__TRACE_ERROR_BUDGET bytes in all,
 * one last entry says how many more there were. */
static json_t *errors_json(const stp_stepper *s)
{
	json_t *arr = json_array();
	size_t n = stp_error_count(s), used = 0, i = 0;
	for (; arr && i < n; i++) {
		json_t *v = text_json(stp_error(s, i), STP__TRACE_MAX_ERROR);
		size_t len = v ? json_string_length(v) : 0;
		if (v && (i + 1 == STP__TRACE_MAX_ERRORS ||
			  used + len > STP__TRACE_ERROR_BUDGET) && i + 1 < n) {
			json_decref(v); /* no room for this one and the rest */
			break;
		}
		used += len;
		if (json_array_append_new(arr, v)) {
			json_decref(arr);
			return NULL;
		}
	}
	if (arr && i < n) {
		char note[160];
		snprintf(note, sizeof note,
			 "%zu more errors are not in this trace (a trace keeps %u errors, "
			 "%u MiB of them)",
			 n - i, STP__TRACE_MAX_ERRORS, STP__TRACE_ERROR_BUDGET >> 20);
		if (json_array_append_new(arr, json_string(note))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *document(const stp_stepper *s)
{
	json_t *d = json_object();
	if (!d)
		return NULL;
	int bad = add(d, "format", json_string(STP_TRACE_FORMAT)) ||
		  add(d, "version", json_integer(s->online ? online_version(s) : 1)) ||
		  add(d, "stepper", json_string(STP_VERSION)) ||
		  add(d, "seed", u64_json(s->opt.seed)) ||
		  add(d, "strategy", json_string(s->strategy)) ||
		  add(d, "mode", json_string(s->opt.mode == STP_OVERLAP ? "overlap"
									 : "serial")) ||
		  add(d, "stall_ms", json_integer(s->opt.stall_ms)) ||
		  add(d, "threads", threads_json(s)) ||
		  add(d, "schedule", schedule_json(s));
	if (!bad && s->phase == STP__DONE)
		bad = add(d, "events", events_json(s)) ||
		      add(d, "outcome", json_string(stp__outcome_name(s->outcome))) ||
		      add(d, "errors", errors_json(s));
	unsigned left = atomic_load(&((stp_stepper *)s)->escapes);
	if (!bad && s->online && left)
		bad = add(d, "left_control", json_integer(left));
	if (bad) {
		json_decref(d);
		return NULL;
	}
	return d;
}

/* Write all of text to f. 0 or STP_EIO (errno says why). */
static int write_all(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return STP_EIO;
	int rc = fwrite(text, 1, n, f) == n ? 0 : STP_EIO;
	int e = errno;
	if (fclose(f) != 0 && rc == 0) {
		rc = STP_EIO;
		e = errno;
	}
	errno = e;
	return rc;
}

static int write_json_atomic(json_t *doc, const char *path)
{
	static atomic_uint counter;
	char *text = json_dumps(doc, JSON_INDENT(2));
	if (!text)
		return STP_ENOMEM;
	size_t len = strlen(text);
	if (len + 1 > STP__TRACE_MAX_BYTES) { /* the loader would refuse it */
		free(text);
		return STP_ELIMIT;
	}
	text[len] = '\n'; /* the NUL's place: the file ends in a newline */
	size_t n = strlen(path) + 64;
	char *tmp = malloc(n);
	if (!tmp) {
		free(text);
		return STP_ENOMEM;
	}
	snprintf(tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(),
		 atomic_fetch_add(&counter, 1));
	int rc = write_all(tmp, text, len + 1);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = STP_EIO;
	if (rc != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
	}
	free(tmp);
	free(text);
	return rc;
}

int stp_trace_write(const stp_stepper *s, const char *path)
{
	if (!s || !path || !*path || !s->interleaved)
		return STP_EINVAL;
	if (s->nsched > STP__TRACE_MAX_ENTRIES)
		return STP_ELIMIT;
	json_t *d = document(s);
	if (!d)
		return STP_ENOMEM;
	int rc = write_json_atomic(d, path);
	json_decref(d);
	return rc;
}

/* ------------------------------------------------------------------ */
/* A loaded trace, written back                                        */
/* ------------------------------------------------------------------ */

static json_t *step_ref(int thread, const char *step)
{
	return json_pack("{s:i, s:s}", "thread", thread, "step", step);
}

static json_t *loaded_threads(const stp_trace *t)
{
	json_t *threads = json_array();
	for (size_t i = 0; threads && i < t->nthreads; i++) {
		if (t->is_free[i]) {
			if (json_array_append_new(threads,
						  json_pack("{s:s}", "name", t->names[i]))) {
				json_decref(threads);
				return NULL;
			}
			continue;
		}
		json_t *order = json_array();
		int bad = !order;
		for (size_t k = 0; !bad && k < t->nsteps[i]; k++)
			bad = json_array_append_new(order, json_string(t->orders[i][k]));
		json_t *o = bad ? NULL : json_pack("{s:s, s:O}", "name", t->names[i],
						   "order", order);
		json_decref(order);
		if (json_array_append_new(threads, o)) {
			json_decref(threads);
			return NULL;
		}
	}
	return threads;
}

/* Entry k's optional anchor fields, as loaded. */
static int loaded_anchor(json_t *o, const stp_trace *t, size_t k)
{
	if (t->sched_occ[k] && add(o, "occurrence", json_integer((json_int_t)t->sched_occ[k])))
		return -1;
	if (t->sched_from[k] < 0)
		return 0;
	json_t *from = json_object();
	if (!from || add(from, "thread", json_integer(t->sched_from[k])) ||
	    (t->sched_from_at[k] &&
	     (add(from, "at", json_string(t->sched_from_at[k])) ||
	      add(from, "occurrence", json_integer((json_int_t)t->sched_from_occ[k]))))) {
		json_decref(from);
		return -1;
	}
	return add(o, "from", from) || (t->sched_preempt[k] && add(o, "preempt", json_true()));
}

static json_t *loaded_schedule(const stp_trace *t)
{
	json_t *sched = json_array();
	for (size_t k = 0; sched && k < t->nsched; k++) {
		const char *name = stp_trace_entry_step(t, k);
		json_t *o = step_ref(t->sched[k], name);
		if (o && ((t->sched_kind && add_kind(o, t->sched_kind[k], name)) ||
			  (t->version >= 2 && t->sched_occ && loaded_anchor(o, t, k)))) {
			json_decref(o);
			o = NULL;
		}
		if (json_array_append_new(sched, o)) { /* drops o */
			json_decref(sched);
			return NULL;
		}
	}
	return sched;
}

static json_t *loaded_events(const stp_trace *t)
{
	json_t *evs = json_array();
	for (size_t k = 0; evs && k < t->nevents; k++) {
		const stp__tevent *e = &t->events[k];
		json_t *o = step_ref(e->thread, e->name);
		if (!o || (t->version >= 2 && add_kind(o, e->kind, e->name)) ||
		    (e->has_mono && add(o, "mono_ns", u64_json(e->mono_ns))) ||
		    (e->has_virt && add(o, "virt_ns", u64_json(e->virt_ns))) ||
		    json_array_append_new(evs, o)) {
			json_decref(o);
			json_decref(evs);
			return NULL;
		}
	}
	return evs;
}

static json_t *loaded_errors(const stp_trace *t)
{
	json_t *errs = json_array();
	for (size_t i = 0; errs && i < t->nerrors; i++)
		if (json_array_append_new(errs, json_string(t->errors[i]))) {
			json_decref(errs);
			return NULL;
		}
	return errs;
}

static json_t *loaded_document(const stp_trace *t)
{
	json_t *d = json_object();
	int bad = !d || add(d, "format", json_string(STP_TRACE_FORMAT)) ||
		  add(d, "version", json_integer(t->version)) ||
		  add(d, "stepper", json_string(t->library)) ||
		  add(d, "seed", u64_json(t->seed)) ||
		  add(d, "strategy", json_string(t->strategy)) ||
		  add(d, "mode", json_string(t->mode == STP_OVERLAP ? "overlap" : "serial")) ||
		  add(d, "stall_ms", json_integer(t->stall_ms)) ||
		  add(d, "threads", loaded_threads(t)) ||
		  add(d, "schedule", loaded_schedule(t));
	if (!bad && t->has_outcome)
		bad = add(d, "events", loaded_events(t)) ||
		      add(d, "outcome", json_string(t->outcome)) ||
		      add(d, "errors", loaded_errors(t));
	if (!bad && t->left_control)
		bad = add(d, "left_control", json_integer((json_int_t)t->left_control));
	if (bad) {
		json_decref(d);
		return NULL;
	}
	return d;
}

int stp_trace_save(const stp_trace *t, const char *path)
{
	if (!t || !path || !*path)
		return STP_EINVAL;
	json_t *d = loaded_document(t);
	if (!d)
		return STP_ENOMEM;
	int rc = write_json_atomic(d, path);
	json_decref(d);
	return rc;
}
