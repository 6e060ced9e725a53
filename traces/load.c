/*
 * load.c - reading a trace and checking all of it. Nothing in a document
 * is trusted: every field is checked for presence, type and range, and
 * the first problem is reported with the path of the field, what was
 * expected and what was found.
 */
#include "trace_int.h"
#include "preempt.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Where in the document a problem is: name[i].key[j], each part optional
 * (NONE, NULL). The text is built only when something fails, so checking
 * a large trace formats nothing. */
#define NONE SIZE_MAX
typedef struct where {
	const char *name;
	size_t i;
	const char *key;
	size_t j;
} where;

#define AT(n) ((where){ (n), NONE, NULL, NONE })
#define AT_I(n, i) ((where){ (n), (i), NULL, NONE })
#define AT_IK(n, i, k) ((where){ (n), (i), (k), NONE })
#define AT_IKJ(n, i, k, j) ((where){ (n), (i), (k), (j) })

static void path_text(where w, char *buf, size_t size)
{
	size_t o = (size_t)snprintf(buf, size, "%s", w.name);
	if (w.i != NONE && o < size)
		o += (size_t)snprintf(buf + o, size - o, "[%zu]", w.i);
	if (w.key && o < size)
		o += (size_t)snprintf(buf + o, size - o, ".%s", w.key);
	if (w.j != NONE && o < size)
		snprintf(buf + o, size - o, "[%zu]", w.j);
}

typedef struct checker {
	stp_trace_error *err;
	int failed;
	int version; /* the trace's, once read */
} checker;

static void fail_at(checker *c, where w, const char *fmt, ...) STP_PRINTF(3, 4);
static void fail_at(checker *c, where w, const char *fmt, ...)
{
	if (c->failed)
		return;
	c->failed = 1;
	if (!c->err)
		return;
	path_text(w, c->err->path, sizeof c->err->path);
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

/* An object's member: the key is the last named part of w. */
static const char *last_key(where w)
{
	return w.key ? w.key : w.name;
}

static json_t *get(checker *c, json_t *obj, where w, int required)
{
	if (c->failed)
		return NULL;
	json_t *v = json_object_get(obj, last_key(w));
	if (!v && required)
		fail_at(c, w, "missing");
	return v;
}

static int is_kind(checker *c, json_t *v, where w, json_type type,
		   const char *expected)
{
	if (c->failed)
		return 0;
	if (!v || json_typeof(v) != type) {
		fail_at(c, w, "expected %s, found %s", expected, v ? kind(v) : "nothing");
		return 0;
	}
	return 1;
}

/* A string of min..max bytes, copied. */
static char *str_field(checker *c, json_t *v, where w, size_t min, size_t max)
{
	if (!is_kind(c, v, w, JSON_STRING, "a string"))
		return NULL;
	size_t n = json_string_length(v);
	if (n < min || n > max) {
		fail_at(c, w, "expected a string of %zu to %zu bytes, found %zu bytes",
			min, max, n);
		return NULL;
	}
	if (memchr(json_string_value(v), '\0', n)) {
		fail_at(c, w, "the string contains a NUL byte");
		return NULL;
	}
	char *p = stp__strdup(json_string_value(v));
	if (!p)
		fail_at(c, w, "out of memory");
	return p;
}

static int int_field(checker *c, json_t *v, where w, json_int_t lo, json_int_t hi,
		     json_int_t *out)
{
	if (!is_kind(c, v, w, JSON_INTEGER, "an integer"))
		return -1;
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi) {
		fail_at(c, w, "expected an integer from %lld to %lld, found %lld",
			(long long)lo, (long long)hi, (long long)x);
		return -1;
	}
	*out = x;
	return 0;
}

/* An unsigned 64-bit number: an integer, or above 2^63 a decimal string
 * (JSON integers in jansson are signed 64-bit). */
static int u64_field(checker *c, json_t *v, where w, uint64_t *out)
{
	char buf[64];
	if (c->failed)
		return -1;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *p = json_string_value(v);
		char *end;
		errno = 0;
		unsigned long long x = strtoull(p, &end, 10);
		if (*p < '0' || *p > '9' || *end || errno == ERANGE) {
			fail_at(c, w, "expected a decimal number below 2^64, found %s",
				shown(p, buf, sizeof buf));
			return -1;
		}
		*out = x;
		return 0;
	}
	fail_at(c, w, "expected a non-negative integer, found %s%s",
		json_is_integer(v) ? "a negative " : "",
		json_is_integer(v) ? "integer" : kind(v));
	return -1;
}

/* A string that must be one of the NULL-terminated names: its index. */
static int choice(checker *c, json_t *v, where w, const char *const *names,
		  const char *expected)
{
	char buf[64];
	char *s = str_field(c, v, w, 1, 32);
	int found = -1;
	for (int i = 0; s && names[i]; i++)
		if (strcmp(s, names[i]) == 0)
			found = i;
	if (s && found < 0)
		fail_at(c, w, "expected %s, found %s", expected, shown(s, buf, sizeof buf));
	free(s);
	return found;
}

