#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps: redis-server redis-tools etcd-server etcd-client golang-etcd-server-dev golang-go
# deps: python3 cmake
# teevault side by side with Redis and etcd on this machine (issue 7, item 2).
#
#   scripts/bench-compare.sh            # builds if needed, runs everything, prints one table
#
# In one run, on loopback and Unix sockets only, with 64-byte values:
#   teevault  a fresh `teevaultd --dev` (sim backend), state on the normal
#             disk (so fsync is real), driven by teevault-bench: Get (audited,
#             group-committed) and Put at 1 and 64 connections over ttrpc, and
#             Get over gRPC (HTTP/2), Connect JSON over HTTP/2 and Connect
#             JSON over HTTP/1.1 on the same socket of the same daemon;
#   redis     Debian's redis-server on a Unix socket, once with appendonly yes +
#             appendfsync always and once with persistence off, driven by
#             redis-benchmark -t get,set -d 64 -c 1/64 (no pipelining);
#   etcd      Debian's etcd-server (data dir on the same disk, loopback only),
#             Get (linearizable) and Put at 1 and 64 connections, driven by
#             scripts/bench/etcd_bench.go (Debian's etcd has no `benchmark`
#             tool; the driver is built against Debian's clientv3 in GOPATH mode).
# Each measurement is sized by a short calibration run to last about
# TV_BENCH_SECONDS (default 3) seconds. The three systems take turns for
# TV_BENCH_ROUNDS rounds (default 3; fresh servers and data each round), so
# a change in the disk's flush latency during the run hits them alike; the
# table shows each cell's median round and each ratio's median over the
# rounds' own ratios, with its range. Missing Debian packages are installed
# with apt-get. Every process started here is stopped on exit.
#
# Environment: TV_BIN (default build/bin; built with cmake when missing),
# TV_BENCH_SECONDS, TV_BENCH_ROUNDS, TV_BENCH_DIR (parent of the temp dir; default /var/tmp,
# which must be a real disk, not tmpfs), TV_BENCH_JSON (also write the
# results, one JSON object per line, to this file).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECS="${TV_BENCH_SECONDS:-3}"
ROUNDS="${TV_BENCH_ROUNDS:-3}"
PARENT="${TV_BENCH_DIR:-/var/tmp}"
PY=/usr/bin/python3

say() { echo "bench-compare: $(date +%T) $*" >&2; }
die() {
  echo "bench-compare: $*" >&2
  exit 1
}
if ! [[ "$SECS" =~ ^[0-9]+$ ]] || [ "$SECS" -lt 1 ] || [ "$SECS" -gt 60 ]; then
  die "TV_BENCH_SECONDS must be 1..60"
fi
if ! [[ "$ROUNDS" =~ ^[0-9]+$ ]] || [ "$ROUNDS" -lt 1 ] || [ "$ROUNDS" -gt 20 ]; then
  die "TV_BENCH_ROUNDS must be 1..20"
fi

# ---------------------------------------------------------------- packages
# The '# deps:' lines above (etcdctl is etcd-client; redis-benchmark and
# redis-cli are redis-tools); scripts/check-deps.py keeps them complete.
"$ROOT/scripts/deps.sh" --for "$0"

# ---------------------------------------------------------------- build
TV_BIN="${TV_BIN:-$ROOT/build/bin}"
if [ ! -x "$TV_BIN/teevaultd" ] || [ ! -x "$TV_BIN/teevault-bench" ]; then
  [ "$TV_BIN" = "$ROOT/build/bin" ] || die "no teevaultd / teevault-bench in $TV_BIN"
  echo "bench-compare: building teevault in $ROOT/build" >&2
  "$ROOT/scripts/deps.sh"
  cmake -S "$ROOT" -B "$ROOT/build" >/dev/null
  cmake --build "$ROOT/build" -j"$(nproc)" --target teevaultd teevault-bench >/dev/null
fi

