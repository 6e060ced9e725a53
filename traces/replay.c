/*
 * replay.c - where traces meet a run: the schedule taken from a trace,
 * the plan written before the threads start, the whole document after,
 * and the check that a replayed run did what the recorded one did.
 */
#include "trace_int.h"
#include "base.h"
#include "env.h"
#include "preempt.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>

static void replay_free(void *p)
{
	stp_trace_free(p);
}

/* Same threads, same names, same declared orders: or say where not. */
static int compare_declarations(stp_stepper *s, const stp_trace *t)
{
	const char *src = t->source;
	/* threads made during the run (an unmodified program's): those made
	 * so far come first in the trace, the others are checked as they are
	 * made, by the decisions that name them */
	size_t n = s->dynamic && t->nthreads >= (size_t)s->nthreads ? (size_t)s->nthreads
								     : t->nthreads;
	if ((size_t)s->nthreads != n) {
		stp__error(s, STP__OUT_FAIL,
			   "replay: %s has %zu thread%s, the test registers %d", src,
			   t->nthreads, t->nthreads == 1 ? "" : "s", s->nthreads);
		return STP_EMISMATCH;
	}
	for (size_t i = 0; i < n; i++) {
		const struct stp__thread *th = s->threads[i];
		if (strcmp(th->name, t->names[i]) != 0) {
			stp__error(s, STP__OUT_FAIL,
				   "replay: thread %zu is '%s' in %s, '%s' in the test",
				   i, t->names[i], src, th->name);
			return STP_EMISMATCH;
		}
		if (th->is_free != t->is_free[i]) {
			stp__error(s, STP__OUT_FAIL,
				   "replay: thread '%s' is %s in %s, %s in the test",
				   th->name, t->is_free[i] ? "free" : "declared", src,
				   th->is_free ? "free" : "declared");
			return STP_EMISMATCH;
		}
		size_t common = th->nsteps < t->nsteps[i] ? th->nsteps : t->nsteps[i];
		for (size_t k = 0; k < common; k++)
			if (strcmp(th->order[k], t->orders[i][k]) != 0) {
				stp__error(s, STP__OUT_FAIL,
					   "replay: thread '%s' step %zu: %s declares "
					   "'%s', the test '%s'",
					   th->name, k + 1, src, t->orders[i][k],
					   th->order[k]);
				return STP_EMISMATCH;
			}
		if (th->nsteps != t->nsteps[i]) {
			stp__error(s, STP__OUT_FAIL,
				   "replay: thread '%s' declares %zu steps in %s, %zu "
				   "in the test",
				   th->name, t->nsteps[i], src, th->nsteps);
			return STP_EMISMATCH;
		}
	}
	return 0;
}

/* A lenient replay: the same threads by name (their declared orders may
 * differ), and the recorded switches applied by their anchors over the
 * default policy (preempt.h). */
static int lenient_prepare(stp_stepper *s, stp_trace *t)
{
	size_t made = s->dynamic && t->nthreads >= (size_t)s->nthreads ? (size_t)s->nthreads
									: t->nthreads;
	if ((size_t)s->nthreads != made)
		return compare_declarations(s, t); /* says so */
	for (size_t i = 0; i < made; i++)
		if (strcmp(s->threads[i]->name, t->names[i]) != 0)
			return compare_declarations(s, t);
	t->lenient = calloc(1, sizeof *t->lenient);
	t->lenient_sw = malloc((t->nsched ? t->nsched : 1) * sizeof *t->lenient_sw);
	if (!t->lenient || !t->lenient_sw)
		return STP_ENOMEM;
	size_t n = 0;
	for (size_t k = 0; t->sched_from && k < t->nsched; k++) {
		int f = t->sched_from[k];
		if (f < 0)
			continue;
		const char *at = t->sched_from_at[k];
		t->lenient_sw[n++] = (stp__switch){ { t->names[f], at, at ? t->sched_from_occ[k] : 1 },
						    t->names[t->sched[k]], t->sched_preempt[k] };
	}
	t->nlenient = n;
	*t->lenient = (stp__preempts){ .sw = t->lenient_sw, .nsw = n };
	s->opt.mode = t->mode;
	s->preempts = t->lenient;
	return stp__preempt_interleave(s);
}

