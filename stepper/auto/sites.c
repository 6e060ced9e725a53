/*
 * sites.c - call sites in reports: "prog+0x11b9" as the core records a
 * point's site (no address, so the text is the same under ASLR), and
 * "prog+0x11b9 (worker_a at abba.c:21)" as a failure report prints it,
 * from addr2line when binutils and debug information are there.
 *
 * Only failures are symbolised, once each, by one addr2line process for
 * all the sites of the program's executable in the report; never from a
 * signal handler (the caller says).
 */
#include "auto_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SITES 64
#define CMD_SIZE 4096

struct site {
	unsigned long off;
	char text[200]; /* "worker_a at abba.c:21" */
};

static const char *exe_name(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* Each "<name>+0x<hex>" in text, where name is the executable's base name. */
static size_t collect(const char *text, const char *name, struct site *sites, size_t n)
{
	size_t len = strlen(name);
	for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
		if ((p > text && p[-1] != ' ' && p[-1] != '(') || strncmp(p + len, "+0x", 3) != 0)
			continue;
		unsigned long off = strtoul(p + len + 3, NULL, 16);
		size_t i = 0;
		while (i < n && sites[i].off != off)
			i++;
		if (i == n && n < MAX_SITES)
			sites[n++] = (struct site){ .off = off };
	}
	return n;
}

/* Fill each site's text from one addr2line run; sites it cannot name
 * keep an empty text. */
static void name_sites(const char *exe, struct site *sites, size_t n)
{
	char *cmd = malloc(CMD_SIZE);
	if (!cmd)
		return;
	size_t len = (size_t)snprintf(cmd, CMD_SIZE, "addr2line -f -e '%s' 2>/dev/null", exe);
	if (strchr(exe, '\'') || len >= CMD_SIZE) {
		free(cmd);
		return;
	}
	for (size_t i = 0; i < n && len + 24 < CMD_SIZE; i++)
		len += (size_t)snprintf(cmd + len, CMD_SIZE - len, " 0x%lx", sites[i].off);
	FILE *f = popen(cmd, "r");
	free(cmd);
	if (!f)
		return;
	char fn[160], at[512];
	for (size_t i = 0; i < n && fgets(fn, sizeof fn, f) && fgets(at, sizeof at, f); i++) {
		fn[strcspn(fn, "\n")] = '\0';
		at[strcspn(at, "\n")] = '\0';
		if (strncmp(at, "??", 2) == 0)
			continue;
		const char *base = strrchr(at, '/');
		char *disc = strstr(at, " (discriminator");
		if (disc)
			*disc = '\0';
		snprintf(sites[i].text, sizeof sites[i].text, "%.80s at %.110s", fn,
			 base ? base + 1 : at);
	}
	pclose(f);
}

/* text with each site followed by its name. */
static void print_named(FILE *out, const char *text, const char *name,
			const struct site *sites, size_t n)
{
	size_t len = strlen(name);
	const char *p = text;
	for (const char *q = strstr(p, name); q; q = strstr(q + 1, name)) {
		if ((q > text && q[-1] != ' ' && q[-1] != '(') || strncmp(q + len, "+0x", 3) != 0)
			continue;
		char *end;
		unsigned long off = strtoul(q + len + 3, &end, 16);
		for (size_t i = 0; i < n; i++)
			if (sites[i].off == off && sites[i].text[0]) {
				fwrite(p, 1, (size_t)(end - p), out);
				fprintf(out, " (%s)", sites[i].text);
				p = end;
				break;
			}
	}
	fputs(p, out);
}

void stp__auto_print_errors(stp_stepper *s, FILE *out, int symbolise)
{
	/* on the heap: this runs on whichever thread of the program found the
	 * failure, whose stack may be small */
	struct work {
		char exe[1024];
		struct site sites[MAX_SITES];
	} *w = symbolise ? calloc(1, sizeof *w) : NULL;
	const char *path = w ? exe_name(w->exe, sizeof w->exe) : NULL;
	const char *name = path ? strrchr(path, '/') : NULL;
	name = name ? name + 1 : path;
	struct site *sites = w ? w->sites : NULL;
	size_t n = 0;
	for (size_t i = 0; name && i < stp_error_count(s); i++)
		n = collect(stp_error(s, i), name, sites, n);
	if (n)
		name_sites(path, sites, n);
	for (size_t i = 0; i < stp_error_count(s); i++) {
		fputs("stepper: ", out);
		print_named(out, stp_error(s, i), name ? name : "\x01", sites, n);
		fputc('\n', out);
	}
	free(w);
}
