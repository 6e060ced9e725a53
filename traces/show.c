/*
 * show.c - a trace for people (`stepper show`) and for Perfetto.
 */
#include "trace_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* What happened at each entry                                         */
/* ------------------------------------------------------------------ */

static enum stp__kind kind_at(const stp_trace *t, size_t k)
{
	return t->sched_kind ? (enum stp__kind)t->sched_kind[k] : STP__K_STEP;
}

/* Did entry k pass? Not when the run ended after its grant, before it
 * passed (version 2 knows; a plan has no events to tell). */
static int passed(const stp_trace *t, size_t k)
{
	return !t->sched_passed || !t->has_outcome || t->sched_passed[k];
}

static size_t count_points(const stp_trace *t)
{
	size_t n = 0;
	for (size_t k = 0; k < t->nsched; k++)
		n += kind_at(t, k) != STP__K_STEP;
	return n;
}

/* The object a point names: "cv#1" of "wait(cv#1)", into buf. */
static const char *object_of(const char *name, char *buf, size_t size)
{
	const char *p = strchr(name, '(');
	size_t n = p ? strcspn(p + 1, ")") : 0;
	snprintf(buf, size, "%.*s", (int)n, p ? p + 1 : "");
	return buf;
}

/* The mutexes and conditions as the entries tell them, replayed in order
 * for the notes: a lock entry takes its mutex, an unlock lets it go, a
 * wait lets go of the mutex it waits with (the one its thread holds) until
 * its wake takes it back; a thread waits on a condition from its wait to
 * its wake. open[i] is the entry of a wait of thread i that no wake ends
 * (or NONE). A thread holding more than HELD mutexes at once is followed
 * as far as HELD; the notes then say less. */
#define NONE SIZE_MAX
#define HELD 8
typedef struct model {
	const char *on[STP_MAX_THREADS]; /* the wait entry's name, or NULL */
	size_t open[STP_MAX_THREADS];
	char held[STP_MAX_THREADS][HELD][16]; /* "m#1", "" for none */
	char waits_with[STP_MAX_THREADS][16]; /* the mutex a wait let go of */
} model;

static void model_init(model *m, const stp_trace *t)
{
	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < STP_MAX_THREADS; i++)
		m->open[i] = NONE;
	for (size_t k = 0; k < t->nsched; k++)
		if (!passed(t, k))
			continue;
		else if (kind_at(t, k) == STP__K_WAIT)
			m->open[t->sched[k]] = k;
		else if (kind_at(t, k) == STP__K_WAKE)
			m->open[t->sched[k]] = NONE;
}

/* The thread that holds mutex obj, or -1. */
static int holder(const stp_trace *t, const model *m, const char *obj)
{
	for (size_t i = 0; i < t->nthreads; i++)
		for (int h = 0; h < HELD; h++)
			if (strcmp(m->held[i][h], obj) == 0)
				return (int)i;
	return -1;
}

static void take(model *m, int i, const char *obj)
{
	size_t n = strnlen(obj, sizeof m->held[i][0] - 1);
	for (int h = 0; h < HELD; h++)
		if (!m->held[i][h][0]) {
			memmove(m->held[i][h], obj, n);
			m->held[i][h][n] = '\0';
			return;
		}
}

static void let_go(model *m, int i, const char *obj)
{
	for (int h = 0; h < HELD; h++)
		if (strcmp(m->held[i][h], obj) == 0)
			m->held[i][h][0] = '\0';
}

/* A wait lets go of the one mutex its thread holds; "" when it holds
 * another number of them (as far as the model knows). */
static void wait_starts(model *m, int i)
{
	int n = 0, which = 0;
	for (int h = 0; h < HELD; h++)
		if (m->held[i][h][0]) {
			n++;
			which = h;
		}
	m->waits_with[i][0] = '\0';
	if (n == 1) {
		memcpy(m->waits_with[i], m->held[i][which], sizeof m->waits_with[i]);
		m->held[i][which][0] = '\0';
	}
}

