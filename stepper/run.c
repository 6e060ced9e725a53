/*
 * run.c - the turnstile: starting a run, passing steps, handing off,
 * ending threads, and the stall watchdog.
 *
 * Every controlled thread waits on its own semaphore; a hand-off posts
 * exactly the thread whose turn it is. A waiter always re-checks its
 * condition after waking, so an extra post (the abort posts everyone) is
 * harmless, and the condition never depends on being posted only once.
 *
 * A serial run decides at every hand-off (online.c): its threads park
 * there, and this file only starts them, runs their prefixes one at a
 * time and watches for stalls. An overlap run follows its plan here: the
 * schedule's head is the first entry at or after `next` whose thread has
 * not ended (entries of a thread that ended early leave the schedule).
 */
#include "stepper_int.h"
#include "condhook.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Thread_local struct stp__thread *stp_self_;

static int serial(const stp_stepper *s)
{
	return s->opt.mode == STP_SERIAL;
}

/* ended and next are stored and loaded seq_cst: see thread_main. */
static int ended(const struct stp__thread *t)
{
	return atomic_load_explicit(&t->ended, memory_order_seq_cst);
}

/* The first entry at or after j whose thread has not ended. */
static size_t live_from(stp_stepper *s, size_t j)
{
	while (j < s->nsched && ended(s->threads[s->sched[j]]))
		j++;
	return j;
}

/* Where the head search starts. Overlap mode keeps a shared `next`. In
 * serial mode nothing is shared per step but the semaphore being posted:
 * the holder of the turnstile is the thread that passed the latest entry
 * (or, before any entry, a prefix), so the head follows its last entry.
 * Others (the stall report) take the latest entry any thread passed. */
static size_t next_of(stp_stepper *s, const struct stp__thread *holder)
{
	if (!serial(s))
		return atomic_load_explicit(&s->next, memory_order_seq_cst);
	size_t n = 0;
	for (int i = 0; i < s->nthreads; i++) {
		const struct stp__thread *t = holder ? holder : s->threads[i];
		size_t k = atomic_load_explicit(&t->passed, memory_order_acquire);
		if (k > 0 && t->entry_of[k - 1] + 1 > n)
			n = t->entry_of[k - 1] + 1;
		if (holder)
			break;
	}
	return n;
}

static size_t head_for(stp_stepper *s, const struct stp__thread *holder)
{
	return live_from(s, next_of(s, holder));
}

static size_t head(stp_stepper *s)
{
	return head_for(s, NULL);
}

/* How soon entry j comes up when entry h holds the turnstile. */
static enum stp__heat heat_after(stp_stepper *s, size_t h, size_t j)
{
	if (j <= h || j == live_from(s, h + 1))
		return STP__HOT;
	return j - h <= 3 ? STP__WARM : STP__COLD;
}

static enum stp__heat heat_of_entry(stp_stepper *s, size_t j)
{
	return heat_after(s, head(s), j);
}

static void wake(stp_stepper *s, struct stp__thread *t, size_t key)
{
	stp__wake(s, t, key);
}

void stp__abort(stp_stepper *s)
{
	if (atomic_exchange(&s->aborted, 1))
		return;
	if (s->hooks.aborting)
		s->hooks.aborting(s);
	for (int i = 0, n = stp__nthreads(s); i < n; i++)
		wake(s, s->threads[i], STP__ANY_TURN);
}

/* Wake a sleeping thread that is next in line, so it spins by its turn. */
static void prewake(struct stp__thread *t, const struct stp__thread *self)
{
	if (t != self && !ended(t) && stp__sem_sleeping(&t->sem))
		stp__sem_post(&t->sem);
}

/* A grant only moves forward. In overlap mode a thread that ends computes
 * the head from `next` while another thread may pass its step and grant
 * the entry after; the ending thread's older grant, stored late, must not
 * take that back (its thread would wait for ever). */
static int raise_grant(struct stp__thread *t, size_t g)
{
	size_t cur = atomic_load_explicit(&t->granted, memory_order_relaxed);
	while (cur < g)
		if (atomic_compare_exchange_weak_explicit(&t->granted, &cur, g,
							  memory_order_release,
							  memory_order_relaxed))
			return 1;
	return 0;
}

/* Serial mode: hand the turnstile to the next prefix while one has not
 * run yet (1); the last prefix's hand-off opens the schedule (0). */
