/*
 * inproc.c - named, reusable barriers for threads of one process.
 */
#include "barrier_int.h"
#include "base.h"
#include "handoff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct label {
	struct label *next;
	char name[STP_BARRIER_MAX_NAME + 1];
	uint64_t generation; /* completed generations */
	unsigned arrived;
} label;

struct stp_barrier {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned parties;
	label *labels;
};

int stp_barrier_valid_name(const char *s)
{
	if (!s)
		return 0;
	size_t n = strnlen(s, STP_BARRIER_MAX_NAME + 1);
	return n >= 1 && n <= STP_BARRIER_MAX_NAME &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") == n;
}

uint64_t stp__deadline_ns(uint64_t now_ns, uint64_t ms)
{
	if (ms >= UINT64_MAX / 1000000u)
		return UINT64_MAX;
	uint64_t d = ms * 1000000u;
	return d >= UINT64_MAX - now_ns ? UINT64_MAX : now_ns + d;
}

stp_barrier *stp_barrier_new(unsigned parties)
{
	if (parties == 0)
		return NULL;
	stp_barrier *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	b->parties = parties;
	return b;
}

void stp_barrier_free(stp_barrier *b)
{
	if (!b)
		return;
	for (label *l = b->labels, *n; l; l = n) {
		n = l->next;
		free(l);
	}
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b);
}

static label *find(stp_barrier *b, const char *name)
{
	for (label *l = b->labels; l; l = l->next)
		if (strcmp(l->name, name) == 0)
			return l;
	label *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	snprintf(l->name, sizeof l->name, "%s", name);
	l->next = b->labels;
	b->labels = l;
	return l;
}

int stp_barrier_wait(stp_barrier *b, const char *name, uint64_t timeout_ms,
		     stp_barrier_result *r)
{
	stp_barrier_result dummy;
	if (!r)
		r = &dummy;
	memset(r, 0, sizeof *r);
	if (!b || !stp_barrier_valid_name(name))
		return STP_EINVAL;
	r->expected = b->parties;
	pthread_mutex_lock(&b->mu);
	label *l = find(b, name);
	if (!l) {
		pthread_mutex_unlock(&b->mu);
		return STP_ENOMEM;
	}
	uint64_t mine = l->generation;
	if (++l->arrived == b->parties) {
		l->generation++;
		l->arrived = 0;
		pthread_cond_broadcast(&b->cv);
		r->generation = l->generation;
		r->arrived = b->parties;
		pthread_mutex_unlock(&b->mu);
		return 0;
	}
	/* a deadline past the clock's range never comes */
	uint64_t dl = stp__deadline_ns(stp__mono_ns(), timeout_ms);
	struct timespec ts = { .tv_sec = (time_t)(dl / 1000000000u),
			       .tv_nsec = (long)(dl % 1000000000u) };
	while (l->generation == mine) {
		if (dl == UINT64_MAX) {
			pthread_cond_wait(&b->cv, &b->mu);
			continue;
		}
		if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) == ETIMEDOUT &&
		    l->generation == mine) {
			r->arrived = l->arrived;
			l->arrived--; /* this party leaves */
			pthread_mutex_unlock(&b->mu);
			return STP_ETIMEDOUT;
		}
	}
	r->generation = mine + 1;
	r->arrived = b->parties;
	pthread_mutex_unlock(&b->mu);
	return 0;
}
