/*
 * shrink_cmd.c - shrinking a trace with a command, one process per
 * replay (`stepper shrink TRACE -- COMMAND`, README "Shrinking").
 *
 * The algorithm is shrink.c's; this file is its second oracle. Each
 * candidate goes to a process of the command as a file, and the process
 * gives back its decisions in another, both in a small text format of
 * this file:
 *
 *   the candidate (STEPPER_SHRINK_CANDIDATE=FILE, with STEPPER_REPLAY the
 *   failing trace, which gives the seed, the mode and the threads):
 *     stepper-shrink-candidate 1
 *     follow                          follow the trace's decisions
 *   or
 *     switches N
 *     PREEMPT OCC THREAD POINT TO     N lines: a switch (preempt.h)
 *
 *   the decisions, at FILE.out, written when the run ends:
 *     stepper-shrink-decisions 1
 *     N USED NOMEM DIVERGED HITS
 *     CURRENT ENABLED DEFAULT CHOSEN NENABLED OCC POINT     N lines
 *
 * A string is "-" (none) or LEN:BYTES. The process's own trace
 * (STEPPER_TRACE) gives the outcome, the errors and the order; the
 * decisions file gives each decision's anchor and what the default
 * policy would have chosen, which a trace does not record.
 *
 * The process's side: with STEPPER_SHRINK_CANDIDATE and STEPPER_REPLAY
 * set, the wiring (wire.c) takes stp__shrink_candidate_interleave and
 * stp__shrink_candidate_run_end instead of the trace's replay: the run is
 * decided by the preempt source, as a seed loop's shrinking replays are.
 */
#include "stepper_int.h"
#include "preempt.h"
#include "env.h"
#include "trace_int.h"
#include "shrink.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CANDIDATE_ENV "STEPPER_SHRINK_CANDIDATE"
#define CANDIDATE_HEAD "stepper-shrink-candidate 1\n"
#define DECISIONS_HEAD "stepper-shrink-decisions 1\n"

/* ------------------------------------------------------------------ */
/* Strings in the files                                                */
/* ------------------------------------------------------------------ */

static void put_str(FILE *f, const char *s)
{
	if (s)
		fprintf(f, " %zu:%s", strlen(s), s);
	else
		fputs(" -", f);
}

/* A string into the pool (*pool moves past it, at most end): 0, or -1
 * when malformed or longer than the pool. */
static int get_str(FILE *f, char **pool, const char *end, const char **out)
{
	int c = fgetc(f);
	if (c != ' ')
		return -1;
	c = fgetc(f);
	if (c == '-') {
		*out = NULL;
		return 0;
	}
	ungetc(c, f);
	size_t len;
	if (fscanf(f, "%zu", &len) != 1 || fgetc(f) != ':' || len > STP_MAX_NAME ||
	    (size_t)(end - *pool) < len + 1 || fread(*pool, 1, len, f) != len)
		return -1;
	(*pool)[len] = '\0';
	*out = *pool;
	*pool += len + 1;
	return 0;
}

/* The size of the open file f, for a pool that holds all its strings. */
static size_t file_size(FILE *f)
{
	struct stat st;
	return fstat(fileno(f), &st) == 0 && st.st_size > 0 ? (size_t)st.st_size : 0;
}

static int read_head(FILE *f, const char *head)
{
	char buf[64];
	return fgets(buf, sizeof buf, f) && strcmp(buf, head) == 0 ? 0 : -1;
}

/* Write to path + ".tmp" with put(arg), then rename: readers see the
 * whole file or none. 0, or -1 with errno. */