static inline int prefix_turn(stp_stepper *s, const struct stp__thread *self)
{
	int p = atomic_load_explicit(&s->prefix_next, memory_order_relaxed);
	if (p < s->nprefix) {
		atomic_store_explicit(&s->prefix_next, p + 1, memory_order_release);
		wake(s, s->threads[p], 0); /* its prefix turn */
		if (p + 1 < s->nprefix)
			prewake(s->threads[p + 1], self);
		return 1;
	}
	if (p == s->nprefix)
		atomic_store_explicit(&s->prefix_next, p + 1, memory_order_release);
	return 0;
}

int stp__prefix_turn_slow(stp_stepper *s, const struct stp__thread *self)
{
	return prefix_turn(s, self);
}

/* Overlap mode: give the turnstile to the head entry's thread. Returns
 * the entry granted, or SIZE_MAX when none was (the end of the schedule,
 * an aborted run, a later grant already there). */
static size_t hand_off(stp_stepper *s, const struct stp__thread *self)
{
	if (stp__aborted(s))
		return SIZE_MAX;
	size_t j = head_for(s, NULL);
	if (j >= s->nsched)
		return SIZE_MAX;
	struct stp__thread *t = s->threads[s->sched[j]];
	if (!raise_grant(t, j + 1))
		return SIZE_MAX; /* a later grant is there already */
	if (t != self)
		wake(s, t, j + 1); /* its turn at entry j */
	size_t after = live_from(s, j + 1);
	if (after < s->nsched && s->threads[s->sched[after]] != t)
		prewake(s->threads[s->sched[after]], self);
	return j;
}


static void pass(stp_stepper *s, struct stp__thread *t, size_t k, size_t j)
{
	if (s->timed)
		t->times[k] = stp__mono_ns() - s->start_ns;
	if (s->hooks.clock)
		t->vtimes[k] = s->hooks.clock->now(s->opt.clock);
	atomic_store_explicit(&t->passed, k + 1, memory_order_release);
	atomic_store_explicit(&t->state, STP__T_RUNNING, memory_order_relaxed);
	atomic_store_explicit(&s->next, j + 1, memory_order_seq_cst);
	if (s->opt.debug)
		fprintf(s->opt.log, "done [%s] %s\n", t->name, t->order[k]);
}

/* ------------------------------------------------------------------ */
/* Step points                                                         */
/* ------------------------------------------------------------------ */

/* What a waiting thread waits for, checked by the clock under its lock. */
struct turn_wait {
	stp_stepper *s;
	struct stp__thread *t;
	size_t granted; /* the grant that lets it pass its step */
};

static int step_ready(void *p)
{
	struct turn_wait *w = p;
	return atomic_load_explicit(&w->t->granted, memory_order_acquire) == w->granted ||
	       stp__aborted(w->s);
}

static int prefix_ready(void *p)
{
	struct turn_wait *w = p;
	return stp__aborted(w->s) ||
	       atomic_load_explicit(&w->s->prefix_next, memory_order_acquire) > w->t->index;
}

