/*
 * run.h - the two halves of `stepper run` (internal): run.c starts,
 * times and ends the runs; run_out.c keeps what failing runs leave and
 * writes the header, run.txt, the JUnit file and the summary.
 *
 * Memory does not grow with the number of seeds: a runner holds its slots
 * (one per job), the lowest SHOW_FAILURES failures and counts. Everything
 * else is streamed to files as runs finish.
 */
#ifndef STEPPER_CLI_RUN_H
#define STEPPER_CLI_RUN_H

#include "cli.h"
#include "auto.h"
#include "autoserver.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Every path the runner builds fits here, and the folders it makes in the
 * trace dir fit in RUN_DIR_SIZE, or the trace dir is refused up front
 * (cli_run_check_dir): paths are never cut short. */
#define RUN_PATH_SIZE PATH_MAX
#define RUN_DIR_SIZE (RUN_PATH_SIZE - 128)
/* The summary lists this many failures (the lowest seeds). */
#define SHOW_FAILURES 10
/* A kept log holds its first and last LOG_KEEP bytes. */
#define LOG_KEEP ((off_t)1 << 20)
/* Traces larger than this are kept but not read for their first error:
 * reading happens on the supervising path, where timeouts are enforced. */
#define TRACE_READ_MAX ((off_t)4 << 20)

typedef struct run_opts {
	uint64_t first, count;
	int have_n, have_seeds;
	long jobs;
	uint64_t shard_i, shard_n;
	double timeout;
	const char *trace_dir;
	const char *junit;
	uint64_t max_failures;
	const char *strategy; /* STEPPER_STRATEGY of the runs (NULL: not set) */
	cli_auto au;          /* --auto: the runs preload the library */
	int no_server;        /* --no-server: --auto execs every run */
	int on_stall;         /* --on-stall given (it goes with --auto) */
	char **cmd;
} run_opts;

typedef struct slot {
	pid_t pid; /* 0: free */
	uint64_t seed;
	double start, deadline;
	int timed_out, interrupted;
} slot;

typedef struct failure {
	uint64_t seed;
	char reason[128]; /* "exit status 1", "killed by SIGSEGV", ... */
	char error[256];  /* the stepper's first error, from the trace, or "" */
	char note[320];   /* why there is no trace, or no error from it; or "" */
	int has_trace;    /* the trace is kept in the run folder */
	int has_log;      /* the log is kept in the run folder */
} failure;

typedef struct runner {
	run_opts o;
	cli_env env;
	cli_server server;    /* --auto: the fork server, when it serves */
	int serving;
	slot *slots;
	uint64_t total, next; /* seeds in this shard; index of the next one */
	uint64_t passed, failed, interrupted;
	uint64_t outcomes[CLI_AUTO_OUTCOMES]; /* --auto: failures by outcome */
	failure shown[SHOW_FAILURES]; /* the lowest failing seeds, sorted */
	size_t nshown;
	int tty, stop, signal, start_failed;
	double start, next_progress;
	time_t started_at;
	char *quoted_cmd;
	const char *self; /* how this stepper was invoked, for replay lines */
	char name[64];                /* run-YYYYMMDD-HHMMSS-PID */
	char work[RUN_DIR_SIZE];   /* DIR/.NAME.inflight: runs write here */
	char folder[RUN_DIR_SIZE]; /* DIR/NAME: failing runs are kept here */
	int have_folder, folder_error;
	FILE *junit, *jbody; /* the JUnit file; its testcases, streamed */
	int junit_error;
} runner;

/* The seed at index k of this shard. */
uint64_t cli_run_seed_at(const runner *r, uint64_t k);

/* "DIR/.NAME.inflight/seed-N.EXT", where a run writes while it runs. */
void cli_run_work_path(const runner *r, uint64_t seed, const char *ext, char *buf);

/* Refuse a trace dir whose paths would not fit; print why. 0 or -1. */
int cli_run_check_dir(const char *dir);

/* Name the run, create the trace dir and the in-flight folder, open the
 * JUnit file. Prints what failed; 0 or -1. */
int cli_run_out_open(runner *r);
/* What the run is about to do (stdout, flushed). */
void cli_run_header(runner *r);
/* A run ended: passed, interrupted, or failed with this wait status. */
void cli_run_passed(runner *r, const slot *s, double secs);
void cli_run_interrupted(runner *r, const slot *s, double secs);
void cli_run_failed(runner *r, const slot *s, int status, double secs);
/* The summary (stdout), the JUnit file, run.txt's counts; removes the
 * in-flight folder. */
void cli_run_out_close(runner *r, double secs);

#endif