static int write_file(const char *path, void (*put)(FILE *, const void *), const void *arg)
{
	char *tmp = stp__strdupf("%s.tmp", path);
	FILE *f = tmp ? fopen(tmp, "w") : NULL;
	if (!f) {
		int e = tmp ? errno : ENOMEM;
		free(tmp);
		errno = e;
		return -1;
	}
	put(f, arg);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
		int e = errno ? errno : EIO;
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	free(tmp);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The process's side                                                  */
/* ------------------------------------------------------------------ */

int stp__shrink_candidate_wanted(void)
{
	const char *v = getenv(CANDIDATE_ENV);
	return v && *v;
}

/* The candidate's switches, into one block: the array, then their
 * strings. */
static stp__switch *read_switches(FILE *f, size_t n, size_t room)
{
	if (n > STP__TRACE_MAX_ENTRIES)
		return NULL;
	stp__switch *sw = malloc((n ? n : 1) * sizeof *sw + room);
	char *pool = (char *)(sw + (n ? n : 1)), *end = pool + room;
	for (size_t i = 0; sw && i < n; i++) {
		int preempt;
		stp__switch *w = &sw[i];
		if (fscanf(f, "%d %zu", &preempt, &w->at.occ) != 2 ||
		    get_str(f, &pool, end, &w->at.thread) < 0 ||
		    get_str(f, &pool, end, &w->at.point) < 0 || get_str(f, &pool, end, &w->to) < 0 ||
		    !w->to || fgetc(f) != '\n') {
			free(sw);
			return NULL;
		}
		w->preempt = preempt != 0;
	}
	return sw;
}

/* Set t->lenient to the candidate at path (its switches, or following
 * t's decisions): 0, or an error on s. */
static int read_candidate(stp_stepper *s, stp_trace *t, const char *path)
{
	FILE *f = fopen(path, "r");
	char word[16];
	size_t n = 0;
	int rc = STP_EPARSE;
	if (!f) {
		stp__error(s, STP__OUT_FAIL, "shrink: cannot read the candidate %s: %s", path,
			   strerror(errno));
		return STP_EIO;
	}
	t->lenient = calloc(1, sizeof *t->lenient);
	if (!t->lenient) {
		rc = STP_ENOMEM;
	} else if (read_head(f, CANDIDATE_HEAD) == 0 && fscanf(f, "%15s", word) == 1) {
		if (strcmp(word, "follow") == 0) {
			t->lenient->follow = t->sched;
			t->lenient->nfollow = t->nsched;
			rc = 0;
		} else if (strcmp(word, "switches") == 0 && fscanf(f, "%zu", &n) == 1 &&
			   fgetc(f) == '\n' && (t->lenient_sw = read_switches(f, n, file_size(f)))) {
			t->lenient->sw = t->lenient_sw;
			t->lenient->nsw = t->nlenient = n;
			rc = 0;
		}
	}
	fclose(f);
	if (rc < 0)
		stp__error(s, STP__OUT_FAIL, "shrink: the candidate %s: %s", path,
			   rc == STP_ENOMEM ? "out of memory" : "not a candidate of this stepper");
	return rc;
}

/* The test registers the trace's threads, by name. */
static int same_threads(stp_stepper *s, const stp_trace *t)
{
	/* a program's threads are made during the run: those made so far */
	size_t n = s->dynamic && t->nthreads >= (size_t)s->nthreads ? (size_t)s->nthreads
								     : t->nthreads;
	int same = (size_t)s->nthreads == n;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(s->threads[i]->name, t->names[i]) == 0;
	if (same)
		return 0;
	stp__error(s, STP__OUT_FAIL,
		   "replay: %s has %zu thread%s (%s%s), the test registers %d (%s%s)",
		   t->source, t->nthreads, t->nthreads == 1 ? "" : "s",
		   t->nthreads ? t->names[0] : "", t->nthreads > 1 ? ", ..." : "", s->nthreads,
		   s->nthreads ? s->threads[0]->name : "", s->nthreads > 1 ? ", ..." : "");
	return STP_EMISMATCH;
}

static void trace_free(void *p)
{
	stp_trace_free(p);
}

int stp__shrink_candidate_interleave(stp_stepper *s)
{
	int rc;
	stp_trace *t = stp__replay_load(s, &rc);
	if (!t)
		return rc;
	rc = same_threads(s, t);
	if (rc == 0)
		rc = read_candidate(s, t, getenv(CANDIDATE_ENV));
	if (rc == 0) {
		s->opt.seed = t->seed;
		s->opt.mode = t->mode;
		s->preempts = t->lenient;
		rc = stp__preempt_interleave(s);
	}
	if (rc < 0) {
		s->preempts = NULL;
		stp_trace_free(t);
		return rc;
	}
	s->strategy = "replay";
	s->timed = 1;
	if (s->replay && s->replay_free)
		s->replay_free(s->replay);
	s->replay = t; /* owns the candidate (t->lenient) */
	s->replay_free = trace_free;
	return 0;
}

static void put_decisions(FILE *f, const void *arg)
{
	const stp__preempts *p = arg;
	fputs(DECISIONS_HEAD, f);
	fprintf(f, "%zu %d %d %d %zu\n", p->ndec, p->used, p->nomem, p->diverged, p->hits);
	for (size_t k = 0; k < p->ndec; k++) {
		const stp__pdecision *d = &p->dec[k];
		fprintf(f, "%d %d %d %d %d %zu", d->current, d->current_enabled, d->dflt, d->chosen,
			d->nenabled, d->occ);
		put_str(f, d->point);
		fputc('\n', f);
	}
}

void stp__shrink_candidate_run_end(stp_stepper *s)
{
	stp__trace_run_end(s);
	const char *cand = getenv(CANDIDATE_ENV);
	char *out = cand && s->preempts ? stp__strdupf("%s.out", cand) : NULL;
	if (out && write_file(out, put_decisions, s->preempts) < 0)
		fprintf(s->opt.log, "stepper: shrink: cannot write %s: %s\n", out, strerror(errno));
	free(out);
}

/* ------------------------------------------------------------------ */
/* The driver's side: reading what a process did                       */
/* ------------------------------------------------------------------ */

static int read_decision(FILE *f, stp__pdecision *d, char **pool, const char *end)
{
	return fscanf(f, "%d %d %d %d %d %zu", &d->current, &d->current_enabled, &d->dflt,
		      &d->chosen, &d->nenabled, &d->occ) == 6 &&
			       get_str(f, pool, end, &d->point) == 0 && fgetc(f) == '\n'
		       ? 0
		       : -1;
}

/* The decisions at path into r->p (points in r->names): 0; -1 none
 * there; -2 malformed; -3 out of memory. */
static int read_decisions(const char *path, stp__srun *r)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	stp__preempts *p = &r->p;
	size_t n, room = file_size(f);
	int rc = -2;
	if (read_head(f, DECISIONS_HEAD) < 0 ||
	    fscanf(f, "%zu %d %d %d %zu\n", &n, &p->used, &p->nomem, &p->diverged, &p->hits) != 5 ||
	    n > STP__TRACE_MAX_ENTRIES)
		goto out;
	rc = -3;
	p->dec = malloc((n ? n : 1) * sizeof *p->dec);
	r->names = malloc(room + 1);
	if (!p->dec || !r->names)
		goto out;
	p->capdec = n ? n : 1;
	char *pool = r->names;
	rc = -2;
	for (p->ndec = 0; p->ndec < n; p->ndec++)
		if (read_decision(f, &p->dec[p->ndec], &pool, r->names + room + 1) < 0)
			goto out;
	rc = 0;
out:
	fclose(f);
	return rc;
}

