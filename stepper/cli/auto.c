/*
 * auto.c - `--auto`: before anything runs, the program is checked (a
 * dynamically linked ELF of this stepper's kind, not setuid) and the
 * preload library found; afterwards, the exit statuses of the stepper's
 * failures are named.
 *
 * The ELF file is read here, header and program headers only, with every
 * offset checked against the file's size: a truncated or garbage file is
 * a clear error, never a crash.
 */
#include "auto.h"
#include "base.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Outcomes                                                            */
/* ------------------------------------------------------------------ */

static const char *const outcome_names[CLI_AUTO_OUTCOMES] = {
	"misuse", "deadlock", "step limit", "stall", "divergence", "cannot control",
};

const char *cli_auto_outcome_name(int k)
{
	return k >= 0 && k < CLI_AUTO_OUTCOMES ? outcome_names[k] : "?";
}

const char *cli_auto_outcome(int status, int *index)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) < CLI_AUTO_MISUSE ||
	    WEXITSTATUS(status) > CLI_AUTO_CANNOT)
		return NULL;
	int k = WEXITSTATUS(status) - CLI_AUTO_MISUSE;
	if (index)
		*index = k;
	return outcome_names[k];
}

void cli_auto_describe_status(int status, char *buf, size_t size)
{
	const char *name = cli_auto_outcome(status, NULL);
	if (name)
		snprintf(buf, size, "%s (exit %d)", name, WEXITSTATUS(status));
	else
		cli_describe_status(status, buf, size);
}

/* ------------------------------------------------------------------ */
/* ELF: the header and the program headers                             */
/* ------------------------------------------------------------------ */

/* This stepper's own class and byte order: the library is built with it,
 * and loads only into programs of the same. */
#if UINTPTR_MAX > 0xffffffffu
typedef Elf64_Ehdr ehdr_t;
typedef Elf64_Phdr phdr_t;
#define NATIVE_CLASS ELFCLASS64
#else
typedef Elf32_Ehdr ehdr_t;
typedef Elf32_Phdr phdr_t;
#define NATIVE_CLASS ELFCLASS32
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_DATA ELFDATA2LSB
#else
#define NATIVE_DATA ELFDATA2MSB
#endif

/* What the checks need of an ELF file. */
typedef struct elf_info {
	unsigned char cls, data; /* EI_CLASS, EI_DATA */
	unsigned type, machine;  /* e_type, e_machine (any class) */
	int parsed;              /* the rest was read: the class and order are ours */
	int interp;              /* it has a PT_INTERP program header */
} elf_info;

enum { ELF_OK, ELF_NOT_ELF, ELF_SCRIPT, ELF_DAMAGED };

/* A 16-bit field in the file's byte order. */
static unsigned field16(const unsigned char *p, unsigned char data)
{
	return data == ELFDATA2MSB ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

/* Exactly n bytes at off, or -1. */
static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
	ssize_t got;
	while ((got = pread(fd, buf, n, (off_t)off)) < 0 && errno == EINTR)
		;
	return got == (ssize_t)n ? 0 : -1;
}

/* The program headers of a file of our class and order: *interp set when
 * one is PT_INTERP. ELF_OK, or ELF_DAMAGED with why. */
static int read_phdrs(int fd, uint64_t size, const ehdr_t *eh, elf_info *e, char *why,
		      size_t wsize)
{
	uint64_t off = eh->e_phoff, each = eh->e_phentsize, n = eh->e_phnum;
	if (n == PN_XNUM)
		return snprintf(why, wsize, "it counts its program headers in a section "
					    "(PN_XNUM), which stepper does not read"),
		       ELF_DAMAGED;
	if (n == 0)
		return snprintf(why, wsize, "it has no program headers"), ELF_DAMAGED;
	if (each < sizeof(phdr_t))
		return snprintf(why, wsize, "its program headers are %llu bytes each, expected "
					    "at least %zu",
				(unsigned long long)each, sizeof(phdr_t)),
		       ELF_DAMAGED;
	if (off > size || n * each > size - off)
		return snprintf(why, wsize, "its %llu program headers (at byte %llu) run past "
					    "its end (%llu bytes): truncated?",
				(unsigned long long)n, (unsigned long long)off,
				(unsigned long long)size),
		       ELF_DAMAGED;
	for (uint64_t i = 0; i < n; i++) {
		phdr_t ph;
		if (read_at(fd, &ph, sizeof ph, off + i * each) < 0)
			return snprintf(why, wsize, "cannot read its program header %llu",
					(unsigned long long)i),
			       ELF_DAMAGED;
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
			return snprintf(why, wsize, "its PT_INTERP program header points past its "
						    "end: truncated?"),
			       ELF_DAMAGED;
		e->interp = 1;
	}
	return ELF_OK;
}

