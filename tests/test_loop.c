/*
 * test_loop.c - in-process seed loops: finding the lost update, saying
 * which seed and which order, and passing the fixed version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "examples/bank.h"
#include "helpers.h"

#include <stdio.h>
#include <string.h>

static stp_loop_options quiet_loop(uint64_t first, uint64_t count, FILE *out)
{
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = first;
	lo.count = count;
	lo.out = out;
	lo.name = "bank";
	lo.base.trace_dir = "build/test-traces";
	return lo;
}

static void test_loop_finds_the_lost_update_and_says_seed_and_order(void **state)
{
	(void)state;
	capture c;
	stp_loop_options lo = quiet_loop(1, 1000, capture_open(&c));
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &r), 1);
	assert_int_equal(r.failures, 1);
	assert_true(r.tried >= 1 && r.tried <= 1000);
	assert_int_equal(r.failed_seed, r.tried); /* seeds 1, 2, ... in order */
	const char *out = capture_text(&c);
	char head[128];
	snprintf(head, sizeof head, "stepper: bank: seed %llu failed after %llu seed",
		 (unsigned long long)r.failed_seed, (unsigned long long)r.tried);
	assert_non_null(strstr(out, head));
	assert_non_null(strstr(out, "  error: balance is "));
	assert_non_null(strstr(out, ", expected 220 (100 + 50 + 70)\n"));
	assert_non_null(strstr(out, "\n====\n[")); /* the order, printed */
	snprintf(head, sizeof head,
		 "replay: STEPPER_REPLAY=build/test-traces/bank-seed-%llu.json ",
		 (unsigned long long)r.failed_seed);
	assert_non_null(strstr(out, head));
	char path[128];
	snprintf(path, sizeof path, "build/test-traces/bank-seed-%llu.json",
		 (unsigned long long)r.failed_seed);
	assert_string_equal(r.trace_path, path);
	capture_free(&c);
}

/* The failing seed, run again on its own, fails the same way. */
static void test_failing_seed_fails_again_alone(void **state)
{
	(void)state;
	stp_loop_result r;
	stp_loop_options lo = quiet_loop(1, 1000, NULL);
	lo.quiet = 1;
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &r), 1);
	for (int i = 0; i < 20; i++) {
		stp_loop_result again;
		stp_loop_options one = quiet_loop(r.failed_seed, 1, NULL);
		one.quiet = 1;
		assert_int_equal(stp_loop(&one, racy_body, NULL, &again), 1);
		assert_int_equal(again.failed_seed, r.failed_seed);
	}
}

static void test_fixed_version_passes_10000_schedules(void **state)
{
	(void)state;
	capture c;
	stp_loop_options lo = quiet_loop(1, 10000, capture_open(&c));
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, fixed_body, NULL, &r), 0);
	assert_int_equal(r.tried, 10000);
	assert_int_equal(r.failures, 0);
	assert_non_null(strstr(capture_text(&c),
			       "stepper: bank: 10000 seeds passed (1..10000) in "));
	capture_free(&c);
}

static int returns_three(stp_stepper *s, void *arg)
{
	(void)s;
	(void)arg;
	return 3;
}

static void test_a_body_that_returns_nonzero_fails_the_seed(void **state)
{
	(void)state;
	capture c;
	stp_loop_options lo = quiet_loop(9, 5, capture_open(&c));
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, returns_three, NULL, &r), 1);
	assert_int_equal(r.failed_seed, 9);
	assert_non_null(strstr(capture_text(&c), "  error: the test body returned 3\n"));
	capture_free(&c);
}

static void test_loop_rejects_bad_arguments(void **state)
{
	(void)state;
	stp_loop_options lo = quiet_loop(1, 0, NULL);
	assert_int_equal(stp_loop(&lo, racy_body, NULL, NULL), STP_EINVAL);
	lo.count = 10;
	assert_int_equal(stp_loop(&lo, NULL, NULL, NULL), STP_EINVAL);
	lo = quiet_loop(UINT64_MAX, 2, NULL);
	assert_int_equal(stp_loop(&lo, racy_body, NULL, NULL), STP_ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_finds_the_lost_update_and_says_seed_and_order),
		cmocka_unit_test(test_failing_seed_fails_again_alone),
		cmocka_unit_test(test_fixed_version_passes_10000_schedules),
		cmocka_unit_test(test_a_body_that_returns_nonzero_fails_the_seed),
		cmocka_unit_test(test_loop_rejects_bad_arguments),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