/* Do the decisions and the trace tell of the same run (the same threads,
 * chosen in the same order)? */
static int consistent(const stp__srun *r, const stp_trace *t)
{
	if (r->p.ndec != t->nsched)
		return 0;
	int n = (int)t->nthreads;
	for (size_t k = 0; k < r->p.ndec; k++) {
		const stp__pdecision *d = &r->p.dec[k];
		if (d->chosen != t->sched[k] || d->current < -1 || d->current >= n ||
		    d->dflt < 0 || d->dflt >= n)
			return 0;
	}
	return 1;
}

static int trace_failed(const stp_trace *t)
{
	return t->nerrors > 0 || !t->has_outcome || strcmp(t->outcome, "pass") != 0;
}

/* What "the same way" compares: the outcome and the first error, masked
 * (stp__failure_signature). NULL when out of memory. */
static char *trace_signature(const stp_trace *t)
{
	const char *out = t->has_outcome ? t->outcome : "none";
	return t->nerrors ? stp__failure_signature(out, t->errors[0]) : stp__strdupf("%s", out);
}

/* ------------------------------------------------------------------ */
/* The driver's side: the oracle                                       */
/* ------------------------------------------------------------------ */

struct procs {
	const stp_shrink_options *o;
	char *sig;       /* the failure's signature */
	int end;         /* how the failing run's replay ended: 0 exited, else
			  * the signal that killed it; -1 not yet known */
	size_t seq;      /* candidates made */
};

/* One candidate's files and variables. */
struct slot {
	char *cand, *out, *trace;
	char *env[4];
	int bad; /* its candidate could not be written: errno */
};

static void put_candidate(FILE *f, const void *arg)
{
	const stp__preempts *p = arg;
	fputs(CANDIDATE_HEAD, f);
	if (p->follow) {
		fputs("follow\n", f);
		return;
	}
	fprintf(f, "switches %zu\n", p->nsw);
	for (size_t i = 0; i < p->nsw; i++) {
		const stp__switch *w = &p->sw[i];
		fprintf(f, "%d %zu", w->preempt, w->at.occ);
		put_str(f, w->at.thread);
		put_str(f, w->at.point);
		put_str(f, w->to);
		fputc('\n', f);
	}
}

