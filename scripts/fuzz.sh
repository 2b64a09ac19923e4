#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: clang-14 libclang-rt-14-dev
# Build the libFuzzer targets with clang-14 (ASan+UBSan) and run each one for
# SECONDS (default 600) starting from its seed corpus. New corpus entries go
# to $FUZZ_BUILD_DIR/corpus/<name>/ (default build-fuzz; the committed seeds
# stay untouched); crashes to tests/fuzz/findings/<name>/. Exit non-zero on
# any finding. Two runs at once need two FUZZ_BUILD_DIRs.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh --for scripts/fuzz.sh
secs=${1:-600}
shift || true
B=${FUZZ_BUILD_DIR:-build-fuzz}
BUILD_DIR=$B CC=clang-14 ./scripts/build.sh -DTV_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz_}"); done
fi
fail=0
for t in "${targets[@]}"; do
  work=$B/corpus/$t
  findings=tests/fuzz/findings/$t
  mkdir -p "$work" "$findings"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  echo "== fuzz_$t for ${secs}s"
  if ! ASAN_OPTIONS=detect_leaks=1 "$B"/bin/fuzz_"$t" -max_total_time="$secs" \
       -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
       "$work" 2>"$B/fuzz_$t.log"; then
    echo "FINDING in fuzz_$t: see $B/fuzz_$t.log and $findings/" >&2
    tail -30 "$B/fuzz_$t.log" >&2
    fail=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$B/fuzz_$t.log" | tail -2
  fi
done
exit $fail