/* ------------------------------------------------------------------ */
/* The header                                                          */
/* ------------------------------------------------------------------ */

static void check_format(checker *c, json_t *d)
{
	char buf[64];
	json_t *v = json_object_get(d, "format");
	if (!v)
		fail_at(c, AT(""), "not a stepper trace (no \"format\": \"%s\")",
			STP_TRACE_FORMAT);
	else if (!json_is_string(v))
		fail_at(c, AT("format"), "expected \"%s\", found %s", STP_TRACE_FORMAT,
			kind(v));
	else if (strcmp(json_string_value(v), STP_TRACE_FORMAT) != 0)
		fail_at(c, AT("format"), "expected \"%s\", found %s", STP_TRACE_FORMAT,
			shown(json_string_value(v), buf, sizeof buf));
}

static void check_version(checker *c, json_t *d, stp_trace *t)
{
	json_t *v = get(c, d, AT("version"), 1);
	if (!is_kind(c, v, AT("version"), JSON_INTEGER, "an integer"))
		return;
	json_int_t n = json_integer_value(v);
	if (n < 1 || n > 3)
		fail_at(c, AT("version"),
			"this stepper reads versions 1 to 3, the trace is version %lld",
			(long long)n);
	t->version = (int)n;
	c->version = (int)n;
}

/* How the run got its schedule: a strategy as stp_options.strategy names
 * it ("random", "pct:3", ...), "replay" or "explicit". */
static void check_strategy(checker *c, json_t *d, stp_trace *t)
{
	char buf[64], why[256];
	stp__strategy st;
	char *s = str_field(c, get(c, d, AT("strategy"), 1), AT("strategy"), 1, 32);
	if (!s)
		return;
	if (strcmp(s, "replay") == 0 || strcmp(s, "explicit") == 0 ||
	    strcmp(s, "shrunk") == 0 ||
	    stp__strategy_parse(s, &st, why, sizeof why) == 0) {
		t->strategy = s;
		return;
	}
	fail_at(c, AT("strategy"),
		"expected \"replay\", \"explicit\", \"shrunk\" or a strategy (%s), found %s",
		stp_strategies(), shown(s, buf, sizeof buf));
	free(s);
}

