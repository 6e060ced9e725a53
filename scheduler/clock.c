/*
 * clock.c - the virtual clock: members, the deadline heap, advancing,
 * auto mode, and the reports for stalls and deadlocks.
 */
#include "clock_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Thread_local stp__member *stp__member_self;
_Thread_local stp_clock *stp__callback_clock;

/* Live clocks, for stp_cond_signal (which does not know the clock). */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static stp_clock *registry;

/* ------------------------------------------------------------------ */
/* The deadline heap: earliest deadline first, then registration order  */
/* ------------------------------------------------------------------ */

/* Members blocked or left, auto mode or quit changed: wake whoever waits
 * for the clock to be idle (c->mu held). */
static void idle_changed(stp_clock *c)
{
	atomic_fetch_add_explicit(&c->idle_gen, 1, memory_order_release);
	pthread_cond_broadcast(&c->idle_cv);
	stp__sem_post(&c->idle_sem);
}

static int before(const struct stp_timer *a, const struct stp_timer *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_swap(stp_clock *c, size_t i, size_t j)
{
	struct stp_timer *t = c->heap[i];
	c->heap[i] = c->heap[j];
	c->heap[j] = t;
	c->heap[i]->heap_index = i;
	c->heap[j]->heap_index = j;
}

static void sift_up(stp_clock *c, size_t i)
{
	while (i > 0 && before(c->heap[i], c->heap[(i - 1) / 2])) {
		heap_swap(c, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(stp_clock *c, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < c->nheap && before(c->heap[l], c->heap[m]))
			m = l;
		if (r < c->nheap && before(c->heap[r], c->heap[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(c, i, m);
		i = m;
	}
}

int stp__clock_push(stp_clock *c, struct stp_timer *t)
{
	if (c->nheap == c->capheap) {
		size_t cap = c->capheap ? 2 * c->capheap : 64;
		struct stp_timer **h = realloc(c->heap, cap * sizeof *h);
		if (!h)
			return STP_ENOMEM;
		c->heap = h;
		c->capheap = cap;
	}
	t->seq = c->seq++;
	t->heap_index = c->nheap;
	c->heap[c->nheap++] = t;
	sift_up(c, t->heap_index);
	return 0;
}

void stp__clock_remove(stp_clock *c, struct stp_timer *t)
{
	size_t i = t->heap_index;
	if (i >= c->nheap || c->heap[i] != t)
		return;
	c->nheap--;
	if (i != c->nheap) {
		c->heap[i] = c->heap[c->nheap];
		c->heap[i]->heap_index = i;
		sift_down(c, i);
		sift_up(c, i);
	}
	t->heap_index = SIZE_MAX;
}

static struct stp_timer *heap_pop(stp_clock *c)
{
	if (c->nheap == 0)
		return NULL;
	struct stp_timer *t = c->heap[0];
	stp__clock_remove(c, t);
	return t;
}

/* ------------------------------------------------------------------ */
/* Making and freeing                                                  */
/* ------------------------------------------------------------------ */

stp_clock *stp_clock_new(uint64_t start_ns)
{
	stp_clock *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	/* The clock's lock passes between the advancing thread and the one it
	 * woke at every advance, for a few instructions each time: a waiter
	 * spins a little before it sleeps in the kernel. */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	int bad = pthread_mutex_init(&c->mu, &ma);
	pthread_mutexattr_destroy(&ma);
	if (bad || pthread_cond_init(&c->idle_cv, &ca)) {
		if (!bad)
			pthread_mutex_destroy(&c->mu);
		pthread_condattr_destroy(&ca);
		free(c);
		return NULL;
	}
	pthread_condattr_destroy(&ca);
	stp__sem_init(&c->idle_sem);
	atomic_init(&c->now, start_ns);
	stp_options o;
	stp_options_init(&o);
	c->stall_ms = o.stall_ms;
	stp__lock(&registry_mu);
	c->next_clock = registry;
	registry = c;
	stp__unlock(&registry_mu);
	return c;
}

void stp_clock_free(stp_clock *c)
{
	if (!c)
		return;
	stp__lock(&registry_mu);
	for (stp_clock **p = &registry; *p; p = &(*p)->next_clock)
		if (*p == c) {
			*p = c->next_clock;
			break;
		}
	stp__unlock(&registry_mu);
	stp__lock(&c->mu);
	c->quit = 1;
	idle_changed(c);
	int started = c->auto_started;
	stp__unlock(&c->mu);
	if (started)
		pthread_join(c->auto_tid, NULL);
	for (struct stp_timer *t = c->all, *n; t; t = n) {
		n = t->all_next;
		free(t);
	}
	/* entries that are not user handles (sleeps, waits) belong to their
	 * waiters, which are gone: members must have left */
	free(c->heap);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->idle_cv);
	free(c);
}

uint64_t stp_clock_now(const stp_clock *c)
{
	return c ? atomic_load(&((stp_clock *)c)->now) : 0;
}

void stp_clock_set_stall_ms(stp_clock *c, unsigned ms)
{
	if (c && ms > 0) {
		stp__lock(&c->mu);
		c->stall_ms = ms;
		stp__unlock(&c->mu);
	}
}

const char *stp_clock_error(const stp_clock *c)
{
	return c ? c->error : "";
}

int stp_clock_next_deadline(const stp_clock *c, uint64_t *ns)
{
	if (!c || !ns)
		return STP_EINVAL;
	stp_clock *m = (stp_clock *)c;
	stp__lock(&m->mu);
	int rc = m->nheap ? 0 : STP_ENOENT;
	if (m->nheap)
		*ns = m->heap[0]->deadline;
	stp__unlock(&m->mu);
	return rc;
}

int stp_clock_members(const stp_clock *c, int *blocked)
{
	if (!c)
		return 0;
	stp_clock *m = (stp_clock *)c;
	stp__lock(&m->mu);
	int n = m->nmembers;
	if (blocked)
		*blocked = m->nblocked;
	stp__unlock(&m->mu);
	return n;
}

/* ------------------------------------------------------------------ */
/* Members                                                             */
/* ------------------------------------------------------------------ */

static int all_blocked(const stp_clock *c)
{
	return c->nblocked == c->nmembers;
}

static stp__member *new_member(stp_clock *c, const char *name)
{
	stp__member *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->c = c;
	stp__sem_init(&m->sem);
	if (name)
		snprintf(m->name, sizeof m->name, "%s", name);
	else
		snprintf(m->name, sizeof m->name, "thread %d", ++c->nanon);
	m->state = STP__M_RUNNING;
	m->next = c->members;
	c->members = m;
	c->nmembers++;
	return m;
}

static void drop_member(stp_clock *c, stp__member *m)
{
	for (stp__member **p = &c->members; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			break;
		}
	if (m->state == STP__M_BLOCKED)
		c->nblocked--;
	c->nmembers--;
	m->state = STP__M_RUNNING;
	m->at_turnstile = 0;
	m->left = 1;
	idle_changed(c);
	if (m->kept)
		return; /* a stepper's thread record still points here */
	free(m);
}

void stp__clock_free_member(stp__member *m)
{
	if (!m)
		return;
	free(m);
}

int stp_clock_enter_named(stp_clock *c, const char *name)
{
	if (!c || (name && (!*name || strlen(name) > STP_MAX_NAME)))
		return STP_EINVAL;
	if (stp__member_self)
		return STP_ESTATE;
	stp__lock(&c->mu);
	stp__member *m = new_member(c, name);
	stp__unlock(&c->mu);
	if (!m)
		return STP_ENOMEM;
	stp__member_self = m;
	return 0;
}

int stp_clock_enter(stp_clock *c)
{
	return stp_clock_enter_named(c, NULL);
}

int stp_clock_leave(void)
{
	stp__member *m = stp__member_self;
	if (!m)
		return STP_ESTATE;
	stp__member_self = NULL;
	stp_clock *c = m->c;
	stp__lock(&c->mu);
	drop_member(c, m);
	stp__unlock(&c->mu);
	return 0;
}

void stp__clock_seconds_text(char *buf, size_t size, uint64_t ns)
{
	snprintf(buf, size, "%llu.%09llu s", (unsigned long long)(ns / STP_NS_PER_SEC),
		 (unsigned long long)(ns % STP_NS_PER_SEC));
}

const char *stp__clock_waits_text(stp__member *m)
{
	if (m->sleeping) {
		char when[48];
		stp__clock_seconds_text(when, sizeof when, m->sleeps_until);
		snprintf(m->waits_on, sizeof m->waits_on, "a sleep until %s", when);
		m->sleeping = 0;
	}
	return m->waits_on;
}

static void mark_blocked(stp__member *m)
{
	if (m->state != STP__M_BLOCKED) {
		m->state = STP__M_BLOCKED;
		m->c->nblocked++;
		if (all_blocked(m->c))
			idle_changed(m->c);
	}
}

/* Caller holds c->mu. */
void stp__clock_block_locked(stp__member *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->waits_on, sizeof m->waits_on, fmt, ap);
	va_end(ap);
	m->sleeping = 0;
	mark_blocked(m);
}

void stp__clock_block_sleep_locked(stp__member *m, uint64_t deadline)
{
	m->sleeps_until = deadline;
	m->sleeping = 1;
	mark_blocked(m);
}

void stp__clock_unblock_locked(stp__member *m)
{
	if (m->state == STP__M_BLOCKED) {
		m->state = STP__M_RUNNING;
		m->c->nblocked--;
	}
}

/* ------------------------------------------------------------------ */
/* Hooks for a stepper run                                             */
/* ------------------------------------------------------------------ */

stp__member *stp__clock_add_member(stp_clock *c, const char *name,
				   void (*describe)(void *arg, char *buf, size_t size),
				   void *arg)
{
	stp__lock(&c->mu);
	stp__member *m = new_member(c, name);
	if (m) {
		m->describe = describe;
		m->describe_arg = arg;
		m->kept = 1;
	}
	stp__unlock(&c->mu);
	return m;
}

void stp__clock_adopt(stp__member *m)
{
	stp__member_self = m;
}

void stp__clock_leave_member(stp__member *m)
{
	if (stp__member_self == m)
		stp__member_self = NULL;
	stp_clock *c = m->c; /* drop_member frees m */
	stp__lock(&c->mu);
	drop_member(c, m);
	stp__unlock(&c->mu);
}

int stp__clock_block_unless(stp__member *m, int (*ready)(void *), void *arg,
			    size_t key, const char *what, const char *name)
{
	stp__lock(&m->c->mu);
	int block = !ready(arg);
	if (block) {
		stp__clock_block_locked(m, "%s '%s'", what, name);
		m->at_turnstile = 1;
		m->turn_key = key;
	}
	stp__unlock(&m->c->mu);
	return block;
}

void stp__clock_unblock(stp__member *m)
{
	stp__lock(&m->c->mu);
	m->at_turnstile = 0;
	stp__clock_unblock_locked(m);
	stp__unlock(&m->c->mu);
}

/* The turnstile lets a thread go: it runs from now on, if it was waiting
 * for its turn. A member blocked elsewhere (asleep, in a condition wait)
 * stays blocked: a turnstile post does not end that wait. */
void stp__clock_mark_running(stp__member *m, size_t key)
{
	stp__lock(&m->c->mu);
	if (!m->left && m->at_turnstile && (key == STP__ANY_TURN || key == m->turn_key)) {
		m->at_turnstile = 0;
		stp__clock_unblock_locked(m);
	}
	stp__unlock(&m->c->mu);
}

void stp__clock_describe(stp_clock *c, char *buf, size_t size)
{
	stp__lock(&c->mu);
	size_t len = strlen(buf);
	len += (size_t)snprintf(buf + len, size - len,
				"\n  clock: %d member%s, %d blocked, %zu deadline%s pending%s",
				c->nmembers, c->nmembers == 1 ? "" : "s", c->nblocked,
				c->nheap, c->nheap == 1 ? "" : "s",
				c->auto_on ? ", auto mode" : "");
	for (stp__member *m = c->members; m && len < size; m = m->next)
		len += (size_t)snprintf(buf + len, size - len, "\n    [%s] %s%s", m->name,
					m->state == STP__M_BLOCKED ? "blocked on " : "running",
					m->state == STP__M_BLOCKED ? stp__clock_waits_text(m)
								    : "");
	stp__unlock(&c->mu);
}

void stp__clock_attach(stp_clock *c, unsigned stall_ms,
		       void (*on_stall)(void *arg, const char *report), void *arg)
{
	stp__lock(&c->mu);
	c->on_stall = on_stall;
	c->stall_arg = arg;
	if (on_stall)
		c->stall_ms = stall_ms;
	stp__unlock(&c->mu);
}

/* ------------------------------------------------------------------ */
/* Firing                                                              */
/* ------------------------------------------------------------------ */

/* Take one deadline; c->mu is held and may be dropped meanwhile. */
static void fire(stp_clock *c, struct stp_timer *t)
{
	atomic_store(&c->now, t->deadline);
	t->state = STP__TS_FIRED;
	if (t->kind == STP__TK_TIMER) {
		stp__unlock(&c->mu);
		stp_clock *saved = stp__callback_clock;
		stp__callback_clock = c;
		t->cb(t->arg);
		stp__callback_clock = saved;
		stp__lock(&c->mu);
		return;
	}
	stp__member *m = t->waiter;
	stp__clock_unblock_locked(m); /* it runs now: the clock waits for it */
	atomic_store_explicit(&m->fired, 1, memory_order_release);
	if (t->kind == STP__TK_SLEEP) {
		stp__sem_post(&m->sem);
		return;
	}
	/* A timed condition wait: wake it on its own condition, holding its
	 * mutex so the wake-up cannot fall between its registration and its
	 * wait. The lock order is the waiter's mutex, then c->mu. */
	pthread_cond_t *cv = m->wait_cv;
	pthread_mutex_t *mu = m->wait_mu;
	stp__unlock(&c->mu);
	stp__lock(mu);
	pthread_cond_broadcast(cv);
	stp__unlock(mu);
	stp__lock(&c->mu);
}

/* What each running member is doing, for a stall report. */
static void report_running(stp_clock *c, unsigned waited_ms)
{
	size_t len = (size_t)snprintf(c->error, sizeof c->error,
				      "clock: after %u ms of real time, ", waited_ms);
	int first = 1;
	for (stp__member *m = c->members; m && len < sizeof c->error; m = m->next) {
		if (m->state != STP__M_RUNNING)
			continue;
		char where[3 * STP_MAX_NAME];
		where[0] = '\0';
		if (m->describe)
			m->describe(m->describe_arg, where, sizeof where);
		len += (size_t)snprintf(c->error + len, sizeof c->error - len,
					"%s[%s]%s", first ? "" : ", ", m->name, where);
		first = 0;
	}
	if (len < sizeof c->error)
		snprintf(c->error + len, sizeof c->error - len,
			 " is neither blocked in a clock-aware wait nor ended; it may "
			 "be blocked where the clock cannot see (a plain mutex or "
			 "condition, I/O) or busy");
}

/* Wait, holding c->mu, until every member is blocked or gone. */
static int wait_idle_locked(stp_clock *c)
{
	if (all_blocked(c) || c->deadlocked)
		return c->deadlocked ? STP_EDEADLOCK : 0;
	/* A member an advance woke usually blocks again within a microsecond:
	 * spin for that first, as a turnstile's waiter does, then sleep. */
	for (int round = 0; round < 4 && !all_blocked(c) && !c->deadlocked; round++) {
		uint32_t gen = atomic_load_explicit(&c->idle_gen, memory_order_acquire);
		stp__unlock(&c->mu);
		int moved = stp__spin_while(&c->idle_gen, gen);
		stp__lock(&c->mu);
		if (!moved)
			break;
	}
	if (all_blocked(c) || c->deadlocked)
		return c->deadlocked ? STP_EDEADLOCK : 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t limit = (uint64_t)ts.tv_sec * STP_NS_PER_SEC + (uint64_t)ts.tv_nsec +
			 (uint64_t)c->stall_ms * 1000000u;
	struct timespec dl = { .tv_sec = (time_t)(limit / STP_NS_PER_SEC),
			       .tv_nsec = (long)(limit % STP_NS_PER_SEC) };
	while (!all_blocked(c) && !c->deadlocked) {
		if (pthread_cond_timedwait(&c->idle_cv, &c->mu, &dl) == ETIMEDOUT &&
		    !all_blocked(c)) {
			report_running(c, c->stall_ms);
			return STP_ESTALL;
		}
	}
	return c->deadlocked ? STP_EDEADLOCK : 0;
}

int stp_clock_wait_idle(stp_clock *c)
{
	if (!c)
		return STP_EINVAL;
	if (stp__member_self)
		return STP_ESTATE;
	stp__lock(&c->mu);
	int rc = wait_idle_locked(c);
	stp__unlock(&c->mu);
	return rc;
}

int stp_clock_advance(stp_clock *c, uint64_t ns)
{
	if (!c)
		return STP_EINVAL;
	if (stp__member_self)
		return STP_ESTATE;
	stp__lock(&c->mu);
	uint64_t start = atomic_load(&c->now);
	if (start + ns < start) {
		stp__unlock(&c->mu);
		return STP_ERANGE;
	}
	uint64_t target = start + ns;
	int fired = 0;
	int rc = wait_idle_locked(c);
	while (rc == 0 && c->nheap > 0 && c->heap[0]->deadline <= target) {
		fire(c, heap_pop(c));
		fired++;
		rc = wait_idle_locked(c);
	}
	if (rc == 0)
		atomic_store(&c->now, target);
	stp__unlock(&c->mu);
	return rc < 0 ? rc : fired;
}

/* ------------------------------------------------------------------ */
/* Auto mode                                                           */
/* ------------------------------------------------------------------ */

static void report_deadlock(stp_clock *c)
{
	size_t len = (size_t)snprintf(c->error, sizeof c->error,
				      "deadlock: every member of the clock is blocked "
				      "and no deadline is pending:");
	for (stp__member *m = c->members; m && len < sizeof c->error; m = m->next)
		len += (size_t)snprintf(c->error + len, sizeof c->error - len,
					"\n  [%s] waits on %s", m->name,
					stp__clock_waits_text(m));
}

/* Wake every clock-aware wait with the deadlock. c->mu is held. */
static void break_deadlock(stp_clock *c)
{
	c->deadlocked = 1;
	report_deadlock(c);
	for (stp__member *m = c->members; m; m = m->next)
		stp__sem_post(&m->sem);
	/* condition waiters: collect first, the members may leave meanwhile
	 * (there may be hundreds; without memory for a list that long, only
	 * the first BATCH are woken) */
	enum { BATCH = 64 };
	size_t cap = 0, n = 0;
	for (stp__member *m = c->members; m; m = m->next)
		cap += m->wait_cv != NULL;
	struct waiter {
		pthread_cond_t *cv;
		pthread_mutex_t *mu;
	} batch[BATCH], *w = cap > BATCH ? malloc(cap * sizeof *w) : NULL;
	if (!w) {
		w = batch;
		cap = cap < BATCH ? cap : BATCH;
	}
	for (stp__member *m = c->members; m && n < cap; m = m->next)
		if (m->wait_cv)
			w[n++] = (struct waiter){ m->wait_cv, m->wait_mu };
	void (*on_stall)(void *, const char *) = c->on_stall;
	void *arg = c->stall_arg;
	stp__unlock(&c->mu);
	for (size_t i = 0; i < n; i++) {
		stp__lock(w[i].mu);
		pthread_cond_broadcast(w[i].cv);
		stp__unlock(w[i].mu);
	}
	if (w != batch)
		free(w);
	if (on_stall)
		on_stall(arg, c->error);
	stp__lock(&c->mu);
}

static void *auto_main(void *p)
{
	stp_clock *c = p;
	stp__lock(&c->mu);
	for (;;) {
		/* (the hand-off's wait: a spin while the members' work is
		 * short, as a sleep's usually is, then the kernel) */
		while (!c->quit && !(c->auto_on && c->nmembers > 0 && all_blocked(c) &&
				     !c->deadlocked)) {
			stp__unlock(&c->mu);
			stp__sem_wait(&c->idle_sem, STP__HOT);
			stp__lock(&c->mu);
		}
		if (c->quit)
			break;
		if (c->nheap == 0)
			break_deadlock(c);
		else
			fire(c, heap_pop(c));
	}
	stp__unlock(&c->mu);
	return NULL;
}

void stp_clock_set_auto(stp_clock *c, int on)
{
	if (!c)
		return;
	stp__lock(&c->mu);
	c->auto_on = on != 0;
	if (on && !c->auto_started) {
		if (pthread_create(&c->auto_tid, NULL, auto_main, c) == 0)
			c->auto_started = 1;
		else
			snprintf(c->error, sizeof c->error,
				 "clock: could not start the auto-mode thread");
	}
	idle_changed(c);
	stp__unlock(&c->mu);
}

/* For stp_cond_signal: mark every clock-aware waiter of cv running. */
void stp__clock_waking(pthread_cond_t *cv)
{
	stp__lock(&registry_mu);
	for (stp_clock *c = registry; c; c = c->next_clock) {
		stp__lock(&c->mu);
		for (stp__member *m = c->members; m; m = m->next)
			if (m->wait_cv == cv)
				stp__clock_unblock_locked(m);
		stp__unlock(&c->mu);
	}
	stp__unlock(&registry_mu);
}
