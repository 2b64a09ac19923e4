#!/usr/bin/env bash
# Build the libFuzzer targets with clang-14 (ASan+UBSan) and run each one for
# SECONDS (default 600) starting from its seed corpus. New corpus entries go
# to build-fuzz/corpus/<name>/ (the committed seeds stay untouched); crashes
# to tests/fuzz/findings/<name>/. Exit non-zero on any finding.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
BUILD_DIR=build-fuzz CC=clang-14 ./scripts/build.sh -DTV_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz_}"); done
fi
fail=0
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t
  findings=tests/fuzz/findings/$t
  mkdir -p "$work" "$findings"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  echo "== fuzz_$t for ${secs}s"
  if ! ASAN_OPTIONS=detect_leaks=1 build-fuzz/bin/fuzz_"$t" -max_total_time="$secs" \
       -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
       "$work" 2>"build-fuzz/fuzz_$t.log"; then
    echo "FINDING in fuzz_$t: see build-fuzz/fuzz_$t.log and $findings/" >&2
    tail -30 "build-fuzz/fuzz_$t.log" >&2
    fail=1
  else
    grep -E "stat::number_of_executed_units|cov:" "build-fuzz/fuzz_$t.log" | tail -2
  fi
done
exit $fail
