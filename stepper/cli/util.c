/*
 * util.c - what the commands share: usage errors, options, traces,
 * processes, environments and names.
 */
#include "cli.h"
#include "base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("stepper: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'stepper help%s%s' for usage.\n", cmd ? " " : "",
		cmd ? cmd : "");
	return CLI_USAGE;
}

int cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

stp_trace *cli_load_trace(const char *path)
{
	stp_trace_error err;
	stp_trace *t = stp_trace_load(path, &err);
	if (!t) {
		char buf[768];
		fprintf(stderr, "stepper: %s\n", stp_trace_error_text(&err, buf, sizeof buf));
	}
	return t;
}

int cli_parse_seconds(const char *cmd, const char *opt, const char *v, double *out)
{
	char *end;
	errno = 0;
	double t = strtod(v, &end);
	if (end == v || *end || errno || !isfinite(t) || t <= 0 || t > 86400) {
		cli_usage_error(cmd, "%s: expected seconds above 0 and at most 86400, got '%s'",
				opt, v);
		return -1;
	}
	*out = t;
	return 0;
}

int cli_parse_nodes(const char *cmd, const char *v, unsigned *out)
{
	uint64_t n;
	if (!v || stp__parse_u64(v, &n) < 0 || n < 1 || n > CLI_MAX_NODES) {
		cli_usage_error(cmd, "-n: expected 1 to %d nodes, got '%s'", CLI_MAX_NODES,
				v ? v : "");
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

/* Variables the CLI owns: children must see only the CLI's values. */
static int owned(const char *var)
{
	static const char *const names[] = { "STEPPER_SEED=", "STEPPER_SEEDS=",
					     "STEPPER_TRACE=", "STEPPER_REPLAY=",
					     "STEPPER_SHRINK=", "STEPPER_SHRINK_CANDIDATE=" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strncmp(var, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

int cli_env_init(cli_env *e)
{
	size_t n = 0;
	while (environ[n])
		n++;
	/* room for 2 of --auto, 4 added and the NULL */
	e->vars = calloc(n + 7, sizeof *e->vars);
	if (!e->vars)
		return -1;
	e->preload = NULL;
	e->n = 0;
	for (size_t i = 0; i < n; i++)
		if (!owned(environ[i]))
			e->vars[e->n++] = environ[i];
	e->base = e->n;
	e->vars[e->n] = NULL;
	return 0;
}

int cli_env_set(cli_env *e, const char *const *added, size_t n)
{
	if (n > 4)
		return -1;
	e->n = e->base;
	for (size_t i = 0; i < n; i++)
		e->vars[e->n++] = (char *)added[i];
	e->vars[e->n] = NULL;
	return 0;
}

int cli_env_auto(cli_env *e, const char *lib)
{
	/* lib first, then the inherited LD_PRELOAD if there is one */
	const char *inherited = getenv("LD_PRELOAD");
	free(e->preload);
	e->preload = inherited && *inherited
			     ? stp__strdupf("LD_PRELOAD=%s:%s", lib, inherited)
			     : stp__strdupf("LD_PRELOAD=%s", lib);
	if (!e->preload)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < e->base; i++)
		if (strncmp(e->vars[i], "LD_PRELOAD=", 11) != 0 &&
		    strncmp(e->vars[i], "STEPPER_AUTO=", 13) != 0)
			e->vars[k++] = e->vars[i];
	e->vars[k++] = e->preload;
	e->vars[k++] = (char *)"STEPPER_AUTO=1";
	e->n = e->base = k;
	e->vars[k] = NULL;
	return 0;
}

void cli_env_free(cli_env *e)
{
	free(e->vars);
	free(e->preload);
	e->vars = NULL;
	e->preload = NULL;
}

int cli_command_exists(const char *cmd)
{
	if (!cmd || !*cmd)
		return 0;
	if (strchr(cmd, '/')) {
		struct stat st;
		return stat(cmd, &st) == 0 && S_ISREG(st.st_mode) &&
		       access(cmd, X_OK) == 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	char buf[4096];
	for (const char *p = path; *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0)
			snprintf(buf, sizeof buf, "./%s", cmd);
		else
			snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, cmd);
		struct stat st;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return 1;
		p += len + (end ? 1 : 0);
		if (!end)
			break;
	}
	return 0;
}

pid_t cli_spawn(char *const argv[], char *const env[], const char *log_path,
		int inherit_stdin)
{
	return cli_spawn_out(argv, env, log_path, -1, inherit_stdin);
}

pid_t cli_spawn_out(char *const argv[], char *const env[], const char *log_path,
		    int out_fd, int inherit_stdin)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	if (!inherit_stdin)
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (log_path) {
		posix_spawn_file_actions_addopen(&fa, 1, log_path,
						 O_WRONLY | O_CREAT | O_TRUNC, 0644);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	} else if (out_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
		posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	}
	/* The child starts with default signal handling and nothing blocked,
	 * in its own process group so a timeout can stop all of it. */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETPGROUP);
	pid_t pid;
	int e = posix_spawnp(&pid, argv[0], &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (e) {
		errno = e;
		return -1;
	}
	return pid;
}

const char *cli_signal_name(int sig)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
		{ SIGHUP, "SIGHUP" },   { SIGINT, "SIGINT" },   { SIGQUIT, "SIGQUIT" },
		{ SIGILL, "SIGILL" },   { SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
		{ SIGBUS, "SIGBUS" },   { SIGFPE, "SIGFPE" },   { SIGKILL, "SIGKILL" },
		{ SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
		{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
		{ SIGSYS, "SIGSYS" },   { SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].sig == sig)
			return names[i].name;
	static char buf[32];
	snprintf(buf, sizeof buf, "signal %d", sig);
	return buf;
}

void cli_describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by %s%s", cli_signal_name(WTERMSIG(status)),
			 WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(buf, size, "wait status %d", status);
}

void cli_block_child_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigprocmask(SIG_BLOCK, set, NULL);
}

double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cli_make_scratch(char *dir, size_t size, const char *command, const char *what)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, size, "%s/stepper-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", command);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "stepper: cannot make a folder for %s: %s: %s\n", what, dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

void cli_remove_scratch(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}