/* "[a], [b]": the threads waiting on obj, or "" when none does. */
static void waiters_text(const stp_trace *t, const model *m, const char *obj,
			 char *buf, size_t size)
{
	char o[48];
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < t->nthreads && len < size; i++)
		if (m->on[i] && strcmp(object_of(m->on[i], o, sizeof o), obj) == 0)
			len += (size_t)snprintf(buf + len, size - len, "%s[%s]",
						len ? ", " : "", t->names[i]);
}

/* What a trylock did: took the mutex, or found it held. */
static void trylock_note(const stp_trace *t, model *m, int i, const char *obj,
			 char *buf, size_t size)
{
	int h = holder(t, m, obj);
	if (h < 0) {
		snprintf(buf, size, "takes %s (it was free)", obj);
		take(m, i, obj);
	} else {
		snprintf(buf, size, "fails: [%s] holds %s", t->names[h], obj);
	}
}

static void signal_note(const stp_trace *t, const model *m, size_t k, const char *obj,
			char *buf, size_t size)
{
	char who[512];
	waiters_text(t, m, obj, who, sizeof who);
	if (!who[0])
		snprintf(buf, size, "wakes nobody: no thread waits on %s", obj);
	else if (kind_at(t, k) == STP__K_BROADCAST)
		snprintf(buf, size, "wakes %s", who);
	else
		snprintf(buf, size, "may wake %s%s", strchr(who, ',') ? "one of " : "", who);
}

/* The note after a point of kind "point" (a program's run): what the
 * thread did, for the calls whose name says it. */
static void other_note(const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);
	int arg = n > 1 && name[n - 1] == ')';
	if (strcmp(name, "start") == 0)
		snprintf(buf, size, "starts");
	else if (arg && strncmp(name, "spawn(", 6) == 0)
		snprintf(buf, size, "makes [%.*s]", (int)(n - 7), name + 6);
	else if (arg && strncmp(name, "join(", 5) == 0)
		snprintf(buf, size, "joins [%.*s], which has ended", (int)(n - 6), name + 5);
	else if (strcmp(name, "yield") == 0)
		snprintf(buf, size, "yields");
	else if (strcmp(name, "exit") == 0)
		snprintf(buf, size, "ends the program");
	else if (strcmp(name, "return") == 0)
		snprintf(buf, size, "comes back under control (it had left it: "
				    "STEPPER_ON_STALL=release)");
	else
		snprintf(buf, size, "a pthread call");
}

/* The note after a lock or wait point's line; m is the state before
 * entry k, updated to the state after it. */
static void point_note(const stp_trace *t, size_t k, model *m, char *buf, size_t size)
{
	char obj[48];
	int i = t->sched[k];
	const char *name = t->sched_names[k], *with = m->waits_with[i];
	object_of(name, obj, sizeof obj);
	switch (kind_at(t, k)) {
	case STP__K_LOCK:
		snprintf(buf, size, "takes %s", obj);
		take(m, i, obj);
		break;
	case STP__K_TRYLOCK:
		trylock_note(t, m, i, obj, buf, size);
		break;
	case STP__K_UNLOCK:
		snprintf(buf, size, "lets go of %s", obj);
		let_go(m, i, obj);
		break;
	case STP__K_WAIT:
		wait_starts(m, i);
		snprintf(buf, size, "waits on %s%s, letting go of %s%s", obj,
			 strncmp(name, "timed", 5) == 0 ? " with a timeout" : "",
			 with[0] ? with : "its mutex",
			 m->open[i] == k ? "; still waiting when the run ended" : "");
		m->on[i] = name;
		break;
	case STP__K_WAKE:
		snprintf(buf, size, "%s %s; takes %s back",
			 m->on[i] && strncmp(m->on[i], "timed", 5) == 0
				 ? "returns (signalled or timed out) from"
				 : "woken on",
			 obj, with[0] ? with : "its mutex");
		if (with[0])
			take(m, i, with);
		m->on[i] = NULL;
		break;
	case STP__K_SLEEP:
		snprintf(buf, size, "sleeps until the clock reaches its deadline");
		break;
	case STP__K_POINT:
		other_note(name, buf, size);
		break;
	default: /* signal, broadcast */
		signal_note(t, m, k, obj, buf, size);
		break;
	}
}

