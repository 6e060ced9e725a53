/* c11_counter (C11 <threads.h>): two threads add 1 to a counter, reading it
 * under one mtx_lock and writing it under another: an update can be lost.
 * The fix: read and write under one lock. */
#include <assert.h>
#include <stdio.h>
#include <threads.h>

static mtx_t mu;
static int counter;

static int add(void *arg)
{
	(void)arg;
	mtx_lock(&mu);
	int v = counter; /* the bug: read here... */
	mtx_unlock(&mu);
	mtx_lock(&mu);
	counter = v + 1; /* ...write there */
	mtx_unlock(&mu);
	return 7;
}

int main(void)
{
	thrd_t a, b;
	int ra = 0, rb = 0;
	if (mtx_init(&mu, mtx_plain) != thrd_success || thrd_create(&a, add, NULL) != thrd_success ||
	    thrd_create(&b, add, NULL) != thrd_success)
		return 2;
	thrd_join(a, &ra);
	thrd_join(b, &rb);
	assert(ra == 7 && rb == 7);
	printf("counter %d\n", counter);
	assert(counter == 2 && "an update was lost");
	mtx_destroy(&mu);
	return 0;
}