static void slot_free(struct slot *sl)
{
	if (sl->cand)
		unlink(sl->cand);
	if (sl->out)
		unlink(sl->out);
	if (sl->trace)
		unlink(sl->trace);
	free(sl->cand);
	free(sl->out);
	free(sl->trace);
	for (int i = 0; i < 4; i++)
		free(sl->env[i]);
}

/* Files and variables for candidate p: 0, or -1 (sl->bad: errno). */
static int slot_init(struct procs *ps, struct slot *sl, const stp__preempts *p)
{
	size_t seq = ps->seq++;
	const char *dir = ps->o->dir;
	sl->cand = stp__strdupf("%s/candidate-%zu", dir, seq);
	sl->out = stp__strdupf("%s/candidate-%zu.out", dir, seq);
	sl->trace = stp__strdupf("%s/trace-%zu.json", dir, seq);
	sl->env[0] = stp__strdupf("STEPPER_REPLAY=%s", ps->o->trace);
	sl->env[1] = sl->cand ? stp__strdupf(CANDIDATE_ENV "=%s", sl->cand) : NULL;
	sl->env[2] = sl->trace ? stp__strdupf("STEPPER_TRACE=%s", sl->trace) : NULL;
	sl->env[3] = stp__strdupf("STEPPER_SHRINK=0");
	for (int i = 0; i < 4; i++)
		if (!sl->env[i] || !sl->out)
			return sl->bad = ENOMEM, -1;
	unlink(sl->out);
	unlink(sl->trace);
	if (write_file(sl->cand, put_candidate, p) < 0)
		return sl->bad = errno, -1;
	return 0;
}

/* How the process ended, as a phrase: "it was killed by SIGSEGV". */
static void end_text(const stp_shrink_proc *pr, char *buf, size_t size)
{
	if (pr->timed_out)
		snprintf(buf, size, "it ran past the timeout and was killed");
	else if (WIFSIGNALED(pr->status))
		snprintf(buf, size, "it was killed by signal %d (%s)", WTERMSIG(pr->status),
			 strsignal(WTERMSIG(pr->status)));
	else
		snprintf(buf, size, "it exited with status %d", WEXITSTATUS(pr->status));
}

static int end_of(const stp_shrink_proc *pr)
{
	return WIFSIGNALED(pr->status) ? WTERMSIG(pr->status) : 0;
}

/* The first line of text, at most 200 bytes of it. */
static int first_line(const char *text)
{
	size_t n = strcspn(text, "\n");
	return (int)(n < 200 ? n : 200);
}

/* A run that came back whole (decisions and trace): same or not. */
static void judge_run(struct procs *ps, stp__srun *r, const stp_shrink_proc *pr,
		      const char *how)
{
	const stp_trace *t = r->t;
	if (!trace_failed(t)) {
		snprintf(r->what, sizeof r->what, "%s", end_of(pr) ? how : "it passed");
		return;
	}
	char *sig = trace_signature(t);
	if (!sig) {
		r->p.nomem = 1;
		return;
	}
	const char *e = t->nerrors ? t->errors[0] : t->outcome;
	if (strcmp(sig, ps->sig) != 0)
		snprintf(r->what, sizeof r->what, "it failed otherwise: %s: %.*s", t->outcome,
			 first_line(e), e);
	else if (ps->end >= 0 && end_of(pr) != ps->end)
		snprintf(r->what, sizeof r->what, "%s, where the failing run's replay %s", how,
			 ps->end ? "was killed by a signal" : "exited");
	else
		r->same = 1;
	if (r->same && ps->end < 0)
		ps->end = end_of(pr); /* the first: the failing run, replayed */
	free(sig);
}