# ---------------------------------------------------------------- cleanup
W="$(mktemp -d "$PARENT/tv-bench-compare.XXXXXX")"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$W"
}
# stop_last: stop the most recently started process and forget it (its pid
# may be reused once reaped).
stop_last() {
  local p=${PIDS[-1]}
  kill -TERM "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset 'PIDS[-1]'
}
trap cleanup EXIT
trap 'exit 130' INT TERM
RES="$W/results.jsonl"
: >"$RES"

# wait_for SECONDS CMD...: poll CMD every 0.1 s, bounded.
wait_for() {
  local n=$(($1 * 10))
  shift
  for _ in $(seq 1 "$n"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# record SYSTEM CONFIG JSON-FROM-A-DRIVER (in round $ROUND)
record() {
  $PY - "$1" "$2" "$3" "$ROUND" >>"$RES" <<'EOF'
import json, sys
d = json.loads(sys.argv[3])
d["system"], d["config"], d["round"] = sys.argv[1], sys.argv[2], int(sys.argv[4])
print(json.dumps(d))
EOF
}

# sized BASE_N RATE: requests for ~SECS seconds at RATE ops/s (bounded).
sized() {
  $PY -c 'import sys; b,r,s=int(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]); print(max(b, min(2000000, int(r*s))))' "$1" "$2" "$SECS"
}
rate_of() { $PY -c 'import json,sys; print(json.loads(sys.argv[1])["ops_per_sec"])' "$1"; }

# fsync_probe LABEL: latency of a 4 KiB pwrite + fdatasync in the state
# directory (200 rounds): every durable figure below is bounded by it.
fsync_probe() {
  $PY - "$W/fsync-probe" "$1" >>"$W/fsync.txt" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o600)
buf, lat = b"x" * 4096, []
for i in range(200):
    t0 = time.monotonic()
    os.pwrite(fd, buf, (i % 16) * 4096)
    os.fdatasync(fd)
    lat.append((time.monotonic() - t0) * 1e6)
os.close(fd)
os.unlink(sys.argv[1])
lat.sort()
print("fsync probe (%s): 4 KiB pwrite+fdatasync p50 %.0f us, p99 %.0f us" % (sys.argv[2], lat[99], lat[197]))
EOF
}

echo "bench-compare: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), state in $W" >&2

# ---------------------------------------------------------------- teevault
tvb() { # tvb OP CONNS REQUESTS [PROTO]
  timeout 300 "$TV_BIN/teevault-bench" --addr "unix:$W/tv/tv.sock" --token-file "$W/tv/state/root-token" \
    --op "$1" --connections "$2" --requests "$3" --value-size 64 --format json --proto "${4:-ttrpc}"
}
tv_phase() {
  local op c base cal out
  fsync_probe "round $ROUND, before teevault"
  rm -rf "$W/tv"
  mkdir -p "$W/tv"
  "$TV_BIN/teevaultd" --dev --state-dir "$W/tv/state" --socket "$W/tv/tv.sock" >"$W/tv/teevaultd.log" 2>&1 &
  PIDS+=($!)
  wait_for 20 test -s "$W/tv/state/root-token" || die "teevaultd did not start (log: $(tail -3 "$W/tv/teevaultd.log"))"
  wait_for 5 test -S "$W/tv/tv.sock" || die "no teevault socket"
  for op in get put; do
    for c in 1 64; do
      base=$((c == 1 ? 200 : 1280))
      say "round $ROUND: teevault $op c=$c"
      cal=$(tvb "$op" "$c" "$base") || die "teevault-bench $op c=$c failed"
      out=$(tvb "$op" "$c" "$(sized "$base" "$(rate_of "$cal")")") || die "teevault-bench $op c=$c failed"
      record teevault dev "$out"
    done
  done
  # Get over the HTTP protocols, interleaved with ttrpc rows above in the same daemon.
  for proto in grpc connect connect-h1; do
    for c in 1 64; do
      base=$((c == 1 ? 200 : 1280))
      say "round $ROUND: teevault get over $proto c=$c"
      cal=$(tvb get "$c" "$base" "$proto") || die "teevault-bench get --proto $proto c=$c failed"
      out=$(tvb get "$c" "$(sized "$base" "$(rate_of "$cal")")" "$proto") ||
        die "teevault-bench get --proto $proto c=$c failed"
      record teevault "$proto" "$out"
    done
  done
  stop_last
}

# ---------------------------------------------------------------- redis
# redis-benchmark --csv (7.x): "test","rps","avg_latency_ms","min_latency_ms",
# "p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
redis_run() { # redis_run CONFIG ARGS...
  local cfg=$1
  shift
  rm -rf "$W/redis-$cfg"
  mkdir -p "$W/redis-$cfg"
  redis-server --port 0 --unixsocket "$W/redis-$cfg/redis.sock" --unixsocketperm 700 \
    --dir "$W/redis-$cfg" --save '' --daemonize no --logfile "$W/redis-$cfg/redis.log" "$@" &
  PIDS+=($!)
  wait_for 10 redis-cli -s "$W/redis-$cfg/redis.sock" ping || die "redis-server ($cfg) did not start"
  for c in 1 64; do
    say "round $ROUND: redis ($cfg) set,get c=$c"
    local base=$((c == 1 ? 200 : 1280)) cal n
    cal=$(timeout 300 redis-benchmark -s "$W/redis-$cfg/redis.sock" -c "$c" -d 64 -n "$base" -t set --csv) ||
      die "redis-benchmark failed"
    n=$(sized "$base" "$(printf '%s\n' "$cal" | awk -F'"' '$2=="SET"{print $4}')")
    # GET is far faster than SET under appendfsync always: size each separately.
    for t in set get; do
      local n_t=$n
      if [ "$t" = get ]; then
        cal=$(timeout 300 redis-benchmark -s "$W/redis-$cfg/redis.sock" -c "$c" -d 64 -n "$base" -t get --csv)
        n_t=$(sized "$base" "$(printf '%s\n' "$cal" | awk -F'"' '$2=="GET"{print $4}')")
      fi
      timeout 300 redis-benchmark -s "$W/redis-$cfg/redis.sock" -c "$c" -d 64 -n "$n_t" -t "$t" --csv |
        $PY -c '
import csv, json, sys
for row in csv.reader(sys.stdin):
    if row and row[0] in ("GET", "SET"):
        print(json.dumps({"op": "get" if row[0] == "GET" else "put", "connections": int(sys.argv[1]),
              "requests": int(sys.argv[2]), "ops_per_sec": float(row[1]),
              "p50_us": float(row[4]) * 1e3, "p99_us": float(row[6]) * 1e3, "p999_us": None}))
' "$c" "$n_t" >"$W/redis.json"
      [ -s "$W/redis.json" ] || die "redis-benchmark printed no result"
      record redis "$cfg" "$(cat "$W/redis.json")"
    done
  done
  redis-cli -s "$W/redis-$cfg/redis.sock" config get append* | tr '\n' ' ' >&2
  echo >&2
  stop_last
}
redis_phase() {
  fsync_probe "round $ROUND, before redis fsync=always"
  redis_run aof-always --appendonly yes --appendfsync always
  fsync_probe "round $ROUND, before redis no persistence"
  redis_run no-persistence --appendonly no
}

# ---------------------------------------------------------------- etcd
mkdir -p "$W/go"
say "building the etcd driver (GOPATH mode, Debian's clientv3)"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="${GOCACHE:-$HOME/.cache/go-build}" GOFLAGS='' \
  go build -o "$W/go/etcd_bench" "$ROOT/scripts/bench/etcd_bench.go" || die "cannot build etcd_bench"
etcd_phase() {
  local P1 P2 op c base cal out
  read -r P1 P2 < <($PY -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
  rm -rf "$W/etcd"
  mkdir -p "$W/etcd"
  etcd --name bench --data-dir "$W/etcd/data" \
    --listen-client-urls "http://127.0.0.1:$P1" --advertise-client-urls "http://127.0.0.1:$P1" \
    --listen-peer-urls "http://127.0.0.1:$P2" --initial-advertise-peer-urls "http://127.0.0.1:$P2" \
    --initial-cluster "bench=http://127.0.0.1:$P2" --logger zap >"$W/etcd/etcd.log" 2>&1 &
  PIDS+=($!)
  etcd_up() { kill -0 "${PIDS[-1]}" && etcdctl --endpoints "127.0.0.1:$P1" --dial-timeout 1s --command-timeout 1s endpoint health; }
  wait_for 10 etcd_up || die "etcd did not start: $(tail -3 "$W/etcd/etcd.log")"
  fsync_probe "round $ROUND, before etcd"
  for op in get put; do
    for c in 1 64; do
      say "round $ROUND: etcd $op c=$c"
      base=$((c == 1 ? 200 : 1280))
      cal=$(timeout 300 "$W/go/etcd_bench" --endpoint "127.0.0.1:$P1" --op "$op" --connections "$c" \
        --requests "$base" --value-size 64) || die "etcd_bench failed"
      out=$(timeout 300 "$W/go/etcd_bench" --endpoint "127.0.0.1:$P1" --op "$op" --connections "$c" \
        --requests "$(sized "$base" "$(rate_of "$cal")")" --value-size 64) || die "etcd_bench failed"
      record etcd default "$out"
    done
  done
  stop_last
}

for ROUND in $(seq 1 "$ROUNDS"); do
  tv_phase
  redis_phase
  etcd_phase
done

fsync_probe "after the last round"
[ -z "${TV_BENCH_JSON:-}" ] || cp "$RES" "$TV_BENCH_JSON"

# ---------------------------------------------------------------- table
$PY - "$RES" "$W/fsync.txt" "$ROUNDS" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rounds = int(sys.argv[3])
def find(system, config, op, c, rnd):
    for r in rows:
        if (r["system"], r["config"], r["op"], r["connections"], r["round"]) == (system, config, op, c, rnd):
            return r
    return None
def median_row(system, config, op, c):
    rs = sorted((r for r in (find(system, config, op, c, k) for k in range(1, rounds + 1)) if r),
                key=lambda r: r["ops_per_sec"])
    return rs[(len(rs) - 1) // 2] if rs else None
cols = [("teevault", "dev"), ("redis", "aof-always"), ("redis", "no-persistence"), ("etcd", "default")]
names = ["teevault", "redis fsync=always", "redis no persistence", "etcd"]
def per_round(fa, fb):
    """[fa(k) / fb(k) for each round where both exist]"""
    out = []
    for k in range(1, rounds + 1):
        x, y = fa(k), fb(k)
        if x is not None and y:
            out.append(x / y)
    return out
def rate(system, config, op, c):
    return lambda k: (find(system, config, op, c, k) or {}).get("ops_per_sec")
def fmt_ratio(v):
    if not v:
        return "-"
    m = statistics.median(v)
    return "%.2fx" % m if len(v) == 1 else "%.2fx (%.2f-%.2f)" % (m, min(v), max(v))
def fig(r):
    if not r:
        return "-"
    return "%.0f/s (p50 %.0f, p99 %.0f us)" % (r["ops_per_sec"], r["p50_us"], r["p99_us"])
print("64-byte values; Get = teevault audited durable read; redis rows: GET / SET; ops/s and latency per request")
print("cells: the median of %d round(s) by ops/s; ratios: median (range) of each round's own ratio" % rounds)
hdr = "%-8s %-3s | " % ("op", "c") + " | ".join("%-33s" % n for n in names) + \
      " | %-19s %-19s %s" % ("tv/redis-fsync", "tv/redis-none", "tv/etcd")
print(hdr)
print("-" * len(hdr))
for op in ("get", "put"):
    for c in (1, 64):
        rs = [median_row(s, cfg, op, c) for s, cfg in cols]
        ratios = [fmt_ratio(per_round(rate("teevault", "dev", op, c), rate(s, cfg, op, c))) for s, cfg in cols[1:]]
        print("%-8s %-3d | " % ({"get": "Get", "put": "Put/SET"}[op], c) +
              " | ".join("%-33s" % fig(r) for r in rs) + " | %-19s %-19s %s" % tuple(ratios))
print()
print(open(sys.argv[2]).read().rstrip())
print()
def lat(op, c, key):
    return lambda k: (find("teevault", "dev", op, c, k) or {}).get(key)
one = lambda k: 1.0
checks = [
    ("Get c=64 >= 1.0x redis fsync=always SET c=64",
     per_round(rate("teevault", "dev", "get", 64), rate("redis", "aof-always", "put", 64)), lambda x: x >= 1.0),
    ("Get c=64 >= 40,000 req/s", per_round(rate("teevault", "dev", "get", 64), one), lambda x: x >= 40000),
    ("Get c=1 p50 <= 300 us", per_round(lat("get", 1, "p50_us"), one), lambda x: x <= 300),
    ("Get c=1 p99 <= 1000 us", per_round(lat("get", 1, "p99_us"), one), lambda x: x <= 1000),
    ("Put c=64 >= 0.5x redis fsync=always SET c=64",
     per_round(rate("teevault", "dev", "put", 64), rate("redis", "aof-always", "put", 64)), lambda x: x >= 0.5),
]
for c in (1, 64):
    checks.append(("Get c=%d >= 5x etcd get c=%d" % (c, c),
                   per_round(rate("teevault", "dev", "get", c), rate("etcd", "default", "get", c)),
                   lambda x: x >= 5))
print("Get over the three protocols (same daemon, same round; ratios vs ttrpc, median and range)")
print("%-22s %-3s | %-33s | %-19s %s" % ("protocol", "c", "Get", "ops/s vs ttrpc", "p50 vs ttrpc"))
for cfg, label in (("dev", "ttrpc"), ("grpc", "gRPC (h2)"), ("connect", "Connect JSON (h2)"),
                   ("connect-h1", "Connect JSON (http/1.1)")):
    for c in (1, 64):
        r = median_row("teevault", cfg, "get", c)
        print("%-22s %-3d | %-33s | %-19s %s" % (label, c, fig(r),
              fmt_ratio(per_round(rate("teevault", cfg, "get", c), rate("teevault", "dev", "get", c))),
              fmt_ratio(per_round(lambda k: (find("teevault", cfg, "get", c, k) or {}).get("p50_us"),
                                  lambda k: (find("teevault", "dev", "get", c, k) or {}).get("p50_us")))))
print()
checks.append(("gRPC Get c=64 >= 0.8x ttrpc Get c=64 (issue 15)",
               per_round(rate("teevault", "grpc", "get", 64), rate("teevault", "dev", "get", 64)),
               lambda x: x >= 0.8))
checks.append(("gRPC Get c=1 p50 <= 1.3x ttrpc p50 (issue 15)",
               per_round(lambda k: (find("teevault", "grpc", "get", 1, k) or {}).get("p50_us"),
                         lambda k: (find("teevault", "dev", "get", 1, k) or {}).get("p50_us")),
               lambda x: x <= 1.3))
print("targets (issues 7, 15): median over the rounds, and in how many rounds it was met")
for name, vals, ok in checks:
    if not vals:
        print("  %-48s %12s   -" % (name, "-"))
        continue
    m = statistics.median(vals)
    n = sum(1 for x in vals if ok(x))
    print("  %-48s %12.2f   %-6s (%d of %d rounds)" % (name, m, "met" if ok(m) else "MISSED", n, len(vals)))
EOF
