/*
 * idle.h - the idle-connection example: a connection whose worker closes
 * its event queue after 10 s with no activity. Written against the clock
 * API, so production gets real time and tests get virtual time.
 */
#ifndef STEPPER_EXAMPLE_IDLE_H
#define STEPPER_EXAMPLE_IDLE_H

#include <stepper/clock.h>

#include <pthread.h>

#define IDLE_TIMEOUT STP_SECONDS(10)

struct conn {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int open;     /* the event queue accepts events */
	int activity; /* something happened since the worker last looked */
	int stop;
};

static void conn_init(struct conn *c)
{
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->open = 1;
	c->activity = 0;
	c->stop = 0;
}

/* The worker: wait for activity; 10 s without any closes the queue. */
static void conn_worker(struct conn *c)
{
	pthread_mutex_lock(&c->mu);
	while (c->open && !c->stop) {
		int rc = stp_cond_timedwait_ns(&c->cv, &c->mu, IDLE_TIMEOUT);
		if (rc == STP_ETIMEDOUT && !c->activity)
			c->open = 0;
		c->activity = 0;
	}
	pthread_mutex_unlock(&c->mu);
}

/* Activity on the connection: the idle period starts again. */
static void conn_touch(struct conn *c)
{
	pthread_mutex_lock(&c->mu);
	c->activity = 1;
	stp_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void conn_stop(struct conn *c)
{
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	stp_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static int conn_is_open(struct conn *c)
{
	pthread_mutex_lock(&c->mu);
	int o = c->open;
	pthread_mutex_unlock(&c->mu);
	return o;
}

#endif