static void check_header(checker *c, json_t *d, stp_trace *t)
{
	static const char *const modes[] = { "serial", "overlap", NULL };
	check_format(c, d);
	check_version(c, d, t);
	t->library = str_field(c, get(c, d, AT("stepper"), 1), AT("stepper"), 1, 64);
	u64_field(c, get(c, d, AT("seed"), 1), AT("seed"), &t->seed);
	check_strategy(c, d, t);
	int i = choice(c, get(c, d, AT("mode"), 1), AT("mode"), modes,
		   "\"serial\" or \"overlap\"");
	t->mode = i == 1 ? STP_OVERLAP : STP_SERIAL;
	t->stall_ms = 2000;
	json_t *v = get(c, d, AT("stall_ms"), 0);
	json_int_t ms;
	if (v && int_field(c, v, AT("stall_ms"), 1, STP__TRACE_MAX_STALL_MS, &ms) == 0)
		t->stall_ms = (unsigned)ms;
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

static void check_order(checker *c, json_t *th, stp_trace *t, size_t i)
{
	if (t->version >= 2 && !json_object_get(th, "order")) {
		t->is_free[i] = 1; /* a free thread: no declared order */
		return;
	}
	json_t *order = get(c, th, AT_IK("threads", i, "order"), 1);
	if (!is_kind(c, order, AT_IK("threads", i, "order"), JSON_ARRAY, "an array"))
		return;
	size_t m = json_array_size(order);
	if (m == 0 || m > STP_MAX_STEPS) {
		fail_at(c, AT_IK("threads", i, "order"), "expected 1 to %d steps, found %zu",
			STP_MAX_STEPS, m);
		return;
	}
	t->orders[i] = calloc(m, sizeof *t->orders[i]);
	if (!t->orders[i]) {
		fail_at(c, AT_IK("threads", i, "order"), "out of memory");
		return;
	}
	t->nsteps[i] = m;
	for (size_t k = 0; k < m && !c->failed; k++)
		t->orders[i][k] = str_field(c, json_array_get(order, k),
					    AT_IKJ("threads", i, "order", k), 1,
					    STP_MAX_NAME);
}

static void check_thread(checker *c, json_t *th, stp_trace *t, size_t i)
{
	if (!is_kind(c, th, AT_I("threads", i), JSON_OBJECT, "an object"))
		return;
	where w = AT_IK("threads", i, "name");
	t->names[i] = str_field(c, get(c, th, w, 1), w, 1, STP_MAX_NAME);
	for (size_t j = 0; j < i && !c->failed; j++)
		if (strcmp(t->names[j], t->names[i]) == 0)
			fail_at(c, w, "\"%s\" is also the name of threads[%zu]",
				t->names[i], j);
	check_order(c, th, t, i);
}

static void check_threads(checker *c, json_t *d, stp_trace *t)
{
	json_t *arr = get(c, d, AT("threads"), 1);
	if (!is_kind(c, arr, AT("threads"), JSON_ARRAY, "an array"))
		return;
	size_t n = json_array_size(arr);
	if (n == 0 || n > STP_MAX_THREADS) {
		fail_at(c, AT("threads"), "expected 1 to %d threads, found %zu",
			STP_MAX_THREADS, n);
		return;
	}
	t->names = calloc(n, sizeof *t->names);
	t->orders = calloc(n, sizeof *t->orders);
	t->nsteps = calloc(n, sizeof *t->nsteps);
	t->is_free = calloc(n, sizeof *t->is_free);
	if (!t->names || !t->orders || !t->nsteps || !t->is_free) {
		fail_at(c, AT("threads"), "out of memory");
		return;
	}
	t->nthreads = n;
	for (size_t i = 0; i < n && !c->failed; i++)
		check_thread(c, json_array_get(arr, i), t, i);
}

/* ------------------------------------------------------------------ */
/* Schedule and events                                                 */
/* ------------------------------------------------------------------ */

/* A step reference: the thread index and a name that must be the next one
 * in that thread's order (next[] counts how far each thread got). */
static void check_step(checker *c, stp_trace *t, json_t *e, const char *list,
		       size_t k, size_t *next, int *thread, size_t *step)
{
	json_int_t i;
	if (!is_kind(c, e, AT_I(list, k), JSON_OBJECT, "an object") ||
	    int_field(c, get(c, e, AT_IK(list, k, "thread"), 1), AT_IK(list, k, "thread"),
		      0, (json_int_t)t->nthreads - 1, &i) < 0)
		return;
	where w = AT_IK(list, k, "step");
	json_t *v = get(c, e, w, 1);
	if (!is_kind(c, v, w, JSON_STRING, "a string"))
		return;
	const char *name = json_string_value(v);
	if (next[i] >= t->nsteps[i])
		fail_at(c, w, "thread %d '%s' declares %zu steps; this would be step %zu",
			(int)i, t->names[i], t->nsteps[i], next[i] + 1);
	else if (strcmp(name, t->orders[i][next[i]]) != 0 ||
		 json_string_length(v) != strlen(name))
		fail_at(c, w,
			"thread %d '%s' step %zu/%zu is '%s' in its declared order, "
			"found '%.*s'",
			(int)i, t->names[i], next[i] + 1, t->nsteps[i],
			t->orders[i][next[i]], STP_MAX_NAME, name);
	*thread = (int)i;
	*step = next[i]++;
}

static stp__counter *alloc_anchors(checker *c, stp_trace *t, size_t n);

/* Version 1 (declared steps only, no blocking): each entry's anchor
 * follows from the schedule, as a version 2 writer would have written it
 * (FORMAT.md). Entry k was decided by the thread of entry k - 1 (entry 0:
 * by the thread registered last, whose prefix ran last), parked at its
 * next declared step, which it could always have passed; or it had
 * ended. */
static void derive_anchors_v1(checker *c, stp_trace *t)
{
	size_t n = t->nsched;
	stp__counter *occ = alloc_anchors(c, t, n);
	size_t *passed = calloc(t->nthreads ? t->nthreads : 1, sizeof *passed);
	for (size_t k = 0; occ && passed && k < n && !c->failed; k++) {
		int i = t->sched[k];
		int d = k ? t->sched[k - 1] : (int)t->nthreads - 1;
		if (!(t->sched_occ[k] = stp__counter_add(occ, i, t->orders[i][t->sched_step[k]])))
			fail_at(c, AT_I("schedule", k), "out of memory");
		passed[i]++;
		if (d == i)
			continue;
		t->sched_from[k] = d;
		if (passed[d] >= t->nsteps[d])
			continue; /* it had ended */
		const char *at = t->orders[d][passed[d]];
		t->sched_from_at[k] = stp__strdup(at);
		t->sched_from_occ[k] = stp__counter_get(occ, d, at) + 1;
		t->sched_preempt[k] = 1;
		if (!t->sched_from_at[k])
			fail_at(c, AT_I("schedule", k), "out of memory");
	}
	if (occ && !passed)
		fail_at(c, AT("schedule"), "out of memory");
	free(passed);
	stp__counter_free(occ);
}

static void check_schedule(checker *c, json_t *d, stp_trace *t)
{
	json_t *arr = get(c, d, AT("schedule"), 1);
	if (!is_kind(c, arr, AT("schedule"), JSON_ARRAY, "an array"))
		return;
	size_t total = 0;
	for (size_t i = 0; i < t->nthreads; i++)
		total += t->nsteps[i];
	size_t n = json_array_size(arr);
	if (n != total) {
		fail_at(c, AT("schedule"),
			"expected %zu entries (every declared step once), found %zu",
			total, n);
		return;
	}
	if (n > STP__TRACE_MAX_ENTRIES) {
		fail_at(c, AT("schedule"), "expected at most %u entries, found %zu",
			STP__TRACE_MAX_ENTRIES, n);
		return;
	}
	size_t *next = calloc(t->nthreads, sizeof *next);
	t->sched = calloc(n, sizeof *t->sched);
	t->sched_step = calloc(n, sizeof *t->sched_step);
	if (!next || !t->sched || !t->sched_step) {
		free(next);
		fail_at(c, AT("schedule"), "out of memory");
		return;
	}
	t->nsched = n;
	for (size_t k = 0; k < n && !c->failed; k++)
		check_step(c, t, json_array_get(arr, k), "schedule", k, next,
			   &t->sched[k], &t->sched_step[k]);
	free(next);
	if (!c->failed)
		derive_anchors_v1(c, t);
}

/* ------------------------------------------------------------------ */
/* Kinds of version 2 entries                                          */
/* ------------------------------------------------------------------ */

static const char *const kind_names[] = { "step",   "lock", "trylock", "unlock",
					  "wait",   "wake", "signal",  "broadcast",
					  "sleep",  "point", NULL };

const char *stp__kind_name(int kind)
{
	return kind >= 0 && kind < STP__K_COUNT ? kind_names[kind] : NULL;
}

/* The names a point of each kind has, as the stepper writes them. */
static const struct shape {
	const char *what, *obj;
	enum stp__kind kind;
} shapes[] = {
	{ "lock", "m", STP__K_LOCK },	      { "trylock", "m", STP__K_TRYLOCK },
	{ "unlock", "m", STP__K_UNLOCK },      { "wait", "cv", STP__K_WAIT },
	{ "timedwait", "cv", STP__K_WAIT },    { "wake", "cv", STP__K_WAKE },
	{ "signal", "cv", STP__K_SIGNAL },     { "broadcast", "cv", STP__K_BROADCAST },
};

/* Does name read WHAT(OBJ#N), N a number from 1 without leading zeros? */
static int has_shape(const char *name, const struct shape *sh)
{
	size_t n = strlen(sh->what), m = strlen(sh->obj);
	if (strncmp(name, sh->what, n) != 0 || name[n] != '(')
		return 0;
	const char *p = name + n + 1;
	if (strncmp(p, sh->obj, m) != 0 || p[m] != '#')
		return 0;
	p += m + 1;
	size_t digits = strspn(p, "0123456789");
	return digits >= 1 && digits <= 10 && p[0] != '0' && strcmp(p + digits, ")") == 0;
}

enum stp__kind stp__kind_of_name(const char *name)
{
	if (name && strcmp(name, "sleep") == 0)
		return STP__K_SLEEP;
	for (size_t i = 0; name && i < sizeof shapes / sizeof shapes[0]; i++)
		if (has_shape(name, &shapes[i]))
			return shapes[i].kind;
	return STP__K_STEP;
}

/* "lock(m#N)", "wait(cv#N) or timedwait(cv#N)": what a kind's names are. */
static void shape_text(enum stp__kind kind, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	if (kind == STP__K_SLEEP)
		snprintf(buf, size, "sleep");
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0] && o < size; i++)
		if (shapes[i].kind == kind)
			o += (size_t)snprintf(buf + o, size - o, "%s%s(%s#N)", o ? " or " : "",
					      shapes[i].what, shapes[i].obj);
}

