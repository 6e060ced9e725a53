/* edge_fork: a thread forks; the child (uncontrolled) locks a mutex the
 * parent's model knows, prints and exits; the parent waits for it. Exits 0. */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *forker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(&mu);
		printf("child ran\n");
		fflush(stdout);
		pthread_mutex_unlock(&mu);
		_exit(0);
	}
	int st = 1;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0)
		return (void *)1;
	return NULL;
}

int main(void)
{
	pthread_t t;
	void *ret = (void *)1;
	pthread_create(&t, NULL, forker, NULL);
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	pthread_join(t, &ret);
	return ret == NULL ? 0 : 3;
}
