/*
 * show.c - a trace for people (`stepper show`) and for Perfetto.
 */
#include "trace_int.h"

#include <jansson.h>
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
		fprintf(out, "  %4zu  [%s] %s (%zu/%zu)", k + 1, t->names[e->thread],
			t->orders[e->thread][e->step], e->step + 1,
			t->nsteps[e->thread]);
		if (e->has_mono)
			fprintf(out, "  at %.3f us", (double)e->mono_ns / 1e3);
		if (e->has_virt)
			fprintf(out, "  virtual %.9f s", (double)e->virt_ns / 1e9);
		fputc('\n', out);
	}
}

/* Event time in microseconds; traces written without times count events. */
static double event_us(const stp__tevent *e, size_t k)
{
	return e->has_mono ? (double)e->mono_ns / 1e3 : (double)k;
}

static int append(json_t *arr, json_t *v)
{
	return v ? json_array_append_new(arr, v) : -1;
}

int stp_trace_export_chrome(const stp_trace *t, FILE *out)
{
	if (!t || !out)
		return STP_EINVAL;
	json_t *evs = json_array();
	int bad = !evs;
	for (size_t i = 0; !bad && i < t->nthreads; i++)
		bad = append(evs, json_pack("{s:s, s:s, s:i, s:i, s:{s:s}}", "name",
					    "thread_name", "ph", "M", "pid", 1, "tid",
					    (int)i + 1, "args", "name", t->names[i]));
	double end = 0;
	for (size_t k = 0; k < t->nevents; k++)
		if (event_us(&t->events[k], k) > end)
			end = event_us(&t->events[k], k);
	/* One slice per segment: from the step a thread passed to its next
	 * passed step (or the last event of the run), named for the step. */
	for (size_t k = 0; !bad && k < t->nevents; k++) {
		const stp__tevent *e = &t->events[k];
		double from = event_us(e, k), to = end;
		for (size_t m = k + 1; m < t->nevents; m++)
			if (t->events[m].thread == e->thread) {
				to = event_us(&t->events[m], m);
				break;
			}
		char name[2 * STP_MAX_NAME + 16];
		snprintf(name, sizeof name, "%s", t->orders[e->thread][e->step]);
		bad = append(evs, json_pack("{s:s, s:s, s:s, s:i, s:i, s:f, s:f, s:{s:i, s:i}}",
					    "name", name, "cat", "segment", "ph", "X",
					    "pid", 1, "tid", e->thread + 1, "ts", from,
					    "dur", to - from, "args", "entry", (int)k + 1,
					    "step", (int)e->step + 1));
	}
	json_t *doc = bad ? NULL : json_pack("{s:o, s:s}", "traceEvents", evs,
					     "displayTimeUnit", "ns");
	if (!doc) {
		if (bad)
			json_decref(evs);
		return STP_ENOMEM;
	}
	int rc = json_dumpf(doc, out, JSON_INDENT(1)) == 0 ? 0 : STP_EIO;
	fputc('\n', out);
	json_decref(doc);
	return rc;
}
