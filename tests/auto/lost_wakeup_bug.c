/* lost_wakeup: the waiter checks the flag, unlocks, then locks again and waits
 * (an `if`, no loop): a signal sent in between is lost and the waiter waits for
 * ever. The fix: a while loop on the flag around the wait, under the mutex. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready; /* the message is there */

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s failed: error %d\n", what, rc);
		exit(2);
	}
}

static void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	int seen = ready;
	pthread_mutex_unlock(&mu); /* the bug: the signal may come here */
	if (!seen) {
		pthread_mutex_lock(&mu);
		pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void send_message(void)
{
	pthread_mutex_lock(&mu);
	ready = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

int main(void)
{
	pthread_t w;
	check(pthread_create(&w, NULL, waiter, NULL), "pthread_create");
	send_message();
	check(pthread_join(w, NULL), "pthread_join");
	return 0;
}
