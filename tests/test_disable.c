/*
 * test_disable.c - with -DSTEPPER_DISABLE, STEP() and STP_CHECK() are
 * nothing at all: no code, no evaluation of their arguments.
 */
#define STEPPER_DISABLE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/stepper.h>

#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static int evaluated;

__attribute__((unused)) static const char *named(const char *n)
{
	evaluated++;
	return n;
}

static void disabled_steps(void *p)
{
	(void)p;
	STEP(named("a"));
	STP_CHECK(named("b") == NULL);
}

static void test_disabled_step_expands_to_nothing(void **state)
{
	(void)state;
	assert_string_equal(STR(STEP("x")), "((void)0)");
	assert_string_equal(STR(STP_CHECK(1 == 2)), "((void)0)");
}

static void test_disabled_step_is_not_a_step_point(void **state)
{
	(void)state;
	static const char *const order[] = { "a", NULL };
	stp_options o;
	stp_options_init(&o);
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "w", order, disabled_steps, NULL);
	/* the thread never reaches its declared step: an early end */
	assert_int_equal(stp_run(s), 1);
	assert_non_null(strstr(stp_error(s, 0), "early end: [w]"));
	assert_int_equal(evaluated, 0);
	stp_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled_step_expands_to_nothing),
		cmocka_unit_test(test_disabled_step_is_not_a_step_point),
	};
	return cmocka_run_group_tests_name("disable", tests, NULL, NULL);
}
