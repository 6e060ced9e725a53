/* hang.c - a test that never ends on its own (for run --timeout). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	puts("hanging until killed");
	fflush(stdout);
	for (;;)
		pause(); /* waits for a signal; only SIGKILL comes */
}
