#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The repository's own hygiene checks, and that each one catches what it is for:
#   - every source file has its SPDX licence line (scripts/spdx.sh --check);
#   - every script declares the Debian packages of the commands it runs
#     (scripts/check-deps.py), so it can install them on a fresh machine
#     with scripts/deps.sh --for SCRIPT.
# Each check runs on the tree, then on a small tree made here with one
# defect, where it must fail and name the file and the command.
set -euo pipefail
SRC=${TV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d /tmp/tv-scripts.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# ---- the tree as it is
"$SRC/scripts/spdx.sh" --check || fail "files without an SPDX line (run scripts/spdx.sh)"
/usr/bin/python3 "$SRC/scripts/check-deps.py" "$SRC" >"$W/deps.out" 2>&1 || {
  cat "$W/deps.out" >&2
  fail "a script runs a command whose package it does not declare"
}
grep -q "0 problems" "$W/deps.out" || fail "check-deps printed no summary: $(cat "$W/deps.out")"

# ---- spdx: a C file without the line is found, and fixed by the script
mkdir -p "$W/t1/scripts" "$W/t1/lib"
cp "$SRC/scripts/spdx.sh" "$W/t1/scripts/"
printf '/* x.c */\nint x;\n' >"$W/t1/lib/x.c"
printf '#!/bin/sh\necho hi\n' >"$W/t1/scripts/y.sh"
printf '#!/usr/bin/env node\nconsole.log(1);\n' >"$W/t1/lib/z.js"
if "$W/t1/scripts/spdx.sh" --check 2>"$W/spdx.err"; then
  fail "spdx.sh --check passed a C file without a licence line"
fi
grep -q "lib/x.c" "$W/spdx.err" || fail "spdx.sh --check did not name lib/x.c: $(cat "$W/spdx.err")"
grep -q "scripts/y.sh" "$W/spdx.err" || fail "spdx.sh --check did not name scripts/y.sh"
grep -q "lib/z.js" "$W/spdx.err" || fail "spdx.sh --check did not name lib/z.js"
"$W/t1/scripts/spdx.sh" >/dev/null
"$W/t1/scripts/spdx.sh" --check || fail "spdx.sh did not fix what --check found"
[ "$(head -n 1 "$W/t1/lib/x.c")" = "/* SPDX-License-Identifier: Apache-2.0 */" ] || fail "bad C header: $(head -n 1 "$W/t1/lib/x.c")"
[ "$(head -n 1 "$W/t1/scripts/y.sh")" = "#!/bin/sh" ] || fail "the #! line must stay first"
[ "$(sed -n 2p "$W/t1/scripts/y.sh")" = "# SPDX-License-Identifier: Apache-2.0" ] || fail "bad shell header"
[ "$(sed -n 2p "$W/t1/lib/z.js")" = "// SPDX-License-Identifier: Apache-2.0" ] || fail "bad JavaScript header"

# ---- check-deps: an undeclared command (strace, from package strace; and
# openssl inside a command substitution) is refused, a declared one passes.
mkdir -p "$W/t2/scripts" "$W/t2/.ci"
cp "$SRC/scripts/deps.sh" "$W/t2/scripts/"
printf '#!/usr/bin/env bash\necho ok\n' >"$W/t2/.ci/run"
cat >"$W/t2/scripts/probe.sh" <<'EOT'
#!/usr/bin/env bash
# deps: git
set -euo pipefail
helper() { echo "strace is only a word in a message"; }
x=$(openssl version)
timeout 5 strace -f true 2>/dev/null || helper
EOT
if /usr/bin/python3 "$SRC/scripts/check-deps.py" "$W/t2" >"$W/t2.out" 2>&1; then
  fail "check-deps passed a script that runs strace and openssl undeclared: $(cat "$W/t2.out")"
fi
grep -q "scripts/probe.sh: runs 'strace' (package strace)" "$W/t2.out" || fail "strace not reported: $(cat "$W/t2.out")"
grep -q "scripts/probe.sh: runs 'openssl' (package openssl)" "$W/t2.out" || fail "openssl not reported: $(cat "$W/t2.out")"
if grep -q "'helper'\|'echo'\|'is'" "$W/t2.out"; then
  fail "check-deps took a function, builtin or message word for a command: $(cat "$W/t2.out")"
fi
sed -i 's/^# deps: git$/# deps: git strace openssl/' "$W/t2/scripts/probe.sh"
/usr/bin/python3 "$SRC/scripts/check-deps.py" "$W/t2" >"$W/t2.out" 2>&1 ||
  fail "check-deps refused a script whose packages are declared: $(cat "$W/t2.out")"
# A package name that does not exist is refused too.
sed -i 's/^# deps: git strace openssl$/# deps: git strace openssl no-such-package-tv/' "$W/t2/scripts/probe.sh"
if /usr/bin/python3 "$SRC/scripts/check-deps.py" "$W/t2" >"$W/t2.out" 2>&1; then
  fail "check-deps accepted a declared package that does not exist"
fi
grep -q "no-such-package-tv" "$W/t2.out" || fail "the unknown package was not named"
echo "PASS: spdx headers and script dependencies"
