/*
 * run_out.c - what `stepper run` leaves behind and prints: the run
 * folder (created at the first failure), kept traces and logs, run.txt,
 * the JUnit file, the header and the summary.
 *
 * Runs write into DIR/.NAME.inflight/; a passing or interrupted run's files
 * are deleted there, a failing run's are moved to DIR/NAME/. NAME is
 * run-YYYYMMDD-HHMMSS-PID (UTC start), so no two invocations share a
 * folder and nothing of an earlier one is touched.
 */
#include "run.h"
#include "base.h"
#include <stepper/stepper.h>
#include <stepper/trace.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

uint64_t cli_run_seed_at(const runner *r, uint64_t k)
{
	return r->o.first + r->o.shard_i + k * r->o.shard_n;
}

void cli_run_work_path(const runner *r, uint64_t seed, const char *ext, char *buf)
{
	snprintf(buf, RUN_PATH_SIZE, "%s/seed-%llu.%s", r->work, (unsigned long long)seed,
		 ext);
}

static void kept_path(const runner *r, uint64_t seed, const char *ext, char *buf)
{
	snprintf(buf, RUN_PATH_SIZE, "%s/seed-%llu.%s", r->folder, (unsigned long long)seed,
		 ext);
}

/* ------------------------------------------------------------------ */
/* The trace dir and the in-flight folder                              */
/* ------------------------------------------------------------------ */

int cli_run_check_dir(const char *dir)
{
	/* The longest folder name, with the widest pid; the files in it
	 * (the library's temporary trace file is the longest) take less than
	 * RUN_PATH_SIZE - RUN_DIR_SIZE more. */
	size_t suffix = strlen("/.run-YYYYMMDD-HHMMSS-2147483647.inflight");
	size_t most = RUN_DIR_SIZE - 1 - suffix;
	if (strlen(dir) <= most)
		return 0;
	cli_usage_error("run",
			"the trace dir '%.40s...' is %zu bytes long; stepper run takes one of "
			"at most %zu bytes, so that the paths of the files it keeps under it "
			"stay within PATH_MAX (%d): choose a shorter --trace-dir or "
			"$STEPPER_TRACE_DIR",
			dir, strlen(dir), most, RUN_PATH_SIZE);
	return -1;
}

