/*
 * trace.h - one JSON document per run: the plan, what happened, the
 * outcome. Written with jansson; the format is in traces/FORMAT.md.
 *
 * Thread safety: a stp_trace is immutable once loaded and may be read from
 * any thread. Writing a stepper's trace is done by its test thread.
 */
#ifndef STEPPER_TRACE_H
#define STEPPER_TRACE_H

#include <stepper/stepper.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STP_TRACE_FORMAT "stepper-trace"
/* The newest version this stepper reads and writes. A run whose threads
 * are all declared is written as version 1 (as before free threads); a
 * run with a free thread as version 2 (FORMAT.md). Both load. */
#define STP_TRACE_VERSION 2

typedef struct stp_trace stp_trace;

/* Where a document was wrong. For syntax: line and column (1-based) and
 * jansson's text. For content: path is the field ("schedule[3].thread")
 * and text says what was expected and what was found. */
typedef struct stp_trace_error {
	char source[256]; /* the file */
	int line, column; /* 0 when the error is not a syntax error */
	char path[128];   /* "" for syntax errors */
	char text[256];
} stp_trace_error;

/* Format an error as "file:line:column: text" or "file: path: text".
 * Returns buf. */
STP_API const char *stp_trace_error_text(const stp_trace_error *e, char *buf,
					 size_t size);

/* Write s's trace to path: the plan before stp_run, the whole document
 * after. Written to a temporary file in the same directory and renamed
 * into place, so readers never see half a file. Returns 0, STP_EINVAL (no
 * schedule yet), STP_EIO (errno says why), STP_ENOMEM. */
STP_API int stp_trace_write(const stp_stepper *s, const char *path);

/* Load and validate a trace. NULL on error, with *err filled (err may be
 * NULL). Free with stp_trace_free. */
STP_API stp_trace *stp_trace_load(const char *path, stp_trace_error *err);
STP_API void stp_trace_free(stp_trace *t);

/* Write a loaded trace back out, atomically; the same bytes that
 * stp_trace_write wrote for the run it came from. 0, STP_EIO, STP_ENOMEM. */
STP_API int stp_trace_save(const stp_trace *t, const char *path);

/* Reading a loaded trace. Strings live as long as t. */
STP_API uint64_t stp_trace_seed(const stp_trace *t);
STP_API stp_mode stp_trace_mode(const stp_trace *t);
STP_API const char *stp_trace_strategy(const stp_trace *t);
/* "pass", "fail", "divergence", "stall", "deadlock", or "none" for a plan
 * (a run that did not finish writing its trace). */
STP_API const char *stp_trace_outcome(const stp_trace *t);
STP_API size_t stp_trace_thread_count(const stp_trace *t);
STP_API const char *stp_trace_thread_name(const stp_trace *t, size_t i);
STP_API size_t stp_trace_schedule_length(const stp_trace *t);
/* Thread index and step name of schedule entry k (-1/NULL out of range). */
STP_API int stp_trace_entry_thread(const stp_trace *t, size_t k);
STP_API const char *stp_trace_entry_step(const stp_trace *t, size_t k);
/* What entry k is: "step", or one of the stepper's lock and wait points,
 * "lock", "trylock", "unlock", "wait" (a wait starts; timed waits too),
 * "wake" (it returns), "signal", "broadcast". Version 1 entries are all
 * steps. NULL out of range. */
STP_API const char *stp_trace_entry_kind(const stp_trace *t, size_t k);
STP_API size_t stp_trace_event_count(const stp_trace *t);
STP_API size_t stp_trace_error_count(const stp_trace *t);
STP_API const char *stp_trace_error_at(const stp_trace *t, size_t i);

/* What `stepper show` prints: seed, mode, outcome, errors and the order in
 * stp_print_order's form, each lock and wait point with a note after
 * "--"; with events, each event and its times. */
STP_API void stp_trace_print(const stp_trace *t, FILE *out, int events);
/* Chrome trace-event JSON (Perfetto, chrome://tracing): one track per
 * thread, one slice per segment between entries (its category says what
 * the entry was: a step, a lock, a wait, a signal), the errors and the
 * outcome as instant events, a deadlock marked on each blocked thread.
 * Returns 0 or STP_EIO. */
STP_API int stp_trace_export_chrome(const stp_trace *t, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
