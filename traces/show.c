/*
 * show.c - a trace for people (`stepper show`) and for Perfetto.
 */
#include "trace_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void stp_trace_print(const stp_trace *t, FILE *out, int events)
{
	if (!t || !out)
		return;
	fprintf(out, "trace:    %s (written by stepper %s)\n", t->source, t->library);
	fprintf(out, "seed:     %llu\n", (unsigned long long)t->seed);
	fprintf(out, "strategy: %s\n", t->strategy);
	fprintf(out, "mode:     %s\n", t->mode == STP_OVERLAP ? "overlap" : "serial");
	if (t->has_outcome)
		fprintf(out, "outcome:  %s (%zu of %zu steps passed)\n", t->outcome,
			t->nevents, t->nsched);
	else
		fprintf(out, "outcome:  none (a plan: the run did not finish writing "
			     "its trace)\n");
	if (t->nerrors) {
		fprintf(out, "errors:\n");
		for (size_t i = 0; i < t->nerrors; i++) {
			/* indent continuation lines (stall reports) too */
			fputs("  ", out);
			for (const char *p = t->errors[i]; *p; p++) {
				fputc(*p, out);
				if (*p == '\n')
					fputs("  ", out);
			}
			fputc('\n', out);
		}
	}
	fprintf(out, "order:\n====\n");
	for (size_t k = 0; k < t->nsched; k++)
		fprintf(out, "[%s] %s\n", t->names[t->sched[k]],
			stp_trace_entry_step(t, k));
	fprintf(out, "====\n");
	if (!events)
		return;
	fprintf(out, "events:\n");
	if (t->nevents == 0)
		fprintf(out, "  (none)\n");
	for (size_t k = 0; k < t->nevents; k++) {
		const stp__tevent *e = &t->events[k];
		if (t->is_free[e->thread])
			fprintf(out, "  %4zu  [%s] %s (step %zu)", k + 1,
				t->names[e->thread], e->name, e->step + 1);
		else
			fprintf(out, "  %4zu  [%s] %s (%zu/%zu)", k + 1,
				t->names[e->thread], e->name, e->step + 1,
				t->nsteps[e->thread]);
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

/* A JSON string; s is UTF-8 (a loaded trace's strings all are). At most
 * max bytes of it, cut at a character boundary. */
static void put_str(FILE *out, const char *s, size_t max)
{
	fputc('"', out);
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
		if (n >= max && (*p & 0xC0) != 0x80) {
			fputs("...", out);
			break;
		}
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
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

/* One slice per segment: from the step a thread passed to its next passed
 * step (or the last event of the run), named for the step. */
static void put_segments(const stp_trace *t, FILE *out, uint64_t end)
{
	for (size_t k = 0; k < t->nevents; k++) {
		const stp__tevent *e = &t->events[k];
		uint64_t from = event_ns(e, k), to = end;
		for (size_t m = k + 1; m < t->nevents; m++)
			if (t->events[m].thread == e->thread) {
				to = event_ns(&t->events[m], m);
				break;
			}
		fputs(",\n{\"name\": ", out);
		put_str(out, e->name, SIZE_MAX);
		fprintf(out, ", \"cat\": \"segment\", \"ph\": \"X\", \"pid\": 1, \"tid\": %d",
			e->thread + 1);
		put_us(out, "ts", from);
		put_us(out, "dur", to > from ? to - from : 0);
		fprintf(out, ", \"args\": {\"entry\": %zu, \"step\": %zu}}", k + 1,
			e->step + 1);
	}
}

/* The errors and the outcome, as global instant events at the end of the
 * run: errors carry no time of their own. */
static void put_outcome(const stp_trace *t, FILE *out, uint64_t end)
{
	for (size_t i = 0; i < t->nerrors; i++) {
		fputs(",\n{\"name\": ", out);
		put_str(out, t->errors[i], 120);
		fputs(", \"cat\": \"error\", \"ph\": \"i\", \"s\": \"g\", \"pid\": 1, "
		      "\"tid\": 0", out);
		put_us(out, "ts", end);
		fprintf(out, ", \"args\": {\"error\": %zu, \"text\": ", i + 1);
		put_str(out, t->errors[i], SIZE_MAX);
		fputs("}}", out);
	}
	const char *outcome = stp_trace_outcome(t);
	fprintf(out, ",\n{\"name\": \"outcome: %s\", \"cat\": \"outcome\", \"ph\": \"i\", "
		     "\"s\": \"g\", \"pid\": 1, \"tid\": 0", outcome);
	put_us(out, "ts", end);
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
	fputs("{\"traceEvents\": [\n", out);
	put_thread_names(t, out);
	put_segments(t, out, end);
	put_outcome(t, out, end);
	fputs("\n], \"displayTimeUnit\": \"ns\"}\n", out);
	return ferror(out) ? STP_EIO : 0;
}