/* Read what the checks need from fd (size bytes). ELF_OK; ELF_NOT_ELF or
 * ELF_SCRIPT ("#!"); ELF_DAMAGED with why. */
static int read_elf(int fd, uint64_t size, elf_info *e, char *why, size_t wsize)
{
	/* e_ident, e_type and e_machine sit at the same offsets in both classes */
	unsigned char head[EI_NIDENT + 4] = { 0 };
	size_t got = size < sizeof head ? (size_t)size : sizeof head;
	*e = (elf_info){ 0 };
	if (got > 0 && read_at(fd, head, got, 0) < 0)
		return snprintf(why, wsize, "cannot read its first %zu bytes", got), ELF_DAMAGED;
	if (got < SELFMAG || memcmp(head, ELFMAG, SELFMAG) != 0)
		return got >= 2 && head[0] == '#' && head[1] == '!' ? ELF_SCRIPT : ELF_NOT_ELF;
	if (got < sizeof head)
		return snprintf(why, wsize, "its ELF header is cut short (%zu bytes)", got),
		       ELF_DAMAGED;
	e->cls = head[EI_CLASS];
	e->data = head[EI_DATA];
	if ((e->cls != ELFCLASS32 && e->cls != ELFCLASS64) ||
	    (e->data != ELFDATA2LSB && e->data != ELFDATA2MSB))
		return snprintf(why, wsize, "its ELF header has class %u and byte order %u, "
					    "neither of which exists",
				e->cls, e->data),
		       ELF_DAMAGED;
	e->type = field16(head + EI_NIDENT, e->data);
	e->machine = field16(head + EI_NIDENT + 2, e->data);
	if (e->cls != NATIVE_CLASS || e->data != NATIVE_DATA)
		return ELF_OK; /* the caller refuses it for that */
	ehdr_t eh;
	if (size < sizeof eh || read_at(fd, &eh, sizeof eh, 0) < 0)
		return snprintf(why, wsize, "its ELF header is cut short (%llu bytes)",
				(unsigned long long)size),
		       ELF_DAMAGED;
	e->parsed = 1;
	return read_phdrs(fd, size, &eh, e, why, wsize);
}

static const char *machine_name(unsigned m)
{
	static const struct {
		unsigned m;
		const char *name;
	} names[] = {
		{ EM_386, "i386" },	  { EM_X86_64, "x86-64" }, { EM_ARM, "ARM" },
		{ EM_AARCH64, "AArch64" }, { EM_RISCV, "RISC-V" }, { EM_PPC, "PowerPC" },
		{ EM_PPC64, "PowerPC64" }, { EM_S390, "s390" },	   { EM_MIPS, "MIPS" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].m == m)
			return names[i].name;
	return NULL;
}

/* "x86-64 (EM 62)", "EM 4242". */
static void describe_machine(unsigned m, char *buf, size_t size)
{
	const char *name = machine_name(m);
	if (name)
		snprintf(buf, size, "%s (e_machine %u)", name, m);
	else
		snprintf(buf, size, "e_machine %u", m);
}

/* This stepper's e_machine, from its own file (0: unknown, not checked). */
static unsigned native_machine(void)
{
	static unsigned machine;
	static int done;
	if (done)
		return machine;
	done = 1;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct stat st;
	elf_info e;
	char why[256];
	if (fd >= 0 && fstat(fd, &st) == 0 &&
	    read_elf(fd, (uint64_t)st.st_size, &e, why, sizeof why) == ELF_OK && e.parsed)
		machine = e.machine;
	if (fd >= 0)
		close(fd);
	return machine;
}

/* Is an ELF file of another class, byte order or machine than this
 * stepper? The reason into why; 0 when it is of ours. */
