/*
 * bigtrace.c - writes argv[1] MiB at $STEPPER_TRACE (a trace too large to
 * read on the supervising path), then fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *path = getenv("STEPPER_TRACE");
	long mib = argc > 1 ? atol(argv[1]) : 1;
	FILE *f = path ? fopen(path, "w") : NULL;
	if (!f)
		return 2;
	static char block[1 << 20];
	memset(block, ' ', sizeof block);
	fputc('{', f);
	for (long i = 0; i < mib; i++)
		fwrite(block, 1, sizeof block, f);
	fputs("}\n", f);
	return fclose(f) == 0;
}
