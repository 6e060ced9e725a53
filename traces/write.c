/*
 * write.c - a stepper's trace as a JSON document, written atomically.
 */
#include "trace_int.h"

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

static json_t *threads_json(const stp_stepper *s)
{
	json_t *arr = json_array();
	for (int i = 0; arr && i < s->nthreads; i++) {
		const struct stp__thread *t = s->threads[i];
		json_t *o = json_object(), *order = json_array();
		for (size_t k = 0; order && k < t->nsteps; k++)
			json_array_append_new(order, json_string(t->order[k]));
		if (!o || !order || add(o, "name", json_string(t->name)) ||
		    add(o, "order", order) || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *schedule_json(const stp_stepper *s)
{
	json_t *arr = json_array();
	for (size_t k = 0; arr && k < s->nsched; k++) {
		json_t *e = json_object();
		if (!e || add(e, "thread", json_integer(s->sched[k])) ||
		    add(e, "step", json_string(stp_entry_step(s, k))) ||
		    json_array_append_new(arr, e)) {
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
	json_t *arr = json_array();
	for (size_t k = 0; arr && k < s->nsched; k++) {
		const struct stp__thread *t = s->threads[s->sched[k]];
		size_t step = s->sched_step[k];
		if (step >= atomic_load(&((struct stp__thread *)t)->passed))
			continue;
		json_t *e = json_object();
		if (!e || add(e, "thread", json_integer(t->index)) ||
		    add(e, "step", json_string(t->order[step])) ||
		    (s->timed && add(e, "mono_ns", json_integer((json_int_t)t->times[step]))) ||
		    (s->opt.clock &&
		     add(e, "virt_ns", json_integer((json_int_t)t->vtimes[step]))) ||
		    json_array_append_new(arr, e)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *errors_json(const stp_stepper *s)
{
	json_t *arr = json_array();
	size_t n = stp_error_count(s);
	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_string(stp_error(s, i)))) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *document(const stp_stepper *s)
{
	json_t *d = json_object();
	if (!d)
		return NULL;
	int bad = add(d, "format", json_string(STP_TRACE_FORMAT)) ||
		  add(d, "version", json_integer(STP_TRACE_VERSION)) ||
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
	if (bad) {
		json_decref(d);
		return NULL;
	}
	return d;
}

int stp__write_json_atomic(json_t *doc, const char *path);
int stp__write_json_atomic(json_t *doc, const char *path)
{
	static atomic_uint counter;
	size_t n = strlen(path) + 64;
	char *tmp = malloc(n);
	if (!tmp)
		return STP_ENOMEM;
	snprintf(tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(),
		 atomic_fetch_add(&counter, 1));
	FILE *f = fopen(tmp, "w");
	if (!f) {
		int e = errno;
		free(tmp);
		errno = e;
		return STP_EIO;
	}
	int rc = json_dumpf(doc, f, JSON_INDENT(2)) == 0 && fputc('\n', f) != EOF ? 0 : STP_EIO;
	if (fclose(f) != 0)
		rc = STP_EIO;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = STP_EIO;
	if (rc != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
	}
	free(tmp);
	return rc;
}

int stp_trace_write(const stp_stepper *s, const char *path)
{
	if (!s || !path || !*path || !s->interleaved)
		return STP_EINVAL;
	json_t *d = document(s);
	if (!d)
		return STP_ENOMEM;
	int rc = stp__write_json_atomic(d, path);
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

static json_t *loaded_document(const stp_trace *t)
{
	json_t *threads = json_array(), *sched = json_array();
	json_t *d = json_object();
	int bad = !threads || !sched || !d;
	for (size_t i = 0; !bad && i < t->nthreads; i++) {
		json_t *order = json_array();
		for (size_t k = 0; order && k < t->nsteps[i]; k++)
			json_array_append_new(order, json_string(t->orders[i][k]));
		bad = !order || json_array_append_new(
					threads, json_pack("{s:s, s:o}", "name",
							   t->names[i], "order", order));
	}
	for (size_t k = 0; !bad && k < t->nsched; k++)
		bad = json_array_append_new(sched, step_ref(t->sched[k],
							    stp_trace_entry_step(t, k)));
	bad = bad || add(d, "format", json_string(STP_TRACE_FORMAT)) ||
	      add(d, "version", json_integer(STP_TRACE_VERSION)) ||
	      add(d, "stepper", json_string(t->library)) ||
	      add(d, "seed", u64_json(t->seed)) ||
	      add(d, "strategy", json_string(t->strategy)) ||
	      add(d, "mode", json_string(t->mode == STP_OVERLAP ? "overlap" : "serial")) ||
	      add(d, "stall_ms", json_integer(t->stall_ms)) ||
	      json_object_set(d, "threads", threads) ||
	      json_object_set(d, "schedule", sched);
	json_decref(threads);
	json_decref(sched);
	if (!bad && t->has_outcome) {
		json_t *evs = json_array(), *errs = json_array();
		bad = !evs || !errs;
		for (size_t k = 0; !bad && k < t->nevents; k++) {
			const stp__tevent *e = &t->events[k];
			json_t *o = step_ref(e->thread, t->orders[e->thread][e->step]);
			bad = !o || (e->has_mono &&
				     add(o, "mono_ns", json_integer((json_int_t)e->mono_ns))) ||
			      (e->has_virt &&
			       add(o, "virt_ns", json_integer((json_int_t)e->virt_ns))) ||
			      json_array_append_new(evs, o);
		}
		for (size_t i = 0; !bad && i < t->nerrors; i++)
			bad = json_array_append_new(errs, json_string(t->errors[i]));
		bad = bad || json_object_set(d, "events", evs) ||
		      add(d, "outcome", json_string(t->outcome)) ||
		      json_object_set(d, "errors", errs);
		json_decref(evs);
		json_decref(errs);
	}
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
	int rc = stp__write_json_atomic(d, path);
	json_decref(d);
	return rc;
}