/* The kind of entry list[k], named name: its "kind" when present, checked
 * against the name; else the kind the name's shape says, unless the name
 * is the declared step next in its thread's order (declared, or NULL).
 * -1 after an error. */
static int entry_kind(checker *c, json_t *e, const char *list, size_t k,
		      const char *name, const char *declared)
{
	char buf[64];
	json_t *v = json_object_get(e, "kind");
	enum stp__kind shape = stp__kind_of_name(name);
	if (!v)
		return declared && strcmp(name, declared) == 0 ? STP__K_STEP : (int)shape;
	where w = AT_IK(list, k, "kind");
	int kind = choice(c, v, w, kind_names,
			  "\"step\", \"lock\", \"trylock\", \"unlock\", \"wait\", "
			  "\"wake\", \"signal\", \"broadcast\", \"sleep\" or \"point\"");
	if (kind == STP__K_POINT && c->version < 3) {
		fail_at(c, w, "\"point\" needs version 3, the trace is version %d", c->version);
		return -1;
	}
	if (kind == STP__K_POINT && shape != STP__K_STEP) {
		fail_at(c, w, "\"point\" is a point of no other kind, but '%.*s' is a %s point",
			STP_MAX_NAME, name, kind_names[shape]);
		return -1;
	}
	if (kind > STP__K_STEP && kind != STP__K_POINT && (int)shape != kind) {
		shape_text((enum stp__kind)kind, buf, sizeof buf);
		fail_at(c, w, "\"%s\" is a point named %s, but the entry's step is '%.*s'",
			kind_names[kind], buf, STP_MAX_NAME, name);
		return -1;
	}
	return kind;
}

