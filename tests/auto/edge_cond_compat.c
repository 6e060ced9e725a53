/* edge_cond_compat: the condition calls of a program built against glibc's
 * old condition ABI (pthread_cond_*@GLIBC_2.2.5, bound here with .symver)
 * are points too: the waiter checks its flag once (`if`), so a signal sent
 * before it waits is lost, which the stepper reports as a lost wake-up. */
#include <pthread.h>

__asm__(".symver old_wait, pthread_cond_wait@GLIBC_2.2.5");
__asm__(".symver old_signal, pthread_cond_signal@GLIBC_2.2.5");
int old_wait(pthread_cond_t *cv, pthread_mutex_t *mu);
int old_signal(pthread_cond_t *cv);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready;

static void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	int seen = ready;
	pthread_mutex_unlock(&mu);
	pthread_mutex_lock(&mu);
	if (!seen)
		old_wait(&cv, &mu); /* the flag may have been set meanwhile */
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, waiter, NULL);
	pthread_mutex_lock(&mu);
	ready = 1;
	old_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	return 0;
}
