#!/bin/sh
# make install into a staging DESTDIR, then build and run a program against
# the installed headers and library through pkg-config, with the same
# #include line as in-tree.
set -e
B=${B:-build}
stage="$PWD/$B/stage"
rm -rf "$stage"
make -s install DESTDIR="$stage" PREFIX=/usr/local >/dev/null
pc="$stage/usr/local/lib/pkgconfig"
cat > "$B/stage/use.c" <<'C'
#include <stepper/stepper.h>
static void step_once(void *p) { (void)p; STEP("only"); }
int main(void)
{
	static const char *const order[] = { "only", NULL };
	stp_stepper *s = stp_new(NULL);
	stp_thread(s, "t", order, step_once, NULL);
	int rc = stp_run(s);
	stp_free(s);
	return rc;
}
C
cflags=$(PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config --cflags stepper)
libs=$(PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config --libs --static stepper)
${CC:-cc} -std=c11 $cflags -o "$B/stage/use" "$B/stage/use.c" $libs
LD_LIBRARY_PATH="$stage/usr/local/lib" "$B/stage/use"
for f in lib/libstepper.a lib/libstepper.so.0 include/stepper/stepper.h bin/stepper \
	 lib/pkgconfig/stepper.pc; do
	[ -e "$stage/usr/local/$f" ] || { echo "check_install: $f not installed"; exit 1; }
done
echo "check_install: installed tree builds and runs a program (pkg-config stepper)"
