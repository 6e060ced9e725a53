/*
 * cli.c - the `stepper` command: dispatch, help, and the small commands
 * (show, export, replay). `run` is in cli_run.c.
 */
#include "cli.h"
#include "stepper.h"
#include <stepper/trace.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *cli_self = "stepper";

static const char main_usage[] =
	"usage: stepper COMMAND [ARGS...]\n"
	"\n"
	"Find and replay concurrency bugs in C code annotated with STEP().\n"
	"\n"
	"commands:\n"
	"  run       run a test once per seed, in parallel, keeping failing traces\n"
	"  replay    run a test on a recorded trace; say whether the failure came back\n"
	"  show      print a trace: seed, outcome, errors, the order\n"
	"  export    convert a trace (--chrome: Perfetto / chrome://tracing)\n"
	"  multinode run N copies of a command as nodes that meet at barriers\n"
	"  barrier-server  serve barriers for nodes started some other way\n"
	"  help      help on a command: stepper help run\n"
	"\n"
	"options: --help, --version\n";

static const char replay_usage[] =
	"usage: stepper replay TRACE -- COMMAND [ARGS...]\n"
	"\n"
	"Run COMMAND with STEPPER_REPLAY=TRACE, so its stepper takes the schedule\n"
	"from the trace, and say whether the recorded outcome came back.\n"
	"Exit status: 0 reproduced, 1 not reproduced, 2 usage error.\n";

static const char show_usage[] =
	"usage: stepper show [--events] TRACE\n"
	"\n"
	"Print a trace's seed, mode, outcome, errors and order; --events adds the\n"
	"steps as they happened, with their times.\n";

static const char export_usage[] =
	"usage: stepper export --chrome TRACE [-o FILE]\n"
	"\n"
	"Write Chrome trace-event JSON (one track per thread, one slice per segment\n"
	"between steps) to FILE or standard output; open it in Perfetto\n"
	"(ui.perfetto.dev) or chrome://tracing.\n";

static stp_trace *load_or_say(const char *path)
{
	stp_trace_error err;
	stp_trace *t = stp_trace_load(path, &err);
	if (!t) {
		char buf[768];
		fprintf(stderr, "stepper: %s\n", stp_trace_error_text(&err, buf, sizeof buf));
	}
	return t;
}

int cli_show(int argc, char **argv)
{
	int events = 0;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--events") == 0)
			events = 1;
		else if (strcmp(argv[i], "--help") == 0)
			return fputs(show_usage, stdout), CLI_OK;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error("show", "unknown option '%s'", argv[i]);
		else if (path)
			return cli_usage_error("show", "one trace at a time (got '%s' and '%s')",
					       path, argv[i]);
		else
			path = argv[i];
	}
	if (!path)
		return cli_usage_error("show", "missing the trace to show");
	stp_trace *t = load_or_say(path);
	if (!t)
		return CLI_FAILED;
	stp_trace_print(t, stdout, events);
	stp_trace_free(t);
	return CLI_OK;
}

int cli_export(int argc, char **argv)
{
	int chrome = 0;
	const char *path = NULL, *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--chrome") == 0)
			chrome = 1;
		else if (strcmp(argv[i], "--help") == 0)
			return fputs(export_usage, stdout), CLI_OK;
		else if (strcmp(argv[i], "-o") == 0) {
			if (++i >= argc)
				return cli_usage_error("export", "-o needs a file");
			out = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error("export", "unknown option '%s'", argv[i]);
		else if (path)
			return cli_usage_error("export", "one trace at a time");
		else
			path = argv[i];
	}
	if (!chrome)
		return cli_usage_error("export", "say which format: --chrome");
	if (!path)
		return cli_usage_error("export", "missing the trace to export");
	stp_trace *t = load_or_say(path);
	if (!t)
		return CLI_FAILED;
	FILE *f = out ? fopen(out, "w") : stdout;
	if (!f) {
		fprintf(stderr, "stepper: cannot write '%s': %s\n", out, strerror(errno));
		stp_trace_free(t);
		return CLI_FAILED;
	}
	int rc = stp_trace_export_chrome(t, f);
	if (out && fclose(f) != 0)
		rc = STP_EIO;
	stp_trace_free(t);
	if (rc < 0) {
		fprintf(stderr, "stepper: writing the export failed: %s\n", stp_strerror(rc));
		return CLI_FAILED;
	}
	return CLI_OK;
}

/* Same outcome and the same errors? */
static int same_failure(const stp_trace *a, const stp_trace *b)
{
	if (strcmp(stp_trace_outcome(a), stp_trace_outcome(b)) != 0)
		return 0;
	if (stp_trace_error_count(a) != stp_trace_error_count(b))
		return 0;
	for (size_t i = 0; i < stp_trace_error_count(a); i++) {
		const char *x = stp_trace_error_at(a, i), *y = stp_trace_error_at(b, i);
		/* stall reports measure real time: compare up to the number */
		const char *cut = strstr(x, "no thread ended for ");
		size_t n = cut ? (size_t)(cut - x) : strlen(x) + 1;
		if (strncmp(x, y, n) != 0)
			return 0;
	}
	return 1;
}