/* What process pr did with candidate r (files in sl). */
static void judge(struct procs *ps, stp__srun *r, const stp_shrink_proc *pr,
		  const struct slot *sl)
{
	char how[96];
	if (!pr->started) {
		r->fatal = 1;
		snprintf(r->what, sizeof r->what, "%s",
			 pr->what[0] ? pr->what : "the command could not be started");
		return;
	}
	end_text(pr, how, sizeof how);
	int rc = read_decisions(sl->out, r);
	r->t = pr->timed_out ? NULL : stp_trace_load(sl->trace, NULL);
	r->failed = pr->timed_out || WIFSIGNALED(pr->status) || WEXITSTATUS(pr->status) != 0 ||
		    (r->t && trace_failed(r->t));
	if (rc == -3)
		r->p.nomem = 1;
	if (pr->timed_out || rc == -3) {
		snprintf(r->what, sizeof r->what, "the command, replaying the trace, %s",
			 rc == -3 && !pr->timed_out ? "ran out of memory" : how + 3);
	} else if (rc < 0 || !r->t || !r->p.used) {
		r->p.used = 0;
		if (WIFSIGNALED(pr->status))
			snprintf(r->what, sizeof r->what,
				 "the command, replaying the trace, %s before its run ended",
				 how + 3);
		else
			snprintf(r->what, sizeof r->what,
				 "the command did not replay the trace: it wrote no %s and %s "
				 "(does it run one stepper test, which takes STEPPER_REPLAY?)",
				 rc == -2 ? "readable decisions" : !r->t ? "trace" : "decisions",
				 how + 3);
	} else if (!consistent(r, r->t)) {
		snprintf(r->what, sizeof r->what,
			 "its decisions and its trace tell of different runs (does the "
			 "command run more than one stepper test?)");
	} else {
		judge_run(ps, r, pr, how);
	}
}

static void proc_replay(void *self, stp__srun *runs, size_t n)
{
	struct procs *ps = self;
	struct slot *sl = calloc(n, sizeof *sl);
	stp_shrink_proc *pr = calloc(n, sizeof *pr);
	int bad = !sl || !pr ? ENOMEM : 0;
	for (size_t i = 0; !bad && i < n; i++) {
		if (slot_init(ps, &sl[i], &runs[i].p) < 0)
			bad = sl[i].bad;
		for (int k = 0; k < 4; k++)
			pr[i].env[k] = sl[i].env[k];
	}
	if (!bad)
		ps->o->exec(ps->o->arg, pr, n);
	for (size_t i = 0; i < n; i++) {
		if (bad) {
			runs[i].fatal = 1;
			snprintf(runs[i].what, sizeof runs[i].what,
				 "cannot write a candidate in %s: %s", ps->o->dir, strerror(bad));
		} else {
			judge(ps, &runs[i], &pr[i], &sl[i]);
		}
		if (sl)
			slot_free(&sl[i]);
	}
	free(sl);
	free(pr);
}

/* ------------------------------------------------------------------ */
/* The shrunk run                                                      */
/* ------------------------------------------------------------------ */

/* Fill t's anchors from the decisions (the process's trace has none). */
static int anchor(stp_trace *t, const stp__preempts *p)
{
	stp__counter *c = stp__counter_new();
	if (!c || !t->sched_occ || !t->sched_from || !t->sched_from_at || !t->sched_from_occ ||
	    !t->sched_preempt) {
		stp__counter_free(c);
		return STP_ENOMEM;
	}
	for (size_t k = 0; k < t->nsched; k++) {
		const stp__pdecision *d = &p->dec[k];
		int other = d->current >= 0 && d->current != d->chosen;
		free(t->sched_from_at[k]);
		t->sched_from_at[k] = NULL;
		t->sched_from[k] = other ? d->current : -1;
		t->sched_from_occ[k] = other && d->point ? d->occ : 0;
		t->sched_preempt[k] = (unsigned char)(other && d->current_enabled);
		if ((other && d->point && !(t->sched_from_at[k] = stp__strdup(d->point))) ||
		    !(t->sched_occ[k] = stp__counter_add(c, t->sched[k], t->sched_names[k]))) {
			stp__counter_free(c);
			return STP_ENOMEM;
		}
	}
	stp__counter_free(c);
	return 0;
}

int stp__srun_save(const stp__srun *r, const char *path)
{
	stp_trace *t = r->t;
	char *shrunk = stp__strdup("shrunk");
	if (!t || !shrunk || anchor(t, &r->p) < 0) {
		free(shrunk);
		return STP_ENOMEM;
	}
	free(t->strategy);
	t->strategy = shrunk;
	return stp_trace_save(t, path);
}

void stp__srun_print_order(const stp__srun *r, FILE *out)
{
	fputs("====\n", out);
	for (size_t k = 0; r->t && k < r->t->nsched; k++)
		fprintf(out, "[%s] %s\n", r->t->names[r->t->sched[k]], r->t->sched_names[k]);
	fputs("====\n", out);
}

/* ------------------------------------------------------------------ */
/* The API                                                             */
/* ------------------------------------------------------------------ */

struct stp_shrink_result {
	stp__shrunk *r;
};

