/*
 * node.c - a barrier node for tests: node ADDR NAME TOKEN LABEL...
 * Prints "arriving at LABEL" before each barrier and its answer after:
 * "LABEL: OK <gen>", "LABEL: TIMEOUT <detail>", "LABEL: FAIL <detail>".
 * Exit 0 when every barrier was OK, 1 otherwise, 2 on bad arguments.
 */
#include <stepper/barrier.h>

#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	char err[256];
	stp_node *n = stp_node_connect(argv[1], argv[2], argv[3], err, sizeof err);
	if (!n) {
		printf("connect: %s\n", err);
		return 2;
	}
	int ok = 1;
	for (int i = 4; i < argc; i++) {
		printf("arriving at %s\n", argv[i]);
		fflush(stdout);
		uint64_t gen = 0;
		char detail[256];
		int rc = stp_node_barrier(n, argv[i], &gen, detail, sizeof detail);
		if (rc == 0)
			printf("%s: OK %llu\n", argv[i], (unsigned long long)gen);
		else
			printf("%s: %s %s\n", argv[i],
			       rc == STP_ETIMEDOUT ? "TIMEOUT" : rc == STP_ECLOSED ? "FAIL" : "ERR",
			       detail);
		fflush(stdout);
		ok &= rc == 0;
	}
	stp_node_free(n);
	return ok ? 0 : 1;
}