/* Characters (not bytes) of UTF-8 text, for lining notes up. */
static size_t width_of(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static int is_deadlock_report(const char *error)
{
	return strncmp(error, "deadlock:", 9) == 0;
}

/* Where thread i is blocked, from the deadlock report's "every thread:"
 * lines ("waits for m#2 at f.c:40; [b] holds it ..."): the text and its
 * length, or NULL when the report does not list it as waiting. */
static const char *blocked_in_deadlock(const stp_trace *t, size_t i, size_t *len)
{
	char needle[STP_MAX_NAME + 16];
	*len = 0;
	snprintf(needle, sizeof needle, "\n  [%s] waits ", t->names[i]);
	for (size_t k = 0; k < t->nerrors; k++) {
		const char *e = t->errors[k];
		/* a thread's line: on the cycle, or under "every thread" */
		const char *p = is_deadlock_report(e) ? strstr(e, needle) : NULL;
		if (p) {
			p += strlen(needle) - strlen("waits ");
			*len = strcspn(p, "\n");
			return p;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* stepper show                                                        */
/* ------------------------------------------------------------------ */

static void print_outcome(const stp_trace *t, FILE *out, size_t points)
{
	if (!t->has_outcome)
		fprintf(out, "outcome:  none (a plan: the run did not finish writing "
			     "its trace)\n");
	else if (!points)
		fprintf(out, "outcome:  %s (%zu of %zu steps passed)\n", t->outcome,
			t->nevents, t->nsched);
	else
		fprintf(out, "outcome:  %s (%zu of %zu decisions passed: %zu step%s, %zu "
			     "%spoint%s)\n",
			t->outcome, t->nevents, t->nsched, t->nsched - points,
			t->nsched - points == 1 ? "" : "s", points,
			t->version >= 3 ? "" : "lock and wait ", points == 1 ? "" : "s");
	if (t->left_control)
		fprintf(out, "left control: %zu time%s (STEPPER_ON_STALL=release): a thread out of "
			     "the stepper's sight ran beside the others until its next pthread "
			     "call ('return')\n",
			t->left_control, t->left_control == 1 ? "" : "s");
}

static void print_errors(const stp_trace *t, FILE *out)
{
	if (!t->nerrors)
		return;
	fprintf(out, "errors:\n");
	for (size_t i = 0; i < t->nerrors; i++) {
		/* indent continuation lines (stall and deadlock reports) too */
		fputs("  ", out);
		for (const char *p = t->errors[i]; *p; p++) {
			fputc(*p, out);
			if (*p == '\n')
				fputs("  ", out);
		}
		fputc('\n', out);
	}
}

/* After the order of a deadlock: where each thread blocked, from the
 * report (the threads' last entries above are where they got to). */
static void print_blocked(const stp_trace *t, FILE *out)
{
	int header = 0;
	for (size_t i = 0; i < t->nthreads; i++) {
		size_t len;
		const char *where = blocked_in_deadlock(t, i, &len);
		if (!where)
			continue;
		if (!header++)
			fprintf(out, "then no thread could go on (the deadlock):\n");
		fprintf(out, "  [%s] %.*s\n", t->names[i], (int)len, where);
	}
}

/* The order in stp_print_order's form; a lock or wait point's line ends
 * in a note after "--", lined up. */
static void print_order(const stp_trace *t, FILE *out, size_t points)
{
	size_t col = 0;
	for (size_t k = 0; points && k < t->nsched; k++)
		if (kind_at(t, k) != STP__K_STEP) {
			size_t w = width_of(t->names[t->sched[k]]) +
				   width_of(t->sched_names[k]) + 3;
			col = w > col ? (w < 40 ? w : 40) : col;
		}
	model *m = points ? malloc(sizeof *m) : NULL;
	if (m)
		model_init(m, t);
	char note[800];
	fprintf(out, "order:\n====\n");
	for (size_t k = 0; k < t->nsched; k++) {
		const char *who = t->names[t->sched[k]], *name = stp_trace_entry_step(t, k);
		fprintf(out, "[%s] %s", who, name);
		int point = m && kind_at(t, k) != STP__K_STEP;
		size_t used = width_of(who) + width_of(name) + 3;
		if (point && passed(t, k))
			point_note(t, k, m, note, sizeof note);
		if (point)
			fprintf(out, "%*s -- ", (int)(used < col ? col - used : 0), "");
		if (!passed(t, k))
			fputs(point ? "granted, but the run ended before it passed"
				    : " (granted, but the run ended before it passed)", out);
		else if (point)
			fputs(note, out);
		fputc('\n', out);
	}
	fprintf(out, "====\n");
	free(m);
	int calls = 0; /* a program's points (version 3) */
	for (size_t k = 0; points && k < t->nsched; k++)
		calls |= kind_at(t, k) == STP__K_POINT;
	if (points && !calls)
		fprintf(out, "(\"--\" marks the stepper's lock and wait points, stp_mutex_* "
			     "and stp_cond_*; the other lines are steps)\n");
	else if (points)
		fprintf(out, "(\"--\" marks the stepper's points: the program's pthread calls "
			     "under --auto, stp_mutex_* and stp_cond_*; the other lines are "
			     "steps)\n");
	print_blocked(t, out);
}

static void print_events(const stp_trace *t, FILE *out)
{
	fprintf(out, "events:\n");
	if (t->nevents == 0)
		fprintf(out, "  (none)\n");
	for (size_t k = 0; k < t->nevents; k++) {
		const stp__tevent *e = &t->events[k];
		fprintf(out, "  %4zu  [%s] %s", k + 1, t->names[e->thread], e->name);
		if (e->kind != STP__K_STEP)
			fprintf(out, " (%s)", stp__kind_name(e->kind));
		else if (t->is_free[e->thread])
			fprintf(out, " (step %zu)", e->step + 1);
		else
			fprintf(out, " (%zu/%zu)", e->step + 1, t->nsteps[e->thread]);
		if (e->has_mono) /* exact decimals from integer nanoseconds */
			fprintf(out, "  at %llu.%03llu us",
				(unsigned long long)(e->mono_ns / 1000u),
				(unsigned long long)(e->mono_ns % 1000u));
		if (e->has_virt)
			fprintf(out, "  virtual %llu.%09llu s",
				(unsigned long long)(e->virt_ns / 1000000000u),
				(unsigned long long)(e->virt_ns % 1000000000u));
		fputc('\n', out);
	}
}

void stp_trace_print(const stp_trace *t, FILE *out, int events)
{
	if (!t || !out)
		return;
	size_t points = count_points(t);
	fprintf(out, "trace:    %s (written by stepper %s)\n", t->source, t->library);
	fprintf(out, "seed:     %llu\n", (unsigned long long)t->seed);
	fprintf(out, "strategy: %s\n", t->strategy);
	fprintf(out, "mode:     %s\n", t->mode == STP_OVERLAP ? "overlap" : "serial");
	print_outcome(t, out, points);
	print_errors(t, out);
	print_order(t, out, points);
	if (events)
		print_events(t, out);
}

/* ------------------------------------------------------------------ */
/* Chrome trace-event JSON                                             */
/* ------------------------------------------------------------------ */

/* Written by hand, not with jansson: times are microseconds with exactly
 * three decimals, from integer nanoseconds, so a viewer shows 74.020 and
 * never 74.01999999999998. */

/* Event k's time in nanoseconds; a trace written without times counts
 * events, one microsecond each. */
static uint64_t event_ns(const stp__tevent *e, size_t k)
{
	return e->has_mono ? e->mono_ns : (uint64_t)k * 1000u;
}

static void put_us(FILE *out, const char *key, uint64_t ns)
{
	fprintf(out, ", \"%s\": %llu.%03llu", key, (unsigned long long)(ns / 1000u),
		(unsigned long long)(ns % 1000u));
}

/* The first len bytes of s as the inside of a JSON string; s is UTF-8 (a
 * loaded trace's strings all are). At most max bytes, cut at a character
 * boundary. */
static void put_chars(FILE *out, const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t n = 0; n < len && p[n]; n++) {
		if (n >= max && (p[n] & 0xC0) != 0x80) {
			fputs("...", out);
			break;
		}
		if (p[n] == '"' || p[n] == '\\')
			fprintf(out, "\\%c", p[n]);
		else if (p[n] == '\n')
			fputs("\\n", out);
		else if (p[n] < 0x20)
			fprintf(out, "\\u%04x", p[n]);
		else
			fputc(p[n], out);
	}
}

static void put_strn(FILE *out, const char *s, size_t len, size_t max)
{
	fputc('"', out);
	put_chars(out, s, len, max);
	fputc('"', out);
}

static void put_str(FILE *out, const char *s, size_t max)
{
	put_strn(out, s, SIZE_MAX, max);
}

static void put_thread_names(const stp_trace *t, FILE *out)
{
	fputs("{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 0, "
	      "\"args\": {\"name\": ", out);
	fprintf(out, "\"stepper seed %llu\"}}", (unsigned long long)t->seed);
	for (size_t i = 0; i < t->nthreads; i++) {
		fprintf(out, ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, "
			     "\"tid\": %zu, \"args\": {\"name\": ", i + 1);
		put_str(out, t->names[i], SIZE_MAX);
		fputs("}}", out);
	}
}

/* What a slice is, by the entry it starts from: a step's segment, or a
 * lock, a wait (the time the thread waited), a wake, a signal. */
static const char *category(enum stp__kind kind)
{
	switch (kind) {
	case STP__K_STEP:
		return "segment";
	case STP__K_LOCK:
	case STP__K_TRYLOCK:
	case STP__K_UNLOCK:
		return "lock";
	case STP__K_WAIT:
		return "wait";
	case STP__K_WAKE:
		return "wake";
	case STP__K_SLEEP:
		return "sleep";
	case STP__K_POINT:
		return "point";
	default:
		return "signal";
	}
}

/* Where each thread blocked in a deadlock (NULL: it did not), and the
 * length of that text. */
typedef struct blocked {
	const char *where[STP_MAX_THREADS];
	size_t len[STP_MAX_THREADS];
} blocked;

/* One slice per segment: from an entry that passed to its thread's next
 * one, or to the end of the run (stop for a thread the deadlock blocked).
 * Named for the entry, in its category. */
static void put_segments(const stp_trace *t, FILE *out, const blocked *b, uint64_t end,
			 uint64_t stop)
{
	for (size_t k = 0; k < t->nevents; k++) {
		const stp__tevent *e = &t->events[k];
		uint64_t from = event_ns(e, k), to = b->where[e->thread] ? stop : end;
		for (size_t m = k + 1; m < t->nevents; m++)
			if (t->events[m].thread == e->thread) {
				to = event_ns(&t->events[m], m);
				break;
			}
		fputs(",\n{\"name\": ", out);
		put_str(out, e->name, SIZE_MAX);
		fprintf(out, ", \"cat\": \"%s\", \"ph\": \"X\", \"pid\": 1, \"tid\": %d",
			category(e->kind), e->thread + 1);
		put_us(out, "ts", from);
		put_us(out, "dur", to > from ? to - from : 0);
		if (e->kind == STP__K_STEP)
			fprintf(out, ", \"args\": {\"entry\": %zu, \"step\": %zu}}", k + 1,
				e->step + 1);
		else
			fprintf(out, ", \"args\": {\"entry\": %zu, \"kind\": \"%s\"}%s}", k + 1,
				stp__kind_name(e->kind),
				e->kind == STP__K_WAIT ? ", \"cname\": \"grey\"" : "");
	}
}

/* A deadlock, on the track of each thread it blocked: where it waits. */
static void put_blocked(const stp_trace *t, FILE *out, const blocked *b, uint64_t stop)
{
	for (size_t i = 0; i < t->nthreads; i++) {
		size_t len = b->len[i];
		const char *where = b->where[i];
		if (!where)
			continue;
		fputs(",\n{\"name\": \"deadlock: ", out);
		put_chars(out, where, len, 120);
		fprintf(out, "\", \"cat\": \"deadlock\", \"ph\": \"i\", \"s\": \"t\", "
			     "\"pid\": 1, \"tid\": %zu, \"cname\": \"terrible\"", i + 1);
		put_us(out, "ts", stop);
		fputs(", \"args\": {\"blocked\": ", out);
		put_strn(out, where, len, SIZE_MAX);
		fputs("}}", out);
	}
}

/* The errors and the outcome, as global instant events at the end of the
 * run: errors carry no time of their own. A deadlock report is in the
 * category "deadlock", named by its first line, the whole of it in
 * args.text. */
static void put_outcome(const stp_trace *t, FILE *out, uint64_t stop)
{
	for (size_t i = 0; i < t->nerrors; i++) {
		const char *e = t->errors[i];
		int deadlock = is_deadlock_report(e);
		fputs(",\n{\"name\": ", out);
		put_strn(out, e, strcspn(e, "\n"), 120);
		fprintf(out, ", \"cat\": \"%s\", \"ph\": \"i\", \"s\": \"g\", \"pid\": 1, "
			     "\"tid\": 0%s",
			deadlock ? "deadlock" : "error", deadlock ? ", \"cname\": \"terrible\"" : "");
		put_us(out, "ts", stop);
		fprintf(out, ", \"args\": {\"error\": %zu, \"text\": ", i + 1);
		put_str(out, e, SIZE_MAX);
		fputs("}}", out);
	}
	const char *outcome = stp_trace_outcome(t);
	fprintf(out, ",\n{\"name\": \"outcome: %s\", \"cat\": \"outcome\", \"ph\": \"i\", "
		     "\"s\": \"g\", \"pid\": 1, \"tid\": 0", outcome);
	put_us(out, "ts", stop);
	fprintf(out, ", \"args\": {\"outcome\": \"%s\", \"steps passed\": %zu, "
		     "\"steps\": %zu, \"errors\": %zu}}",
		outcome, t->nevents, t->nsched, t->nerrors);
}

int stp_trace_export_chrome(const stp_trace *t, FILE *out)
{
	if (!t || !out)
		return STP_EINVAL;
	uint64_t end = 0;
	for (size_t k = 0; k < t->nevents; k++)
		if (event_ns(&t->events[k], k) > end)
			end = event_ns(&t->events[k], k);
	/* a deadlock is found after the last entry: shown 1 us later, so the
	 * waits it ended show as slices up to it */
	uint64_t stop = t->has_outcome && strcmp(t->outcome, "deadlock") == 0 ? end + 1000u
									      : end;
	blocked b;
	for (size_t i = 0; i < t->nthreads; i++)
		b.where[i] = blocked_in_deadlock(t, i, &b.len[i]);
	fputs("{\"traceEvents\": [\n", out);
	put_thread_names(t, out);
	put_segments(t, out, &b, end, stop);
	put_blocked(t, out, &b, stop);
	put_outcome(t, out, stop);
	fputs("\n], \"displayTimeUnit\": \"ns\"}\n", out);
	return ferror(out) ? STP_EIO : 0;
}