/* strcmp, inline: it sits on the hand-off's critical path. */
static inline int same_name(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* Is name the thread's k-th declared step? If not, the run diverged:
 * report it and abort. */
static inline int declared_here(stp_stepper *s, struct stp__thread *t, size_t k,
				const char *name, const char *file, int line)
{
	if (k >= t->nsteps) {
		stp__error(s, STP__OUT_DIVERGENCE,
			   "divergence: [%s] reached step '%s' at %s:%d after all "
			   "%zu of its declared steps",
			   t->name, name, file, line, t->nsteps);
		stp__abort(s);
		return 0;
	}
	/* The same literal at the same declared name as last time: equal
	 * (names are interned per thread, so a loop's step hits this). */
	if (name == t->hit_name && t->order[k] == t->hit_order)
		return 1;
	if (!same_name(name, t->order[k])) {
		stp__error(s, STP__OUT_DIVERGENCE,
			   "divergence: [%s] step %zu/%zu: expected '%s', reached "
			   "'%s' at %s:%d",
			   t->name, k + 1, t->nsteps, t->order[k], name, file, line);
		stp__abort(s);
		return 0;
	}
	t->hit_name = name;
	t->hit_order = t->order[k];
	return 1;
}

int stp__declared_here(struct stp__thread *t, size_t k, const char *name,
		       const char *file, int line)
{
	return declared_here(t->s, t, k, name, file, line);
}

/* Park until entry j is granted to t (or the run is aborted). On a clock,
 * the thread counts as blocked only once it will really wait. */
static inline void wait_for_turn(stp_stepper *s, struct stp__thread *t, size_t j,
				 const char *name)
{
	enum stp__heat heat = STP__HOT;
	int blocked = 0;
	for (int woken = 0;; woken = 1) {
		if (atomic_load_explicit(&t->granted, memory_order_acquire) == j + 1 ||
		    stp__aborted(s))
			break;
		if (t->member && !blocked) {
			/* Only a thread that will wait counts as blocked for
			 * the clock (one whose own entry is the head never
			 * waits, and must never look idle). */
			struct turn_wait tw = { s, t, j + 1 };
			blocked = s->hooks.clock->block_unless(t->member, step_ready, &tw,
								j + 1, "its turn at step", name);
			continue;
		}
		if (woken) /* woken early (a pre-wake): how near is it now? */
			heat = heat_of_entry(s, j);
		stp__sem_wait(&t->sem, heat);
	}
	if (blocked)
		s->hooks.clock->unblock(t->member);
}

/* Overlap mode's step: wait for its plan entry, pass it, hand the
 * turnstile on. Out of line, so that a serial run's step (the common
 * case) does not pay for its frame. */
static __attribute__((noinline)) void step_planned(stp_stepper *s, struct stp__thread *t,
						    const char *name, const char *file, int line)
{
	size_t k = atomic_load_explicit(&t->passed, memory_order_relaxed);
	if (!declared_here(s, t, k, name, file, line))
		return;
	size_t j = t->entry_of[k];
	atomic_store_explicit(&t->state, STP__T_PARKED, memory_order_release);
	if (s->opt.debug)
		fprintf(s->opt.log, "expecting [%s] %s\n", t->name, name);
	wait_for_turn(s, t, j, name);
	if (stp__aborted(s)) {
		atomic_store_explicit(&t->state, STP__T_RUNNING,
				      memory_order_release);
		return;
	}
	pass(s, t, k, j);
	hand_off(s, t);
}

void stp_step_(struct stp__thread *t, const char *name, const char *file,
	       int line)
{
	stp_stepper *s = t->s;
	if (stp__aborted(s))
		return;
	if (!name)
		name = "(null)";
	if (!s->deciding)
		step_planned(s, t, name, file, line);
	else if (!stp__online_step_carried(t, name, file, line))
		stp__online_step(t, name, file, line);
}

/* ------------------------------------------------------------------ */
/* Failures from controlled threads                                    */
/* ------------------------------------------------------------------ */

static void fail_v(struct stp__thread *t, const char *fmt, va_list ap)
{
	char *msg = stp__vstrdupf(fmt, ap);
	size_t k = atomic_load_explicit(&t->passed, memory_order_relaxed);
	if (k == 0)
		stp__error(t->s, STP__OUT_FAIL, "[%s] failed before its first step: %s",
			   t->name, msg ? msg : "(out of memory)");
	else if (t->is_free)
		stp__error(t->s, STP__OUT_FAIL, "[%s] failed after step '%s' (step %zu): %s",
			   t->name, stp__last_step(t), k, msg ? msg : "(out of memory)");
	else
		stp__error(t->s, STP__OUT_FAIL,
			   "[%s] failed after step '%s' (%zu/%zu): %s", t->name,
			   t->order[k - 1], k, t->nsteps, msg ? msg : "(out of memory)");
	free(msg);
	stp__abort(t->s);
}

void stp_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (stp_self_) {
		fail_v(stp_self_, fmt ? fmt : "(no message)", ap);
	} else {
		fputs("stepper: stp_fail on a thread no stepper controls: ", stderr);
		vfprintf(stderr, fmt ? fmt : "(no message)", ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

void stp_check_failed_(const char *cond, const char *file, int line)
{
	stp_fail("check failed: %s (%s:%d)", cond, file, line);
}

/* ------------------------------------------------------------------ */
/* Thread bodies                                                       */
/* ------------------------------------------------------------------ */

static void report_early_end(stp_stepper *s, struct stp__thread *t, size_t k)
{
	size_t cap = 256;
	char *list = malloc(cap);
	size_t len = 0;
	if (list)
		list[0] = '\0';
	for (size_t i = k; list && i < t->nsteps && len < 1024; i++) {
		char item[STP_MAX_NAME + 32];
		int n = snprintf(item, sizeof item, "%s'%s' (%zu/%zu)",
				 i > k ? ", " : "", t->order[i], i + 1, t->nsteps);
		if (len + (size_t)n + 8 > cap) {
			cap = (len + (size_t)n + 8) * 2;
			char *l = realloc(list, cap);
			if (!l)
				break;
			list = l;
		}
		memcpy(list + len, item, (size_t)n + 1);
		len += (size_t)n;
		if (len >= 1024 && i + 1 < t->nsteps)
			strcat(list, ", ...");
	}
	stp__error(s, STP__OUT_FAIL,
		   "early end: [%s] ended with %zu declared step%s never reached: %s",
		   t->name, t->nsteps - k, t->nsteps - k == 1 ? "" : "s",
		   list ? list : "(out of memory)");
	free(list);
}

static void thread_main(void *p)
{
	struct stp__thread *t = p;
	stp_stepper *s = t->s;
	stp_self_ = t;
	if (s->deciding)
		stp__cond_self = &stp__core_cond_hook;
	if (t->member)
		s->hooks.clock->adopt(t->member);
	if (serial(s)) {
		int blocked = 0;
		for (;;) {
			int pn = atomic_load_explicit(&s->prefix_next,
						      memory_order_acquire);
			if (stp__aborted(s) || pn > t->index)
				break;
			if (t->member && !blocked) {
				struct turn_wait tw = { s, t, 0 };
				blocked = s->hooks.clock->block_unless(
					t->member, prefix_ready, &tw, 0,
					"its prefix turn before step",
					t->is_free ? "(any)" : t->order[0]);
				continue;
			}
			if (t->fiber)
				stp__fibers_park(s, t);
			else
				stp__sem_wait(&t->sem, t->index == pn       ? STP__HOT
						       : t->index - pn <= 2 ? STP__WARM
									    : STP__COLD);
		}
		if (blocked)
			s->hooks.clock->unblock(t->member);
	}
	atomic_store_explicit(&t->state, STP__T_PREFIX, memory_order_release);
	t->fn(t->arg);
	stp__thread_finish(t);
}

int stp__thread_enter(struct stp__thread *t)
{
	stp_stepper *s = t->s;
	stp_self_ = t;
	stp__cond_self = &stp__core_cond_hook;
	if (t->member)
		s->hooks.clock->adopt(t->member);
	return stp__online_arrive(t);
}

void stp__thread_finish(struct stp__thread *t)
{
	stp_stepper *s = t->s;
	size_t k = atomic_load_explicit(&t->passed, memory_order_relaxed);
	if (!stp__aborted(s) && k < t->nsteps)
		report_early_end(s, t, k);
	atomic_store_explicit(&t->state, STP__T_ENDED, memory_order_release);
	/* In overlap mode a thread may end while another passes a step. Each
	 * stores (ended, next) and then loads the other's to find the head;
	 * with release/acquire alone both could load the old values and
	 * neither would grant the entry after. Sequentially consistent stores
	 * and loads forbid that. */
	atomic_store_explicit(&t->ended, 1, memory_order_seq_cst);
	if (s->deciding)
		stp__online_end(t); /* (it tells t's joiners) */
	else
		hand_off(s, t);
	if (t->member)
		s->hooks.clock->leave(t->member); /* freed with the stepper */
	stp_self_ = NULL;
	stp__cond_self = NULL;
	if (atomic_fetch_add(&s->nended, 1) + 1 == stp__nthreads(s))
		stp__sem_post(&s->done);
	stp__unref(s);
}

/* ------------------------------------------------------------------ */
/* Stall reports                                                       */
/* ------------------------------------------------------------------ */

/* What the stall report says of a thread that runs and does not come to
 * a point: the stepper cannot see where it waits. */
#define OUTSIDE "(not at a step or a stepper wait: blocked outside the stepper?)"

/* A thread parked at a lock or wait point, or waiting for a mutex held
 * outside the stepper, for the stall report. */
static int point_line(struct stp__thread *t, int state, char *line, size_t size)
{
	const char *out = atomic_load_explicit(&t->outside, memory_order_acquire);
	if (out) {
		snprintf(line, size,
			 "\n  [%s] waits for %s, which is held outside the stepper (a "
			 "plain pthread_mutex_lock on it, or a thread the stepper does "
			 "not control)",
			 t->name, out);
		return 1;
	}
	if (state != STP__T_PARKED || atomic_load_explicit(&t->at_step, memory_order_acquire))
		return 0;
	snprintf(line, size, "\n  [%s] parked at %s", t->name,
		 atomic_load_explicit(&t->at, memory_order_acquire));
	return 1;
}

/* Where a free thread is, for the stall report. */
static void free_thread_line(struct stp__thread *t, int state, size_t k, char *line,
			     size_t size)
{
	const char *at = atomic_load_explicit(&t->at, memory_order_acquire);
	if (t->s->dynamic && state == STP__T_RUNNING && t->op == STP__OP_START) {
		snprintf(line, size,
			 "\n  [%s] running since its start, and has made no pthread call "
			 "since: blocked where the stepper cannot see (read(), a raw futex...) "
			 "or spinning",
			 t->name);
	} else if (t->s->dynamic && state == STP__T_RUNNING) { /* a program's thread */
		char site[STP__SITE_MAX];
		snprintf(line, size,
			 "\n  [%s] running since its point %s at %s, and has made no pthread call "
			 "since: blocked where the stepper cannot see (read(), a raw futex...) "
			 "or spinning",
			 t->name, at ? at : "?", stp__site_text(t->op_file, t->op_line, site, sizeof site));
	} else if (state == STP__T_PREFIX)
		snprintf(line, size, "\n  [%s] running before its first step", t->name);
	else if (state == STP__T_PARKED)
		snprintf(line, size, "\n  [%s] parked at step '%s' (step %zu, free)",
			 t->name, at ? at : "?", k + 1);
	else
		snprintf(line, size,
			 "\n  [%s] running since step '%s' (step %zu, free), has not "
			 "reached another step or ended " OUTSIDE,
			 t->name, stp__last_step(t), k);
}

/* Where a thread is: one line of the stall report. */
static void thread_line(struct stp__thread *t, char *line, size_t size)
{
	size_t k = atomic_load(&t->passed);
	int state = atomic_load(&t->state);
	if (state == STP__T_IDLE)
		snprintf(line, size, "\n  [%s] not started", t->name);
	else if (state == STP__T_ENDED)
		snprintf(line, size, "\n  [%s] ended", t->name);
	else if (point_line(t, state, line, size))
		return;
	else if (t->is_free)
		free_thread_line(t, state, k, line, size);
	else if (state == STP__T_PREFIX)
		snprintf(line, size, "\n  [%s] running before its first step '%s'",
			 t->name, t->order[0]);
	else if (state == STP__T_PARKED)
		snprintf(line, size, "\n  [%s] parked at step '%s' (%zu/%zu)", t->name,
			 stp__step_name(t, k), k + 1, t->nsteps);
	else if (k < t->nsteps)
		snprintf(line, size,
			 "\n  [%s] running since step '%s' (%zu/%zu), has not reached '%s' "
			 OUTSIDE,
			 t->name, t->order[k - 1], k, t->nsteps, t->order[k]);
	else
		snprintf(line, size,
			 "\n  [%s] running since its last step '%s' (%zu/%zu), has not "
			 "ended " OUTSIDE,
			 t->name, t->order[k - 1], k, t->nsteps);
}

/* Append one line per thread describing where it is. */
static void describe_threads(stp_stepper *s, char **buf, size_t *len,
			     size_t *cap)
{
	for (int i = 0, nt = stp__nthreads(s); i < nt; i++) {
		char line[3 * STP_MAX_NAME + 128];
		thread_line(s->threads[i], line, sizeof line);
		size_t n = strlen(line);
		if (*len + n + 1 > *cap) {
			size_t c = (*len + n + 1) * 2;
			char *b = realloc(*buf, c);
			if (!b)
				return;
			*buf = b;
			*cap = c;
		}
		memcpy(*buf + *len, line, n + 1);
		*len += n;
	}
}

static void report_stall(stp_stepper *s, uint64_t idle_ns)
{
	size_t j = s->online ? SIZE_MAX : head(s);
	char *hd = NULL;
	if (j < s->nsched)
		hd = stp__strdupf("; next entry %zu/%zu is [%s] '%s'", j + 1,
				  s->nsched, s->threads[s->sched[j]]->name,
				  stp_entry_step(s, j));
	size_t cap = 512, len = 0;
	char *buf = malloc(cap);
	if (buf) {
		len = (size_t)snprintf(buf, cap,
				       "stall: no step passed and no thread ended "
				       "for %llu ms (limit %u ms)%s",
				       (unsigned long long)(idle_ns / 1000000u),
				       s->opt.stall_ms, hd ? hd : "");
		if (len >= cap)
			len = cap - 1;
		describe_threads(s, &buf, &len, &cap);
		if (s->hooks.clock) {
			char *b2 = realloc(buf, len + 2048);
			if (b2) {
				buf = b2;
				s->hooks.clock->describe(s->opt.clock, buf, len + 2048);
			}
		}
	}
	stp__error(s, STP__OUT_STALL, "%s", buf ? buf : "stall");
	free(buf);
	free(hd);
}

static void report_stuck(stp_stepper *s)
{
	for (int i = 0, nt = stp__nthreads(s); i < nt; i++) {
		struct stp__thread *t = s->threads[i];
		if (atomic_load(&t->ended))
			continue;
		size_t k = atomic_load(&t->passed);
		if (k > 0 && t->is_free)
			stp__error(s, STP__OUT_STALL,
				   "stuck: [%s] did not end within %u ms after the "
				   "schedule was aborted (last step '%s', step %zu, free)",
				   t->name, s->opt.stall_ms, stp__last_step(t), k);
		else if (k > 0)
			stp__error(s, STP__OUT_STALL,
				   "stuck: [%s] did not end within %u ms after the "
				   "schedule was aborted (last step '%s', %zu/%zu)",
				   t->name, s->opt.stall_ms, stp__last_step(t), k, t->nsteps);
		else
			stp__error(s, STP__OUT_STALL,
				   "stuck: [%s] did not end within %u ms after the "
				   "schedule was aborted (before its first step)",
				   t->name, s->opt.stall_ms);
	}
}

static size_t progress(stp_stepper *s)
{
	size_t n = stp__passed_total(s) + (size_t)atomic_load(&s->nended);
	for (int i = 0, nt = stp__nthreads(s); i < nt; i++)
		n += atomic_load_explicit(&s->threads[i]->points, memory_order_relaxed);
	return n;
}

/* Wait for every thread to end. Progress is a step passed or a thread
 * ended; with none for the stall limit, report and abort, then wait one
 * more stall limit and name the threads still stuck. The progress count is
 * sampled every quarter limit, so a stall is seen between 1 and 1.25
 * limits after the last progress; the steps themselves pay nothing. */
/* s->release: the thread that holds the turnstile and runs (no point
 * since the escape limit) leaves control. 1 when one did. */
static int let_escape(stp_stepper *s)
{
	if (!s->release || !s->deciding || stp__aborted(s))
		return 0;
	for (int i = 0, nt = stp__nthreads(s); i < nt; i++) {
		struct stp__thread *t = s->threads[i];
		if (atomic_load(&t->hold) == STP__HOLD_RUNNING && !atomic_load(&t->ended) &&
		    stp__escape(s, t))
			return 1;
	}
	return 0;
}

static void watch(stp_stepper *s)
{
	uint64_t limit = (uint64_t)s->opt.stall_ms * 1000000u;
	uint64_t period = limit / 4 > 1000000u ? limit / 4 : 1000000u;
	uint64_t escape = (uint64_t)s->escape_ms * 1000000u;
	if (s->release && escape / 2 < period)
		period = escape / 2 > 1000000u ? escape / 2 : 1000000u;
	size_t seen = progress(s);
	uint64_t seen_at = stp__mono_ns(), give_up = 0;
	/* (a program's run is concluded by its exit, with threads still
	 * there: from then on there is nothing to watch) */
	while (atomic_load(&s->nended) < stp__nthreads(s) && !atomic_load(&s->concluded)) {
		uint64_t now = stp__mono_ns();
		uint64_t deadline = give_up ? give_up : seen_at + limit;
		uint64_t wake = now + period < deadline ? now + period : deadline;
		/* a program's run (dynamic) has threads enough for the cores:
		 * the watcher gives its core away at once */
		if (stp__sem_wait_until(&s->done, wake, s->dynamic ? STP__COLD : STP__WARM) == 0)
			continue;
		now = stp__mono_ns();
		if (give_up) {
			if (now >= give_up) {
				report_stuck(s);
				return;
			}
			continue;
		}
		size_t p = progress(s);
		if (p != seen) {
			seen = p;
			seen_at = now;
		} else if (s->release && now - seen_at >= escape && now - seen_at < limit &&
			   let_escape(s)) {
			seen = progress(s); /* the others go on (or the run idles) */
			seen_at = stp__mono_ns();
		} else if (now - seen_at >= limit) {
			if (!stp__aborted(s)) {
				report_stall(s, now - seen_at);
				stp__abort(s);
			}
			give_up = now + limit;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Running                                                             */
/* ------------------------------------------------------------------ */

int stp__interleave(stp_stepper *s)
{
	if (!s)
		return STP_EINVAL;
	if (s->phase != STP__NEW)
		return STP_ESTATE;
	if (s->nthreads == 0)
		return STP_EINVAL;
	s->online = 0;
	s->deciding = 0;
	s->planned = 0;
	char why[256];
	if (stp__strategy_parse(s->opt.strategy, &s->strat, why, sizeof why) < 0) {
		stp__error(s, STP__OUT_FAIL, "%s", why);
		return STP_EINVAL;
	}
	int rc;
	if (s->hooks.interleave)
		rc = s->hooks.interleave(s);
	else if (stp__any_free(s) || s->strat.kind != STP__ST_RANDOM)
		rc = stp__online_prepare(s);
	else
		rc = stp__interleave_random(s);
	s->interleaved = rc == 0;
	return rc;
}

int stp__run(stp_stepper *s)
{
	if (!s)
		return STP_EINVAL;
	if (s->phase != STP__NEW)
		return STP_ESTATE;
	if (s->nthreads == 0)
		return STP_EINVAL;
	if (!s->interleaved) {
		int rc = stp__interleave(s);
		if (rc < 0)
			return rc;
	}
	s->fibered = s->fibers && stp__fibers_usable(s);
	int nw = s->fibered ? 1 : s->nthreads; /* fibers: one host */
	stp__worker *w_small[STP__SMALL_RUN], **w = w_small;
	if (nw > STP__SMALL_RUN && !(w = malloc((size_t)nw * sizeof *w)))
		return STP_ENOMEM;
	for (int i = 0; i < nw; i++) {
		if (stp__pool_get(&w[i]) < 0) {
			while (i-- > 0)
				stp__pool_put_unused(w[i]);
			if (w != w_small)
				free(w);
			return STP_ETHREAD;
		}
	}
	if (serial(s) && !s->deciding)
		stp__online_plan(s);
	stp__objs_clear(s);
	int brc = s->deciding ? stp__online_begin(s) : 0;
	if (brc < 0) {
		for (int i = 0; i < nw; i++)
			stp__pool_put_unused(w[i]);
		if (w != w_small)
			free(w);
		return brc;
	}
	s->phase = STP__RUNNING;
	atomic_store(&s->next, 0);
	atomic_store(&s->aborted, 0);
	s->nprefix = s->nthreads; /* threads made later start at a point */
	atomic_store(&s->prefix_next, serial(s) ? 1 : s->nthreads + 1);
	s->start_ns = stp__mono_ns();
	if (s->hooks.clock) {
		s->hooks.clock->attach(s->opt.clock, s);
		for (int i = 0; i < s->nthreads; i++)
			s->threads[i]->member =
				s->hooks.clock->add_member(s->opt.clock, s->threads[i]);
	}
	if (s->hooks.run_start)
		s->hooks.run_start(s);
	/* the threads registered before the run: once the first starts, it
	 * may make more (spawn.c), which have workers of their own */
	int n = s->nthreads;
	atomic_fetch_add(&s->refs, n);
	if (s->fibered)
		stp__fibers_start(s, w[0], thread_main);
	for (int i = 0; !s->fibered && i < n; i++)
		stp__pool_start(w[i], thread_main, s->threads[i]);
	if (w != w_small)
		free(w);
	if (!serial(s))
		hand_off(s, NULL);
	watch(s);
	stp__run_conclude(s);
	return (int)stp_error_count(s);
}

void stp__run_conclude(stp_stepper *s)
{
	if (atomic_exchange(&s->concluded, 1))
		return;
	if (s->deciding) {
		stp__online_finish(s);
		stp__online_end_source(s);
	}
	if (s->hooks.clock)
		s->hooks.clock->attach(s->opt.clock, NULL);
	s->phase = STP__DONE;
	pthread_mutex_lock(&s->mu);
	if (s->outcome == STP__OUT_NONE)
		s->outcome = s->nerrors ? STP__OUT_FAIL : STP__OUT_PASS;
	pthread_mutex_unlock(&s->mu);
	if (s->hooks.run_end)
		s->hooks.run_end(s);
}
