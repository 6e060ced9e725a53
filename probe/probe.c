/*
 * probe.c - probes: a message queue with expectations that say what came
 * instead, and deadlines in real or virtual time.
 */
#include "probe.h"

#include <stepper/clock.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "handoff.h" /* stp__lock, stp__panic */

typedef struct msg {
	struct msg *next;
	size_t len;
	uint64_t at; /* arrival, in the probe's time */
	unsigned char data[];
} msg;

typedef struct bracket {
	uint64_t start, deadline, min_ms, max_ms;
} bracket;

struct stp_probe {
	char name[STP_MAX_NAME + 1];
	stp_clock *clock;
	int strict;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	msg *head, *tail;
	size_t n;
	bracket within[STP_PROBE_MAX_WITHIN];
	int nwithin;
	char err[1024];
};

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * STP_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t now(const stp_probe *p)
{
	return p->clock ? stp_clock_now(p->clock) : real_ns();
}

/* ------------------------------------------------------------------ */
/* Making, freeing, sending                                            */
/* ------------------------------------------------------------------ */

stp_probe *stp_probe_new(const char *name, struct stp_clock *clock)
{
	if (!name || !*name || strlen(name) > STP_MAX_NAME)
		return NULL;
	stp_probe *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	snprintf(p->name, sizeof p->name, "%s", name);
	p->clock = clock;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&p->mu, NULL) || pthread_cond_init(&p->cv, &ca)) {
		pthread_condattr_destroy(&ca);
		free(p);
		return NULL;
	}
	pthread_condattr_destroy(&ca);
	return p;
}

void stp_probe_set_strict(stp_probe *p, int on)
{
	if (p)
		p->strict = on != 0;
}

