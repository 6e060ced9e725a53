/* edge_named_sem: a named semaphore (sem_open) may be shared with other
 * processes, which the stepper cannot see: its calls go to the real
 * functions, and the program runs as it would without the stepper. */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

static sem_t *sem;

static void *poster(void *arg)
{
	(void)arg;
	sem_post(sem);
	return NULL;
}

int main(void)
{
	char name[64];
	snprintf(name, sizeof name, "/stepper-edge-named-%ld", (long)getpid());
	sem = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
	if (sem == SEM_FAILED)
		return 2;
	sem_unlink(name);
	pthread_t t;
	pthread_create(&t, NULL, poster, NULL);
	pthread_join(t, NULL);
	sem_wait(sem); /* posted: returns at once */
	sem_close(sem);
	printf("named semaphore taken\n");
	return 0;
}
