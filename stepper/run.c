/*
 * run.c - the turnstile: starting a run, passing steps, handing off,
 * ending threads, and the stall watchdog.
 *
 * Every controlled thread waits on its own semaphore; a hand-off posts
 * exactly the thread whose turn it is. A waiter always re-checks its
 * condition after waking, so an extra post (the abort posts everyone) is
 * harmless, and the condition never depends on being posted only once.
 *
 * The schedule's head is the first entry at or after `next` whose thread
 * has not ended: entries of a thread that ended early leave the schedule.
 */
#include "stepper_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

_Thread_local struct stp__thread *stp_self_;

static int serial(const stp_stepper *s)
{
	return s->opt.mode == STP_SERIAL;
}

static int aborted(stp_stepper *s)
{
	return atomic_load_explicit(&s->aborted, memory_order_acquire);
}

static size_t head(stp_stepper *s)
{
	size_t j = atomic_load_explicit(&s->next, memory_order_acquire);
	while (j < s->nsched &&
	       atomic_load_explicit(&s->threads[s->sched[j]]->ended,
				    memory_order_acquire))
		j++;
	return j;
}

/* Serial mode: have the prefixes all run (their first hand-off is done)? */
static int schedule_open(stp_stepper *s)
{
	return atomic_load_explicit(&s->prefix_next,
				    memory_order_acquire) > s->nthreads;
}

static void note_progress(stp_stepper *s)
{
	atomic_store_explicit(&s->progress_ns, stp__mono_ns(),
			      memory_order_relaxed);
}

void stp__abort(stp_stepper *s)
{
	if (atomic_exchange(&s->aborted, 1))
		return;
	for (int i = 0; i < s->nthreads; i++)
		stp__sem_post(&s->threads[i]->sem);
}

/* Give the turnstile to whoever goes next. In serial mode that is the next
 * prefix, or else the head entry's thread; in overlap mode the head's. */
static void hand_off(stp_stepper *s, const struct stp__thread *self)
{
	if (aborted(s))
		return;
	if (serial(s)) {
		int p = atomic_load_explicit(&s->prefix_next,
					     memory_order_relaxed);
		if (p < s->nthreads) {
			atomic_store_explicit(&s->prefix_next, p + 1,
					      memory_order_release);
			stp__sem_post(&s->threads[p]->sem);
			return;
		}
		if (p == s->nthreads)
			atomic_store_explicit(&s->prefix_next, p + 1,
					      memory_order_release);
	}
	size_t j = head(s);
	if (j < s->nsched && s->threads[s->sched[j]] != self)
		stp__sem_post(&s->threads[s->sched[j]]->sem);
}

static void pass(stp_stepper *s, struct stp__thread *t, size_t k, size_t j)
{
	uint64_t now = stp__mono_ns();
	size_t e = atomic_load_explicit(&s->nevents, memory_order_relaxed);
	s->events[e] = (stp__event){ .thread = t->index,
				     .step = k,
				     .mono_ns = now - s->start_ns };
	atomic_store_explicit(&s->nevents, e + 1, memory_order_release);
	atomic_store_explicit(&t->passed, k + 1, memory_order_release);
	atomic_store_explicit(&t->state, STP__T_RUNNING, memory_order_release);
	atomic_store_explicit(&s->next, j + 1, memory_order_release);
	atomic_store_explicit(&s->progress_ns, now, memory_order_relaxed);
	if (s->opt.debug)
		fprintf(s->opt.log, "done [%s] %s\n", t->name, t->order[k]);
}

/* ------------------------------------------------------------------ */
/* Step points                                                         */
/* ------------------------------------------------------------------ */