stp_trace *stp__replay_load(stp_stepper *s, int *rc)
{
	stp_trace_error err;
	stp_trace *t = stp_trace_load(s->opt.replay, &err);
	if (!t) {
		char buf[768];
		stp__error(s, STP__OUT_FAIL, "replay: cannot use the trace: %s",
			   stp_trace_error_text(&err, buf, sizeof buf));
		*rc = err.line || err.path[0] ? STP_EPARSE : STP_EIO;
	}
	return t;
}

int stp__replay_interleave(stp_stepper *s)
{
	int rc;
	stp_trace *t = stp__replay_load(s, &rc);
	if (!t)
		return rc;
	int lenient = stp__replay_lenient();
	rc = lenient ? lenient_prepare(s, t) : compare_declarations(s, t);
	if (rc == 0 && !lenient && t->version >= 2) { /* decisions, checked as they come */
		s->opt.mode = t->mode;
		rc = stp__set_recorded(s, t->sched, (const char *const *)t->sched_names,
				       t->nsched, "replay");
	} else if (rc == 0 && !lenient) {
		rc = stp__set_schedule(s, t->sched, t->nsched);
	}
	if (rc < 0) {
		s->preempts = NULL;
		stp_trace_free(t);
		return rc;
	}
	/* A replay runs as recorded: the trace's seed and mode win. */
	s->opt.seed = t->seed;
	s->opt.mode = t->mode;
	s->strategy = "replay";
	s->timed = 1;
	if (s->replay && s->replay_free)
		s->replay_free(s->replay);
	s->replay = t;
	s->replay_free = replay_free;
	return 0;
}

/* "OUTCOME: first error" of a run that body_rc ended (as a seed loop
 * sees it), masked (stp__failure_signature). */
static char *run_signature(const stp_stepper *s, int body_rc)
{
	const char *out = stp__outcome_name(s->outcome);
	if (stp_error_count(s))
		return stp__failure_signature(out, stp_error(s, 0));
	return body_rc ? stp__strdupf("fail: the test body returned non-zero")
		       : stp__strdupf("%s", out);
}

/* The recorded run's. */
static char *trace_signature(const stp_trace *t)
{
	const char *out = t->has_outcome ? t->outcome : "none";
	return t->nerrors ? stp__failure_signature(out, t->errors[0]) : stp__strdupf("%s", out);
}

/* The first line of text, at most 200 bytes of it. */
static int first_line(const char *text)
{
	size_t n = strcspn(text, "\n");
	return (int)(n < 200 ? n : 200);
}

int stp__replay_verdict(const stp_stepper *s, int body_rc, char *buf, size_t size)
{
	const stp_trace *t = s->replay;
	if (!t || !t->lenient)
		return -1;
	size_t applied = t->lenient->hits;
	char *a = trace_signature(t), *b = run_signature(s, body_rc);
	int same = a && b && strcmp(a, b) == 0, passed = t->has_outcome &&
							  strcmp(t->outcome, "pass") == 0;
	const char *now = stp_error_count(s) ? stp_error(s, 0)
			  : body_rc	     ? "the test body returned non-zero"
					     : "it passed";
	int n = snprintf(buf, size, "lenient replay of %s (%zu of %zu recorded switch%s applied): ",
			 t->source, applied, t->nlenient, t->nlenient == 1 ? "" : "es");
	if (n >= 0 && (size_t)n < size) {
		if (same)
			snprintf(buf + n, size - (size_t)n, "%s",
				 passed ? "the recorded run passed, and this one did too"
					: "the recorded failure came back");
		else
			snprintf(buf + n, size - (size_t)n,
				 "the recorded %s did not come back; this run: %.*s",
				 passed ? "pass" : "failure", first_line(now), now);
	}
	free(a);
	free(b);
	return same;
}