/* Version 2: entry k of what happened. A declared thread's steps follow
 * its order (a prefix of it: the run may have stopped early); a free
 * thread's are any names; lock and wait points come in between. */
static void check_entry_v2(checker *c, stp_trace *t, json_t *e, size_t k,
			   size_t *next)
{
	json_int_t i;
	where wt = AT_IK("schedule", k, "thread"), w = AT_IK("schedule", k, "step");
	if (!is_kind(c, e, AT_I("schedule", k), JSON_OBJECT, "an object") ||
	    int_field(c, get(c, e, wt, 1), wt, 0, (json_int_t)t->nthreads - 1, &i) < 0)
		return;
	json_t *v = get(c, e, w, 1);
	if (!is_kind(c, v, w, JSON_STRING, "a string"))
		return;
	int declared = !t->is_free[i];
	int kind = entry_kind(c, e, "schedule", k, json_string_value(v),
			      declared && next[i] < t->nsteps[i] ? t->orders[i][next[i]]
								  : NULL);
	if (kind < 0)
		return;
	t->sched_kind[k] = (unsigned char)kind;
	if (declared && kind == STP__K_STEP) {
		check_step(c, t, e, "schedule", k, next, &t->sched[k], &t->sched_step[k]);
		if (!c->failed &&
		    !(t->sched_names[k] = stp__strdup(t->orders[i][t->sched_step[k]])))
			fail_at(c, w, "out of memory");
		return;
	}
	t->sched_names[k] = str_field(c, v, w, 1, STP_MAX_NAME);
	t->sched[k] = (int)i;
	t->sched_step[k] = kind == STP__K_STEP ? next[i]++ : next[i];
}

/* The arrays of the entries' optional anchors, and a counter of
 * occurrences; NULL after failing. */
static stp__counter *alloc_anchors(checker *c, stp_trace *t, size_t n)
{
	size_t m = n ? n : 1;
	t->sched_occ = calloc(m, sizeof *t->sched_occ);
	t->sched_from = malloc(m * sizeof *t->sched_from);
	t->sched_from_at = calloc(m, sizeof *t->sched_from_at);
	t->sched_from_occ = calloc(m, sizeof *t->sched_from_occ);
	t->sched_preempt = calloc(m, sizeof *t->sched_preempt);
	stp__counter *occ = stp__counter_new();
	if (!t->sched_occ || !t->sched_from || !t->sched_from_at || !t->sched_from_occ ||
	    !t->sched_preempt || !occ) {
		stp__counter_free(occ);
		fail_at(c, AT("schedule"), "out of memory");
		return NULL;
	}
	for (size_t k = 0; k < n; k++)
		t->sched_from[k] = -1;
	return occ;
}

/* An optional count of entry k: a positive integer that must be want. */
static void check_count(checker *c, json_t *v, where w, size_t want, const char *what,
			size_t *out)
{
	json_int_t x;
	if (!v || int_field(c, v, w, 1, STP__TRACE_MAX_ENTRIES, &x) < 0)
		return;
	if ((size_t)x != want) {
		fail_at(c, w, "expected %zu (%s: time %zu in the schedule), found %lld", want,
			what, want, (long long)x);
		return;
	}
	*out = (size_t)x;
}

/* Entry k's "from": the thread that decided, where it was, and how many
 * times it had been there (checked against the schedule). */
static void check_from(checker *c, stp_trace *t, json_t *f, size_t k, stp__counter *occ)
{
	json_int_t i;
	where w = AT_IK("schedule", k, "from");
	if (!is_kind(c, f, w, JSON_OBJECT, "an object"))
		return;
	if (int_field(c, json_object_get(f, "thread"), AT_IK("schedule", k, "from.thread"), 0,
		      (json_int_t)t->nthreads - 1, &i) < 0)
		return;
	if (i == t->sched[k]) {
		fail_at(c, AT_IK("schedule", k, "from.thread"),
			"expected another thread than the entry's own (%lld)", (long long)i);
		return;
	}
	t->sched_from[k] = (int)i;
	json_t *at = json_object_get(f, "at"), *n = json_object_get(f, "occurrence");
	if (!at && !n)
		return; /* it had ended */
	where wa = AT_IK("schedule", k, "from.at"), wn = AT_IK("schedule", k, "from.occurrence");
	if (!at || !n) {
		fail_at(c, at ? wn : wa, "missing (\"at\" and \"occurrence\" come together)");
		return;
	}
	if (!(t->sched_from_at[k] = str_field(c, at, wa, 1, STP_MAX_NAME)))
		return;
	char what[STP_MAX_NAME + 64];
	snprintf(what, sizeof what, "thread %lld at '%s'", (long long)i, t->sched_from_at[k]);
	check_count(c, n, wn, stp__counter_get(occ, (int)i, t->sched_from_at[k]) + 1, what,
		    &t->sched_from_occ[k]);
}

