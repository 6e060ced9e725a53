/* pass.c - a trivial stepper test that always passes (one seed per run). */
#include <stepper/stepper.h>

static void one(void *p)
{
	(void)p;
	STEP("a");
	STEP("b");
}

static int body(stp_stepper *s, void *arg)
{
	static const char *const order[] = { "a", "b", NULL };
	(void)arg;
	stp_thread(s, "x", order, one, NULL);
	stp_thread(s, "y", order, one, NULL);
	return stp_run(s) != 0;
}

int main(void)
{
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.quiet = 1;
	return stp_loop(&lo, body, NULL, NULL) != 0;
}
