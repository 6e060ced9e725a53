/*
 * helpers.h - small tools shared by the test suites: an order log that
 * controlled threads append to, and output captured into memory.
 */
#ifndef STEPPER_TEST_HELPERS_H
#define STEPPER_TEST_HELPERS_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MAX 4096

/* What threads did, in the order they did it. */
typedef struct order_log {
	pthread_mutex_t mu;
	int thread[LOG_MAX];
	int step[LOG_MAX];
	size_t n;
} order_log;

static inline void log_init(order_log *l)
{
	pthread_mutex_init(&l->mu, NULL);
	l->n = 0;
}

static inline void log_add(order_log *l, int thread, int step)
{
	pthread_mutex_lock(&l->mu);
	if (l->n < LOG_MAX) {
		l->thread[l->n] = thread;
		l->step[l->n] = step;
		l->n++;
	}
	pthread_mutex_unlock(&l->mu);
}

/* Output captured in memory: open, hand out the FILE, then read it. */
typedef struct capture {
	FILE *f;
	char *buf;
	size_t len;
} capture;

static inline FILE *capture_open(capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	return c->f;
}

/* Close the stream; the text stays in c->buf until capture_free. */
static inline const char *capture_text(capture *c)
{
	if (c->f) {
		fclose(c->f);
		c->f = NULL;
	}
	return c->buf ? c->buf : "";
}

static inline void capture_free(capture *c)
{
	if (c->f)
		fclose(c->f);
	free(c->buf);
	c->f = NULL;
	c->buf = NULL;
}

/* A one-shot event a thread can wait for (no sleeping, no polling). */
typedef struct event {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int set;
} event;

static inline void event_init(event *e)
{
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	e->set = 0;
}

static inline void event_set(event *e)
{
	pthread_mutex_lock(&e->mu);
	e->set = 1;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

static inline void event_wait(event *e)
{
	pthread_mutex_lock(&e->mu);
	while (!e->set)
		pthread_cond_wait(&e->cv, &e->mu);
	pthread_mutex_unlock(&e->mu);
}

static inline void event_destroy(event *e)
{
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
}

#ifdef STEPPER_STEPPER_H
/* The errors of a run, one a line, for failure messages (include
 * <stepper/stepper.h> first). */
static inline const char *errors_of(stp_stepper *s)
{
	static char buf[8192];
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < stp_error_count(s) && len < sizeof buf; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s\n", stp_error(s, i));
	return buf;
}
#endif

#endif
