/*
 * load.c - reading a trace and checking all of it. Nothing in a document
 * is trusted: every field is checked for presence, type and range, and
 * the first problem is reported with the path of the field, what was
 * expected and what was found.
 */
#include "trace_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

const char *stp_trace_error_text(const stp_trace_error *e, char *buf, size_t size)
{
	if (!buf || size == 0)
		return "";
	if (!e)
		snprintf(buf, size, "(no error)");
	else if (e->line > 0)
		snprintf(buf, size, "%s:%d:%d: %s", e->source, e->line, e->column,
			 e->text);
	else if (e->path[0])
		snprintf(buf, size, "%s: %s: %s", e->source, e->path, e->text);
	else
		snprintf(buf, size, "%s: %s", e->source, e->text);
	return buf;
}

typedef struct checker {
	stp_trace_error *err;
	int failed;
} checker;

static void fail_at(checker *c, const char *path, const char *fmt, ...)
	STP_PRINTF(3, 4);
static void fail_at(checker *c, const char *path, const char *fmt, ...)
{
	if (c->failed)
		return;
	c->failed = 1;
	if (!c->err)
		return;
	snprintf(c->err->path, sizeof c->err->path, "%s", path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err->text, sizeof c->err->text, fmt, ap);
	va_end(ap);
}