/* Version 2: entry k's optional anchor fields (FORMAT.md). */
static void check_anchor_v2(checker *c, stp_trace *t, json_t *e, size_t k,
			    stp__counter *occ)
{
	size_t n = stp__counter_add(occ, t->sched[k], t->sched_names[k]);
	if (!n) {
		fail_at(c, AT_I("schedule", k), "out of memory");
		return;
	}
	char what[STP_MAX_NAME + 64];
	snprintf(what, sizeof what, "thread %d at '%s'", t->sched[k], t->sched_names[k]);
	check_count(c, json_object_get(e, "occurrence"), AT_IK("schedule", k, "occurrence"), n,
		    what, &t->sched_occ[k]);
	json_t *f = json_object_get(e, "from"), *p = json_object_get(e, "preempt");
	if (f && !c->failed)
		check_from(c, t, f, k, occ);
	if (p && !c->failed) {
		if (!is_kind(c, p, AT_IK("schedule", k, "preempt"), JSON_TRUE, "true"))
			return;
		if (!f)
			fail_at(c, AT_IK("schedule", k, "preempt"), "without \"from\"");
		t->sched_preempt[k] = 1;
	}
}

static void check_schedule_v2(checker *c, json_t *d, stp_trace *t)
{
	json_t *arr = get(c, d, AT("schedule"), 1);
	if (!is_kind(c, arr, AT("schedule"), JSON_ARRAY, "an array"))
		return;
	size_t n = json_array_size(arr);
	if (n > STP__TRACE_MAX_ENTRIES) {
		fail_at(c, AT("schedule"), "expected at most %u entries, found %zu",
			STP__TRACE_MAX_ENTRIES, n);
		return;
	}
	size_t *next = calloc(t->nthreads, sizeof *next);
	t->sched = calloc(n ? n : 1, sizeof *t->sched);
	t->sched_step = calloc(n ? n : 1, sizeof *t->sched_step);
	t->sched_names = calloc(n ? n : 1, sizeof *t->sched_names);
	t->sched_kind = calloc(n ? n : 1, sizeof *t->sched_kind);
	t->sched_passed = calloc(n ? n : 1, sizeof *t->sched_passed);
	if (!next || !t->sched || !t->sched_step || !t->sched_names || !t->sched_kind ||
	    !t->sched_passed) {
		free(next);
		fail_at(c, AT("schedule"), "out of memory");
		return;
	}
	t->nsched = n;
	stp__counter *occ = alloc_anchors(c, t, n);
	for (size_t k = 0; k < n && !c->failed; k++) {
		check_entry_v2(c, t, json_array_get(arr, k), k, next);
		if (!c->failed)
			check_anchor_v2(c, t, json_array_get(arr, k), k, occ);
	}
	stp__counter_free(occ);
	free(next);
}

/* An optional time of event k: present (1) or not (0). */
static int opt_time(checker *c, json_t *e, size_t k, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(e, key);
	return v && u64_field(c, v, AT_IK("events", k, key), out) == 0;
}

static void check_event_list(checker *c, json_t *arr, stp_trace *t)
{
	if (!is_kind(c, arr, AT("events"), JSON_ARRAY, "an array"))
		return;
	size_t n = json_array_size(arr);
	if (n > t->nsched) {
		fail_at(c, AT("events"),
			"expected at most %zu events (the schedule's length), found %zu",
			t->nsched, n);
		return;
	}
	size_t *next = calloc(t->nthreads, sizeof *next);
	t->events = calloc(n ? n : 1, sizeof *t->events);
	if (!next || !t->events) {
		free(next);
		fail_at(c, AT("events"), "out of memory");
		return;
	}
	t->nevents = n;
	for (size_t k = 0; k < n && !c->failed; k++) {
		json_t *e = json_array_get(arr, k);
		stp__tevent *ev = &t->events[k];
		check_step(c, t, e, "events", k, next, &ev->thread, &ev->step);
		if (!c->failed)
			ev->name = t->orders[ev->thread][ev->step];
		ev->has_mono = !c->failed && opt_time(c, e, k, "mono_ns", &ev->mono_ns);
		ev->has_virt = !c->failed && opt_time(c, e, k, "virt_ns", &ev->virt_ns);
	}
	free(next);
}

