/*
 * filter.c - stp_log and the event filter: brackets that intercept log
 * events by level and pattern, mute them and check their exact count.
 */
#include "probe.h"
#include "base.h"

#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Events a filter keeps for its report; beyond that it only counts. */
#define KEEP 100

struct stp_log_filter {
	stp_log_level level;
	char *pattern;
	int regex;
	regex_t re;
	size_t want, got;
	char *kept[KEEP];
	int open;
	char *error;
	stp_log_filter *below; /* the filter begun before it, while open */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static stp_log_filter *top; /* the innermost open filter */
static stp_log_sink sink;
static void *sink_arg;

static const char *level_name(stp_log_level l)
{
	switch (l) {
	case STP_LOG_DEBUG:
		return "debug";
	case STP_LOG_INFO:
		return "info";
	case STP_LOG_WARN:
		return "warn";
	default:
		return "error";
	}
}

/* "warnings", "an info event"... for reports. */
static const char *level_plural(stp_log_level l, size_t n)
{
	static const char *const one[] = { "debug event", "info event", "warning", "error" };
	static const char *const many[] = { "debug events", "info events", "warnings",
					    "errors" };
	int i = l >= STP_LOG_DEBUG && l <= STP_LOG_ERROR ? (int)l : 3;
	return n == 1 ? one[i] : many[i];
}

void stp_log_set_sink(stp_log_sink s, void *arg)
{
	pthread_mutex_lock(&mu);
	sink = s;
	sink_arg = arg;
	pthread_mutex_unlock(&mu);
}

static int accepts(const stp_log_filter *f, stp_log_level level, const char *text)
{
	if (!f->open || f->level != level)
		return 0;
	if (f->regex)
		return regexec(&f->re, text, 0, NULL, 0) == 0;
	return strstr(text, f->pattern) != NULL;
}

void stp_log(stp_log_level level, const char *fmt, ...)
{
	if (!fmt)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *text = stp__vstrdupf(fmt, ap);
	va_end(ap);
	if (!text)
		return;
	pthread_mutex_lock(&mu);
	for (stp_log_filter *f = top; f; f = f->below) {
		if (!accepts(f, level, text))
			continue;
		if (f->got < KEEP) {
			f->kept[f->got] = text;
			text = NULL;
		}
		f->got++;
		pthread_mutex_unlock(&mu);
		free(text);
		return; /* muted */
	}
	stp_log_sink s = sink;
	void *arg = sink_arg;
	pthread_mutex_unlock(&mu);
	if (s)
		s(level, text, arg);
	else
		fprintf(stderr, "[%s] %s\n", level_name(level), text);
	free(text);
}

stp_log_filter *stp_filter_begin(stp_log_level level, const char *pattern,
				 unsigned flags, size_t count, char *errbuf,
				 size_t errsize)
{
	if (errbuf && errsize)
		errbuf[0] = '\0';
	if (!pattern || level < STP_LOG_DEBUG || level > STP_LOG_ERROR ||
	    (flags & ~STP_FILTER_REGEX)) {
		if (errbuf && errsize)
			snprintf(errbuf, errsize, "invalid argument: a level from "
						  "STP_LOG_DEBUG to STP_LOG_ERROR, a "
						  "pattern and STP_FILTER_REGEX at most");
		return NULL;
	}
	stp_log_filter *f = calloc(1, sizeof *f);
	if (!f || !(f->pattern = stp__strdup(pattern))) {
		free(f);
		if (errbuf && errsize)
			snprintf(errbuf, errsize, "out of memory");
		return NULL;
	}
	f->level = level;
	f->want = count;
	f->regex = (flags & STP_FILTER_REGEX) != 0;
	if (f->regex) {
		int e = regcomp(&f->re, pattern, REG_EXTENDED | REG_NOSUB);
		if (e) {
			char why[256];
			regerror(e, &f->re, why, sizeof why);
			if (errbuf && errsize)
				snprintf(errbuf, errsize, "invalid regular expression \"%s\": %s",
					 pattern, why);
			free(f->pattern);
			free(f);
			return NULL;
		}
	}
	pthread_mutex_lock(&mu);
	f->open = 1;
	f->below = top;
	top = f;
	pthread_mutex_unlock(&mu);
	return f;
}

static void set_error(stp_log_filter *f, const char *fmt, ...) STP_PRINTF(2, 3);
static void set_error(stp_log_filter *f, const char *fmt, ...)
{
	free(f->error);
	va_list ap;
	va_start(ap, fmt);
	f->error = stp__vstrdupf(fmt, ap);
	va_end(ap);
}

int stp_filter_end(stp_log_filter *f)
{
	if (!f)
		return STP_EINVAL;
	pthread_mutex_lock(&mu);
	if (!f->open) {
		pthread_mutex_unlock(&mu);
		set_error(f, "the filter for %s matching \"%s\" was already ended",
			  level_plural(f->level, 2), f->pattern);
		return STP_ESTATE;
	}
	if (top != f) {
		const char *inner = top->pattern;
		pthread_mutex_unlock(&mu);
		set_error(f, "ended out of order: the filter for \"%s\" began inside "
			     "this one and is still open; end it first",
			  inner);
		return STP_ESTATE;
	}
	top = f->below;
	f->open = 0;
	f->below = NULL;
	pthread_mutex_unlock(&mu);
	if (f->got == f->want) {
		free(f->error);
		f->error = NULL;
		return 0;
	}
	size_t cap = 256, len;
	char *text = malloc(cap);
	if (!text)
		return STP_EMISMATCH;
	len = (size_t)snprintf(text, cap, "expected %zu %s matching \"%s\", got %zu%s",
			       f->want, level_plural(f->level, f->want), f->pattern,
			       f->got, f->got ? ":" : "");
	for (size_t i = 0; i < f->got && i < KEEP; i++) {
		size_t need = len + strlen(f->kept[i]) + 16;
		if (need > cap) {
			char *t = realloc(text, need * 2);
			if (!t)
				break;
			text = t;
			cap = need * 2;
		}
		len += (size_t)snprintf(text + len, cap - len, "\n  [%s] %s",
					level_name(f->level), f->kept[i]);
	}
	if (f->got > KEEP)
		snprintf(text + len, cap - len, "\n  ... and %zu more", f->got - KEEP);
	free(f->error);
	f->error = text;
	return STP_EMISMATCH;
}

const char *stp_filter_error(const stp_log_filter *f)
{
	return f && f->error ? f->error : "";
}

size_t stp_filter_count(const stp_log_filter *f)
{
	return f ? f->got : 0;
}

void stp_filter_free(stp_log_filter *f)
{
	if (!f)
		return;
	if (f->open) {
		/* taken out of the stack; filters begun inside it stay open */
		pthread_mutex_lock(&mu);
		for (stp_log_filter **pp = &top; *pp; pp = &(*pp)->below)
			if (*pp == f) {
				*pp = f->below;
				break;
			}
		f->open = 0;
		pthread_mutex_unlock(&mu);
	}
	for (size_t i = 0; i < f->got && i < KEEP; i++)
		free(f->kept[i]);
	if (f->regex)
		regfree(&f->re);
	free(f->pattern);
	free(f->error);
	free(f);
}