static int foreign(const elf_info *e, char *why, size_t wsize)
{
	unsigned ours = native_machine();
	char theirs[64], mine[64];
	if (e->cls != NATIVE_CLASS)
		return snprintf(why, wsize, "a %d-bit ELF file, and this stepper (with its "
					    CLI_AUTO_LIB_NAME ") is %d-bit",
				e->cls == ELFCLASS32 ? 32 : 64, NATIVE_CLASS == ELFCLASS32 ? 32 : 64),
		       1;
	if (e->data != NATIVE_DATA)
		return snprintf(why, wsize, "a %s-endian ELF file, and this stepper is %s-endian",
				e->data == ELFDATA2MSB ? "big" : "little",
				NATIVE_DATA == ELFDATA2MSB ? "big" : "little"),
		       1;
	if (ours && e->machine != ours) {
		describe_machine(e->machine, theirs, sizeof theirs);
		describe_machine(ours, mine, sizeof mine);
		return snprintf(why, wsize, "an ELF file for %s, and this stepper is for %s",
				theirs, mine),
		       1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The program                                                         */
/* ------------------------------------------------------------------ */

/* One line, "stepper: cannot control 'PROG' (PATH) with --auto: WHY";
 * returns -1. */
__attribute__((format(printf, 3, 4))) static int refuse(const char *prog, const char *path,
							const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "stepper: cannot control '%s'", prog);
	if (path && strcmp(path, prog) != 0)
		fprintf(stderr, " (%s)", path);
	fputs(" with --auto: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* prog as execvp finds it: a name with a '/' as it is; else the first
 * executable file of that name in $PATH's folders or, when none is, the
 * first thing of that name there (to say what is wrong with it). 0 with
 * the path in buf, or -1 when there is nothing of that name. */
static int resolve(const char *prog, char *buf, size_t size)
{
	if (!*prog)
		return -1;
	if (strchr(prog, '/'))
		return snprintf(buf, size, "%s", prog) < (int)size ? 0 : -1;
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin"; /* glibc's execvp without PATH */
	int found = 0;
	char cand[PATH_MAX];
	for (const char *p = path;;) {
		size_t len = strcspn(p, ":");
		int n = snprintf(cand, sizeof cand, "%.*s%s%s", (int)len, p, len ? "/" : "",
				 prog);
		struct stat st;
		if (n > 0 && (size_t)n < sizeof cand && (size_t)n < size &&
		    stat(cand, &st) == 0) {
			if (is_executable_file(cand))
				return memcpy(buf, cand, (size_t)n + 1), 0;
			if (!found)
				memcpy(buf, cand, (size_t)n + 1);
			found = 1;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	return found ? 0 : -1;
}

/* The file's kind and mode: a regular executable file, not set-id. */
static int check_file(const char *prog, const char *path, const struct stat *st)
{
	unsigned mode = (unsigned)st->st_mode & 07777;
	if (S_ISDIR(st->st_mode))
		return refuse(prog, path, "it is a directory, not a program");
	if (!S_ISREG(st->st_mode))
		return refuse(prog, path, "it is not a regular file");
	if (access(path, X_OK) != 0)
		return refuse(prog, path, "it is not executable (mode %04o)", mode);
	if (st->st_mode & (S_ISUID | S_ISGID))
		return refuse(prog, path,
			      "it is set%s (mode %04o): the loader ignores LD_PRELOAD for it, so "
			      CLI_AUTO_LIB_NAME " would not be loaded",
			      st->st_mode & S_ISUID ? "uid" : "gid", mode);
	return 0;
}

/* What its ELF header and program headers say. */
static int check_elf(const char *prog, const char *path, int fd, uint64_t size)
{
	elf_info e;
	char why[320];
	switch (read_elf(fd, size, &e, why, sizeof why)) {
	case ELF_SCRIPT:
		return refuse(prog, path, "it is a script ('#!'), not an ELF program: --auto "
					  "controls an ELF program, so give the program itself, "
					  "not a wrapper script that starts it");
	case ELF_NOT_ELF:
		return refuse(prog, path, "it is not an ELF file: --auto controls an ELF "
					  "program, so give the program itself, not a wrapper "
					  "script that starts it");
	case ELF_DAMAGED:
		return refuse(prog, path, "a damaged ELF file: %s", why);
	}
	if (foreign(&e, why, sizeof why))
		return refuse(prog, path, "it is %s: " CLI_AUTO_LIB_NAME " cannot be loaded into it",
			      why);
	if (e.type == ET_REL)
		return refuse(prog, path, "it is an ELF object file (ET_REL), not a program");
	if (e.type == ET_CORE)
		return refuse(prog, path, "it is a core dump (ET_CORE), not a program");
	if (e.type != ET_EXEC && e.type != ET_DYN)
		return refuse(prog, path, "it is an ELF file of type %u, not a program", e.type);
	if (!e.interp)
		return refuse(prog, path,
			      "it is %s (no PT_INTERP program header): --auto preloads "
			      CLI_AUTO_LIB_NAME ", which a static program cannot load",
			      e.type == ET_DYN ? "statically linked (static-pie) or a shared library"
					       : "statically linked");
	return 0;
}

static int check_program(const char *prog)
{
	char path[PATH_MAX];
	if (resolve(prog, path, sizeof path) < 0)
		return strchr(prog, '/') ? refuse(prog, NULL, "no such file")
					 : refuse(prog, NULL, "not found in PATH");
	struct stat st;
	if (stat(path, &st) != 0)
		return refuse(prog, path, "%s", errno == ENOENT ? "no such file" : strerror(errno));
	if (check_file(prog, path, &st) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return refuse(prog, path, "cannot read it to check it: %s", strerror(errno));
	int rc = check_elf(prog, path, fd, (uint64_t)st.st_size);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The library                                                         */
/* ------------------------------------------------------------------ */

/* Not found: say where we looked (how: "STEPPER_AUTO_LIB=" or "") and how
 * to get it; returns -1. */
static int lib_missing(const char *how, const char *path, const char *why)
{
	fprintf(stderr, "stepper: --auto needs " CLI_AUTO_LIB_NAME " and cannot find it: tried "
			"%s%s (%s); build it with `make` in stepper's source tree (it goes to "
			"build/lib/, beside build/bin/stepper), or set STEPPER_AUTO_LIB to its "
			"path\n",
		how, path, why);
	return -1;
}

/* Not fit to preload: returns -1. */
__attribute__((format(printf, 3, 4))) static int lib_refused(const char *how, const char *path,
							     const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "stepper: --auto cannot preload %s%s: ", how, path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* A shared library of this stepper's class and machine. */
static int check_lib_elf(const char *how, const char *path, int fd, uint64_t size)
{
	elf_info e;
	char why[320];
	int k = read_elf(fd, size, &e, why, sizeof why);
	if (k == ELF_SCRIPT || k == ELF_NOT_ELF)
		return lib_refused(how, path, "it is not an ELF file");
	if (k == ELF_DAMAGED)
		return lib_refused(how, path, "a damaged ELF file: %s", why);
	if (foreign(&e, why, sizeof why))
		return lib_refused(how, path, "it is %s", why);
	if (e.type != ET_DYN)
		return lib_refused(how, path, "it is not a shared library (ELF type %u)", e.type);
	return 0;
}

/* path (as given; how says where it came from) made absolute into a->lib
 * and checked. */
static int use_lib(const char *how, const char *path, cli_auto *a)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return lib_missing(how, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return lib_refused(how, path, "it is not a regular file");
	if (!realpath(path, a->lib))
		return lib_refused(how, path, "%s", strerror(errno));
	/* LD_PRELOAD splits at colons and spaces */
	if (a->lib[strcspn(a->lib, ": \t\n")])
		return lib_refused(how, path, "its path %s holds a colon or a space, which "
					      "LD_PRELOAD takes as a separator",
				   a->lib);
	int fd = open(a->lib, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lib_refused(how, path, "cannot read it: %s", strerror(errno));
	int rc = check_lib_elf(how, path, fd, (uint64_t)st.st_size);
	close(fd);
	return rc;
}

/* $STEPPER_AUTO_LIB, else ../lib/libstepper-auto.so beside this stepper's
 * own file (in the source tree and where it is installed alike). */
static int find_lib(cli_auto *a)
{
	const char *env = getenv("STEPPER_AUTO_LIB");
	if (env && *env)
		return use_lib("STEPPER_AUTO_LIB=", env, a);
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) {
		fprintf(stderr, "stepper: --auto needs " CLI_AUTO_LIB_NAME " and cannot find it: "
				"it looks beside this stepper, whose path /proc/self/exe does not "
				"give (%s); set STEPPER_AUTO_LIB to the library's path (`make` "
				"builds it into build/lib/)\n",
			strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	/* /proc/self/exe has no symbolic links in it: .. is the parent folder */
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
	}
	snprintf(path, sizeof path, "%s/lib/" CLI_AUTO_LIB_NAME, exe);
	return use_lib("", path, a);
}

int cli_auto_prepare(const char *prog, cli_auto *a)
{
	a->on = 1;
	if (check_program(prog) < 0 || find_lib(a) < 0)
		return -1;
	return 0;
}