static int open_junit(runner *r)
{
	if (!r->o.junit)
		return 0;
	r->junit = fopen(r->o.junit, "we");
	if (!r->junit) {
		fprintf(stderr, "stepper: cannot write the JUnit file '%s': %s\n", r->o.junit,
			strerror(errno));
		return -1;
	}
	/* The testcases are streamed to an unlinked file and copied after the
	 * header, whose counts are known only at the end. */
	char body[RUN_PATH_SIZE];
	snprintf(body, sizeof body, "%s/junit-body", r->work);
	int fd = open(body, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		unlink(body);
	if (fd < 0 || !(r->jbody = fdopen(fd, "w+"))) {
		fprintf(stderr, "stepper: cannot create '%s': %s\n", body, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return 0;
}

int cli_run_out_open(runner *r)
{
	const char *dir = r->o.trace_dir;
	struct tm tm;
	r->started_at = time(NULL);
	gmtime_r(&r->started_at, &tm);
	snprintf(r->name, sizeof r->name, "run-%04d%02d%02d-%02d%02d%02d-%ld",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, (long)getpid());
	snprintf(r->work, sizeof r->work, "%s/.%s.inflight", dir, r->name);
	snprintf(r->folder, sizeof r->folder, "%s/%s", dir, r->name);
	if (stp__mkdirs(dir) != 0) {
		fprintf(stderr, "stepper: cannot use the trace dir '%s': %s\n", dir,
			strerror(errno));
		return -1;
	}
	if (mkdir(r->work, 0777) != 0) {
		fprintf(stderr, "stepper: cannot write to the trace dir '%s': %s\n", dir,
			strerror(errno));
		return -1;
	}
	if (open_junit(r) < 0) {
		rmdir(r->work);
		return -1;
	}
	return 0;
}

/* rmdir, after deleting what runs left there (a killed run's temporary
 * trace file, say). */
static void remove_work(runner *r)
{
	if (rmdir(r->work) == 0 || errno != ENOTEMPTY)
		return;
	DIR *d = opendir(r->work);
	struct dirent *e;
	char path[RUN_PATH_SIZE + 256];
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			snprintf(path, sizeof path, "%s/%s", r->work, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	if (rmdir(r->work) != 0)
		fprintf(stderr, "stepper: cannot remove '%s': %s\n", r->work, strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Header and run.txt                                                  */
/* ------------------------------------------------------------------ */

static void print_seeds(const runner *r, FILE *f)
{
	fprintf(f, "seeds %llu..%llu", (unsigned long long)r->o.first,
		(unsigned long long)(r->o.first + (r->o.count - 1)));
	if (r->o.shard_n > 1)
		fprintf(f, ", shard %llu/%llu (%llu seeds)", (unsigned long long)r->o.shard_i,
			(unsigned long long)r->o.shard_n, (unsigned long long)r->total);
	if (r->o.strategy)
		fprintf(f, ", STEPPER_STRATEGY=%s", r->o.strategy);
}

/* What a rerun of one seed sets: "STEPPER_SEED=N", the strategy and, with
 * --auto, the preload (shell-quoted when it needs it). */
static void print_rerun_env(const runner *r, uint64_t seed, FILE *f)
{
	fprintf(f, "STEPPER_SEED=%llu ", (unsigned long long)seed);
	if (r->o.strategy)
		fprintf(f, "STEPPER_STRATEGY=%s ", r->o.strategy);
	if (r->env.preload) {
		char *const word[] = { r->env.preload, NULL };
		char *q = stp__quote_argv(word);
		fprintf(f, "STEPPER_AUTO=1 %s ", q ? q : r->env.preload);
		free(q);
	}
}

/* The replay command's words before TRACE: "stepper replay [--auto] ". */
static void print_replay_start(const runner *r, FILE *f)
{
	fprintf(f, "%s replay %s", r->self, r->o.au.on ? "--auto " : "");
}

void cli_run_header(runner *r)
{
	printf("stepper run: %llu run%s of %s\n  ", (unsigned long long)r->total,
	       r->total == 1 ? "" : "s", r->quoted_cmd);
	print_seeds(r, stdout);
	printf(", %ld at a time, timeout %g s\n", r->o.jobs, r->o.timeout);
	if (r->o.au.on)
		printf("  --auto: every run preloads %s\n", r->o.au.lib);
	printf("  failing runs go to %s/ (made at the first failure)\n", r->folder);
	fflush(stdout);
}

static int write_run_txt_start(runner *r)
{
	char path[RUN_PATH_SIZE + 16], when[64], cwd[RUN_PATH_SIZE];
	snprintf(path, sizeof path, "%s/run.txt", r->folder);
	FILE *f = fopen(path, "wxe");
	if (!f)
		return -1;
	struct tm tm;
	gmtime_r(&r->started_at, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(f, "command: %s\n", r->quoted_cmd);
	print_seeds(r, f);
	fprintf(f, "\njobs: %ld\ntimeout: %g s\nstarted: %s\n", r->o.jobs, r->o.timeout,
		when);
	if (r->env.preload)
		fprintf(f, "auto: STEPPER_AUTO=1 %s\n", r->env.preload);
	fprintf(f, "stepper: %s (pid %ld) in %s\n", r->self, (long)getpid(),
		getcwd(cwd, sizeof cwd) ? cwd : "?");
	int bad = ferror(f);
	return fclose(f) != 0 || bad ? -1 : 0;
}

static void write_run_txt_end(runner *r, double secs)
{
	if (!r->have_folder)
		return;
	char path[RUN_PATH_SIZE + 16];
	snprintf(path, sizeof path, "%s/run.txt", r->folder);
	FILE *f = fopen(path, "ae");
	if (f) {
		uint64_t not_run = r->total - r->passed - r->failed - r->interrupted;
		fprintf(f, "ended after: %.2f s\npassed: %llu\nfailed: %llu\n"
			   "interrupted: %llu\nnot run: %llu\n",
			secs, (unsigned long long)r->passed, (unsigned long long)r->failed,
			(unsigned long long)r->interrupted, (unsigned long long)not_run);
		if (r->signal)
			fprintf(f, "stopped by: %s\n", cli_signal_name(r->signal));
		int bad = ferror(f);
		if (fclose(f) == 0 && !bad)
			return;
	}
	fprintf(stderr, "stepper: cannot write '%s': %s\n", path, strerror(errno));
}

/* The run folder, made at the first failure. 0, or -1 (said once). */
static int ensure_folder(runner *r)
{
	if (r->have_folder)
		return 0;
	if (r->folder_error)
		return -1;
	/* mkdir, not mkdir -p: an existing folder is another run's */
	if (mkdir(r->folder, 0777) != 0) {
		fprintf(stderr, "stepper: cannot create the run folder '%s': %s; failing "
				"runs are not kept\n",
			r->folder, strerror(errno));
		r->folder_error = 1;
		return -1;
	}
	r->have_folder = 1;
	if (write_run_txt_start(r) < 0)
		fprintf(stderr, "stepper: cannot write '%s/run.txt': %s\n", r->folder,
			strerror(errno));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Kept files                                                          */
/* ------------------------------------------------------------------ */

static void discard(const runner *r, uint64_t seed)
{
	char path[RUN_PATH_SIZE];
	cli_run_work_path(r, seed, "log", path);
	unlink(path);
	cli_run_work_path(r, seed, "json", path);
	unlink(path);
}

static int copy_range(int in, int out, off_t from, off_t len)
{
	char buf[65536];
	while (len > 0) {
		ssize_t n = pread(in, buf, len < (off_t)sizeof buf ? (size_t)len : sizeof buf,
				  from);
		if (n <= 0)
			return n == 0 ? 0 : -1; /* shorter than it was: keep what is there */
		for (ssize_t w = 0; w < n;) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));
			if (k < 0)
				return -1;
			w += k;
		}
		from += n;
		len -= n;
	}
	return 0;
}

/* A log over 2 * LOG_KEEP keeps its head and tail, and says what was cut. */
static int trim_log(const char *from, const char *to, off_t size)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int rc = out < 0 ? -1 : copy_range(in, out, 0, LOG_KEEP);
	if (rc == 0) {
		char note[200];
		int n = snprintf(note, sizeof note,
				 "\n[stepper run: %lld bytes of output cut here; a kept log "
				 "holds the first and the last %lld bytes]\n",
				 (long long)(size - 2 * LOG_KEEP), (long long)LOG_KEEP);
		rc = write(out, note, (size_t)n) == n ? 0 : -1;
	}
	if (rc == 0)
		rc = copy_range(in, out, size - LOG_KEEP, LOG_KEEP);
	int e = errno;
	if (out >= 0 && close(out) != 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	close(in);
	if (rc == 0)
		unlink(from);
	errno = e;
	return rc;
}

static void keep_log(runner *r, failure *f)
{
	char from[RUN_PATH_SIZE], to[RUN_PATH_SIZE];
	cli_run_work_path(r, f->seed, "log", from);
	kept_path(r, f->seed, "log", to);
	struct stat st;
	if (stat(from, &st) != 0)
		return; /* the run never started writing it */
	int rc = st.st_size > 2 * LOG_KEEP ? trim_log(from, to, st.st_size)
					   : rename(from, to);
	if (rc == 0) {
		f->has_log = 1;
		return;
	}
	fprintf(stderr, "stepper: cannot keep the log of seed %llu as '%s': %s\n",
		(unsigned long long)f->seed, to, strerror(errno));
	unlink(to);
}

static void keep_trace(runner *r, failure *f)
{
	char from[RUN_PATH_SIZE], to[RUN_PATH_SIZE];
	cli_run_work_path(r, f->seed, "json", from);
	kept_path(r, f->seed, "json", to);
	if (rename(from, to) == 0)
		return;
	snprintf(f->note, sizeof f->note, "the trace could not be kept as '%.200s': %s", to,
		 strerror(errno));
	f->has_trace = 0;
}

/* ------------------------------------------------------------------ */
/* A failure's reason, error and trace                                 */
/* ------------------------------------------------------------------ */

/* Why did a failing run leave no trace? Try to write where it would have:
 * a full disk or a read-only folder says so (the run's own complaint is
 * in its log, if the log could be written at all). */
static void no_trace_note(const runner *r, failure *f)
{
	char probe[RUN_PATH_SIZE + 16];
	snprintf(probe, sizeof probe, "%s/probe", r->work);
	int e = 0, fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "{}\n", 3) != 3 || fsync(fd) != 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	unlink(probe);
	struct statvfs vfs;
	if (!e && statvfs(r->work, &vfs) == 0 && vfs.f_bavail == 0)
		e = ENOSPC;
	if (e)
		snprintf(f->note, sizeof f->note, "none written: cannot write in '%.200s': %s",
			 r->o.trace_dir, strerror(e));
	else
		snprintf(f->note, sizeof f->note,
			 "none written (does the command run a stepper?)");
}

static void read_trace(const runner *r, failure *f)
{
	char path[RUN_PATH_SIZE];
	cli_run_work_path(r, f->seed, "json", path);
	struct stat st;
	if (stat(path, &st) != 0) {
		no_trace_note(r, f);
		return;
	}
	f->has_trace = 1;
	if (st.st_size > TRACE_READ_MAX) {
		snprintf(f->note, sizeof f->note,
			 "trace too large to read its error (%lld bytes; stepper run reads "
			 "traces up to %lld)",
			 (long long)st.st_size, (long long)TRACE_READ_MAX);
		return;
	}
	stp_trace_error err;
	stp_trace *t = stp_trace_load(path, &err);
	if (!t) {
		char buf[768];
		snprintf(f->note, sizeof f->note, "the trace cannot be read: %s",
			 stp_trace_error_text(&err, buf, sizeof buf));
		return;
	}
	if (stp_trace_error_count(t) > 0) {
		const char *e = stp_trace_error_at(t, 0);
		size_t n = strcspn(e, "\n"), size = sizeof f->error;
		snprintf(f->error, size, "%.*s%s", (int)(n < size - 5 ? n : size - 5), e,
			 n < strlen(e) ? " ..." : "");
	} else if (strcmp(stp_trace_outcome(t), "none") == 0) {
		snprintf(f->note, sizeof f->note, "the run ended before its trace was "
						  "complete (the trace holds the plan)");
	}
	stp_trace_free(t);
}

/* ------------------------------------------------------------------ */
/* JUnit                                                               */
/* ------------------------------------------------------------------ */

static void xml_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '&')
			fputs("&amp;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c >= 0x20 || c == '\n' || c == '\t')
			fputc(c, f);
		else
			fputc('?', f); /* XML 1.0 forbids most control characters */
	}
}

static void junit_open_case(runner *r, uint64_t seed, double secs)
{
	fprintf(r->jbody, "    <testcase classname=\"stepper.run\" name=\"seed %llu\" "
			  "time=\"%.3f\"",
		(unsigned long long)seed, secs);
}

static void junit_failure(runner *r, const failure *f, double secs)
{
	char trace[RUN_PATH_SIZE], log[RUN_PATH_SIZE];
	kept_path(r, f->seed, "json", trace);
	kept_path(r, f->seed, "log", log);
	junit_open_case(r, f->seed, secs);
	fputs(">\n      <failure message=\"", r->jbody);
	xml_escaped(r->jbody, f->error[0] ? f->error : f->reason);
	fputs("\" type=\"", r->jbody);
	xml_escaped(r->jbody, f->reason);
	fputs("\">", r->jbody);
	xml_escaped(r->jbody, f->reason);
	if (f->error[0]) {
		fputs("\nerror: ", r->jbody);
		xml_escaped(r->jbody, f->error);
	}
	if (f->note[0]) {
		fputs(f->has_trace ? "\nnote: " : "\ntrace: ", r->jbody);
		xml_escaped(r->jbody, f->note);
	}
	if (f->has_trace) {
		fprintf(r->jbody, "\nreplay: ");
		xml_escaped(r->jbody, r->self);
		fputs(r->o.au.on ? " replay --auto " : " replay ", r->jbody);
		xml_escaped(r->jbody, trace);
		fputs(" -- ", r->jbody);
	} else {
		fputs("\nrerun: ", r->jbody);
		print_rerun_env(r, f->seed, r->jbody);
	}
	xml_escaped(r->jbody, r->quoted_cmd);
	if (f->has_log) {
		fputs("\nlog: ", r->jbody);
		xml_escaped(r->jbody, log);
	}
	fputs("</failure>\n    </testcase>\n", r->jbody);
}

static int copy_stream(FILE *from, FILE *to)
{
	char buf[65536];
	size_t n;
	rewind(from);
	while ((n = fread(buf, 1, sizeof buf, from)) > 0)
		if (fwrite(buf, 1, n, to) != n)
			return -1;
	return ferror(from) ? -1 : 0;
}

static void junit_close(runner *r, double secs)
{
	FILE *f = r->junit;
	uint64_t listed = r->passed + r->failed + r->interrupted;
	uint64_t not_run = r->total - listed;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites tests=\"%llu\" failures=\"%llu\" time=\"%.3f\">\n",
		(unsigned long long)listed, (unsigned long long)r->failed, secs);
	fprintf(f, "  <testsuite name=\"stepper run\" tests=\"%llu\" failures=\"%llu\" "
		   "errors=\"0\" skipped=\"%llu\" time=\"%.3f\">\n",
		(unsigned long long)listed, (unsigned long long)r->failed,
		(unsigned long long)r->interrupted, secs);
	fputs("    <properties>\n      <property name=\"command\" value=\"", f);
	xml_escaped(f, r->quoted_cmd);
	fprintf(f, "\"/>\n      <property name=\"not run\" value=\"%llu\"/>\n",
		(unsigned long long)not_run);
	if (r->have_folder) {
		fputs("      <property name=\"run folder\" value=\"", f);
		xml_escaped(f, r->folder);
		fputs("\"/>\n", f);
	}
	fputs("    </properties>\n", f);
	int rc = fflush(r->jbody) == 0 && !ferror(r->jbody) ? copy_stream(r->jbody, f) : -1;
	int e = errno;
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	fclose(r->jbody);
	r->jbody = NULL;
	if (rc == 0 && (fflush(f) != 0 || ferror(f))) {
		rc = -1;
		e = errno;
	}
	if (fclose(f) != 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	r->junit = NULL;
	if (rc < 0) {
		fprintf(stderr, "stepper: cannot write the JUnit file '%s': %s\n", r->o.junit,
			strerror(e));
		r->junit_error = 1;
	} else
		printf("junit: %s\n", r->o.junit);
}

/* ------------------------------------------------------------------ */
/* Outcomes                                                            */
/* ------------------------------------------------------------------ */

void cli_run_passed(runner *r, const slot *s, double secs)
{
	discard(r, s->seed);
	r->passed++;
	if (r->jbody) {
		junit_open_case(r, s->seed, secs);
		fputs("/>\n", r->jbody);
	}
}

void cli_run_interrupted(runner *r, const slot *s, double secs)
{
	discard(r, s->seed);
	r->interrupted++;
	if (r->jbody) {
		junit_open_case(r, s->seed, secs);
		fprintf(r->jbody, "><skipped message=\"interrupted by %s\"/></testcase>\n",
			cli_signal_name(r->signal));
	}
}

/* Keep f among the SHOW_FAILURES lowest seeds, sorted. */
static void remember(runner *r, const failure *f)
{
	size_t i = r->nshown;
	if (i == SHOW_FAILURES) {
		if (f->seed > r->shown[i - 1].seed)
			return;
		i--;
	} else {
		r->nshown++;
	}
	for (; i > 0 && r->shown[i - 1].seed > f->seed; i--)
		r->shown[i] = r->shown[i - 1];
	r->shown[i] = *f;
}

void cli_run_failed(runner *r, const slot *s, int status, double secs)
{
	failure f = { .seed = s->seed };
	if (s->timed_out)
		snprintf(f.reason, sizeof f.reason, "timed out after %g s (process group killed)",
			 r->o.timeout);
	else if (r->o.au.on)
		cli_auto_describe_status(status, f.reason, sizeof f.reason);
	else
		cli_describe_status(status, f.reason, sizeof f.reason);
	int k;
	if (r->o.au.on && !s->timed_out && cli_auto_outcome(status, &k))
		r->outcomes[k]++;
	read_trace(r, &f);
	if (ensure_folder(r) == 0) {
		if (f.has_trace)
			keep_trace(r, &f);
		keep_log(r, &f);
	} else {
		f.has_trace = 0;
		snprintf(f.note, sizeof f.note, "not kept: the run folder could not be created");
	}
	discard(r, s->seed);
	r->failed++;
	if (r->jbody)
		junit_failure(r, &f, secs);
	remember(r, &f);
}

/* ------------------------------------------------------------------ */
/* Summary                                                             */
/* ------------------------------------------------------------------ */

static void print_failure(const runner *r, const failure *f)
{
	char trace[RUN_PATH_SIZE], log[RUN_PATH_SIZE];
	kept_path(r, f->seed, "json", trace);
	kept_path(r, f->seed, "log", log);
	printf("  seed %llu: %s\n", (unsigned long long)f->seed, f->reason);
	if (f->error[0])
		printf("    error:  %s\n", f->error);
	if (f->has_trace && f->note[0])
		printf("    note:   %s\n", f->note);
	if (f->has_log)
		printf("    log:    %s\n", log);
	if (f->has_trace) {
		printf("    replay: ");
		print_replay_start(r, stdout);
		printf("%s -- %s\n", trace, r->quoted_cmd);
		return;
	}
	printf("    trace:  %s; rerun: ", f->note);
	print_rerun_env(r, f->seed, stdout);
	printf("%s\n", r->quoted_cmd);
}

/* --auto: " (3 deadlock, 1 step limit, 2 other)" when any failure was one
 * of the stepper's named outcomes. */
static void print_outcome_counts(const runner *r)
{
	uint64_t named = 0;
	for (int k = 0; k < CLI_AUTO_OUTCOMES; k++)
		named += r->outcomes[k];
	if (named == 0)
		return;
	const char *sep = " (";
	for (int k = 0; k < CLI_AUTO_OUTCOMES; k++) {
		if (!r->outcomes[k])
			continue;
		printf("%s%llu %s", sep, (unsigned long long)r->outcomes[k],
		       cli_auto_outcome_name(k));
		sep = ", ";
	}
	if (r->failed > named)
		printf(", %llu other", (unsigned long long)(r->failed - named));
	putchar(')');
}

static void summary(const runner *r, double secs)
{
	uint64_t done = r->passed + r->failed + r->interrupted;
	printf("stepper run: %llu passed, %llu failed", (unsigned long long)r->passed,
	       (unsigned long long)r->failed);
	print_outcome_counts(r);
	if (r->interrupted)
		printf(", %llu interrupted", (unsigned long long)r->interrupted);
	if (done < r->total)
		printf(", %llu not run (%s)", (unsigned long long)(r->total - done),
		       r->signal		? "stopped by a signal"
		       : r->start_failed ? "a run could not be started"
					 : "--max-failures reached");
	if (r->o.strategy)
		printf(" with STEPPER_STRATEGY=%s", r->o.strategy);
	printf(" in %.2f s (%.0f runs/s)\n", secs, secs > 0 ? (double)done / secs : 0);
	if (r->signal)
		printf("stopped by %s: the runs under way were ended (their process groups "
		       "killed) and count as interrupted, not failed\n",
		       cli_signal_name(r->signal));
	if (r->failed == 0)
		return;
	if (r->failed > r->nshown)
		printf("failed seeds (the lowest %zu of %llu):\n", r->nshown,
		       (unsigned long long)r->failed);
	else
		printf("failed seeds:\n");
	for (size_t i = 0; i < r->nshown; i++)
		print_failure(r, &r->shown[i]);
	if (r->have_folder)
		printf("traces and logs of every failed seed: %s/ (run.txt says what ran)\n",
		       r->folder);
}

void cli_run_out_close(runner *r, double secs)
{
	summary(r, secs);
	if (r->junit)
		junit_close(r, secs);
	write_run_txt_end(r, secs);
	remove_work(r);
	fflush(stdout);
}