/* Version 2: event k is the next schedule entry at or after *j with its
 * thread, step and kind (events are the entries that passed, in order).
 * An event without "kind" takes its entry's. */
static void check_event_v2(checker *c, stp_trace *t, json_t *e, size_t k, size_t *j)
{
	json_int_t i;
	where wt = AT_IK("events", k, "thread"), w = AT_IK("events", k, "step");
	if (!is_kind(c, e, AT_I("events", k), JSON_OBJECT, "an object") ||
	    int_field(c, get(c, e, wt, 1), wt, 0, (json_int_t)t->nthreads - 1, &i) < 0)
		return;
	json_t *v = get(c, e, w, 1);
	if (!is_kind(c, v, w, JSON_STRING, "a string"))
		return;
	const char *name = json_string_value(v);
	int kind = json_object_get(e, "kind") ? entry_kind(c, e, "events", k, name, NULL)
					      : -1;
	if (c->failed)
		return;
	while (*j < t->nsched &&
	       (t->sched[*j] != i || strcmp(t->sched_names[*j], name) != 0 ||
		(kind >= 0 && t->sched_kind[*j] != kind)))
		(*j)++;
	if (*j == t->nsched) {
		fail_at(c, w, "[%s] '%.*s' is not a schedule entry after the previous "
			      "event's (events are the entries that passed, in order)",
			t->names[i], STP_MAX_NAME, name);
		return;
	}
	stp__tevent *ev = &t->events[k];
	ev->thread = (int)i;
	ev->kind = (enum stp__kind)t->sched_kind[*j];
	ev->step = t->sched_step[*j];
	t->sched_passed[*j] = 1;
	ev->name = t->sched_names[(*j)++];
	ev->has_mono = opt_time(c, e, k, "mono_ns", &ev->mono_ns);
	ev->has_virt = !c->failed && opt_time(c, e, k, "virt_ns", &ev->virt_ns);
}

static void check_events_v2(checker *c, json_t *arr, stp_trace *t)
{
	if (!is_kind(c, arr, AT("events"), JSON_ARRAY, "an array"))
		return;
	size_t n = json_array_size(arr), j = 0;
	if (n > t->nsched) {
		fail_at(c, AT("events"),
			"expected at most %zu events (the schedule's length), found %zu",
			t->nsched, n);
		return;
	}
	t->events = calloc(n ? n : 1, sizeof *t->events);
	if (!t->events) {
		fail_at(c, AT("events"), "out of memory");
		return;
	}
	t->nevents = n;
	for (size_t k = 0; k < n && !c->failed; k++)
		check_event_v2(c, t, json_array_get(arr, k), k, &j);
}

static void check_outcome(checker *c, json_t *v, stp_trace *t)
{
	static const char *const outcomes[] = { "pass", "fail", "divergence", "stall",
						"deadlock", NULL };
	int i = choice(c, v, AT("outcome"), outcomes,
		       "\"pass\", \"fail\", \"divergence\", \"stall\" or "
		       "\"deadlock\"");
	if (i < 0)
		return;
	t->outcome = stp__strdup(outcomes[i]);
	if (!t->outcome)
		fail_at(c, AT("outcome"), "out of memory");
	t->has_outcome = 1;
}

static void check_errors(checker *c, json_t *errs, stp_trace *t)
{
	if (!errs || !is_kind(c, errs, AT("errors"), JSON_ARRAY, "an array"))
		return;
	size_t m = json_array_size(errs);
	if (m > STP__TRACE_MAX_ERRORS) {
		fail_at(c, AT("errors"), "expected at most %u errors, found %zu",
			STP__TRACE_MAX_ERRORS, m);
		return;
	}
	t->errors = calloc(m ? m : 1, sizeof *t->errors);
	if (!t->errors) {
		fail_at(c, AT("errors"), "out of memory");
		return;
	}
	for (size_t i = 0; i < m && !c->failed; i++) {
		t->errors[i] = str_field(c, json_array_get(errs, i), AT_I("errors", i), 0,
					 STP__TRACE_MAX_ERROR);
		if (!c->failed)
			t->nerrors = i + 1;
	}
}

/* What happened: events, outcome and errors, all or none (a plan). */
static void check_end(checker *c, json_t *d, stp_trace *t)
{
	json_t *arr = json_object_get(d, "events");
	json_t *outcome = json_object_get(d, "outcome");
	if (!arr && !outcome)
		return; /* a plan */
	if (!arr)
		fail_at(c, AT("events"), "missing (the document has an outcome)");
	else if (!outcome)
		fail_at(c, AT("outcome"), "missing (the document has events)");
	if (t->version >= 2)
		check_events_v2(c, arr, t);
	else
		check_event_list(c, arr, t);
	check_outcome(c, outcome, t);
	check_errors(c, json_object_get(d, "errors"), t);
}

