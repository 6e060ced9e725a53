#!/bin/sh
# The Makefile's dependency check: the library (plain `make`) needs
# pkg-config and jansson only; the tests also need cmocka, curl and
# python3. Run against the Makefile in a scratch directory, as a user who is
# not root (a fake `id`), with a PATH where curl and python3 do not exist
# and a pkg-config that knows jansson but not cmocka. Nothing is installed.
set -e
top=$PWD
work="$top/${B:-build}/check-deps"
rm -rf "$work"
mkdir -p "$work/bin" "$work/tree"
cp Makefile "$work/tree/"
for tool in sh mkdir touch find rm cat; do
	ln -s "$(command -v $tool)" "$work/bin/$tool"
done
cat > "$work/bin/id" <<'EOF'
#!/bin/sh
echo 1000
EOF
cat > "$work/bin/pkg-config" <<'EOF'
#!/bin/sh
for a in "$@"; do [ "$a" = cmocka ] && exit 1; done
exit 0
EOF
chmod +x "$work/bin/id" "$work/bin/pkg-config"
make=$(command -v make)
fail() { echo "check_deps: $*"; echo "check_deps: 0 passed, 1 failed"; exit 1; }

cd "$work/tree"
out=$(PATH="$work/bin" "$make" -s build/.deps-lib-ok 2>&1) ||
	fail "the library's check refused to start: $out"
echo "$out" | grep -q missing && fail "the library's check asked for test tools: $out"

out=$(PATH="$work/bin" "$make" -s build/.deps-test-ok 2>&1) &&
	fail "the tests' check passed without cmocka, curl and python3"
echo "$out" | grep -q "missing: libcmocka-dev curl python3" ||
	fail "the tests' check did not name what is missing: $out"
echo "$out" | grep -q "sudo apt-get update && sudo apt-get install -y libcmocka-dev curl python3" ||
	fail "the tests' check did not print the command: $out"
cd "$top"
rm -rf "$work"
echo "check_deps: plain make needs pkg-config and jansson only; make test names the test tools it lacks"