/* A message as people read it: quoted, escaped, at most 64 characters. */
static const char *shown(const void *data, size_t len, char *buf, size_t size)
{
	const unsigned char *d = data;
	size_t o = 0;
	buf[o++] = '"';
	size_t i = 0;
	for (; i < len && o + 8 < size && i < 64; i++) {
		unsigned char c = d[i];
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			buf[o++] = (char)c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c == '\r') {
			buf[o++] = '\\';
			buf[o++] = 'r';
		} else {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	if (i < len)
		snprintf(buf + o, size - o, "... (%zu bytes)", len);
	return buf;
}

int stp_probe_free(stp_probe *p)
{
	if (!p)
		return 0;
	int unexpected = 0;
	for (msg *m = p->head, *n; m; m = n) {
		n = m->next;
		if (p->strict) {
			char buf[400];
			fprintf(stderr, "probe '%s': a message arrived and was never "
					"expected: %s\n",
				p->name, shown(m->data, m->len, buf, sizeof buf));
		}
		unexpected++;
		free(m);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
	return unexpected;
}

int stp_probe_send(stp_probe *p, const void *data, size_t len)
{
	if (!p || !data || len == 0)
		return STP_EINVAL;
	if (len > STP_PROBE_MAX_MSG)
		return STP_ELIMIT;
	msg *m = malloc(sizeof *m + len);
	if (!m)
		return STP_ENOMEM;
	m->next = NULL;
	m->len = len;
	m->at = now(p);
	memcpy(m->data, data, len);
	stp__lock(&p->mu);
	if (p->tail)
		p->tail->next = m;
	else
		p->head = m;
	p->tail = m;
	p->n++;
	pthread_cond_broadcast(&p->cv);
	stp__unlock(&p->mu);
	return 0;
}

int stp_probe_sendf(stp_probe *p, const char *fmt, ...)
{
	if (!p || !fmt)
		return STP_EINVAL;
	va_list ap;
	va_start(ap, fmt);
	char *text = stp__vstrdupf(fmt, ap);
	va_end(ap);
	if (!text)
		return STP_ENOMEM;
	int rc = stp_probe_send(p, text, strlen(text));
	free(text);
	return rc;
}

size_t stp_probe_pending(const stp_probe *p)
{
	if (!p)
		return 0;
	stp_probe *m = (stp_probe *)p;
	stp__lock(&m->mu);
	size_t n = m->n;
	stp__unlock(&m->mu);
	return n;
}

const char *stp_probe_last_error(const stp_probe *p)
{
	return p ? p->err : "";
}

/* ------------------------------------------------------------------ */
/* Waiting                                                             */
/* ------------------------------------------------------------------ */

static msg *pop_locked(stp_probe *p)
{
	msg *m = p->head;
	if (m) {
		p->head = m->next;
		if (!p->head)
			p->tail = NULL;
		p->n--;
	}
	return m;
}

static msg *pop(stp_probe *p)
{
	stp__lock(&p->mu);
	msg *m = pop_locked(p);
	stp__unlock(&p->mu);
	return m;
}

/* The next message, or NULL at the deadline (in the probe's time). With
 * a clock: whenever every member is blocked and no message is here, move
 * the clock to the next deadline, the clock's or this one. *rc receives
 * a clock error (a stall) if one stops the wait. */
static msg *take(stp_probe *p, uint64_t deadline, int *rc)
{
	*rc = 0;
	if (!p->clock) {
		stp__lock(&p->mu);
		while (!p->head) {
			uint64_t n = real_ns();
			if (n >= deadline)
				break;
			struct timespec ts = { .tv_sec = (time_t)(deadline / STP_NS_PER_SEC),
					       .tv_nsec = (long)(deadline % STP_NS_PER_SEC) };
			pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		}
		msg *m = pop_locked(p);
		stp__unlock(&p->mu);
		return m;
	}
	for (;;) {
		msg *m = pop(p);
		if (m)
			return m;
		int e = stp_clock_wait_idle(p->clock);
		if (e < 0) {
			*rc = e;
			return pop(p);
		}
		if ((m = pop(p)))
			return m;
		uint64_t t = stp_clock_now(p->clock), next;
		if (t >= deadline)
			return NULL;
		uint64_t to = deadline;
		if (stp_clock_next_deadline(p->clock, &next) == 0 && next < to)
			to = next > t ? next : t;
		e = stp_clock_advance(p->clock, to - t);
		if (e < 0) {
			*rc = e;
			return pop(p);
		}
	}
}

/* The deadline of an expectation of ms that starts now: also no later
 * than the innermost within bracket's. *clipped when the bracket wins. */
static uint64_t deadline_for(stp_probe *p, uint64_t start, uint64_t ms, int *clipped)
{
	uint64_t d = ms > (UINT64_MAX - start) / 1000000u ? UINT64_MAX
							  : start + ms * 1000000u;
	*clipped = 0;
	if (p->nwithin && p->within[p->nwithin - 1].deadline < d) {
		d = p->within[p->nwithin - 1].deadline;
		*clipped = 1;
	}
	return d;
}

static void vfail(stp_probe *p, const char *fmt, va_list ap) STP_PRINTF(2, 0);
static void vfail(stp_probe *p, const char *fmt, va_list ap)
{
	int n = snprintf(p->err, sizeof p->err, "probe '%s': ", p->name);
	vsnprintf(p->err + n, sizeof p->err - (size_t)n, fmt, ap);
}

static void fail(stp_probe *p, const char *fmt, ...) STP_PRINTF(2, 3);
static void fail(stp_probe *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(p, fmt, ap);
	va_end(ap);
}

/* A call refused before it waits: the text says why. STP_EINVAL. */
static int refuse(stp_probe *p, const char *fmt, ...) STP_PRINTF(2, 3);
static int refuse(stp_probe *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(p, fmt, ap);
	va_end(ap);
	return STP_EINVAL;
}

static unsigned long long ms_since(uint64_t start, uint64_t t)
{
	return t > start ? (unsigned long long)((t - start) / 1000000u) : 0;
}

/* "within 3000 ms", or with the bracket's share */
static const char *within_text(char *buf, size_t size, uint64_t start,
			       uint64_t deadline, uint64_t ms, int clipped)
{
	if (clipped)
		snprintf(buf, size, "within %llu ms (what was left of a within bracket)",
			 ms_since(start, deadline));
	else
		snprintf(buf, size, "within %llu ms", (unsigned long long)ms);
	return buf;
}

static int clock_failure(stp_probe *p, int rc, const char *expecting)
{
	fail(p, "%s: the clock could not move: %s (%s)", expecting, stp_strerror(rc),
	     stp_clock_error(p->clock));
	return rc;
}

/* ------------------------------------------------------------------ */
/* Expectations                                                        */
/* ------------------------------------------------------------------ */

static int expect_data(stp_probe *p, const void *want, size_t wlen, uint64_t ms)
{
	p->err[0] = '\0';
	uint64_t start = now(p);
	int clipped, rc;
	uint64_t dl = deadline_for(p, start, ms, &clipped);
	char w[400], g[400], win[96];
	shown(want, wlen, w, sizeof w);
	within_text(win, sizeof win, start, dl, ms, clipped);
	msg *m = take(p, dl, &rc);
	if (!m) {
		if (rc < 0)
			return clock_failure(p, rc, "waiting for a message");
		fail(p, "expected %s %s, got nothing", w, win);
		return STP_ETIMEDOUT;
	}
	int same = m->len == wlen && memcmp(m->data, want, wlen) == 0;
	if (!same)
		fail(p, "expected %s %s, got %s after %llu ms", w, win,
		     shown(m->data, m->len, g, sizeof g), ms_since(start, m->at));
	free(m);
	return same ? 0 : STP_EMISMATCH;
}

int stp_probe_expect_msg(stp_probe *p, const char *text, uint64_t ms)
{
	if (!p)
		return STP_EINVAL;
	if (!text)
		return refuse(p, "expect_msg without a text (expected a string)");
	return expect_data(p, text, strlen(text), ms);
}

int stp_probe_expect_bytes(stp_probe *p, const void *data, size_t len, uint64_t ms)
{
	if (!p)
		return STP_EINVAL;
	if (!data && len)
		return refuse(p, "expect_bytes of %zu bytes at NULL (expected data)", len);
	return expect_data(p, data, len, ms);
}

/* 1 match, 0 no match, STP_EINVAL for anything else (failure text set). */
static int ask(stp_probe *p, stp_probe_pred pred, void *arg, const char *what,
	       const msg *m)
{
	int r = pred(m->data, m->len, arg);
	if (r == 0 || r == 1)
		return r;
	char g[400];
	fail(p, "the predicate for %s returned %d for %s (expected 0 or 1)", what, r,
	     shown(m->data, m->len, g, sizeof g));
	return STP_EINVAL;
}

int stp_probe_expect_match(stp_probe *p, stp_probe_pred pred, void *arg,
			   const char *what, uint64_t ms)
{
	if (!p)
		return STP_EINVAL;
	if (!pred)
		return refuse(p, "expect_match without a predicate");
	p->err[0] = '\0';
	what = what ? what : "the predicate";
	uint64_t start = now(p);
	int clipped, rc;
	uint64_t dl = deadline_for(p, start, ms, &clipped);
	char g[400], win[96];
	within_text(win, sizeof win, start, dl, ms, clipped);
	msg *m = take(p, dl, &rc);
	if (!m) {
		if (rc < 0)
			return clock_failure(p, rc, "waiting for a message");
		fail(p, "expected a message matching %s %s, got nothing", what, win);
		return STP_ETIMEDOUT;
	}
	int r = ask(p, pred, arg, what, m);
	if (r == 0)
		fail(p, "expected a message matching %s %s, got %s after %llu ms", what,
		     win, shown(m->data, m->len, g, sizeof g), ms_since(start, m->at));
	free(m);
	return r == 1 ? 0 : r == 0 ? STP_EMISMATCH : r;
}

int stp_probe_expect_no_msg(stp_probe *p, uint64_t ms)
{
	if (!p)
		return STP_EINVAL;
	p->err[0] = '\0';
	uint64_t start = now(p);
	int clipped, rc;
	uint64_t dl = deadline_for(p, start, ms, &clipped);
	if (clipped) /* a shorter silence is not the one asked for */
		return refuse(p, "expected no message for %llu ms, but only %llu ms are left "
				 "of the within bracket: a silence is checked inside it or "
				 "not at all (ask for %llu ms or less, or end the bracket "
				 "first)",
			      (unsigned long long)ms, ms_since(start, dl), ms_since(start, dl));
	msg *m = take(p, dl, &rc);
	if (!m)
		return rc < 0 ? clock_failure(p, rc, "waiting for silence") : 0;
	char g[400];
	fail(p, "expected no message for %llu ms, got %s after %llu ms",
	     (unsigned long long)ms, shown(m->data, m->len, g, sizeof g),
	     ms_since(start, m->at));
	free(m);
	return STP_EMISMATCH;
}

/* Append a shown message to a list text, up to a few. */
static void list_add(char *list, size_t size, size_t index, const msg *m)
{
	size_t len = strlen(list);
	if (index >= 5) {
		if (index == 5 && len + 6 < size)
			strcat(list, ", ...");
		return;
	}
	char g[400];
	snprintf(list + len, size - len, "%s%s", index ? ", " : "",
		 shown(m->data, m->len, g, sizeof g));
}

int stp_probe_receive_n(stp_probe *p, size_t n, uint64_t ms)
{
	if (!p)
		return STP_EINVAL;
	if (n == 0)
		return refuse(p, "receive_n of 0 messages (expected 1 or more)");
	p->err[0] = '\0';
	uint64_t start = now(p);
	int clipped, rc = 0;
	uint64_t dl = deadline_for(p, start, ms, &clipped);
	char list[700] = "", win[96];
	within_text(win, sizeof win, start, dl, ms, clipped);
	size_t got = 0;
	for (; got < n; got++) {
		msg *m = take(p, dl, &rc);
		if (!m)
			break;
		list_add(list, sizeof list, got, m);
		free(m);
	}
	if (got == n)
		return 0;
	if (rc < 0)
		return clock_failure(p, rc, "receiving messages");
	fail(p, "expected %zu messages %s, got %zu%s%s", n, win, got, got ? ": " : "",
	     list);
	return STP_ETIMEDOUT;
}

int stp_probe_fish(stp_probe *p, stp_probe_pred pred, void *arg, const char *what,
		   uint64_t ms)
{
	if (!p)
		return STP_EINVAL;
	if (!pred)
		return refuse(p, "fish without a predicate");
	p->err[0] = '\0';
	what = what ? what : "the predicate";
	uint64_t start = now(p);
	int clipped, rc = 0;
	uint64_t dl = deadline_for(p, start, ms, &clipped);
	char list[700] = "", win[96];
	within_text(win, sizeof win, start, dl, ms, clipped);
	for (size_t skipped = 0;; skipped++) {
		msg *m = take(p, dl, &rc);
		if (!m) {
			if (rc < 0)
				return clock_failure(p, rc, "fishing");
			fail(p, "fished for a message matching %s %s: none came; skipped "
				"%zu%s%s",
			     what, win, skipped, skipped ? ": " : "", list);
			return STP_ETIMEDOUT;
		}
		int r = ask(p, pred, arg, what, m);
		if (r == 0)
			list_add(list, sizeof list, skipped, m);
		free(m);
		if (r == 1)
			return 0;
		if (r < 0)
			return r;
	}
}

/* ------------------------------------------------------------------ */
/* within(min, max)                                                    */
/* ------------------------------------------------------------------ */

int stp_probe_within(stp_probe *p, uint64_t min_ms, uint64_t max_ms)
{
	if (!p)
		return STP_EINVAL;
	p->err[0] = '\0';
	if (min_ms > max_ms)
		return refuse(p, "within(%llu, %llu ms): min is above max",
			      (unsigned long long)min_ms, (unsigned long long)max_ms);
	if (p->nwithin == STP_PROBE_MAX_WITHIN) {
		refuse(p, "within(%llu, %llu ms): %d brackets are open already (the most at "
			  "once)",
		       (unsigned long long)min_ms, (unsigned long long)max_ms,
		       STP_PROBE_MAX_WITHIN);
		return STP_ELIMIT;
	}
	uint64_t start = now(p);
	int clipped;
	bracket *b = &p->within[p->nwithin];
	b->deadline = deadline_for(p, start, max_ms, &clipped);
	b->start = start;
	b->min_ms = min_ms;
	b->max_ms = max_ms;
	p->nwithin++;
	return 0;
}

int stp_probe_within_end(stp_probe *p)
{
	if (!p)
		return STP_EINVAL;
	if (p->nwithin == 0) {
		fail(p, "within_end without an open within bracket");
		return STP_ESTATE;
	}
	bracket *b = &p->within[--p->nwithin];
	unsigned long long took = ms_since(b->start, now(p));
	if (took < b->min_ms) {
		fail(p, "within(%llu, %llu ms): done after %llu ms, sooner than %llu ms",
		     (unsigned long long)b->min_ms, (unsigned long long)b->max_ms, took,
		     (unsigned long long)b->min_ms);
		return STP_EMISMATCH;
	}
	if (took > b->max_ms) {
		fail(p, "within(%llu, %llu ms): done after %llu ms, later than %llu ms",
		     (unsigned long long)b->min_ms, (unsigned long long)b->max_ms, took,
		     (unsigned long long)b->max_ms);
		return STP_EMISMATCH;
	}
	return 0;
}