/* Version 3: how many times a thread left control (optional). */
static void check_left_control(checker *c, json_t *d, stp_trace *t)
{
	json_t *v = json_object_get(d, "left_control");
	if (!v)
		return;
	if (t->version < 3) {
		fail_at(c, AT("left_control"), "needs version 3, the trace is version %d",
			t->version);
		return;
	}
	if (!is_kind(c, v, AT("left_control"), JSON_INTEGER, "an integer"))
		return;
	json_int_t n = json_integer_value(v);
	if (n < 1 || n > STP_MAX_DECISIONS) {
		fail_at(c, AT("left_control"), "expected 1 to %d, found %lld", STP_MAX_DECISIONS,
			(long long)n);
		return;
	}
	t->left_control = (size_t)n;
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
	for (size_t k = 0; t->sched_names && k < t->nsched; k++)
		free(t->sched_names[k]);
	free(t->sched_names);
	free(t->sched_kind);
	free(t->sched_passed);
	for (size_t k = 0; t->sched_from_at && k < t->nsched; k++)
		free(t->sched_from_at[k]);
	free(t->sched_from_at);
	free(t->sched_occ);
	free(t->sched_from);
	free(t->sched_from_occ);
	free(t->sched_preempt);
	free(t->lenient_sw);
	if (t->lenient)
		stp__preempts_reset(t->lenient);
	free(t->lenient);
	free(t->is_free);
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

/* Read all of a regular file of 1..STP__TRACE_MAX_BYTES bytes; never more
 * than that, whatever the file claims or becomes while it is read. */
static char *read_capped(checker *c, const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		fail_at(c, AT(""), "cannot open: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char *buf = NULL;
	if (!S_ISREG(st.st_mode))
		fail_at(c, AT(""), "not a regular file");
	else if ((unsigned long long)st.st_size > STP__TRACE_MAX_BYTES)
		fail_at(c, AT(""), "the file has %lld bytes; a trace has at most %u",
			(long long)st.st_size, STP__TRACE_MAX_BYTES);
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		fail_at(c, AT(""), "out of memory");
	size_t n = 0, cap = buf ? (size_t)st.st_size + 1 : 0;
	while (buf && n < cap) { /* one byte more than stat said: did it grow? */
		ssize_t got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got < 0)
				fail_at(c, AT(""), "cannot read: %s", strerror(errno));
			break;
		}
		n += (size_t)got;
	}
	close(fd);
	if (!c->failed && n == cap)
		fail_at(c, AT(""), "the file grew while it was read");
	else if (!c->failed && n == 0)
		fail_at(c, AT(""), "the file is empty (a trace is a JSON object)");
	if (c->failed) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static json_t *parse(checker *c, const char *path)
{
	size_t len;
	char *text = read_capped(c, path, &len);
	if (!text)
		return NULL;
	json_error_t je;
	json_t *d = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!d) {
		c->failed = 1;
		if (c->err) {
			c->err->line = je.line > 0 ? je.line : 1;
			c->err->column = je.column > 0 ? je.column : 1;
			snprintf(c->err->text, sizeof c->err->text, "%s", je.text);
		}
	} else if (!json_is_object(d)) {
		fail_at(c, AT("(document)"),
			"expected an object, found %s (not a stepper trace)", kind(d));
		json_decref(d);
		d = NULL;
	}
	return d;
}

stp_trace *stp_trace_load(const char *path, stp_trace_error *err)
{
	set_source(err, path);
	checker c = { err, 0, 0 };
	if (!path) {
		fail_at(&c, AT(""), "no path given");
		return NULL;
	}
	json_t *d = parse(&c, path);
	if (!d)
		return NULL;
	stp_trace *t = calloc(1, sizeof *t);
	if (!t) {
		json_decref(d);
		fail_at(&c, AT(""), "out of memory");
		return NULL;
	}
	check_header(&c, d, t);
	if (!c.failed)
		check_threads(&c, d, t);
	if (!c.failed && t->version >= 2)
		check_schedule_v2(&c, d, t);
	else if (!c.failed)
		check_schedule(&c, d, t);
	if (!c.failed)
		check_end(&c, d, t);
	if (!c.failed)
		check_left_control(&c, d, t);
	json_decref(d);
	if (!c.failed && !(t->source = stp__strdup(path)))
		fail_at(&c, AT(""), "out of memory");
	if (c.failed) {
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
	if (!t || k >= t->nsched)
		return NULL;
	if (t->sched_names)
		return t->sched_names[k];
	return t->orders[t->sched[k]][t->sched_step[k]];
}

const char *stp_trace_entry_kind(const stp_trace *t, size_t k)
{
	if (!t || k >= t->nsched)
		return NULL;
	return kind_names[t->sched_kind ? t->sched_kind[k] : STP__K_STEP];
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