static const char *kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* A short, printable rendering of a string found in a document. */
static const char *shown(const char *s, char *buf, size_t size)
{
	size_t n = strlen(s), i = 0, o = 0;
	buf[o++] = '"';
	for (; i < n && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (i < n) {
		o = o + 4 < size ? o : size - 5;
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* ------------------------------------------------------------------ */
/* Field readers                                                       */
/* ------------------------------------------------------------------ */

static json_t *field(checker *c, json_t *obj, const char *path, const char *key,
		     int required)
{
	json_t *v = json_object_get(obj, key);
	if (!v && required)
		fail_at(c, path, "missing");
	return v;
}

/* A string of 1..max bytes, copied. */
static char *str_field(checker *c, json_t *v, const char *path, size_t max)
{
	if (c->failed)
		return NULL;
	if (!json_is_string(v)) {
		fail_at(c, path, "expected a string, found %s", kind(v));
		return NULL;
	}
	size_t n = json_string_length(v);
	if (n == 0 || n > max) {
		fail_at(c, path, "expected a string of 1 to %zu bytes, found %zu bytes",
			max, n);
		return NULL;
	}
	if (memchr(json_string_value(v), '\0', n)) {
		fail_at(c, path, "the string contains a NUL byte");
		return NULL;
	}
	char *p = stp__strdup(json_string_value(v));
	if (!p)
		fail_at(c, path, "out of memory");
	return p;
}

static int int_field(checker *c, json_t *v, const char *path, json_int_t lo,
		     json_int_t hi, json_int_t *out)
{
	if (c->failed)
		return -1;
	if (!json_is_integer(v)) {
		fail_at(c, path, "expected an integer, found %s", kind(v));
		return -1;
	}
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi) {
		fail_at(c, path, "expected an integer from %lld to %lld, found %lld",
			(long long)lo, (long long)hi, (long long)x);
		return -1;
	}
	*out = x;
	return 0;
}

static int thread_index(checker *c, json_t *v, const char *path, size_t n)
{
	json_int_t i;
	if (int_field(c, v, path, 0, (json_int_t)n - 1, &i) < 0)
		return -1;
	return (int)i;
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */
/* ------------------------------------------------------------------ */

static void check_header(checker *c, json_t *d, stp_trace *t)
{
	char buf[64];
	json_t *v = field(c, d, "format", "format", 1);
	if (c->failed)
		return;
	if (!json_is_string(v) || strcmp(json_string_value(v), STP_TRACE_FORMAT) != 0) {
		if (json_is_string(v))
			fail_at(c, "format", "expected \"%s\", found %s", STP_TRACE_FORMAT,
				shown(json_string_value(v), buf, sizeof buf));
		else
			fail_at(c, "format", "expected \"%s\", found %s",
				STP_TRACE_FORMAT, kind(v));
		return;
	}
	v = field(c, d, "version", "version", 1);
	if (c->failed)
		return;
	if (!json_is_integer(v)) {
		fail_at(c, "version", "expected an integer, found %s", kind(v));
		return;
	}
	if (json_integer_value(v) != STP_TRACE_VERSION) {
		fail_at(c, "version",
			"this stepper reads version %d, the trace is version %lld",
			STP_TRACE_VERSION, (long long)json_integer_value(v));
		return;
	}
	t->library = str_field(c, field(c, d, "stepper", "stepper", 1), "stepper", 64);

	v = field(c, d, "seed", "seed", 1);
	if (c->failed)
		return;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		t->seed = (uint64_t)json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *p = json_string_value(v);
		char *end;
		errno = 0;
		unsigned long long x = strtoull(p, &end, 10);
		if (*p < '0' || *p > '9' || *end || errno == ERANGE)
			fail_at(c, "seed", "expected a decimal number below 2^64, found %s",
				shown(p, buf, sizeof buf));
		t->seed = x;
	} else {
		fail_at(c, "seed", "expected a non-negative integer, found %s%s",
			json_is_integer(v) ? "a negative " : "",
			json_is_integer(v) ? "integer" : kind(v));
	}

	t->strategy = str_field(c, field(c, d, "strategy", "strategy", 1),
				"strategy", 32);
	if (!c->failed && strcmp(t->strategy, "random") != 0 &&
	    strcmp(t->strategy, "replay") != 0 && strcmp(t->strategy, "explicit") != 0)
		fail_at(c, "strategy",
			"expected \"random\", \"replay\" or \"explicit\", found %s",
			shown(t->strategy, buf, sizeof buf));

	char *mode = str_field(c, field(c, d, "mode", "mode", 1), "mode", 16);
	if (!c->failed) {
		if (strcmp(mode, "serial") == 0)
			t->mode = STP_SERIAL;
		else if (strcmp(mode, "overlap") == 0)
			t->mode = STP_OVERLAP;
		else
			fail_at(c, "mode", "expected \"serial\" or \"overlap\", found %s",
				shown(mode, buf, sizeof buf));
	}
	free(mode);

	t->stall_ms = 2000;
	v = field(c, d, "stall_ms", "stall_ms", 0);
	json_int_t ms;
	if (v && int_field(c, v, "stall_ms", 1, 3600000, &ms) == 0)
		t->stall_ms = (unsigned)ms;
}

static void check_threads(checker *c, json_t *d, stp_trace *t)
{
	char path[128];
	json_t *arr = field(c, d, "threads", "threads", 1);
	if (c->failed)
		return;
	if (!json_is_array(arr)) {
		fail_at(c, "threads", "expected an array, found %s", kind(arr));
		return;
	}
	size_t n = json_array_size(arr);
	if (n == 0 || n > STP_MAX_THREADS) {
		fail_at(c, "threads", "expected 1 to %d threads, found %zu",
			STP_MAX_THREADS, n);
		return;
	}
	t->names = calloc(n, sizeof *t->names);
	t->orders = calloc(n, sizeof *t->orders);
	t->nsteps = calloc(n, sizeof *t->nsteps);
	if (!t->names || !t->orders || !t->nsteps) {
		fail_at(c, "threads", "out of memory");
		return;
	}
	t->nthreads = n;
	for (size_t i = 0; i < n && !c->failed; i++) {
		json_t *th = json_array_get(arr, i);
		snprintf(path, sizeof path, "threads[%zu]", i);
		if (!json_is_object(th)) {
			fail_at(c, path, "expected an object, found %s", kind(th));
			return;
		}
		snprintf(path, sizeof path, "threads[%zu].name", i);
		t->names[i] = str_field(c, field(c, th, path, "name", 1), path,
					STP_MAX_NAME);
		for (size_t j = 0; j < i && !c->failed; j++)
			if (strcmp(t->names[j], t->names[i]) == 0)
				fail_at(c, path, "\"%s\" is also the name of threads[%zu]",
					t->names[i], j);
		snprintf(path, sizeof path, "threads[%zu].order", i);
		json_t *order = field(c, th, path, "order", 1);
		if (c->failed)
			return;
		if (!json_is_array(order)) {
			fail_at(c, path, "expected an array, found %s", kind(order));
			return;
		}
		size_t m = json_array_size(order);
		if (m == 0 || m > STP_MAX_STEPS) {
			fail_at(c, path, "expected 1 to %d steps, found %zu", STP_MAX_STEPS, m);
			return;
		}
		t->orders[i] = calloc(m, sizeof *t->orders[i]);
		if (!t->orders[i]) {
			fail_at(c, path, "out of memory");
			return;
		}
		t->nsteps[i] = m;
		for (size_t k = 0; k < m && !c->failed; k++) {
			snprintf(path, sizeof path, "threads[%zu].order[%zu]", i, k);
			t->orders[i][k] = str_field(c, json_array_get(order, k), path,
						    STP_MAX_NAME);
		}
	}
}

/* A step reference: the thread index and a name that must be the next one
 * in that thread's order (next[] counts how far each thread got). */
static void check_step(checker *c, stp_trace *t, json_t *e, const char *base,
		       size_t *next, int *thread, size_t *step)
{
	char path[128];
	if (!json_is_object(e)) {
		fail_at(c, base, "expected an object, found %s", kind(e));
		return;
	}
	snprintf(path, sizeof path, "%s.thread", base);
	int i = thread_index(c, field(c, e, path, "thread", 1), path, t->nthreads);
	if (c->failed)
		return;
	snprintf(path, sizeof path, "%s.step", base);
	char *name = str_field(c, field(c, e, path, "step", 1), path, STP_MAX_NAME);
	if (c->failed)
		return;
	if (next[i] >= t->nsteps[i])
		fail_at(c, path,
			"thread %d '%s' declares %zu steps; this would be step %zu",
			i, t->names[i], t->nsteps[i], next[i] + 1);
	else if (strcmp(name, t->orders[i][next[i]]) != 0)
		fail_at(c, path,
			"thread %d '%s' step %zu/%zu is '%s' in its declared order, "
			"found '%s'",
			i, t->names[i], next[i] + 1, t->nsteps[i], t->orders[i][next[i]],
			name);
	free(name);
	*thread = i;
	*step = next[i]++;
}

static void check_schedule(checker *c, json_t *d, stp_trace *t)
{
	char path[64];
	json_t *arr = field(c, d, "schedule", "schedule", 1);
	if (c->failed)
		return;
	if (!json_is_array(arr)) {
		fail_at(c, "schedule", "expected an array, found %s", kind(arr));
		return;
	}
	size_t total = 0;
	for (size_t i = 0; i < t->nthreads; i++)
		total += t->nsteps[i];
	size_t n = json_array_size(arr);
	if (n != total) {
		fail_at(c, "schedule",
			"expected %zu entries (every declared step once), found %zu",
			total, n);
		return;
	}
	size_t *next = calloc(t->nthreads, sizeof *next);
	t->sched = calloc(n, sizeof *t->sched);
	t->sched_step = calloc(n, sizeof *t->sched_step);
	if (!next || !t->sched || !t->sched_step) {
		free(next);
		fail_at(c, "schedule", "out of memory");
		return;
	}
	t->nsched = n;
	for (size_t k = 0; k < n && !c->failed; k++) {
		snprintf(path, sizeof path, "schedule[%zu]", k);
		check_step(c, t, json_array_get(arr, k), path, next, &t->sched[k],
			   &t->sched_step[k]);
	}
	free(next);
}

static int opt_u64(checker *c, json_t *e, const char *base, const char *key,
		   uint64_t *out)
{
	char path[96];
	json_t *v = json_object_get(e, key);
	if (!v)
		return 0;
	snprintf(path, sizeof path, "%s.%s", base, key);
	json_int_t x;
	if (int_field(c, v, path, 0, INT64_MAX, &x) < 0)
		return 0;
	*out = (uint64_t)x;
	return 1;
}

static void check_events(checker *c, json_t *d, stp_trace *t)
{
	char path[64];
	json_t *arr = json_object_get(d, "events");
	json_t *outcome = json_object_get(d, "outcome");
	if (!arr && !outcome)
		return; /* a plan */
	if (!arr) {
		fail_at(c, "events", "missing (the document has an outcome)");
		return;
	}
	if (!outcome) {
		fail_at(c, "outcome", "missing (the document has events)");
		return;
	}
	if (!json_is_array(arr)) {
		fail_at(c, "events", "expected an array, found %s", kind(arr));
		return;
	}
	size_t n = json_array_size(arr);
	if (n > t->nsched) {
		fail_at(c, "events", "expected at most %zu events (the schedule's "
				     "length), found %zu", t->nsched, n);
		return;
	}
	size_t *next = calloc(t->nthreads, sizeof *next);
	t->events = calloc(n ? n : 1, sizeof *t->events);
	if (!next || !t->events) {
		free(next);
		fail_at(c, "events", "out of memory");
		return;
	}
	t->nevents = n;
	for (size_t k = 0; k < n && !c->failed; k++) {
		snprintf(path, sizeof path, "events[%zu]", k);
		json_t *e = json_array_get(arr, k);
		stp__tevent *ev = &t->events[k];
		check_step(c, t, e, path, next, &ev->thread, &ev->step);
		if (c->failed)
			break;
		ev->has_mono = opt_u64(c, e, path, "mono_ns", &ev->mono_ns);
		ev->has_virt = opt_u64(c, e, path, "virt_ns", &ev->virt_ns);
	}
	free(next);

	char buf[64];
	t->outcome = str_field(c, outcome, "outcome", 16);
	if (!c->failed && strcmp(t->outcome, "pass") && strcmp(t->outcome, "fail") &&
	    strcmp(t->outcome, "divergence") && strcmp(t->outcome, "stall"))
		fail_at(c, "outcome",
			"expected \"pass\", \"fail\", \"divergence\" or \"stall\", "
			"found %s",
			shown(t->outcome, buf, sizeof buf));
	t->has_outcome = 1;

	json_t *errs = json_object_get(d, "errors");
	if (c->failed || !errs)
		return;
	if (!json_is_array(errs)) {
		fail_at(c, "errors", "expected an array, found %s", kind(errs));
		return;
	}
	size_t m = json_array_size(errs);
	t->errors = calloc(m ? m : 1, sizeof *t->errors);
	if (!t->errors) {
		fail_at(c, "errors", "out of memory");
		return;
	}
	for (size_t i = 0; i < m && !c->failed; i++) {
		snprintf(path, sizeof path, "errors[%zu]", i);
		t->errors[i] = str_field(c, json_array_get(errs, i), path, 1u << 20);
		if (!c->failed)
			t->nerrors = i + 1;
	}
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

void stp_trace_free(stp_trace *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nthreads; i++) {
		free(t->names[i]);
		for (size_t k = 0; t->orders && t->orders[i] && k < t->nsteps[i]; k++)
			free(t->orders[i][k]);
		if (t->orders)
			free(t->orders[i]);
	}
	for (size_t i = 0; i < t->nerrors; i++)
		free(t->errors[i]);
	free(t->errors);
	free(t->names);
	free(t->orders);
	free(t->nsteps);
	free(t->sched);
	free(t->sched_step);
	free(t->events);
	free(t->outcome);
	free(t->strategy);
	free(t->library);
	free(t->source);
	free(t);
}

static void set_source(stp_trace_error *err, const char *path)
{
	if (err) {
		memset(err, 0, sizeof *err);
		snprintf(err->source, sizeof err->source, "%s", path ? path : "(null)");
	}
}

stp_trace *stp_trace_load(const char *path, stp_trace_error *err)
{
	set_source(err, path);
	checker c = { err, 0 };
	if (!path) {
		fail_at(&c, "", "no path given");
		return NULL;
	}
	struct stat st;
	if (stat(path, &st) != 0) {
		fail_at(&c, "", "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		fail_at(&c, "", "not a regular file");
		return NULL;
	}
	if (st.st_size == 0) {
		fail_at(&c, "", "the file is empty (a trace is a JSON object)");
		return NULL;
	}
	if ((unsigned long long)st.st_size > STP__TRACE_MAX_BYTES) {
		fail_at(&c, "", "the file has %lld bytes; traces are at most %u",
			(long long)st.st_size, STP__TRACE_MAX_BYTES);
		return NULL;
	}
	json_error_t je;
	json_t *d = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!d) {
		if (err) {
			err->line = je.line > 0 ? je.line : 1;
			err->column = je.column > 0 ? je.column : 1;
			snprintf(err->text, sizeof err->text, "%s", je.text);
		}
		return NULL;
	}
	stp_trace *t = calloc(1, sizeof *t);
	if (!t) {
		json_decref(d);
		fail_at(&c, "", "out of memory");
		return NULL;
	}
	if (!json_is_object(d))
		fail_at(&c, "(document)", "expected an object, found %s", kind(d));
	if (!c.failed)
		check_header(&c, d, t);
	if (!c.failed)
		check_threads(&c, d, t);
	if (!c.failed)
		check_schedule(&c, d, t);
	if (!c.failed)
		check_events(&c, d, t);
	json_decref(d);
	t->source = stp__strdup(path);
	if (c.failed || !t->source) {
		stp_trace_free(t);
		return NULL;
	}
	return t;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

uint64_t stp_trace_seed(const stp_trace *t)
{
	return t ? t->seed : 0;
}

stp_mode stp_trace_mode(const stp_trace *t)
{
	return t ? t->mode : STP_SERIAL;
}

const char *stp_trace_strategy(const stp_trace *t)
{
	return t ? t->strategy : NULL;
}

const char *stp_trace_outcome(const stp_trace *t)
{
	return t && t->has_outcome ? t->outcome : "none";
}

size_t stp_trace_thread_count(const stp_trace *t)
{
	return t ? t->nthreads : 0;
}

const char *stp_trace_thread_name(const stp_trace *t, size_t i)
{
	return t && i < t->nthreads ? t->names[i] : NULL;
}

size_t stp_trace_schedule_length(const stp_trace *t)
{
	return t ? t->nsched : 0;
}

int stp_trace_entry_thread(const stp_trace *t, size_t k)
{
	return t && k < t->nsched ? t->sched[k] : -1;
}

const char *stp_trace_entry_step(const stp_trace *t, size_t k)
{
	return t && k < t->nsched ? t->orders[t->sched[k]][t->sched_step[k]] : NULL;
}

size_t stp_trace_event_count(const stp_trace *t)
{
	return t ? t->nevents : 0;
}

size_t stp_trace_error_count(const stp_trace *t)
{
	return t ? t->nerrors : 0;
}

const char *stp_trace_error_at(const stp_trace *t, size_t i)
{
	return t && i < t->nerrors ? t->errors[i] : NULL;
}