int cli_replay(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0)
		return fputs(replay_usage, stdout), CLI_OK;
	if (argc < 2)
		return cli_usage_error("replay", "missing the trace to replay");
	const char *path = argv[1];
	int i = 2;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return cli_usage_error("replay", "missing the command to run (after --)");
	char **cmd = argv + i;
	if (!cli_command_exists(cmd[0])) {
		fprintf(stderr, "stepper: cannot run '%s': no such executable\n", cmd[0]);
		return CLI_USAGE;
	}
	stp_trace *rec = load_or_say(path);
	if (!rec)
		return CLI_USAGE;

	char fresh[4096];
	snprintf(fresh, sizeof fresh, "%s.replay-%ld.json", path, (long)getpid());
	char env_replay[4200], env_trace[4200];
	snprintf(env_replay, sizeof env_replay, "STEPPER_REPLAY=%s", path);
	snprintf(env_trace, sizeof env_trace, "STEPPER_TRACE=%s", fresh);
	cli_env env;
	if (cli_env_init(&env) < 0) {
		stp_trace_free(rec);
		return CLI_USAGE;
	}
	const char *added[] = { env_replay, env_trace };
	cli_env_set(&env, added, 2);
	printf("stepper replay: seed %llu, recorded outcome: %s\n",
	       (unsigned long long)stp_trace_seed(rec), stp_trace_outcome(rec));
	fflush(stdout);
	pid_t pid = cli_spawn(cmd, env.vars, NULL, 1);
	cli_env_free(&env);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		fprintf(stderr, "stepper: cannot run '%s': %s\n", cmd[0], strerror(errno));
		stp_trace_free(rec);
		return CLI_USAGE;
	}
	char how[128];
	cli_describe_status(status, how, sizeof how);
	stp_trace *now = stp_trace_load(fresh, NULL);
	unlink(fresh);
	int crashed = WIFSIGNALED(status);
	int reproduced;
	const char *now_outcome = now ? stp_trace_outcome(now) : "none";
	if (strcmp(stp_trace_outcome(rec), "none") == 0)
		/* the recorded run died before finishing its trace */
		reproduced = crashed || (now && strcmp(now_outcome, "none") == 0);
	else
		reproduced = now && same_failure(rec, now);
	printf("stepper replay: the command ended with %s; this run's outcome: %s\n", how,
	       crashed && !strcmp(now_outcome, "none") ? "none (it died mid-run)" : now_outcome);
	if (now)
		for (size_t e = 0; e < stp_trace_error_count(now); e++)
			printf("  error: %s\n", stp_trace_error_at(now, e));
	if (!now)
		printf("stepper replay: the command wrote no trace (does it run a stepper, "
		       "and only one test?)\n");
	printf("stepper replay: %s\n",
	       reproduced ? "reproduced: the recorded failure happened again"
			  : "not reproduced: the outcome differs from the recording");
	stp_trace_free(now);
	stp_trace_free(rec);
	return reproduced ? CLI_OK : CLI_FAILED;
}

static int help(const char *what)
{
	if (!what) {
		fputs(main_usage, stdout);
		return CLI_OK;
	}
	if (strcmp(what, "run") == 0)
		cli_run_help(stdout);
	else if (strcmp(what, "replay") == 0)
		fputs(replay_usage, stdout);
	else if (strcmp(what, "show") == 0)
		fputs(show_usage, stdout);
	else if (strcmp(what, "export") == 0)
		fputs(export_usage, stdout);
	else if (strcmp(what, "multinode") == 0)
		cli_multinode_help(stdout);
	else if (strcmp(what, "barrier-server") == 0)
		cli_barrier_server_help(stdout);
	else
		return cli_usage_error(NULL, "no help for '%s': not a command", what);
	return CLI_OK;
}

int main(int argc, char **argv)
{
	cli_self = argv[0] && strchr(argv[0], '/') ? argv[0] : "stepper";
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		fputs(main_usage, stderr);
		return CLI_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return help(NULL);
	if (strcmp(cmd, "--version") == 0) {
		printf("stepper %s (trace format version %d)\n", STP_VERSION,
		       STP_TRACE_VERSION);
		return CLI_OK;
	}
	if (strcmp(cmd, "help") == 0)
		return help(argc > 2 ? argv[2] : NULL);
	if (strcmp(cmd, "run") == 0)
		return cli_run(argc - 1, argv + 1);
	if (strcmp(cmd, "replay") == 0)
		return cli_replay(argc - 1, argv + 1);
	if (strcmp(cmd, "show") == 0)
		return cli_show(argc - 1, argv + 1);
	if (strcmp(cmd, "export") == 0)
		return cli_export(argc - 1, argv + 1);
	if (strcmp(cmd, "multinode") == 0)
		return cli_multinode(argc - 1, argv + 1);
	if (strcmp(cmd, "barrier-server") == 0)
		return cli_barrier_server(argc - 1, argv + 1);
	return cli_usage_error(NULL, "unknown command '%s'", cmd);
}
