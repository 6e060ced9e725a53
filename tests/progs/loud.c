/*
 * loud.c - writes argv[1] MiB of output between a first and a last marker
 * line, then fails: for the head-and-tail of kept logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 1;
	static char line[1024];
	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 2] = '\n';
	puts("FIRST LINE OF OUTPUT");
	for (long i = 0; i < mib * 1024; i++)
		fputs(line, stdout);
	puts("LAST LINE OF OUTPUT");
	return 1;
}