/* After a replayed run: were the events the recorded ones? */
static void compare_events(stp_stepper *s, const stp_trace *t)
{
	if (!t->has_outcome)
		return; /* the trace is a plan: nothing was recorded */
	size_t e = 0;
	for (size_t k = 0; k < s->nsched; k++) {
		const struct stp__thread *th = s->threads[s->sched[k]];
		size_t step = s->sched_step[k];
		if (step >= atomic_load(&((struct stp__thread *)th)->passed))
			continue;
		if (e >= t->nevents) {
			stp__error(s, STP__OUT_DIVERGENCE,
				   "replay diverged after event %zu: the recorded run "
				   "stopped there, this run went on with [%s] '%s' "
				   "(%zu/%zu)",
				   e, th->name, th->order[step], step + 1, th->nsteps);
			return;
		}
		const stp__tevent *r = &t->events[e];
		if (r->thread != th->index || r->step != step) {
			stp__error(s, STP__OUT_DIVERGENCE,
				   "replay diverged at event %zu: the recorded run passed "
				   "[%s] '%s' (%zu/%zu), this run [%s] '%s' (%zu/%zu)",
				   e + 1, t->names[r->thread],
				   t->orders[r->thread][r->step], r->step + 1,
				   t->nsteps[r->thread], th->name, th->order[step],
				   step + 1, th->nsteps);
			return;
		}
		e++;
	}
	if (e < t->nevents) {
		const stp__tevent *r = &t->events[e];
		stp__error(s, STP__OUT_DIVERGENCE,
			   "replay diverged at event %zu: the recorded run passed [%s] "
			   "'%s' (%zu/%zu), this run stopped after %zu event%s",
			   e + 1, t->names[r->thread], t->orders[r->thread][r->step],
			   r->step + 1, t->nsteps[r->thread], e, e == 1 ? "" : "s");
	}
}

/* Once a failing run's trace is at $STEPPER_TRACE, later runs of the same
 * process (other tests of a suite) leave it there: it is the one that
 * `stepper run` keeps. */
static atomic_int env_trace_holds_failure;

/* s->trace_state */
enum {
	TRACE_ABSENT = 1, /* opt.trace does not hold this run's trace */
	TRACE_HOLDS = 2   /* this run's failure is the one kept at $STEPPER_TRACE */
};

static int is_env_trace(const char *path)
{
	const char *env = getenv("STEPPER_TRACE");
	return env && path && strcmp(env, path) == 0;
}

/* A trace that cannot be written is reported once per path in a row: a
 * loop of 10,000 seeds with an unwritable STEPPER_TRACE says it once, not
 * twice per seed. A successful write there re-arms the report. */
static pthread_mutex_t warned_mu = PTHREAD_MUTEX_INITIALIZER;
static char *warned_path;

static int first_warning(const char *path, int failed)
{
	pthread_mutex_lock(&warned_mu);
	int same = warned_path && strcmp(warned_path, path) == 0;
	if (failed && !same) {
		free(warned_path);
		warned_path = stp__strdup(path);
	} else if (!failed && same) {
		free(warned_path);
		warned_path = NULL;
	}
	pthread_mutex_unlock(&warned_mu);
	return failed && !same;
}

/* Why stp_trace_write returned rc (errno e for STP_EIO). */
static const char *write_error(int rc, int e, char *buf, size_t size)
{
	if (rc == STP_EIO)
		return strerror(e);
	if (rc == STP_ELIMIT)
		snprintf(buf, size,
			 "the run is larger than a trace may be (%u schedule entries, "
			 "%u MiB)",
			 STP__TRACE_MAX_ENTRIES, STP__TRACE_MAX_BYTES >> 20);
	else
		snprintf(buf, size, "%s", stp_strerror(rc));
	return buf;
}

