/* reader_writer (needs rwlock support): bookers check for a free seat under the
 * read lock, then book under the write lock without checking again: two can
 * book the last seat. Viewers read under the read lock. The fix: check again. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define SEATS 1

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int booked;

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static int seats_booked(void)
{
	pthread_rwlock_rdlock(&rw);
	int n = booked;
	pthread_rwlock_unlock(&rw);
	return n;
}

static void *booker(void *arg)
{
	(void)arg;
	if (seats_booked() < SEATS) {
		pthread_rwlock_wrlock(&rw);
		{ /* the bug: no second check under the write lock */
			booked++;
		}
		pthread_rwlock_unlock(&rw);
	}
	return NULL;
}

static void *viewer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2; i++)
		assert(seats_booked() <= SEATS && "more seats booked than there are");
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		check(pthread_create(&t[i], NULL, i % 2 ? viewer : booker, NULL),
		      "pthread_create");
	for (int i = 0; i < 4; i++)
		check(pthread_join(t[i], NULL), "pthread_join");
	assert(booked == SEATS && "more seats booked than there are");
	return 0;
}