/* Can t be shrunk? 0, or STP_EINVAL with why. */
static int check_trace(const stp_trace *t, const char *path, char *why, size_t size)
{
	const char *o = t->has_outcome ? t->outcome : "none";
	if (strcmp(o, "none") == 0)
		snprintf(why, size,
			 "%s holds only the plan: the recorded run died (a crash or a kill) "
			 "before its trace was complete, so its decisions are not known",
			 path);
	else if (strcmp(o, "pass") == 0 && t->nerrors == 0)
		snprintf(why, size, "%s recorded a passing run: there is no failure to shrink",
			 path);
	else if (strcmp(o, "stall") == 0)
		snprintf(why, size,
			 "%s recorded a stall: each replay would wait out the stall limit, "
			 "and a stall is not decided by the order",
			 path);
	else if (t->mode != STP_SERIAL)
		snprintf(why, size, "%s ran in overlap mode, which takes no decisions to vary",
			 path);
	else
		return 0;
	return STP_EINVAL;
}

/* The options, checked, with the budget's defaults from the environment. */
static int check_options(const stp_shrink_options *o, stp__oracle *orc, char *why,
			 size_t size)
{
	if (!o || !o->trace || !o->dir || !o->exec) {
		snprintf(why, size, "stp_shrink_trace: trace, dir and exec are required");
		return STP_EINVAL;
	}
	if (o->jobs > 1024 || isnan(o->max_seconds) || o->max_seconds < 0 ||
	    o->max_seconds > 86400) {
		snprintf(why, size, "stp_shrink_trace: expected at most 1024 jobs and 0 to "
				    "86400 seconds");
		return STP_EINVAL;
	}
	stp__shrink_env env;
	stp__shrink_env_get(&env);
	orc->jobs = o->jobs ? o->jobs : 1;
	orc->max_replays = o->max_replays ? o->max_replays : env.replays;
	orc->max_secs = o->max_seconds > 0 ? o->max_seconds : env.seconds;
	return 0;
}

int stp_shrink_trace(const stp_shrink_options *o, stp_shrink_result **out, char *why,
		     size_t size)
{
	char none[8];
	if (!why || size == 0)
		why = none, size = sizeof none;
	why[0] = '\0';
	stp__oracle orc = { proc_replay, NULL, 1, 0, 0 };
	if (!out)
		return STP_EINVAL;
	*out = NULL;
	int rc = check_options(o, &orc, why, size);
	if (rc < 0)
		return rc;
	stp_trace_error err;
	stp_trace *t = stp_trace_load(o->trace, &err);
	if (!t) {
		char buf[768];
		snprintf(why, size, "%s", stp_trace_error_text(&err, buf, sizeof buf));
		return err.line || err.path[0] ? STP_EPARSE : STP_EIO;
	}
	struct procs ps = { .o = o, .end = -1 };
	stp_shrink_result *res = calloc(1, sizeof *res);
	rc = check_trace(t, o->trace, why, size);
	if (rc == 0 && (!res || !(ps.sig = trace_signature(t))))
		rc = STP_ENOMEM;
	if (rc == 0) {
		orc.self = &ps;
		res->r = stp__shrink_with(&orc, t->sched, t->nsched, o->trace,
					  t->nerrors ? t->errors[0] : "");
		if (!res->r)
			rc = STP_ENOMEM;
	}
	if (rc == STP_ENOMEM)
		snprintf(why, size, "out of memory");
	if (rc < 0)
		free(res);
	else
		*out = res;
	free(ps.sig);
	stp_trace_free(t);
	return rc;
}

void stp_shrink_result_print(const stp_shrink_result *r, FILE *out, const char *before,
			     const char *after)
{
	if (r && out)
		stp__shrunk_print_as(out, r->r, before ? before : "", after ? after : "");
}

const char *stp_shrink_result_why(const stp_shrink_result *r)
{
	return r ? stp__shrunk_why(r->r) : "";
}

const char *stp_shrink_result_trace(const stp_shrink_result *r)
{
	return r ? stp__shrunk_trace(r->r) : "";
}

size_t stp_shrink_result_preemptions(const stp_shrink_result *r, size_t *before)
{
	if (before)
		*before = r ? stp__shrunk_from(r->r) : 0;
	return r ? stp__shrunk_to(r->r) : 0;
}

void stp_shrink_result_free(stp_shrink_result *r)
{
	if (!r)
		return;
	stp__shrunk_free(r->r);
	free(r);
}