void stp_step_(struct stp__thread *t, const char *name, const char *file,
	       int line)
{
	stp_stepper *s = t->s;
	size_t k = atomic_load_explicit(&t->passed, memory_order_relaxed);
	if (aborted(s))
		return;
	if (!name)
		name = "(null)";
	if (k >= t->nsteps) {
		stp__error(s, STP__OUT_DIVERGENCE,
			   "divergence: [%s] reached step '%s' at %s:%d after all "
			   "%zu of its declared steps",
			   t->name, name, file, line, t->nsteps);
		stp__abort(s);
		return;
	}
	if (strcmp(name, t->order[k]) != 0) {
		stp__error(s, STP__OUT_DIVERGENCE,
			   "divergence: [%s] step %zu/%zu: expected '%s', reached "
			   "'%s' at %s:%d",
			   t->name, k + 1, t->nsteps, t->order[k], name, file, line);
		stp__abort(s);
		return;
	}
	size_t j = t->entry_of[k];
	atomic_store_explicit(&t->state, STP__T_PARKED, memory_order_release);
	if (s->opt.debug)
		fprintf(s->opt.log, "expecting [%s] %s\n", t->name, name);
	if (serial(s))
		hand_off(s, t);
	while (!aborted(s) && !(schedule_open(s) && head(s) == j))
		stp__sem_wait(&t->sem);
	if (aborted(s)) {
		atomic_store_explicit(&t->state, STP__T_RUNNING,
				      memory_order_release);
		return;
	}
	pass(s, t, k, j);
	if (!serial(s))
		hand_off(s, t);
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
	if (serial(s)) {
			while (!aborted(s) &&
		       atomic_load_explicit(&s->prefix_next,
					    memory_order_acquire) <= t->index)
			stp__sem_wait(&t->sem);
		}
	atomic_store_explicit(&t->state, STP__T_PREFIX, memory_order_release);
	t->fn(t->arg);

	size_t k = atomic_load_explicit(&t->passed, memory_order_relaxed);
	if (!aborted(s) && k < t->nsteps)
		report_early_end(s, t, k);
	atomic_store_explicit(&t->state, STP__T_ENDED, memory_order_release);
	atomic_store_explicit(&t->ended, 1, memory_order_release);
	note_progress(s);
	hand_off(s, t);
	stp_self_ = NULL;

	pthread_mutex_lock(&s->mu);
	s->nended++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	stp__unref(s);
}

/* ------------------------------------------------------------------ */
/* Stall reports                                                       */
/* ------------------------------------------------------------------ */

/* Append one line per thread describing where it is. */
static void describe_threads(stp_stepper *s, char **buf, size_t *len,
			     size_t *cap)
{
	for (int i = 0; i < s->nthreads; i++) {
		struct stp__thread *t = s->threads[i];
		size_t k = atomic_load(&t->passed);
		char line[3 * STP_MAX_NAME + 128];
		switch (atomic_load(&t->state)) {
		case STP__T_IDLE:
			snprintf(line, sizeof line, "\n  [%s] not started", t->name);
			break;
		case STP__T_PREFIX:
			snprintf(line, sizeof line,
				 "\n  [%s] running before its first step '%s'",
				 t->name, t->order[0]);
			break;
		case STP__T_PARKED:
			snprintf(line, sizeof line,
				 "\n  [%s] parked at step '%s' (%zu/%zu)", t->name,
				 stp__step_name(t, k), k + 1, t->nsteps);
			break;
		case STP__T_RUNNING:
			if (k < t->nsteps)
				snprintf(line, sizeof line,
					 "\n  [%s] running after step '%s' (%zu/%zu), "
					 "has not reached '%s'",
					 t->name, t->order[k - 1], k, t->nsteps,
					 t->order[k]);
			else
				snprintf(line, sizeof line,
					 "\n  [%s] running after its last step '%s' "
					 "(%zu/%zu), has not ended",
					 t->name, t->order[k - 1], k, t->nsteps);
			break;
		default:
			snprintf(line, sizeof line, "\n  [%s] ended", t->name);
			break;
		}
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

static void report_stall(stp_stepper *s)
{
	size_t j = head(s);
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
				       "for %u ms%s",
				       s->opt.stall_ms, hd ? hd : "");
		if (len >= cap)
			len = cap - 1;
		describe_threads(s, &buf, &len, &cap);
	}
	stp__error(s, STP__OUT_STALL, "%s", buf ? buf : "stall");
	free(buf);
	free(hd);
}

