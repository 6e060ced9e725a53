/*
 * test_cli_auto.c - `--auto` on the CLI's side: the program and the
 * library are checked before anything runs, the children get the preload
 * in their environment, and the stepper's exit statuses are named.
 *
 * The library here is a tiny shared object built by the test (harmless to
 * preload anywhere); tests/progs/print_env prints what a child got. Each
 * command runs as a child through sh, its stdout and stderr captured.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bdir(void)
{
	const char *b = getenv("B");
	return b && *b ? b : "build";
}

/* Everything lives in $B/test-cli-auto; paths are absolute, so that the
 * commands' output names them as the tests expect. */
static char dir[4096], stepper[4200], print_env[4200], tiny[4200], tiny2[4200];

typedef struct result {
	int code; /* exit status, or 128 + signal */
	char *out, *err;
} result;

static void result_free(result *r)
{
	free(r->out);
	free(r->err);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	if (f) {
		size_t n = fread(buf, 1, (1 << 20) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

/* Run a shell command line, stdin from /dev/null. */
static void sh(result *r, const char *fmt, ...)
{
	char cmd[16384], full[33000], out[4300], err[4300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(out, sizeof out, "%s/out.txt", dir);
	snprintf(err, sizeof err, "%s/err.txt", dir);
	snprintf(full, sizeof full, "(%s) > %s 2> %s < /dev/null", cmd, out, err);
	int st = system(full);
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = slurp(out);
	r->err = slurp(err);
}

#define CONTAINS(hay, needle)                                                \
	do {                                                                 \
		if (!strstr((hay), (needle)))                                \
			fail_msg("output lacks \"%s\":\n%s", (needle), (hay)); \
	} while (0)

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* A refusal: exit 2, one line on stderr holding each of the NULL-ended
 * texts, nothing on stdout. */
static void refused(const result *r, ...)
{
	if (r->code != 2)
		fail_msg("exit %d, expected 2:\n%s%s", r->code, r->out, r->err);
	if (r->out[0])
		fail_msg("stdout should be empty:\n%s", r->out);
	size_t len = strlen(r->err);
	if (len == 0 || r->err[len - 1] != '\n' || strchr(r->err, '\n') != r->err + len - 1)
		fail_msg("expected one line on stderr:\n%s", r->err);
	va_list ap;
	va_start(ap, r);
	for (const char *s; (s = va_arg(ap, const char *));)
		CONTAINS(r->err, s);
	va_end(ap);
}

/* `stepper run --auto` of prog: refused with one line holding the texts,
 * and nothing ran (no trace dir made). */
static void run_refused(const char *prog, ...)
{
	char td[4300];
	snprintf(td, sizeof td, "%s/td-refused", dir);
	result r;
	sh(&r, "STEPPER_AUTO_LIB=%s %s run --auto -n 2 --trace-dir %s -- %s", tiny, stepper, td,
	   prog);
	if (r.code != 2)
		fail_msg("exit %d, expected 2:\n%s%s", r.code, r.out, r.err);
	va_list ap;
	va_start(ap, prog);
	for (const char *s; (s = va_arg(ap, const char *));)
		CONTAINS(r.err, s);
	va_end(ap);
	refused(&r, prog, NULL);
	assert_false(exists(td));
	result_free(&r);
}

/* ------------------------------------------------------------------ */
/* Files to refuse                                                     */
/* ------------------------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* A copy of print_env's first n bytes (all: n = SIZE_MAX), with len
 * bytes at off replaced by patch (len 0: none). */
static void copy_prog(const char *to, size_t n, size_t off, const void *patch, size_t len,
		      mode_t mode)
{
	FILE *f = fopen(print_env, "rb");
	assert_non_null(f);
	size_t cap = 1 << 22;
	unsigned char *buf = malloc(cap);
	assert_non_null(buf);
	size_t got = fread(buf, 1, cap, f);
	fclose(f);
	assert_true(got < cap);
	if (n > got)
		n = got;
	assert_true(off + len <= n);
	if (len)
		memcpy(buf + off, patch, len);
	write_file(to, buf, n, mode);
	free(buf);
}

static void path_in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

/* cc FLAGS -o OUT SRC, SRC written from text; 0 when it built. */
static int cc(const char *flags, const char *out, const char *src, const char *text)
{
	FILE *f = fopen(src, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	const char *c = getenv("CC");
	char cmd[13000];
	snprintf(cmd, sizeof cmd, "%s %s -o %s %s > /dev/null 2>&1", c && *c ? c : "cc", flags,
		 out, src);
	int st = system(cmd);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int setup(void **state)
{
	(void)state;
	char cwd[2048], src[4300];
	if (!getcwd(cwd, sizeof cwd))
		return -1;
	snprintf(dir, sizeof dir, "%s/%s/test-cli-auto", cwd, bdir());
	snprintf(stepper, sizeof stepper, "%s/%s/bin/stepper", cwd, bdir());
	snprintf(print_env, sizeof print_env, "%s/%s/tests/progs/print_env", cwd, bdir());
	char cmd[8400];
	snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
	if (system(cmd) != 0)
		return -1;
	/* what the test's caller has set must not leak into the commands */
	unsetenv("STEPPER_AUTO_LIB");
	unsetenv("STEPPER_AUTO");
	unsetenv("LD_PRELOAD");
	unsetenv("STEPPER_STRATEGY");
	unsetenv("STEPPER_TRACE_DIR");
	/* a sanitizer build's programs start with their runtime first; a
	 * preloaded library comes before it, which ASan refuses by default */
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[2048];
	snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0", asan ? asan : "",
		 asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	/* two harmless libraries to preload */
	path_in_dir(tiny, sizeof tiny, "libtiny.so");
	path_in_dir(tiny2, sizeof tiny2, "libtiny2.so");
	path_in_dir(src, sizeof src, "tiny.c");
	if (cc("-shared -fPIC", tiny, src, "int stepper_test_tiny(void) { return 1; }\n") < 0 ||
	    cc("-shared -fPIC", tiny2, src, "int stepper_test_tiny2(void) { return 2; }\n") < 0) {
		fprintf(stderr, "test_cli_auto: cc cannot build a shared library\n");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The program                                                         */
/* ------------------------------------------------------------------ */

static void test_a_missing_program_is_refused_before_anything_runs(void **state)
{
	(void)state;
	char p[4300];
	path_in_dir(p, sizeof p, "no-such-program");
	run_refused(p, "cannot control", "no such file", NULL);
	run_refused("stepper-test-no-such-program", "not found in PATH", NULL);
}

static void test_a_program_that_is_not_executable_is_refused(void **state)
{
	(void)state;
	char p[4300];
	path_in_dir(p, sizeof p, "not-executable");
	copy_prog(p, SIZE_MAX, 0, NULL, 0, 0644);
	run_refused(p, "not executable (mode 0644)", NULL);
}

static void test_a_directory_is_refused(void **state)
{
	(void)state;
	run_refused(dir, "it is a directory", NULL);
}

static void test_a_script_is_refused_with_what_to_give_instead(void **state)
{
	(void)state;
	char p[4300];
	path_in_dir(p, sizeof p, "wrapper.sh");
	static const char script[] = "#!/bin/sh\nexec true\n";
	write_file(p, script, sizeof script - 1, 0755);
	run_refused(p, "a script", "--auto controls an ELF program",
		    "give the program itself, not a wrapper script", NULL);
	path_in_dir(p, sizeof p, "not-elf");
	static const char junk[] = "just some bytes, no ELF header at all\n";
	write_file(p, junk, sizeof junk - 1, 0755);
	run_refused(p, "not an ELF file", "--auto controls an ELF program", NULL);
}

static void test_a_program_found_in_path_is_checked_there(void **state)
{
	(void)state;
	char p[4300];
	path_in_dir(p, sizeof p, "stepper-test-wrapper");
	static const char script[] = "#!/bin/sh\nexec true\n";
	write_file(p, script, sizeof script - 1, 0755);
	result r;
	sh(&r, "PATH=%s:$PATH STEPPER_AUTO_LIB=%s %s run --auto -n 1 -- stepper-test-wrapper",
	   dir, tiny, stepper);
	/* the message names what PATH led to */
	refused(&r, "'stepper-test-wrapper' (", p, "a script", NULL);
	result_free(&r);
}

static void test_a_static_program_is_refused(void **state)
{
	(void)state;
	char p[4300], src[4300];
	path_in_dir(p, sizeof p, "static-prog");
	path_in_dir(src, sizeof src, "static.c");
	if (cc("-static", p, src, "int main(void) { return 0; }\n") < 0) {
		print_message("cc -static cannot build here (no static libc?): skipped\n");
		skip();
	}
	run_refused(p, "statically linked", "no PT_INTERP",
		    "--auto preloads libstepper-auto.so, which a static program cannot load",
		    NULL);
}

static void test_setuid_and_setgid_programs_are_refused(void **state)
{
	(void)state;
	char p[4300];
	path_in_dir(p, sizeof p, "setuid-prog");
	copy_prog(p, SIZE_MAX, 0, NULL, 0, 04755);
	run_refused(p, "setuid (mode 4755)", "the loader ignores LD_PRELOAD for it", NULL);
	path_in_dir(p, sizeof p, "setgid-prog");
	copy_prog(p, SIZE_MAX, 0, NULL, 0, 02755);
	run_refused(p, "setgid (mode 2755)", "the loader ignores LD_PRELOAD for it", NULL);
}

static void test_a_32_bit_program_is_refused(void **state)
{
	(void)state;
	/* the ELF header of a 32-bit i386 program, with nothing after it */
	Elf32_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
			  .e_ehsize = sizeof eh };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB
									 : ELFDATA2MSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	char p[4300];
	path_in_dir(p, sizeof p, "prog32");
	write_file(p, &eh, sizeof eh, 0755);
	if (sizeof(void *) == 8)
		run_refused(p, "a 32-bit ELF file", "this stepper", "is 64-bit", NULL);
}

static void test_a_program_for_another_machine_is_refused(void **state)
{
	(void)state;
	char p[4300];
	path_in_dir(p, sizeof p, "other-machine");
	FILE *f = fopen(print_env, "rb");
	assert_non_null(f);
	unsigned char head[EI_NIDENT + 4];
	assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
	fclose(f);
	uint16_t ours, theirs;
	memcpy(&ours, head + EI_NIDENT + 2, 2);
	theirs = ours == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
	copy_prog(p, SIZE_MAX, EI_NIDENT + 2, &theirs, 2, 0755);
	run_refused(p, "an ELF file for ", theirs == EM_AARCH64 ? "AArch64" : "x86-64",
		    "and this stepper is for", NULL);
	uint16_t rel = ET_REL;
	path_in_dir(p, sizeof p, "object-file");
	copy_prog(p, SIZE_MAX, EI_NIDENT, &rel, 2, 0755);
	run_refused(p, "an ELF object file (ET_REL), not a program", NULL);
}

/* ------------------------------------------------------------------ */
/* Damaged files: an error, never a crash                              */
/* ------------------------------------------------------------------ */

#if UINTPTR_MAX > 0xffffffffu
typedef Elf64_Ehdr ehdr_t;
typedef Elf64_Phdr phdr_t;
#else
typedef Elf32_Ehdr ehdr_t;
typedef Elf32_Phdr phdr_t;
#endif

static void test_damaged_headers_are_named(void **state)
{
	(void)state;
	char p[4300];
	path_in_dir(p, sizeof p, "damaged");
	uint64_t far = UINT64_MAX / 2;
	uint16_t small = 1, none = 0, xnum = PN_XNUM;
	copy_prog(p, SIZE_MAX, offsetof(ehdr_t, e_phoff), &far, sizeof(((ehdr_t *)0)->e_phoff),
		  0755);
	run_refused(p, "a damaged ELF file", "run past its end", NULL);
	copy_prog(p, SIZE_MAX, offsetof(ehdr_t, e_phentsize), &small, 2, 0755);
	run_refused(p, "a damaged ELF file", "program headers are 1 bytes each", NULL);
	copy_prog(p, SIZE_MAX, offsetof(ehdr_t, e_phnum), &none, 2, 0755);
	run_refused(p, "a damaged ELF file", "no program headers", NULL);
	copy_prog(p, SIZE_MAX, offsetof(ehdr_t, e_phnum), &xnum, 2, 0755);
	run_refused(p, "a damaged ELF file", "PN_XNUM", NULL);
	unsigned char bad_class = 7;
	copy_prog(p, SIZE_MAX, EI_CLASS, &bad_class, 1, 0755);
	run_refused(p, "a damaged ELF file", "class 7", NULL);
}

/* Every prefix of the program that ends before its program headers do. */
static void test_a_truncated_program_is_refused_at_every_length(void **state)
{
	(void)state;
	FILE *f = fopen(print_env, "rb");
	assert_non_null(f);
	ehdr_t eh;
	assert_int_equal(fread(&eh, 1, sizeof eh, f), sizeof eh);
	fclose(f);
	size_t end = (size_t)eh.e_phoff + (size_t)eh.e_phnum * eh.e_phentsize;
	char p[4300];
	path_in_dir(p, sizeof p, "truncated");
	for (size_t n = 0; n < end; n += n < sizeof eh + 8 ? 1 : 13) {
		copy_prog(p, n, 0, NULL, 0, 0755);
		result r;
		sh(&r, "STEPPER_AUTO_LIB=%s %s run --auto -n 1 -- %s", tiny, stepper, p);
		if (r.code != 2 || !strstr(r.err, "cannot control"))
			fail_msg("the first %zu bytes: exit %d:\n%s%s", n, r.code, r.out, r.err);
		result_free(&r);
	}
}

/* Garbage after a valid ELF identification, from a fixed generator. */
static void test_garbage_after_an_elf_ident_is_refused(void **state)
{
	(void)state;
	char p[4300];
	path_in_dir(p, sizeof p, "garbage");
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (int seed = 1; seed <= 24; seed++) {
		unsigned char buf[2048];
		for (size_t i = 0; i < sizeof buf; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (unsigned char)(x >> 24);
		}
		memcpy(buf, ELFMAG, SELFMAG);
		buf[EI_CLASS] = sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32;
		buf[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB
									 : ELFDATA2MSB;
		ehdr_t eh;
		memcpy(&eh, buf, sizeof eh);
		eh.e_type = ET_DYN;
		/* half of them with a plausible header size and count */
		if (seed % 2) {
			eh.e_phentsize = sizeof(phdr_t);
			eh.e_phnum = (uint16_t)(seed % 7);
		}
		memcpy(buf, &eh, sizeof eh);
		write_file(p, buf, sizeof buf, 0755);
		result r;
		sh(&r, "STEPPER_AUTO_LIB=%s %s run --auto -n 1 -- %s", tiny, stepper, p);
		if (r.code != 2 || !strstr(r.err, "cannot control"))
			fail_msg("garbage %d: exit %d:\n%s%s", seed, r.code, r.out, r.err);
		result_free(&r);
	}
}

/* ------------------------------------------------------------------ */
/* The library                                                         */
/* ------------------------------------------------------------------ */

static void test_a_missing_library_is_named_with_how_to_build_it(void **state)
{
	(void)state;
	char lib[4300], out[4300], td[4300];
	path_in_dir(lib, sizeof lib, "none/libstepper-auto.so");
	path_in_dir(out, sizeof out, "missing-lib.txt");
	path_in_dir(td, sizeof td, "td-missing-lib");
	result r;
	sh(&r, "PRINT_ENV_OUT=%s STEPPER_AUTO_LIB=%s %s run --auto --trace-dir %s -- %s", out,
	   lib, stepper, td, print_env);
	refused(&r, "--auto needs libstepper-auto.so", "tried STEPPER_AUTO_LIB=", lib, "make",
		NULL);
	assert_false(exists(out));
	assert_false(exists(td));
	result_free(&r);
}

/* Without STEPPER_AUTO_LIB: ../lib/libstepper-auto.so beside the stepper
 * (here a copy of it, in a folder of its own). */
static void test_the_library_is_found_beside_the_stepper(void **state)
{
	(void)state;
	char cmd[17000], bin[4300], lib[4300], out[4300];
	path_in_dir(bin, sizeof bin, "tree/bin/stepper");
	path_in_dir(lib, sizeof lib, "tree/lib/libstepper-auto.so");
	path_in_dir(out, sizeof out, "beside.txt");
	snprintf(cmd, sizeof cmd, "mkdir -p %s/tree/bin %s/tree/lib && cp %s %s", dir, dir,
		 stepper, bin);
	assert_int_equal(system(cmd), 0);
	result r;
	sh(&r, "%s run --auto -n 1 -- %s", bin, print_env);
	refused(&r, "tried ", lib, " (No such file or directory)", "make", NULL);
	result_free(&r);
	snprintf(cmd, sizeof cmd, "cp %s %s", tiny, lib);
	assert_int_equal(system(cmd), 0);
	sh(&r, "PRINT_ENV_OUT=%s %s run --auto -n 1 --trace-dir %s/td-beside -- %s", out, bin,
	   dir, print_env);
	assert_int_equal(r.code, 0);
	char want[8600];
	snprintf(want, sizeof want, "LD_PRELOAD=%s\n", lib);
	char *got = slurp(out);
	CONTAINS(got, want);
	free(got);
	result_free(&r);
	/* an inherited preload comes after the stepper's */
	sh(&r, "LD_PRELOAD=%s PRINT_ENV_OUT=%s %s run --auto -n 1 --trace-dir %s/td-beside -- %s",
	   tiny, out, bin, dir, print_env);
	assert_int_equal(r.code, 0);
	snprintf(want, sizeof want, "LD_PRELOAD=%s:%s\n", lib, tiny);
	got = slurp(out);
	CONTAINS(got, want);
	free(got);
	result_free(&r);
}

static void test_a_library_that_cannot_be_preloaded_is_refused(void **state)
{
	(void)state;
	char lib[4300], cmd[9000];
	path_in_dir(lib, sizeof lib, "not-a-library.so");
	static const char text[] = "not a library\n";
	write_file(lib, text, sizeof text - 1, 0644);
	result r;
	sh(&r, "STEPPER_AUTO_LIB=%s %s run --auto -n 1 -- %s", lib, stepper, print_env);
	refused(&r, "--auto cannot preload", lib, "not an ELF file", NULL);
	result_free(&r);
	/* LD_PRELOAD would split this path in two */
	path_in_dir(lib, sizeof lib, "lib:colon.so");
	snprintf(cmd, sizeof cmd, "cp %s '%s'", tiny, lib);
	assert_int_equal(system(cmd), 0);
	sh(&r, "STEPPER_AUTO_LIB='%s' %s run --auto -n 1 -- %s", lib, stepper, print_env);
	refused(&r, "--auto cannot preload", "a colon or a space", NULL);
	result_free(&r);
}

/* ------------------------------------------------------------------ */
/* The children's environment                                          */
/* ------------------------------------------------------------------ */

/* print_env's lines from one run of `stepper run` with these variables
 * before it (a shell prefix) and these options; the output file is
 * removed first. Exit 0 expected. */
static char *run_env(const char *vars, const char *opts)
{
	char out[4300];
	path_in_dir(out, sizeof out, "env.txt");
	unlink(out);
	result r;
	sh(&r, "%s PRINT_ENV_OUT=%s %s run %s -n 1 --trace-dir %s/td-env -- %s", vars, out,
	   stepper, opts, dir, print_env);
	if (r.code != 0)
		fail_msg("exit %d:\n%s%s", r.code, r.out, r.err);
	result_free(&r);
	return slurp(out);
}

static void test_the_children_get_the_library_first_and_stepper_auto(void **state)
{
	(void)state;
	char vars[9000], want[9000];
	snprintf(vars, sizeof vars, "STEPPER_AUTO_LIB=%s", tiny);
	char *got = run_env(vars, "--auto --no-server");
	snprintf(want, sizeof want, "LD_PRELOAD=%s\nSTEPPER_AUTO=1\nSTEPPER_SEED=1\n", tiny);
	assert_string_equal(got, want);
	free(got);
	/* an inherited LD_PRELOAD is kept, after ours; STEPPER_AUTO is ours */
	snprintf(vars, sizeof vars, "STEPPER_AUTO_LIB=%s LD_PRELOAD=%s STEPPER_AUTO=0", tiny,
		 tiny2);
	got = run_env(vars, "--auto --no-server");
	snprintf(want, sizeof want, "LD_PRELOAD=%s:%s\nSTEPPER_AUTO=1\nSTEPPER_SEED=1\n", tiny,
		 tiny2);
	assert_string_equal(got, want);
	free(got);
}

/* --on-stall release reaches the runs; it goes with --auto only, and
 * takes fail or release. */
static void test_on_stall_sets_the_runs_variable(void **state)
{
	(void)state;
	char vars[9000], want[9000];
	snprintf(vars, sizeof vars, "STEPPER_AUTO_LIB=%s", tiny);
	char *got = run_env(vars, "--auto --no-server --on-stall release");
	snprintf(want, sizeof want,
		 "LD_PRELOAD=%s\nSTEPPER_AUTO=1\nSTEPPER_ON_STALL=release\nSTEPPER_SEED=1\n", tiny);
	assert_string_equal(got, want);
	free(got);
	result r;
	sh(&r, "%s run --on-stall release -n 1 -- %s", stepper, print_env);
	assert_int_equal(r.code, 2);
	CONTAINS(r.err, "stepper: --on-stall goes with --auto");
	result_free(&r);
	sh(&r, "STEPPER_AUTO_LIB=%s %s run --auto --on-stall later -n 1 -- %s", tiny, stepper,
	   print_env);
	assert_int_equal(r.code, 2);
	CONTAINS(r.err, "stepper: --on-stall: expected fail or release, got 'later'");
	result_free(&r);
}

/* With the real library, each run is a copy made by the fork server: it
 * sees the environment of its run, as an exec'd one would (the preload
 * takes STEPPER_AUTO out before main, so programs it execs run plain). */
static void test_the_fork_server_s_runs_get_their_own_environment(void **state)
{
	(void)state;
	char out[4300], lib[4300], want[9000];
	path_in_dir(out, sizeof out, "env-server.txt");
	unlink(out);
	snprintf(lib, sizeof lib, "%s/lib/libstepper-auto.so", bdir());
	char *abs = realpath(lib, NULL);
	assert_non_null(abs);
	result r;
	sh(&r, "STEPPER_AUTO_LIB=%s PRINT_ENV_OUT=%s %s run --auto -j 1 -n 3 --trace-dir %s/td-env "
	       "-- %s",
	   abs, out, stepper, dir, print_env);
	if (r.code != 0)
		fail_msg("exit %d:\n%s%s", r.code, r.out, r.err);
	const char *san = getenv("SAN");
	if (san && (strcmp(san, "address") == 0 || strcmp(san, "thread") == 0))
		/* their runtimes need fork's bookkeeping: each run is exec'd */
		CONTAINS(r.err, "no fork server: this build of the preload does not serve");
	else if (strstr(r.err, "no fork server"))
		fail_msg("the server did not serve:\n%s", r.err);
	result_free(&r);
	char *got = slurp(out);
	snprintf(want, sizeof want,
		 "LD_PRELOAD=%s\nSTEPPER_AUTO unset\nSTEPPER_SEED=1\n"
		 "LD_PRELOAD=%s\nSTEPPER_AUTO unset\nSTEPPER_SEED=2\n"
		 "LD_PRELOAD=%s\nSTEPPER_AUTO unset\nSTEPPER_SEED=3\n",
		 abs, abs, abs);
	assert_string_equal(got, want);
	free(got);
	free(abs);
}

static void test_a_relative_library_path_is_made_absolute(void **state)
{
	(void)state;
	char vars[9000], want[9000];
	/* the commands run from the working folder; the library is under it */
	snprintf(vars, sizeof vars, "STEPPER_AUTO_LIB=%s/test-cli-auto/libtiny.so", bdir());
	char *got = run_env(vars, "--auto --no-server");
	snprintf(want, sizeof want, "LD_PRELOAD=%s\n", tiny);
	CONTAINS(got, want);
	free(got);
}

static void test_without_auto_the_environment_is_as_inherited(void **state)
{
	(void)state;
	char vars[9000], want[9000];
	snprintf(vars, sizeof vars, "STEPPER_AUTO_LIB=%s LD_PRELOAD=%s", tiny, tiny2);
	char *got = run_env(vars, "");
	snprintf(want, sizeof want, "LD_PRELOAD=%s\nSTEPPER_AUTO unset\nSTEPPER_SEED=1\n", tiny2);
	assert_string_equal(got, want);
	free(got);
}

/* ------------------------------------------------------------------ */
/* Outcomes                                                            */
/* ------------------------------------------------------------------ */

static void test_the_stepper_exit_statuses_are_named(void **state)
{
	(void)state;
	static const char *const names[] = { "misuse",	   "deadlock",	 "step limit",
					     "stall",	   "divergence", "cannot control" };
	char junit[4300];
	path_in_dir(junit, sizeof junit, "named.xml");
	for (int code = 85; code <= 90; code++) {
		result r;
		char want[4400];
		sh(&r, "STEPPER_AUTO_LIB=%s %s run --auto -n 2 -j 1 --trace-dir %s/td-named "
		       "--junit %s -- %s %d",
		   tiny, stepper, dir, junit, print_env, code);
		assert_int_equal(r.code, 1);
		snprintf(want, sizeof want, "  --auto: every run preloads %s\n", tiny);
		CONTAINS(r.out, want);
		snprintf(want, sizeof want, "  seed 1: %s (exit %d)\n", names[code - 85], code);
		CONTAINS(r.out, want);
		snprintf(want, sizeof want, "0 passed, 2 failed (2 %s) in", names[code - 85]);
		CONTAINS(r.out, want);
		char *xml = slurp(junit);
		snprintf(want, sizeof want, "type=\"%s (exit %d)\"", names[code - 85], code);
		CONTAINS(xml, want);
		free(xml);
		result_free(&r);
	}
	/* other statuses as before, and counted apart */
	result r;
	sh(&r, "STEPPER_AUTO_LIB=%s %s run --auto -n 1 --trace-dir %s/td-named -- %s 3", tiny,
	   stepper, dir, print_env);
	CONTAINS(r.out, "  seed 1: exit status 3\n");
	CONTAINS(r.out, "0 passed, 1 failed in");
	result_free(&r);
}

static void test_without_auto_exit_86_is_only_a_status(void **state)
{
	(void)state;
	result r;
	sh(&r, "%s run -n 1 --trace-dir %s/td-plain -- %s 86", stepper, dir, print_env);
	assert_int_equal(r.code, 1);
	CONTAINS(r.out, "  seed 1: exit status 86\n");
	CONTAINS(r.out, "0 passed, 1 failed in");
	assert_null(strstr(r.out, "deadlock"));
	result_free(&r);
}

/* A failing run that wrote a trace: its replay line has --auto, the
 * program and its arguments; without a trace, the rerun line sets what
 * --auto sets. */
static void test_the_replay_line_of_a_failure_has_auto_and_the_program(void **state)
{
	(void)state;
	result r;
	sh(&r, "STEPPER_AUTO_LIB=%s %s run --auto -n 1 --trace-dir %s/td-replay -- %s 86 "
	       "tests/golden/trace-fail.json",
	   tiny, stepper, dir, print_env);
	assert_int_equal(r.code, 1);
	char want[13000];
	snprintf(want, sizeof want, "    replay: %s replay --auto %s/td-replay/run-", stepper,
		 dir);
	CONTAINS(r.out, want);
	snprintf(want, sizeof want, "/seed-1.json -- %s 86 tests/golden/trace-fail.json\n",
		 print_env);
	CONTAINS(r.out, want);
	result_free(&r);
	sh(&r, "STEPPER_AUTO_LIB=%s %s run --auto -n 1 --trace-dir %s/td-rerun -- %s 86", tiny,
	   stepper, dir, print_env);
	snprintf(want, sizeof want, "rerun: STEPPER_SEED=1 STEPPER_AUTO=1 LD_PRELOAD=%s %s 86\n",
		 tiny, print_env);
	CONTAINS(r.out, want);
	result_free(&r);
}

/* ------------------------------------------------------------------ */
/* replay and shrink                                                   */
/* ------------------------------------------------------------------ */

static void test_replay_auto_preloads_and_names_the_exit(void **state)
{
	(void)state;
	result r;
	sh(&r, "STEPPER_AUTO_LIB=%s LD_PRELOAD=%s %s replay --auto tests/golden/trace-pass.json "
	       "-- %s 86",
	   tiny, tiny2, stepper, print_env);
	assert_int_equal(r.code, 1);
	char want[9000];
	snprintf(want, sizeof want, "LD_PRELOAD=%s:%s\nSTEPPER_AUTO=1\n", tiny, tiny2);
	CONTAINS(r.out, want);
	CONTAINS(r.out, "the command ended with deadlock (exit 86)");
	result_free(&r);
	/* and checks the program first */
	char p[4300];
	path_in_dir(p, sizeof p, "replay-wrapper.sh");
	static const char script[] = "#!/bin/sh\nexec true\n";
	write_file(p, script, sizeof script - 1, 0755);
	sh(&r, "STEPPER_AUTO_LIB=%s %s replay --auto tests/golden/trace-pass.json -- %s", tiny,
	   stepper, p);
	refused(&r, "a script", NULL);
	result_free(&r);
}

static void test_shrink_auto_preloads_and_checks_the_program(void **state)
{
	(void)state;
	char out[4300], trace[4300], cmd[9000];
	path_in_dir(out, sizeof out, "shrink-env.txt");
	path_in_dir(trace, sizeof trace, "fail.json");
	snprintf(cmd, sizeof cmd, "cp tests/golden/trace-fail.json %s", trace);
	assert_int_equal(system(cmd), 0);
	result r;
	sh(&r, "PRINT_ENV_OUT=%s STEPPER_AUTO_LIB=%s %s shrink --auto -j 1 %s -- %s 1", out,
	   tiny, stepper, trace, print_env);
	CONTAINS(r.out, "--auto: each process preloads ");
	char *got = slurp(out);
	char want[9000];
	snprintf(want, sizeof want, "LD_PRELOAD=%s\nSTEPPER_AUTO=1\n", tiny);
	CONTAINS(got, want);
	free(got);
	result_free(&r);
	char p[4300];
	path_in_dir(p, sizeof p, "shrink-wrapper.sh");
	static const char script[] = "#!/bin/sh\nexec true\n";
	write_file(p, script, sizeof script - 1, 0755);
	sh(&r, "STEPPER_AUTO_LIB=%s %s shrink --auto %s -- %s", tiny, stepper, trace, p);
	refused(&r, "a script", NULL);
	result_free(&r);
}

/* "    replay: ... replay --auto PATH -- ..." of out, into path. */
static void replay_path(const char *out, char *path, size_t size)
{
	const char *p = strstr(out, " replay --auto ");
	if (!p)
		fail_msg("no replay line with --auto in:\n%s", out);
	p += strlen(" replay --auto ");
	size_t n = strcspn(p, " ");
	assert_true(n < size);
	snprintf(path, size, "%.*s", (int)n, p);
}

/* run, shrink and replay chained as their printed commands say, on a
 * stepper test (the tiny library does nothing to it): --auto all along. */
static void test_run_shrink_and_replay_chain_with_auto(void **state)
{
	(void)state;
	char prog[4300], failing[4300], shrunk[4300], want[13000];
	snprintf(prog, sizeof prog, "%.*s/lost_update", (int)(strrchr(print_env, '/') - print_env),
		 print_env);
	result r;
	sh(&r, "STEPPER_AUTO_LIB=%s %s run --auto --seeds 1..10 -j 2 --trace-dir %s/td-chain -- "
	       "%s",
	   tiny, stepper, dir, prog);
	if (r.code != 1)
		fail_msg("exit %d:\n%s%s", r.code, r.out, r.err);
	replay_path(r.out, failing, sizeof failing);
	result_free(&r);
	sh(&r, "STEPPER_AUTO_LIB=%s %s shrink --auto -j 2 --seconds 3600 %s -- %s", tiny, stepper,
	   failing, prog);
	if (r.code != 0)
		fail_msg("exit %d:\n%s%s", r.code, r.out, r.err);
	snprintf(shrunk, sizeof shrunk, "%.*s-shrunk.json", (int)(strlen(failing) - 5), failing);
	snprintf(want, sizeof want, "replay shrunk: %s replay --auto %s -- %s\n", stepper, shrunk,
		 prog);
	CONTAINS(r.out, want);
	result_free(&r);
	sh(&r, "STEPPER_AUTO_LIB=%s %s replay --auto %s -- %s", tiny, stepper, shrunk, prog);
	assert_int_equal(r.code, 0);
	CONTAINS(r.out, "verdict: reproduced: the recorded failure happened again");
	result_free(&r);
}

static void test_help_describes_auto(void **state)
{
	(void)state;
	static const char *const cmds[] = { "run", "replay", "shrink" };
	for (size_t i = 0; i < 3; i++) {
		result r;
		sh(&r, "%s help %s", stepper, cmds[i]);
		assert_int_equal(r.code, 0);
		CONTAINS(r.out, "[--auto");
		CONTAINS(r.out, "libstepper-auto.so");
		result_free(&r);
	}
	result r;
	sh(&r, "%s help run", stepper);
	CONTAINS(r.out, "85 misuse, 86 deadlock, 87 step limit, 88 stall,\n89 divergence, 90 cannot control");
	CONTAINS(r.out, "$STEPPER_AUTO_LIB");
	result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_missing_program_is_refused_before_anything_runs),
		cmocka_unit_test(test_a_program_that_is_not_executable_is_refused),
		cmocka_unit_test(test_a_directory_is_refused),
		cmocka_unit_test(test_a_script_is_refused_with_what_to_give_instead),
		cmocka_unit_test(test_a_program_found_in_path_is_checked_there),
		cmocka_unit_test(test_a_static_program_is_refused),
		cmocka_unit_test(test_setuid_and_setgid_programs_are_refused),
		cmocka_unit_test(test_a_32_bit_program_is_refused),
		cmocka_unit_test(test_a_program_for_another_machine_is_refused),
		cmocka_unit_test(test_damaged_headers_are_named),
		cmocka_unit_test(test_a_truncated_program_is_refused_at_every_length),
		cmocka_unit_test(test_garbage_after_an_elf_ident_is_refused),
		cmocka_unit_test(test_a_missing_library_is_named_with_how_to_build_it),
		cmocka_unit_test(test_the_library_is_found_beside_the_stepper),
		cmocka_unit_test(test_a_library_that_cannot_be_preloaded_is_refused),
		cmocka_unit_test(test_the_children_get_the_library_first_and_stepper_auto),
		cmocka_unit_test(test_on_stall_sets_the_runs_variable),
		cmocka_unit_test(test_the_fork_server_s_runs_get_their_own_environment),
		cmocka_unit_test(test_a_relative_library_path_is_made_absolute),
		cmocka_unit_test(test_without_auto_the_environment_is_as_inherited),
		cmocka_unit_test(test_the_stepper_exit_statuses_are_named),
		cmocka_unit_test(test_without_auto_exit_86_is_only_a_status),
		cmocka_unit_test(test_the_replay_line_of_a_failure_has_auto_and_the_program),
		cmocka_unit_test(test_replay_auto_preloads_and_names_the_exit),
		cmocka_unit_test(test_shrink_auto_preloads_and_checks_the_program),
		cmocka_unit_test(test_run_shrink_and_replay_chain_with_auto),
		cmocka_unit_test(test_help_describes_auto),
	};
	if (setup(NULL) != 0) {
		fprintf(stderr, "test_cli_auto: setup failed\n");
		return 1;
	}
	return cmocka_run_group_tests_name("cli_auto", tests, NULL, NULL);
}
