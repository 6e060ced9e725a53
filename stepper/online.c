/*
 * online.c - runs with free threads: a decision at every hand-off.
 *
 * Serial mode only. The prefixes run one at a time in registration order,
 * as on the declared path. After that the thread that holds the turnstile
 * (the one that reached a step, or ended) decides who goes next among the
 * enabled threads (every live thread parked at a step: in serial mode all
 * but the decider are), records the entry, and wakes the chosen thread;
 * when it chose itself it goes on without a hand-off. Everything online
 * (enabled, log, the sources' state) is written by the one thread that
 * holds the turnstile; the grant (a release store of `granted` and the
 * semaphore post) carries it to the next holder. After an abort nothing
 * here is touched: every thread checks `aborted` first.
 */
#include "stepper_int.h"

#include <stdlib.h>
#include <string.h>

/* The most distinct step names one free thread may reach in a run. */
#define MAX_NAMES 4096

int stp__any_free(const stp_stepper *s)
{
	for (int i = 0; i < s->nthreads; i++)
		if (s->threads[i]->is_free)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sources                                                             */
/* ------------------------------------------------------------------ */

/* Uniform over the enabled threads, from the seed's stream. */
static int random_pick(stp_stepper *s, const stp__choice *c)
{
	return c->enabled[stp__rng_below(&s->rng, (uint64_t)c->n)];
}

static const stp__source random_source = { .name = "random", .pick = random_pick };

/* Where a declared thread stands in the plan: the entry of its next step,
 * or, with none left, of its last (so it runs on to its end at once). */
static size_t rank(const struct stp__thread *t)
{
	size_t k = atomic_load_explicit(&t->passed, memory_order_relaxed);
	return t->entry_of[k < t->nsteps ? k : t->nsteps - 1];
}

/* Follow the plan: the enabled thread whose next step comes first in it.
 * When no thread blocks, that is the plan's next entry, so the run is the
 * plan; a thread that blocks only lets the plan's later entries go first. */
static int plan_pick(stp_stepper *s, const stp__choice *c)
{
	int best = c->enabled[0];
	for (int k = 1; k < c->n; k++)
		if (rank(s->threads[c->enabled[k]]) < rank(s->threads[best]))
			best = c->enabled[k];
	return best;
}

static const stp__source plan_source = { .name = "plan", .pick = plan_pick };

static int is_enabled(const stp__choice *c, int i)
{
	for (int k = 0; k < c->n; k++)
		if (c->enabled[k] == i)
			return 1;
	return 0;
}

/* "[a] 'load', [b] 'cas'": the enabled threads and their steps. */
static char *enabled_text(stp_stepper *s, const stp__choice *c)
{
	size_t cap = (size_t)c->n * (2 * STP_MAX_NAME + 8) + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	buf[0] = '\0';
	for (int k = 0; k < c->n; k++) {
		const struct stp__thread *t = s->threads[c->enabled[k]];
		len += (size_t)snprintf(buf + len, cap - len, "%s[%s] '%s'", k ? ", " : "",
					t->name, atomic_load(&((struct stp__thread *)t)->at));
	}
	return buf;
}

/* Why the recorded thread r cannot take decision k. */
static void recorded_missing(stp_stepper *s, const stp__choice *c, int r)
{
	if (r >= s->nthreads) { /* a thread made during the recorded run */
		char *en = enabled_text(s, c);
		stp__error(s, STP__OUT_DIVERGENCE,
			   "%s: decision %zu: recorded thread %d, which this run has not "
			   "made (it has %d); can go on: %s",
			   s->rec_label, c->decision + 1, r, s->nthreads,
			   en ? en : "(out of memory)");
		free(en);
		return;
	}
	const struct stp__thread *t = s->threads[r];
	char *en = enabled_text(s, c);
	const char *name = s->rec_name ? s->rec_name[c->decision] : "(any step)";
	char where[STP_MAX_NAME + 64];
	if (atomic_load(&((struct stp__thread *)t)->ended))
		snprintf(where, sizeof where, "had ended");
	else if (stp__tset_has(&s->dec.parked, r))
		snprintf(where, sizeof where, "is blocked at '%s'",
			 atomic_load(&((struct stp__thread *)t)->at));
	else
		snprintf(where, sizeof where, "is not at a point");
	stp__error(s, STP__OUT_DIVERGENCE,
		   "%s: decision %zu: recorded [%s] '%s', but [%s] %s; can go on: %s",
		   s->rec_label, c->decision + 1, t->name, name, t->name, where,
		   en ? en : "(out of memory)");
	free(en);
}

/* The recorded thread of the decision, checked: it is enabled and, when
 * names were recorded, at the recorded step. */
static int recorded_pick(stp_stepper *s, const stp__choice *c)
{
	size_t k = c->decision;
	if (k >= s->nrec) {
		char *en = enabled_text(s, c);
		stp__error(s, STP__OUT_DIVERGENCE,
			   "%s: decision %zu: the %s ends after %zu decisions, but the "
			   "run goes on; can go on: %s",
			   s->rec_label, k + 1,
			   s->rec_name ? "recorded run" : "schedule", s->nrec,
			   en ? en : "(out of memory)");
		free(en);
		return -1;
	}
	int r = s->rec_thread[k];
	if (!is_enabled(c, r)) {
		recorded_missing(s, c, r);
		return -1;
	}
	const struct stp__thread *t = s->threads[r];
	const char *at = atomic_load(&((struct stp__thread *)t)->at);
	if (s->rec_name && strcmp(at, s->rec_name[k]) != 0) {
		stp__error(s, STP__OUT_DIVERGENCE,
			   "%s: decision %zu: recorded [%s] '%s', but [%s] reached '%s'",
			   s->rec_label, k + 1, t->name, s->rec_name[k], t->name, at);
		return -1;
	}
	return r;
}

static int recorded_check(stp_stepper *s, const stp__choice *c, int chosen)
{
	return recorded_pick(s, c) == chosen ? 0 : -1;
}

/* The run ended (every thread did) before the recording did. */
static void recorded_finish(stp_stepper *s, size_t n)
{
	if (n >= s->nrec)
		return;
	int r = s->rec_thread[n];
	stp__error(s, STP__OUT_DIVERGENCE,
		   "%s: decision %zu: recorded [%s] '%s', but %s (this run made %zu "
		   "decisions, the %s %zu)",
		   s->rec_label, n + 1, r < s->nthreads ? s->threads[r]->name : "(not made)",
		   s->rec_name ? s->rec_name[n] : "(any step)",
		   !stp__tset_empty(&s->dec.parked) ? "no thread could go on (the deadlock above)"
			     : "every thread had ended",
		   n, s->rec_name ? "recording" : "schedule", s->nrec);
}

static const stp__source recorded_source = { .name = "recorded",
					     .pick = recorded_pick,
					     .check = recorded_check,
					     .finish = recorded_finish };

/* ------------------------------------------------------------------ */
/* Preparing a run                                                     */
/* ------------------------------------------------------------------ */

/* STEPPER_CHECK_SETS=1, read once per process. */
static int check_sets_wanted(void)
{
	static atomic_int wanted = -1;
	int w = atomic_load_explicit(&wanted, memory_order_relaxed);
	if (w < 0) {
		const char *v = getenv("STEPPER_CHECK_SETS");
		w = v && strcmp(v, "1") == 0;
		atomic_store_explicit(&wanted, w, memory_order_relaxed);
	}
	return w;
}

static void clear_sets(stp_stepper *s)
{
	stp__tset_clear(&s->blocked);
	stp__tset_clear(&s->timing);
	atomic_store(&s->recheck, 0);
	s->check_sets = check_sets_wanted();
}

static int go_online(stp_stepper *s, const stp__source *src)
{
	if (s->opt.mode != STP_SERIAL) {
		int i = 0;
		while (i < s->nthreads - 1 && !s->threads[i]->is_free)
			i++;
		if (s->threads[i]->is_free)
			stp__error(s, STP__OUT_FAIL,
				   "overlap mode does not support free threads ([%s] has no "
				   "declared order): use serial mode (STEPPER_MODE=serial) or "
				   "declare every thread's order",
				   s->threads[i]->name);
		else
			stp__error(s, STP__OUT_FAIL,
				   "overlap mode cannot take decisions from %s '%s': it "
				   "decides at every hand-off, which needs serial mode "
				   "(STEPPER_MODE=serial)",
				   src == &recorded_source ? "the recording of" : "the strategy",
				   src == &recorded_source ? s->rec_label : s->strat.text);
		return STP_EINVAL;
	}
	s->online = 1;
	s->deciding = 1;
	s->planned = 0;
	s->src = *src;
	free(s->sched);
	free(s->sched_step);
	s->sched = NULL;
	s->sched_step = NULL;
	s->nsched = 0;
	s->dec.nlog = 0;
	stp__tset_clear(&s->dec.parked);
	clear_sets(s);
	s->carrying = 0;
	s->lazy_log = 0;
	stp__rng_seed(&s->rng, s->opt.seed);
	return 0;
}

void stp__online_plan(stp_stepper *s)
{
	s->deciding = 1;
	s->planned = 1;
	s->src = plan_source;
	s->dec.nlog = 0;
	stp__tset_clear(&s->dec.parked);
	clear_sets(s);
	s->dec.plan_head = 0;
	s->carrying = 0;
	s->deviated = 0;
	s->lazy_log = 1;
}

int stp__online_prepare(stp_stepper *s)
{
	const stp__source *src = stp__strategy_source(s->strat.kind);
	int rc = go_online(s, src ? src : &random_source);
	if (rc == 0)
		s->strategy = s->strat.text;
	return rc;
}

static void drop_recorded(stp_stepper *s)
{
	for (size_t k = 0; s->rec_name && k < s->nrec; k++)
		free(s->rec_name[k]);
	free(s->rec_name);
	free(s->rec_thread);
	s->rec_name = NULL;
	s->rec_thread = NULL;
	s->nrec = 0;
}

int stp__set_recorded(stp_stepper *s, const int *threads, const char *const *names,
		      size_t n, const char *label)
{
	if (n > STP_MAX_DECISIONS)
		return STP_EMISMATCH;
	int bound = s->dynamic ? STP_MAX_THREADS : s->nthreads;
	for (size_t k = 0; k < n; k++)
		if (threads[k] < 0 || threads[k] >= bound)
			return STP_EMISMATCH;
	drop_recorded(s);
	s->rec_thread = malloc((n ? n : 1) * sizeof *s->rec_thread);
	s->rec_name = names ? calloc(n ? n : 1, sizeof *s->rec_name) : NULL;
	if (!s->rec_thread || (names && !s->rec_name)) {
		drop_recorded(s);
		return STP_ENOMEM;
	}
	s->nrec = n;
	memcpy(s->rec_thread, threads, n * sizeof *threads);
	for (size_t k = 0; names && k < n; k++)
		if (!(s->rec_name[k] = stp__strdup(names[k]))) {
			drop_recorded(s);
			return STP_ENOMEM;
		}
	/* a program's run in which a thread left control and came back is
	 * replayed (or shrunk) letting threads leave control too */
	for (size_t k = 0; names && s->dynamic && !s->release && k < n; k++)
		if (strcmp(names[k], "return") == 0) {
			s->release = 1;
			s->escape_ms = s->escape_ms ? s->escape_ms : 100;
		}
	s->rec_label = label;
	return go_online(s, &recorded_source);
}

/* ------------------------------------------------------------------ */
/* Steps                                                               */
/* ------------------------------------------------------------------ */

/* The thread's copy of a step name it reached, or NULL after reporting a
 * name a trace could not hold (or too many names, or no memory). */
static const char *intern(stp_stepper *s, struct stp__thread *t, const char *name,
			  const char *file, int line)
{
	for (size_t i = 0; i < t->nnames; i++)
		if (strcmp(t->names[i], name) == 0)
			return t->names[i];
	size_t len = strnlen(name, STP_MAX_NAME + 1);
	const char *why = len == 0		  ? "empty"
			  : len > STP_MAX_NAME	  ? "longer than the limit"
			  : !stp__utf8_valid(name) ? "not UTF-8"
			  : t->nnames >= MAX_NAMES ? "one name too many"
						   : NULL;
	if (why) {
		stp__error(s, STP__OUT_DIVERGENCE,
			   "bad step: [%s] reached a step at %s:%d whose name is %s "
			   "(names are 1..%d bytes of UTF-8; a free thread reaches at "
			   "most %d distinct names); it begins '%.40s'",
			   t->name, file, line, why, STP_MAX_NAME, MAX_NAMES, name);
		return NULL;
	}
	if (t->nnames == t->capnames) {
		size_t cap = t->capnames ? 2 * t->capnames : 8;
		char **p = realloc(t->names, cap * sizeof *p);
		if (!p)
			return NULL;
		t->names = p;
		t->capnames = cap;
	}
	char *c = stp__strdup(name);
	if (c)
		t->names[t->nnames++] = c;
	return c;
}

static int grow_log(stp_stepper *s, size_t need)
{
	if (need <= s->caplog)
		return 0;
	size_t cap = s->caplog ? s->caplog : 64;
	while (cap < need)
		cap *= 2;
	stp__entry *l = realloc(s->log, cap * sizeof *l);
	if (!l) {
		stp__error(s, STP__OUT_FAIL, "out of memory recording step %zu", need);
		return -1;
	}
	s->log = l;
	s->caplog = cap;
	return 0;
}

/* Leave the lazy log: write out the plan's entries granted so far (all
 * of them passed: each holder passed its entry before it decided). */
static int materialize(stp_stepper *s)
{
	if (!s->lazy_log)
		return 0;
	s->lazy_log = 0;
	if (grow_log(s, s->dec.nlog + 1) < 0)
		return -1;
	for (size_t k = 0; k < s->dec.nlog; k++) {
		const struct stp__thread *t = s->threads[s->sched[k]];
		size_t step = s->sched_step[k];
		/* steps only, so far: the decider is the last prefix (k == 0)
		 * or the thread of entry k - 1, and it could go on unless that
		 * was its last step */
		int cur = k ? s->sched[k - 1] : s->nthreads - 1;
		const struct stp__thread *c = s->threads[cur];
		size_t next = k ? s->sched_step[k - 1] + 1 : 0;
		int could = next < c->nsteps;
		s->log[k] = (stp__entry){ s->sched[k], t->order[step], t->times[step],
					  t->vtimes[step], 1, 1, cur,
					  could && cur != s->sched[k],
					  could ? c->order[next] : NULL };
	}
	return 0;
}

/* The most entries a run records. */
static size_t log_limit(const stp_stepper *s)
{
	return s->planned ? s->nsched + STP_MAX_DECISIONS : STP_MAX_DECISIONS;
}

/* Append the entry of a decision taken by current (-1: none), which
 * could have gone on itself when could; 0, or -1 after reporting the
 * limit. */
static int record(stp_stepper *s, int pick, int is_step, int current, int could)
{
	struct stp__thread *t = s->threads[pick];
	if (s->dec.nlog >= log_limit(s)) {
		stp__error(s, STP__OUT_FAIL,
			   "limit: a run records at most %zu decisions; [%s] reached '%s' "
			   "as decision %zu + 1",
			   log_limit(s), t->name, atomic_load(&t->at), log_limit(s));
		return -1;
	}
	if (s->lazy_log && is_step && !s->deviated && s->dec.plan_head == s->dec.nlog) {
		s->dec.nlog++; /* the plan's entry, as planned */
		return 0;
	}
	if (materialize(s) < 0 || grow_log(s, s->dec.nlog + 1) < 0)
		return -1;
	const struct stp__thread *c = current >= 0 ? s->threads[current] : NULL;
	s->log[s->dec.nlog++] = (stp__entry){ pick, atomic_load(&t->at), 0, 0, 0,
					   is_step, current,
					   could && pick != current,
					   c && !atomic_load(&c->ended) ? atomic_load(&c->at)
									: NULL };
	return 0;
}

static void debug_decision(stp_stepper *s, const stp__choice *c, int pick)
{
	char *en = enabled_text(s, c);
	fprintf(s->opt.log, "decision %zu: enabled %s -> [%s]%s\n", c->decision + 1,
		en ? en : "(out of memory)", s->threads[pick]->name,
		c->n == 1 ? " (the only one)" : "");
	free(en);
}

/* ------------------------------------------------------------------ */
/* Who can go on: the blocked set                                      */
/* ------------------------------------------------------------------ */

/* A parked thread found unable to go on is put in s->blocked and not
 * looked at again until something it waits for changes: an object it is
 * parked on (stp__obj_changed: a mutex or rwlock let go of, a signal, a
 * post, a barrier opened, a once done), the thread it joins ending
 * (stp__thread_ended), or its time running out. A thread that could go on
 * is looked at at every decision (it may be unable to by then: that
 * needs no notice). So a decision costs the threads that may go on, not
 * the blocked ones, and when no thread seems able to, every parked thread
 * is looked at again before anything is called a deadlock. */

/* The words of a thread set the run's threads use so far. */
static int nw_of(const stp_stepper *s)
{
	return stp__tset_words(stp__nthreads(s));
}

/* The objects t's operation waits on, when it may have to wait. */
static void watch_objs(struct stp__thread *t, int on)
{
	stp__tset *sets[2] = { NULL, NULL };
	switch (t->op) {
	case STP__OP_JOIN:
		sets[0] = &t->join->joiners;
		break;
	case STP__OP_WOKEN:
		sets[1] = &t->mutex->parked_on;
		/* fall through */
	case STP__OP_LOCK:
	case STP__OP_SEM_WAIT:
	case STP__OP_RDLOCK:
	case STP__OP_WRLOCK:
	case STP__OP_BARRIER:
	case STP__OP_ONCE:
		sets[0] = &t->obj->parked_on;
		break;
	default:
		break;
	}
	for (int k = 0; k < 2; k++)
		if (sets[k] && on)
			stp__tset_add(sets[k], t->index);
		else if (sets[k])
			stp__tset_del(sets[k], t->index);
}

static int timed_op(const struct stp__thread *t)
{
	int timed_wait = t->op == STP__OP_WOKEN || t->op == STP__OP_SEM_WAIT ||
			 t->op == STP__OP_RDLOCK || t->op == STP__OP_WRLOCK;
	return (timed_wait && t->timed) || t->op == STP__OP_SLEEP;
}

/* Set t's bit in *set to on, writing only when it changes: the sets'
 * lines then stay shared between the cores the turnstile moves across
 * (a run of steps writes none but parked's). */
static void set_bit(stp__tset *set, int i, int on)
{
	if (stp__tset_has(set, i) != on) {
		if (on)
			stp__tset_add(set, i);
		else
			stp__tset_del(set, i);
	}
}

/* t parks (s->dec, not carried). */
static void park(stp_stepper *s, struct stp__thread *t)
{
	stp__tset_add(&s->dec.parked, t->index);
	set_bit(&s->blocked, t->index, 0);
	watch_objs(t, 1);
	set_bit(&s->timing, t->index, timed_op(t));
}

/* t, parked, was picked (or, escaped, ended). */
static void unpark(stp_stepper *s, struct stp__thread *t)
{
	stp__tset_del(&s->dec.parked, t->index);
	set_bit(&s->blocked, t->index, 0);
	set_bit(&s->timing, t->index, 0);
	if (s->nescaped && stp__tset_has(&s->escaped, t->index)) {
		stp__tset_del(&s->escaped, t->index); /* (not watching anything) */
		s->nescaped--;
		atomic_fetch_sub(&s->nreturned, 1);
		atomic_store_explicit(&t->returned, 0, memory_order_relaxed);
		return;
	}
	watch_objs(t, 0);
}

/* Escaped threads that ended leave the parked set (their joiners are
 * told); those that came back are looked at again. */
static void settle_escapes(stp_stepper *s)
{
	STP__TSET_EACH_N(i, &s->escaped, nw_of(s))
	{
		struct stp__thread *t = s->threads[i];
		int r = atomic_load_explicit(&t->returned, memory_order_acquire);
		if (r == 2) {
			unpark(s, t);
			stp__thread_ended(s, t);
		} else if (r == 1) {
			set_bit(&s->blocked, i, 0);
		}
	}
}

/* Nothing can go on, and a thread is out of control: wait for it (no
 * thread holds the turnstile; the first to come back decides). 1 when
 * the run went idle, 0 when one came back meanwhile. */
static int idle_for_escapes(stp_stepper *s)
{
	stp__lock(&s->escape_mu);
	int idle = atomic_load(&s->nreturned) == 0;
	if (idle)
		s->idle = 1;
	stp__unlock(&s->escape_mu);
	return idle;
}

void stp__obj_changed(stp_stepper *s, const struct stp__obj *o)
{
	if (!stp__aborted(s))
		stp__tset_minus_n(&s->blocked, &s->blocked, &o->parked_on, nw_of(s));
}

void stp__thread_ended(stp_stepper *s, const struct stp__thread *t)
{
	if (!stp__aborted(s))
		stp__tset_minus_n(&s->blocked, &s->blocked, &t->joiners, nw_of(s));
}

/* t's time may run out now. */
static void may_time_out(stp_stepper *s, struct stp__thread *t)
{
	atomic_store(&t->may_time_out, 1);
	stp__tset_del(&s->blocked, t->index);
}

static int timing_out(const struct stp__thread *t)
{
	return timed_op(t) && !atomic_load(&t->may_time_out);
}

/* Virtual time (s->vtime): the earliest deadline of a parked timed
 * operation, or UINT64_MAX. */
static uint64_t earliest_deadline(stp_stepper *s)
{
	uint64_t min = UINT64_MAX;
	STP__TSET_EACH_N(i, &s->timing, nw_of(s))
	{
		const struct stp__thread *t = s->threads[i];
		if (timing_out(t) && t->has_deadline && t->deadline < min)
			min = t->deadline;
	}
	return min;
}

void stp__vtime_pass(stp_stepper *s, uint64_t ns)
{
	s->vnow = ns > UINT64_MAX - s->vnow ? UINT64_MAX : s->vnow + ns;
	STP__TSET_EACH_N(i, &s->timing, nw_of(s))
	{
		struct stp__thread *t = s->threads[i];
		if (timing_out(t) && t->has_deadline && t->deadline <= s->vnow)
			may_time_out(s, t);
	}
}

/* Nothing can go on: every timed wait may now time out (1 when one may),
 * but one with a deadline on the run's clock waits for it (*on_clock).
 * On virtual time, time jumps to the earliest deadline and only the
 * operations due then may time out (which of them goes first is a
 * decision). */
static int let_timeouts_happen(stp_stepper *s, int *on_clock)
{
	int any = 0;
	uint64_t due = earliest_deadline(s);
	if (due != UINT64_MAX && due > s->vnow)
		s->vnow = due;
	STP__TSET_EACH_N(i, &s->timing, nw_of(s))
	{
		struct stp__thread *t = s->threads[i];
		if (!timing_out(t) || (t->has_deadline && t->deadline > due))
			continue;
		if (t->timer) {
			*on_clock = 1;
			continue;
		}
		may_time_out(s, t);
		any = 1;
	}
	return any;
}

/* The parked threads that can go on, ascending. When none can, timed
 * waits may time out; when still none can and some are parked, that is a
 * deadlock: reported, and the run aborted. */
/* The threads of set that can go on, into en (ascending); the others
 * go to s->blocked. */
static int scan(stp_stepper *s, const stp__tset *set, int *en, stp__tset *on)
{
	int n = 0;
	for (int k = 0, nw = nw_of(s); k < nw; k++) {
		/* a thread parked at a step can always go on (unless it left
		 * control): its bit says so without a look at the thread */
		uint64_t w = set->w[k];
		if (!w) { /* (a run of a thousand threads: most words are empty) */
			on->w[k] = 0;
			continue;
		}
		uint64_t ok = s->release ? 0 : w & s->dec.stepping.w[k];
		for (uint64_t rest = w & ~ok; rest; rest &= rest - 1) {
			int b = __builtin_ctzll(rest);
			if (stp__op_enabled(s, s->threads[k * 64 + b]))
				ok |= (uint64_t)1 << b;
			else
				stp__tset_add(&s->blocked, k * 64 + b);
		}
		on->w[k] = ok;
		for (; en && ok; ok &= ok - 1)
			en[n++] = k * 64 + __builtin_ctzll(ok);
		if (!en)
			n += __builtin_popcountll(ok);
	}
	return n;
}

/* STEPPER_CHECK_SETS=1 (the test suites): the n threads en found must be
 * every parked thread that can go on. */
static void check_blocked(stp_stepper *s, const int *en, int n)
{
	int k = 0;
	STP__TSET_EACH_N(i, &s->dec.parked, nw_of(s))
	{
		if (!stp__op_enabled(s, s->threads[i]))
			continue;
		if (k >= n || en[k] != i) {
			fprintf(stderr, "stepper: internal error: decision %zu: [%s] can go on "
					"(at %s) but was left in the blocked set\n",
				s->dec.nlog + 1, s->threads[i]->name,
				atomic_load(&s->threads[i]->at));
			abort();
		}
		k++;
	}
}

/* The threads that can go on now: their number, the set *on, and when en
 * is not NULL their list, ascending. */
static int enabled_now(stp_stepper *s, int *en, stp__tset *on)
{
	int n, on_clock = 0;
again:
	if (atomic_load_explicit(&s->recheck, memory_order_relaxed) &&
	    atomic_exchange(&s->recheck, 0))
		stp__tset_clear(&s->blocked);
	if (s->nescaped && atomic_load(&s->nreturned))
		settle_escapes(s);
	stp__tset maybe;
	stp__tset_minus_n(&maybe, &s->dec.parked, &s->blocked, nw_of(s));
	n = scan(s, &maybe, en, on);
	if (s->check_sets && en)
		check_blocked(s, en, n);
	for (int pass = 0; pass < 2 && n == 0; pass++) {
		stp__tset_clear(&s->blocked); /* look at all before a deadlock */
		n = scan(s, &s->dec.parked, en, on);
		if (n > 0 || pass == 1 || !let_timeouts_happen(s, &on_clock))
			break;
	}
	if (n == 0 && on_clock) {
		s->idle = 1; /* the clock's timer decides when it fires */
		return 0;
	}
	if (n == 0 && s->nescaped) {
		if (idle_for_escapes(s))
			return 0;
		goto again;
	}
	if (n == 0 && !stp__tset_empty(&s->dec.parked)) {
		stp__report_deadlock(s, &s->dec.parked);
		if (s->src.finish) /* a recording that goes on says so */
			s->src.finish(s, s->dec.nlog);
		stp__abort(s);
	}
	return n;
}

/* How a thread that was not chosen should wait. (Only how eagerly: a
 * hot waiter that also watched the CPU where its poster last ran went to
 * sleep on 7% of the hand-offs of a 2-thread alternation, because the
 * threads trade cores; its spin ends after HOT_SPINS anyway.) */
struct wait_hint {
	enum stp__heat heat;
};

/* The most threads that wait warm for a free pick (see heat_of). */
#define FREE_WARM_MAX 8

/* How eagerly t, parked and not chosen, should wait: in a planned run the
 * thread whose next step the plan has next spins; any other sleeps. */
static enum stp__heat heat_of(stp_stepper *s, const struct stp__thread *t, int pick)
{
	if (!s->planned) {
		/* The only other thread parked and not blocked, at a point
		 * it can pass: the next hand-off can only be to it. */
		int nw = nw_of(s);
		stp__tset others;
		stp__tset_minus_n(&others, &s->dec.parked, &s->blocked, nw);
		stp__tset_del(&others, pick);
		if (stp__tset_is_only_n(&others, t->index, nw) &&
		    (t->op == STP__OP_STEP || stp__op_enabled(s, t)))
			return STP__HOT;
		/* Anyone may be next, so the others yield; but a crowd of
		 * yielders delays whoever is chosen by a yield of each (at 64
		 * threads 12 us a step against 6 asleep): beyond
		 * FREE_WARM_MAX they sleep. */
		return s->dynamic || stp__tset_count_n(&others, nw) > FREE_WARM_MAX ? STP__COLD
										    : STP__WARM;
	}
	size_t r = rank(t);
	STP__TSET_EACH_N(i, &s->dec.parked, nw_of(s))
	{
		const struct stp__thread *o = s->threads[i];
		if (i != pick && o != t && rank(o) < r)
			return STP__COLD;
	}
	return STP__HOT;
}

/* The first plan entry at or after j whose thread has not ended. */
static size_t plan_live_from(stp_stepper *s, size_t j)
{
	while (j < s->nsched && atomic_load(&s->threads[s->sched[j]]->ended))
		j++;
	return j;
}

/* A planned run that has kept to its plan: the thread of the plan's head
 * when it can go on (the min-rank pick, found without a scan), else -1,
 * and the run has deviated from then on. *at_step: it is parked at a step. */
static int plan_fast(stp_stepper *s, int *at_step)
{
	size_t j = plan_live_from(s, s->dec.plan_head);
	if (j != s->dec.plan_head || j >= s->nsched) {
		s->deviated = 1; /* an entry of an ended thread is skipped */
		return -1;
	}
	int p = s->sched[j];
	*at_step = stp__tset_has(&s->dec.stepping, p);
	if (stp__tset_has(&s->dec.parked, p) && (*at_step || stp__op_enabled(s, s->threads[p])))
		return p;
	s->deviated = 1;
	return -1;
}

/* The pick was made: a step of a planned run takes its plan entry. */
static void plan_advance(stp_stepper *s, const struct stp__thread *t)
{
	if (s->planned && t->op == STP__OP_STEP) {
		size_t k = atomic_load_explicit(&t->passed, memory_order_relaxed);
		size_t e = t->entry_of[k] + 1;
		if (e > s->dec.plan_head)
			s->dec.plan_head = e;
	}
}

/* How far a planned hand-off looks ahead for the next one. */
#define PLAN_LOOKAHEAD 16

/* How eagerly self, not chosen, should wait while the plan is kept, the
 * chosen thread having plan entry j: the thread the plan hands the
 * turnstile to next (the first entry after j of another thread, within
 * PLAN_LOOKAHEAD) spins; any other sleeps. (Only the entry after j would
 * put a thread to sleep whenever the chosen one passes two steps in a
 * row, and wake it with a system call: a random plan over 2 threads cost
 * 580 ns per step that way.) */
static int plan_next_other(const stp_stepper *s, size_t j, int chosen)
{
	for (size_t k = j + 1; k < s->nsched && k <= j + PLAN_LOOKAHEAD; k++)
		if (s->sched[k] != chosen)
			return s->sched[k];
	return -1;
}

/* With more threads than CPUs a thread that sleeps costs a wake-up (a
 * system call, and a switch in this CPU's run queue) at its turn. So the
 * threads the plan needs within the next CROWD_WINDOW hand-offs after the
 * chosen one wait warm (yielding: runnable, never asleep), and the
 * granter wakes the one that comes into that window while the others run:
 * the wake-up is paid ahead, off the path of the hand-off. Only a few
 * threads yield at a time, so the crowd does not grow with the run. */
#define CROWD_WINDOW 3

static int crowded(const stp_stepper *s)
{
	/* (on one CPU no waiter spins or yields: see handoff.c; fibers
	 * neither spin nor sleep) */
	int ncpu = stp__ncpu();
	return ncpu > 1 && s->nthreads > ncpu && !s->fibered;
}

/* The first threads other than chosen that the plan hands the turnstile to
 * after entry j, in order, at most max. */
static int plan_others(const stp_stepper *s, size_t j, int chosen, int *out, int max)
{
	int n = 0;
	for (size_t k = j + 1; k < s->nsched && k <= j + PLAN_LOOKAHEAD && n < max; k++) {
		int o = s->sched[k];
		int seen = o == chosen;
		for (int i = 0; i < n && !seen; i++)
			seen = out[i] == o;
		if (!seen)
			out[n++] = o;
	}
	return n;
}

static enum stp__heat plan_heat_at(const stp_stepper *s, size_t j, int chosen,
				   const struct stp__thread *self)
{
	if (!crowded(s))
		return plan_next_other(s, j, chosen) == self->index ? STP__HOT : STP__COLD;
	int o[CROWD_WINDOW];
	int n = plan_others(s, j, chosen, o, CROWD_WINDOW);
	for (int i = 0; i < n; i++)
		if (o[i] == self->index)
			return STP__WARM;
	return STP__COLD;
}

/* Crowded: wake the threads of the window that sleep (the chosen one has
 * entry j), so each is running by its turn. */
static void plan_prewake(stp_stepper *s, size_t j, int chosen, const struct stp__thread *self)
{
	int o[CROWD_WINDOW];
	int n = plan_others(s, j, chosen, o, CROWD_WINDOW);
	for (int i = 0; i < n; i++) {
		struct stp__thread *t = s->threads[o[i]];
		if (t != self && stp__sem_sleeping(&t->sem))
			stp__sem_post(&t->sem);
	}
}

static enum stp__heat plan_heat(stp_stepper *s, const struct stp__thread *self, int chosen)
{
	return plan_heat_at(s, s->dec.plan_head, chosen, self);
}

/* Room for the list of enabled threads: small, the caller's; larger, the
 * run's (only the holder of the turnstile decides: one list serves). NULL
 * when out of memory (the run is aborted). */
static int *en_list(stp_stepper *s, int *small)
{
	if (s->nthreads <= STP__SMALL_RUN)
		return small;
	if (!s->en_big && !(s->en_big = malloc(STP_MAX_THREADS * sizeof *s->en_big))) {
		stp__error(s, STP__OUT_FAIL, "out of memory deciding among %d threads", s->nthreads);
		stp__abort(s);
	}
	return s->en_big;
}

/* random_pick over the set of enabled threads: the same draw, the k-th
 * member. STEPPER_CHECK_SETS (en listed too): the list agrees. */
static int fast_pick(stp_stepper *s, const stp__tset *on, const int *en, int n)
{
	uint64_t k = n > 1 ? stp__rng_below(&s->rng, (uint64_t)n) : 0;
	int pick = stp__tset_kth_n(on, nw_of(s), k);
	if (en && en[k] != pick) {
		fprintf(stderr, "stepper: internal error: decision %zu: the %llu-th enabled "
				"thread is %d in the list and %d in the set\n",
			s->dec.nlog + 1, (unsigned long long)k, en[k], pick);
		abort();
	}
	return pick;
}

/* Could self, the holder, have gone on itself (parked at a point it can
 * pass)? The decision's record says so (a preemption when it could). */
static int could_go_on(const stp_stepper *s, const struct stp__thread *self)
{
	return self && stp__tset_has(&s->dec.parked, self->index) &&
	       (self->op == STP__OP_STEP || stp__op_enabled(s, self));
}

/* The planned run's fast decision: the plan's head goes. NULL when the
 * decision needs the general path. */
static struct stp__thread *decide_fast(stp_stepper *s, struct stp__thread *self,
				       struct wait_hint *hint)
{
	int at_step;
	int pick = plan_fast(s, &at_step);
	if (pick < 0)
		return NULL;
	struct stp__thread *t = s->threads[pick];
	if (self && self != t && hint)
		hint->heat = plan_heat(s, self, pick);
	int could = could_go_on(s, self);
	if (record(s, pick, at_step, self ? self->index : -1, could) < 0) {
		stp__abort(s);
		return NULL;
	}
	if (at_step) /* it takes the plan's head entry: its count need not be read */
		s->dec.plan_head++;
	unpark(s, t);
	return t;
}

/* Grant t decision n - 1 (the n-th), and wake it. */
static void grant_nth(stp_stepper *s, struct stp__thread *t, const struct stp__thread *self,
		      size_t n)
{
	/* The clock's key of this grant is the thread's previous grant + 1,
	 * as its wait says (wait_grant): never 0 (a prefix turn), never the
	 * key of an older grant, so a late mark from one never wakes a later
	 * wait. Only a clock reads it: without one the grant line of t is
	 * only written, not read first (a read would fetch the line from the
	 * core t spins on, and the write fetch it again, exclusive). */
	size_t key = t->member ? atomic_load_explicit(&t->granted, memory_order_relaxed) + 1
			       : 0;
	atomic_store_explicit(&t->granted, n, memory_order_release);
	if (t != self)
		stp__wake(s, t, key);
}

/* Grant t the decision just recorded, and wake it. */
static void grant(stp_stepper *s, struct stp__thread *t, const struct stp__thread *self)
{
	grant_nth(s, t, self, s->dec.nlog);
}

/* Carrying the decider's state (stp__dec in stepper_int.h): from the
 * first decision of a planned run to the first that is not the plan's
 * next step as planned, the state lives in the holder's grant line and
 * the grant copies it into the chosen thread's; s->dec is stale (and not
 * written, so its line stays shared) until uncarry() puts it back. */

/* The holder self takes the state from s (the last prefix, before the
 * first decision). */
static void carry(stp_stepper *s, struct stp__thread *self)
{
	for (int i = 0; i < s->nthreads; i++)
		s->threads[i]->carry.valid = 0;
	self->carry = (stp__carry){ s->dec.parked.w[0], s->dec.stepping.w[0], s->dec.plan_head,
				    s->dec.nlog, 1 };
	s->carrying = 1;
}

/* Put the carried state back into s. self: the holder, or NULL when it
 * is not known (the end of the run, all threads joined): the latest copy
 * is the one with the most decisions, as each grant records one. */
static void uncarry(stp_stepper *s, struct stp__thread *self)
{
	if (!s->carrying)
		return;
	const stp__carry *d = self ? &self->carry : NULL;
	for (int i = 0; !self && i < s->nthreads; i++) {
		const stp__carry *c = &s->threads[i]->carry;
		if (c->valid && (!d || c->nlog > d->nlog))
			d = c;
	}
	if (!d)
		stp__panic("uncarry: no thread carries the decider's state", 0);
	stp__tset_clear(&s->dec.parked);
	stp__tset_clear(&s->dec.stepping);
	s->dec.parked.w[0] = d->parked;
	s->dec.stepping.w[0] = d->stepping;
	s->dec.plan_head = d->plan_head;
	s->dec.nlog = d->nlog;
	s->carrying = 0;
	/* threads parked while it was carried, not yet watched */
	STP__TSET_EACH_N(i, &s->dec.parked, nw_of(s))
	{
		struct stp__thread *t = s->threads[i];
		watch_objs(t, 1);
		if (timed_op(t))
			stp__tset_add(&s->timing, i);
	}
}

/* The decider's state as the running thread t sees it. */
static void mark_parked(stp_stepper *s, struct stp__thread *t, int step)
{
	if (s->carrying) {
		uint64_t me = (uint64_t)1 << t->index;
		t->carry.parked |= me;
		t->carry.stepping = step ? t->carry.stepping | me : t->carry.stepping & ~me;
		return;
	}
	park(s, t);
	set_bit(&s->dec.stepping, t->index, step);
}

/* The carried decision: the plan's head goes when it is parked at a step
 * and the log is still the plan (what decide_fast does, on the carried
 * state). NULL when the decision needs more: the caller uncarries. */
static struct stp__thread *decide_carried(stp_stepper *s, struct stp__thread *self,
					  struct wait_hint *hint)
{
	stp__carry *d = &self->carry;
	size_t j = d->plan_head;
	if (j >= s->nsched || d->nlog != j)
		return NULL;
	int p = s->sched[j];
	uint64_t bit = (uint64_t)1 << p;
	if (!(d->parked & d->stepping & bit))
		return NULL;
	struct stp__thread *t = s->threads[p];
	if (self != t && hint && !s->fibered) /* (a fiber waits by switching) */
		hint->heat = plan_heat_at(s, j, p, self);
	stp__carry next = { d->parked & ~bit, d->stepping, j + 1, j + 1, 1 };
	if (t != self)
		t->carry = next; /* from registers: no reload of what was just stored */
	else
		*d = next;
	grant_nth(s, t, self, j + 1);
	if (crowded(s))
		plan_prewake(s, j, p, self);
	return t;
}

/* The holder of the turnstile (self: parked at a point, or ended) decides
 * who goes next and grants it. Returns the chosen thread, or NULL when
 * none was (a prefix's turn, every thread ended, a deadlock, an aborted
 * run). *hint: how self should wait when it was not chosen. */
static struct stp__thread *decide(stp_stepper *s, struct stp__thread *self,
				  struct wait_hint *hint)
{
	if (stp__aborted(s) || stp__prefix_turn(s, self))
		return NULL;
	if (s->carrying) {
		struct stp__thread *t = self ? decide_carried(s, self, hint) : NULL;
		if (t)
			return t;
		uncarry(s, self);
	} else if (self && s->planned && s->lazy_log && !s->deviated && !s->opt.debug &&
		   s->dec.nlog == 0 && s->nthreads <= STP__CARRY_MAX) {
		carry(s, self);
		struct stp__thread *t = decide_carried(s, self, hint);
		if (t)
			return t;
		uncarry(s, self);
	}
	if (s->planned && !s->deviated && !s->opt.debug) {
		size_t j = s->dec.plan_head;
		struct stp__thread *t = decide_fast(s, self, hint);
		if (t) {
			grant(s, t, self);
			if (crowded(s))
				plan_prewake(s, j, t->index, self);
			return t;
		}
		if (stp__aborted(s))
			return NULL;
	}
	/* The random source draws k and takes the k-th enabled thread: the
	 * set gives it without a list (the same draw, the same thread). */
	int fast = s->src.pick == random_pick && !s->opt.debug;
	int en_small[STP__SMALL_RUN], *en = NULL;
	if ((!fast || s->check_sets) && !(en = en_list(s, en_small)))
		return NULL;
	stp__tset on;
	int n = enabled_now(s, en, &on);
	if (n == 0)
		return NULL;
	stp__choice c = { en, n, self ? self->index : -1, s->dec.nlog };
	int pick = fast ? fast_pick(s, &on, en, n) : en[0];
	if (!fast && n > 1)
		pick = s->src.pick(s, &c);
	else if (!fast && s->src.check && s->src.check(s, &c, pick) < 0)
		pick = -1;
	int could = could_go_on(s, self);
	if (pick < 0 ||
	    record(s, pick, s->threads[pick]->op == STP__OP_STEP, self ? self->index : -1,
		   could) < 0) {
		stp__abort(s);
		return NULL;
	}
	if (s->opt.debug)
		debug_decision(s, &c, pick);
	struct stp__thread *t = s->threads[pick];
	if (self && self != t && hint)
		hint->heat = heat_of(s, self, pick);
	plan_advance(s, t);
	unpark(s, t);
	grant(s, t, self);
	return t;
}

struct grant_wait {
	stp_stepper *s;
	struct stp__thread *t;
	size_t seen; /* the grant before it parked */
};

static int granted(void *p)
{
	struct grant_wait *w = p;
	return atomic_load_explicit(&w->t->granted, memory_order_acquire) != w->seen ||
	       stp__aborted(w->s);
}

/* Park until another thread grants t a turn (or the run is aborted). On a
 * clock, the parked thread is blocked to the clock. */
static void wait_grant(stp_stepper *s, struct stp__thread *t, size_t seen,
		       const char *name, struct wait_hint hint)
{
	struct grant_wait w = { s, t, seen };
	int blocked = 0;
	while (!granted(&w)) {
		if (t->member && !blocked) {
			blocked = s->hooks.clock->block_unless(t->member, granted, &w,
								seen + 1, "its turn at step",
								name);
			continue;
		}
		if (t->fiber)
			stp__fibers_park(s, t);
		else
			stp__sem_wait(&t->sem, hint.heat);
		hint.heat = STP__WARM; /* woken early: wait on, less eagerly */
	}
	if (blocked)
		s->hooks.clock->unblock(t->member);
}

/* t passed the point it was granted: its entry's times, and for a step
 * its count. */
static void pass_online(stp_stepper *s, struct stp__thread *t, const char *at)
{
	stp__entry lazy = { 0 }, *e = &lazy;
	if (!s->lazy_log)
		e = &s->log[atomic_load_explicit(&t->granted, memory_order_relaxed) - 1];
	if (s->timed)
		e->mono_ns = stp__mono_ns() - s->start_ns;
	if (s->hooks.clock)
		e->virt_ns = s->hooks.clock->now(s->opt.clock);
	e->passed = 1;
	atomic_store_explicit(&t->points,
			      atomic_load_explicit(&t->points, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (t->op == STP__OP_STEP) {
		size_t k = atomic_load_explicit(&t->passed, memory_order_relaxed);
		/* (untimed and clockless: they stay 0, as calloc made them) */
		if (t->times && k < t->nsteps && (s->timed || s->hooks.clock)) {
			t->times[k] = e->mono_ns;
			t->vtimes[k] = e->virt_ns;
		}
		atomic_store_explicit(&t->last, at, memory_order_release);
		atomic_store_explicit(&t->passed, k + 1, memory_order_release);
	}
	atomic_store_explicit(&t->state, STP__T_RUNNING, memory_order_relaxed);
	if (s->release)
		atomic_store_explicit(&t->hold, STP__HOLD_RUNNING, memory_order_release);
	if (s->opt.debug)
		fprintf(s->opt.log, "done [%s] %s\n", t->name, at);
}

int stp__online_arrive(struct stp__thread *t)
{
	stp_stepper *s = t->s;
	t->op = STP__OP_START;
	t->obj = NULL;
	t->op_file = "its start";
	t->op_line = 0;
	atomic_store_explicit(&t->at_step, 0, memory_order_relaxed);
	atomic_store_explicit(&t->at, "start", memory_order_release);
	atomic_store_explicit(&t->state, STP__T_PARKED, memory_order_release);
	/* the parent holds the turnstile and waits for this: s->dec is
	 * carried on by the post below */
	park(s, t);
	set_bit(&s->dec.stepping, t->index, 0);
	size_t seen = atomic_load_explicit(&t->granted, memory_order_relaxed);
	stp__sem_post(&t->parent->arrived);
	wait_grant(s, t, seen, "start", (struct wait_hint){ STP__WARM });
	if (stp__aborted(s)) {
		atomic_store_explicit(&t->state, STP__T_RUNNING, memory_order_release);
		return -1;
	}
	pass_online(s, t, "start");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Leaving control (s->release)                                        */
/* ------------------------------------------------------------------ */

/* t, running with the turnstile, comes to a point: 1 when it still holds
 * the turnstile, 0 when the watcher took it away (t escaped). */
static int claim(struct stp__thread *t)
{
	int held = STP__HOLD_RUNNING;
	return atomic_compare_exchange_strong(&t->hold, &held, STP__HOLD_PARKED) ||
	       held != STP__HOLD_ESCAPED;
}

/* Escaped t comes back to a point (ended: it ended instead). Any decision
 * may now pick it; when the run is idle (no thread holds the turnstile),
 * t decides in its place. */
static void come_back(stp_stepper *s, struct stp__thread *t, int ended)
{
	stp__lock(&s->escape_mu);
	atomic_store_explicit(&t->returned, ended ? 2 : 1, memory_order_release);
	atomic_fetch_add(&s->nreturned, 1);
	atomic_store(&s->recheck, 1);
	int idle = s->idle;
	s->idle = 0;
	stp__unlock(&s->escape_mu);
	if (idle && !stp__aborted(s))
		decide(s, NULL, NULL);
}

/* Until t holds the turnstile again: each time it escaped, it comes back
 * at the point "return" (a decision like any, in the trace) and waits to
 * be picked. -1 when the run was aborted meanwhile. */
static int return_to_control(stp_stepper *s, struct stp__thread *t)
{
	while (!claim(t)) {
		enum stp__op op = t->op; /* the point it came to, taken after */
		t->op = STP__OP_RETURN;
		size_t seen = atomic_load_explicit(&t->granted, memory_order_relaxed);
		atomic_store_explicit(&t->at_step, 0, memory_order_relaxed);
		atomic_store_explicit(&t->at, "return", memory_order_release);
		atomic_store_explicit(&t->state, STP__T_PARKED, memory_order_release);
		come_back(s, t, 0);
		wait_grant(s, t, seen, "return", (struct wait_hint){ STP__WARM });
		if (stp__aborted(s)) {
			t->op = op;
			atomic_store_explicit(&t->state, STP__T_RUNNING, memory_order_release);
			return -1;
		}
		pass_online(s, t, "return");
		t->op = op;
	}
	return 0;
}

int stp__escape(stp_stepper *s, struct stp__thread *t)
{
	int held = STP__HOLD_RUNNING;
	if (!atomic_compare_exchange_strong(&t->hold, &held, STP__HOLD_ESCAPED))
		return 0;
	/* the turnstile is the watcher's now: t is parked, out of control */
	atomic_fetch_add(&s->escapes, 1);
	fprintf(s->opt.log,
		"stepper: [%s] left control: no pthread call for %u ms since its point %s "
		"(blocked where the stepper cannot see, or spinning); the others go on "
		"(STEPPER_ON_STALL=release)\n",
		t->name, s->escape_ms, atomic_load_explicit(&t->at, memory_order_acquire));
	stp__tset_add(&s->dec.parked, t->index);
	set_bit(&s->dec.stepping, t->index, 0);
	set_bit(&s->blocked, t->index, 0);
	stp__tset_add(&s->escaped, t->index);
	s->nescaped++;
	decide(s, NULL, NULL);
	return 1;
}

int stp__online_point(struct stp__thread *t, const char *at)
{
	stp_stepper *s = t->s;
	if (s->release && return_to_control(s, t) < 0)
		return -1;
	int step = t->op == STP__OP_STEP;
	atomic_store_explicit(&t->at_step, step, memory_order_relaxed);
	atomic_store_explicit(&t->at, at, memory_order_release);
	atomic_store_explicit(&t->state, STP__T_PARKED, memory_order_release);
	mark_parked(s, t, step);
	if (s->opt.debug)
		fprintf(s->opt.log, "expecting [%s] %s\n", t->name, at);
	size_t seen = atomic_load_explicit(&t->granted, memory_order_relaxed);
	struct wait_hint hint = { STP__WARM };
	if (decide(s, t, &hint) != t)
		wait_grant(s, t, seen, at, hint);
	if (stp__aborted(s)) {
		atomic_store_explicit(&t->state, STP__T_RUNNING, memory_order_release);
		return -1;
	}
	pass_online(s, t, at);
	return 0;
}

int stp__online_step_carried(struct stp__thread *t, const char *name, const char *file,
			     int line)
{
	stp_stepper *s = t->s;
	size_t k = atomic_load_explicit(&t->passed, memory_order_relaxed);
	if (!s->carrying || t->is_free || k >= t->nsteps || name != t->hit_name ||
	    t->order[k] != t->hit_order || s->opt.debug || s->timed || s->hooks.clock)
		return 0;
	const char *at = t->order[k];
	t->op = STP__OP_STEP;
	t->op_file = file;
	t->op_line = line;
	atomic_store_explicit(&t->at_step, 1, memory_order_relaxed);
	atomic_store_explicit(&t->at, at, memory_order_release);
	atomic_store_explicit(&t->state, STP__T_PARKED, memory_order_release);
	uint64_t me = (uint64_t)1 << t->index;
	t->carry.parked |= me;
	t->carry.stepping |= me;
	size_t seen = atomic_load_explicit(&t->granted, memory_order_relaxed);
	struct wait_hint hint = { STP__WARM };
	struct stp__thread *next = stp__aborted(s) ? NULL : decide_carried(s, t, &hint);
	if (!next)
		next = decide(s, t, &hint); /* the general path (it uncarries) */
	if (next != t)
		wait_grant(s, t, seen, at, hint);
	if (stp__aborted(s)) {
		atomic_store_explicit(&t->state, STP__T_RUNNING, memory_order_release);
		return 1;
	}
	/* pass_online's work for a lazy, untimed, clockless step */
	atomic_store_explicit(&t->points,
			      atomic_load_explicit(&t->points, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&t->last, at, memory_order_release);
	atomic_store_explicit(&t->passed, k + 1, memory_order_release);
	atomic_store_explicit(&t->state, STP__T_RUNNING, memory_order_relaxed);
	return 1;
}

void stp__online_step(struct stp__thread *t, const char *name, const char *file,
		      int line)
{
	stp_stepper *s = t->s;
	size_t k = atomic_load_explicit(&t->passed, memory_order_relaxed);
	const char *at = NULL;
	if (t->is_free)
		at = intern(s, t, name, file, line);
	else if (stp__declared_here(t, k, name, file, line))
		at = t->order[k];
	if (!at) {
		stp__abort(s);
		return;
	}
	t->op = STP__OP_STEP;
	t->op_file = file;
	t->op_line = line;
	stp__online_point(t, at);
}

void stp__online_end(struct stp__thread *t)
{
	stp_stepper *s = t->s;
	if (s->release && !claim(t)) {
		come_back(s, t, 1); /* a decision takes it out, and tells its joiners */
		return;
	}
	stp__thread_ended(s, t);
	decide(s, t, NULL);
}

/* Did the run pass steps only (no lock or wait point)? */
static int steps_only(const stp_stepper *s)
{
	for (size_t k = 0; k < s->dec.nlog; k++)
		if (!s->log[k].is_step)
			return 0;
	return 1;
}

void stp__online_finish(stp_stepper *s)
{
	uncarry(s, NULL);
	if (s->planned && (s->lazy_log || steps_only(s)))
		return; /* the plan, as planned: a plain run */
	s->online = 1;
	s->planned = 0;
	free(s->sched_step);
	s->sched_step = NULL;
	int *sched = malloc((s->dec.nlog ? s->dec.nlog : 1) * sizeof *sched);
	if (sched) {
		for (size_t k = 0; k < s->dec.nlog; k++)
			sched[k] = s->log[k].thread;
		free(s->sched);
		s->sched = sched;
		s->nsched = s->dec.nlog;
	}
	if (!stp__aborted(s) && s->src.finish)
		s->src.finish(s, s->dec.nlog);
}

void stp__online_deadline(struct stp__thread *t)
{
	stp_stepper *s = t->s;
	atomic_store(&t->may_time_out, 1);
	atomic_store(&s->recheck, 1); /* (the turnstile's holder owns s->blocked) */
	if (s->idle && !stp__aborted(s)) {
		s->idle = 0;
		decide(s, NULL, NULL);
	}
}

int stp__online_begin(stp_stepper *s)
{
	return s->src.begin ? s->src.begin(s) : 0;
}

void stp__online_end_source(stp_stepper *s)
{
	if (s->src.end)
		s->src.end(s);
	s->src_state = NULL;
}