static void report_stuck(stp_stepper *s)
{
	for (int i = 0; i < s->nthreads; i++) {
		struct stp__thread *t = s->threads[i];
		if (atomic_load(&t->ended))
			continue;
		size_t k = atomic_load(&t->passed);
		if (k > 0)
			stp__error(s, STP__OUT_STALL,
				   "stuck: [%s] did not end within %u ms after the "
				   "schedule was aborted (last step '%s', %zu/%zu)",
				   t->name, s->opt.stall_ms, t->order[k - 1], k,
				   t->nsteps);
		else
			stp__error(s, STP__OUT_STALL,
				   "stuck: [%s] did not end within %u ms after the "
				   "schedule was aborted (before its first step)",
				   t->name, s->opt.stall_ms);
	}
}

static struct timespec abs_ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000u),
				  .tv_nsec = (long)(ns % 1000000000u) };
}

/* Wait for every thread to end; on a stall abort, then wait one more stall
 * limit and name the threads that are still stuck. */
static void watch(stp_stepper *s)
{
	uint64_t limit = (uint64_t)s->opt.stall_ms * 1000000u;
	uint64_t give_up = 0; /* set once aborted for a stall */
	pthread_mutex_lock(&s->mu);
	while (s->nended < s->nthreads) {
		uint64_t now = stp__mono_ns();
		uint64_t deadline;
		if (give_up) {
			deadline = give_up;
		} else {
			deadline = atomic_load_explicit(&s->progress_ns,
							memory_order_relaxed) + limit;
		}
		if (now >= deadline) {
			pthread_mutex_unlock(&s->mu);
			if (give_up) {
				report_stuck(s);
				pthread_mutex_lock(&s->mu);
				break;
			}
			if (!aborted(s)) {
				report_stall(s);
				stp__abort(s);
			}
			give_up = stp__mono_ns() + limit;
			pthread_mutex_lock(&s->mu);
			continue;
		}
		struct timespec ts = abs_ts(deadline);
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------------ */
/* Running                                                             */
/* ------------------------------------------------------------------ */

int stp_interleave(stp_stepper *s)
{
	if (!s)
		return STP_EINVAL;
	if (s->phase != STP__NEW)
		return STP_ESTATE;
	if (s->nthreads == 0)
		return STP_EINVAL;
	int rc = stp__interleave_random(s);
	s->interleaved = rc == 0;
	return rc;
}

int stp_run(stp_stepper *s)
{
	if (!s)
		return STP_EINVAL;
	if (s->phase != STP__NEW)
		return STP_ESTATE;
	if (s->nthreads == 0)
		return STP_EINVAL;
	if (!s->interleaved) {
		int rc = stp_interleave(s);
		if (rc < 0)
			return rc;
	}
	stp__worker *w[STP_MAX_THREADS];
	for (int i = 0; i < s->nthreads; i++) {
		if (stp__pool_get(&w[i]) < 0) {
			while (i-- > 0)
				stp__pool_put_unused(w[i]);
			return STP_ETHREAD;
		}
	}
	s->phase = STP__RUNNING;
	atomic_store(&s->next, 0);
	atomic_store(&s->nevents, 0);
	atomic_store(&s->aborted, 0);
	atomic_store(&s->prefix_next,
		     serial(s) ? 1 : s->nthreads + 1);
	s->start_ns = stp__mono_ns();
	note_progress(s);
	atomic_fetch_add(&s->refs, s->nthreads);
	for (int i = 0; i < s->nthreads; i++)
		stp__pool_start(w[i], thread_main, s->threads[i]);
	if (!serial(s))
		hand_off(s, NULL);
	watch(s);
	s->phase = STP__DONE;
	pthread_mutex_lock(&s->mu);
	if (s->outcome == STP__OUT_NONE)
		s->outcome = s->nerrors ? STP__OUT_FAIL : STP__OUT_PASS;
	int n = (int)s->nerrors;
	pthread_mutex_unlock(&s->mu);
	return n;
}
