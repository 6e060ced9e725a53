#!/bin/sh
# make install, then build and run a program against the installed headers
# and library through pkg-config, with the same #include line as in-tree.
#
# Two installs, as users do them:
#  1. a non-default PREFIX (a temporary directory), no DESTDIR: the
#     installed stepper.pc must name that prefix; the program is linked
#     against the shared library and finds it at run time through the rpath
#     the README recommends (-Wl,-rpath,$(pkg-config --variable=libdir ...));
#  2. PREFIX=/usr/local staged under DESTDIR, as a package build does:
#     linked statically.
set -e
B=${B:-build}
CC=${CC:-cc}
work="$PWD/$B/check-install"
rm -rf "$work"
mkdir -p "$work"
cat > "$work/use.c" <<'C'
#include <stepper/stepper.h>
#include <stdio.h>
static void step_once(void *p) { (void)p; STEP("only"); }
int main(void)
{
	static const char *const order[] = { "only", NULL };
	stp_stepper *s = stp_new(NULL);
	stp_thread(s, "t", order, step_once, NULL);
	int rc = stp_run(s);
	stp_free(s);
	puts(rc == 0 ? "ran one step" : "run failed");
	return rc;
}
C

fail() { echo "check_install: $*"; echo "check_install: 0 passed, 1 failed"; exit 1; }

# 1. A non-default prefix.
prefix=$(mktemp -d "$work/prefix.XXXXXX")
make -s install PREFIX="$prefix" >/dev/null
pc="$prefix/lib/pkgconfig"
got=$(PKG_CONFIG_PATH="$pc" pkg-config --variable=prefix stepper)
[ "$got" = "$prefix" ] || fail "installed stepper.pc says prefix=$got, expected $prefix"
cflags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags stepper)
libs=$(PKG_CONFIG_PATH="$pc" pkg-config --libs stepper)
libdir=$(PKG_CONFIG_PATH="$pc" pkg-config --variable=libdir stepper)
$CC -std=c11 $cflags -o "$work/use-shared" "$work/use.c" $libs -Wl,-rpath,"$libdir" ||
	fail "cannot build against $prefix with pkg-config"
out=$(env -u LD_LIBRARY_PATH "$work/use-shared") || fail "program built against $prefix failed: $out"
ldd "$work/use-shared" | grep -q "$prefix/lib/libstepper.so.0" ||
	fail "program did not load libstepper.so.0 from $prefix/lib"
"$prefix/bin/stepper" --version >/dev/null || fail "$prefix/bin/stepper --version failed"
# the installed stepper finds the installed preload for --auto
"$prefix/bin/stepper" run --auto -n 2 --trace-dir "$work/td" -- /bin/true >"$work/auto.out" 2>&1 ||
	fail "$prefix/bin/stepper run --auto failed: $(cat "$work/auto.out")"
grep -q "preloads $prefix/lib/libstepper-auto.so" "$work/auto.out" ||
	fail "$prefix/bin/stepper run --auto did not preload $prefix/lib/libstepper-auto.so"

# 2. DESTDIR staging with the default prefix, linked statically.
stage="$work/stage"
make -s install DESTDIR="$stage" PREFIX=/usr/local >/dev/null
pc="$stage/usr/local/lib/pkgconfig"
cflags=$(PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config --cflags stepper)
libs=$(PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config --libs --static stepper)
$CC -std=c11 $cflags -o "$work/use-static" "$work/use.c" \
	"$stage/usr/local/lib/libstepper.a" $libs || fail "cannot build against the staged tree"
"$work/use-static" >/dev/null || fail "program built against the staged tree failed"
for f in lib/libstepper.a lib/libstepper.so.0 lib/libstepper-auto.so include/stepper/stepper.h \
	 bin/stepper lib/pkgconfig/stepper.pc; do
	[ -e "$stage/usr/local/$f" ] || fail "$f not installed"
done
rm -rf "$work"
echo "check_install: a program builds and runs against an install in a non-default prefix and in DESTDIR"