static void write_trace(stp_stepper *s)
{
	if (is_env_trace(s->opt.trace) && atomic_load(&env_trace_holds_failure) &&
	    !(s->trace_state & TRACE_HOLDS)) {
		s->trace_state |= TRACE_ABSENT; /* an earlier failure stays there */
		return;
	}
	int rc = stp_trace_write(s, s->opt.trace), e = errno;
	char buf[160];
	if (first_warning(s->opt.trace, rc < 0))
		fprintf(s->opt.log,
			"stepper: cannot write the trace %s: %s (said once; later runs "
			"writing there fail the same way)\n",
			s->opt.trace, write_error(rc, e, buf, sizeof buf));
	if (rc < 0) {
		s->trace_state |= TRACE_ABSENT;
		return;
	}
	s->trace_state &= ~TRACE_ABSENT;
	if (is_env_trace(s->opt.trace) && s->phase == STP__DONE &&
	    s->outcome != STP__OUT_PASS) {
		atomic_store(&env_trace_holds_failure, 1);
		s->trace_state |= TRACE_HOLDS;
	}
}

void stp__trace_run_start(stp_stepper *s)
{
	if (s->opt.trace)
		write_trace(s);
}

void stp__trace_run_end(stp_stepper *s)
{
	if (s->replay && !s->online) /* online: checked at each decision */
		compare_events(s, s->replay);
	s->trace_stale = 0;
	if (s->opt.trace)
		write_trace(s);
}

void stp__trace_refresh(stp_stepper *s)
{
	if (!s->trace_stale)
		return;
	s->trace_stale = 0;
	if (s->opt.trace)
		write_trace(s);
}

/* Make DIR/FOLDER, or DIR/FOLDER-2, -3, ... when it exists: a folder of
 * its own, never one an earlier invocation wrote. out receives it. */
static int make_own_folder(const char *dir, const char *folder, char *out,
			   size_t size)
{
	if (stp__mkdirs(dir) != 0)
		return -1;
	for (int k = 1; k < 1000; k++) {
		int n = k == 1 ? snprintf(out, size, "%s/%s", dir, folder)
			       : snprintf(out, size, "%s/%s-%d", dir, folder, k);
		if (n < 0 || (size_t)n >= size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdir(out, 0777) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

void stp__loop_keep_trace(stp_stepper *s, const char *folder, char *path,
			  size_t size)
{
	path[0] = '\0';
	stp__trace_refresh(s);
	if (s->opt.trace) { /* already written there (STEPPER_TRACE), or not */
		if (!(s->trace_state & TRACE_ABSENT))
			snprintf(path, size, "%s", s->opt.trace);
		return;
	}
	if (!s->interleaved)
		return;
	const char *dir = s->opt.trace_dir ? s->opt.trace_dir : "stepper-traces";
	char where[4096], buf[160];
	if (make_own_folder(dir, folder, where, sizeof where) != 0) {
		fprintf(s->opt.log, "stepper: cannot create a trace folder %s/%s: %s\n",
			dir, folder, strerror(errno));
		return;
	}
	int n = snprintf(path, size, "%s/seed-%llu.json", where,
			 (unsigned long long)s->opt.seed);
	if (n < 0 || (size_t)n >= size) {
		fprintf(s->opt.log, "stepper: cannot write the trace in %s: the path "
				    "would be longer than %zu bytes\n", where, size - 1);
		path[0] = '\0';
		return;
	}
	int rc = stp_trace_write(s, path), e = errno;
	if (rc < 0) {
		fprintf(s->opt.log, "stepper: cannot write the trace %s: %s\n", path,
			write_error(rc, e, buf, sizeof buf));
		path[0] = '\0';
	}
}
