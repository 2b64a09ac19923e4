#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Crash test: SIGKILL teevaultd during a mixed write+read load, restart it,
and check that nothing acknowledged was lost.

Each cycle:
  1. teevaultd --dev runs on a persistent state directory (restarted after
     the previous cycle's kill; a clean start auto-unseals the store);
  2. note the audit head seq (teevault status);
  3. crash_load runs N clients doing Puts of unique values and Gets; it
     journals a write or a read only after its acknowledgement arrived;
  4. after a random delay (once every client is connected) teevaultd gets
     SIGKILL; the clients stop at their first failed call;
  5. teevaultd restarts; then
     - `teevault audit export --from SEQ+1` and `teevault audit verify` on
       it must succeed (the export ends with a checkpoint signed at export
       time, so the whole export is covered: exit 0, "OK");
     - every acknowledged read (name, version) of the cycle has an audit
       record Secrets/Get with status 0 for that name and version by the
       root token (counted: n acknowledged reads need >= n records), and
       every acknowledged write has its Secrets/Put record;
     - `crash_load verify` reads every acknowledged write of the cycle back:
       exactly its value at exactly its version, and no name's latest
       version is below its highest acknowledged one.
At the end every acknowledged write of every cycle is read back again, the
whole log is exported and verified, and teevaultd must stop cleanly.

Usage: crash_test.py --bin BUILD/bin [--cycles N] [--clients N] [--keys K]
                     [--kill-min-ms MS] [--kill-max-ms MS] [--workdir DIR]
Prints one summary line: cycles=.. acked_writes=.. acked_reads=.. lost=..
Exit 0 only when nothing was lost and every check passed.
"""
import argparse
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import ttrpc_raw  # noqa: E402


class Fail(Exception):
    pass


class Daemon:
    def __init__(self, bindir, work):
        self.bin = os.path.join(bindir, "teevaultd")
        self.state = os.path.join(work, "state")
        self.sock = os.path.join(work, "tv.sock")
        self.log = os.path.join(work, "teevaultd.log")
        self.proc = None

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [self.bin, "--dev", "--state-dir", self.state, "--socket", self.sock],
            stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
        logf.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Fail("teevaultd exited during start-up (status %d); see %s"
                           % (self.proc.returncode, self.log))
            if os.path.exists(self.sock):
                try:
                    ttrpc_raw.status(self.sock)
                    return
                except Exception:
                    pass
            time.sleep(0.02)
        raise Fail("teevaultd did not answer within 20 s")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self):
        if not self.proc:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = -9
        self.proc = None
        return rc


def cli(bindir, d, *args, out=None):
    cmd = [os.path.join(bindir, "teevault"), "--addr", "unix:" + d.sock,
           "--token-file", os.path.join(d.state, "root-token")] + list(args)
    return subprocess.run(cmd, stdout=out if out else subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=300)


def status(bindir, d):
    """(audit head seq, audit public key hex) from `teevault status`."""
    r = cli(bindir, d, "--format", "json", "status")
    if r.returncode != 0:
        raise Fail("teevault status failed: %s" % r.stderr.decode(errors="replace"))
    st = json.loads(r.stdout)
    return int(st["audit_seq"]), st["audit_pubkey"]


def export_and_verify(bindir, d, path, from_seq, pubkey):
    args = ["audit", "export"] + (["--from", str(from_seq)] if from_seq else [])
    with open(path, "wb") as f:
        r = cli(bindir, d, *args, out=f)
    if r.returncode != 0:
        raise Fail("audit export failed: %s" % r.stderr.decode(errors="replace"))
    # The key comes from the running vault (status), not from the file.
    v = cli(bindir, d, "audit", "verify", path, "--pubkey", pubkey)
    text = (v.stdout + v.stderr).decode(errors="replace").strip()
    if v.returncode != 0:
        raise Fail("audit verify %s exited %d: %s" % (path, v.returncode, text))
    recs = []
    with open(path, "rb") as f:
        for line in f:
            o = json.loads(line)
            if o.get("type") == "record":
                recs.append(o)
    return recs, text


def journal(path, tag):
    prefix = "crash/%s/" % tag
    writes, reads = [], []
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 3 or not p[1].startswith(prefix):
                continue
            if p[0] == "W":
                writes.append((p[1], int(p[2])))
            elif p[0] == "R":
                reads.append((p[1], int(p[2])))
    return writes, reads


def check_audit(recs, writes, reads):
    """Every acknowledged read and write has its record (counted)."""
    got = collections.Counter()
    for r in recs:
        if r.get("status") != 0 or not r.get("principal", "").startswith("root-token:"):
            continue
        m = r.get("method", "")
        if m.endswith("Secrets/Get"):
            got[("R", r["secret"], r["version"])] += 1
        elif m.endswith("Secrets/Put"):
            got[("W", r["secret"], r["version"])] += 1
    need = collections.Counter([("R",) + x for x in reads] + [("W",) + x for x in writes])
    missing = [(k, n, got[k]) for k, n in need.items() if got[k] < n]
    return missing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--keys", type=int, default=16)
    ap.add_argument("--kill-min-ms", type=int, default=50)
    ap.add_argument("--kill-max-ms", type=int, default=1500)
    ap.add_argument("--workdir")
    ap.add_argument("--seed", type=int)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 30)
    rnd = random.Random(seed)
    own = not a.workdir
    work = a.workdir or tempfile.mkdtemp(prefix="tv-crash.")
    os.makedirs(work, exist_ok=True)
    d = Daemon(a.bin, work)
    jpath = os.path.join(work, "journal.tsv")
    load = os.path.join(a.bin, "crash_load")
    totals = collections.Counter()
    ok = False
    t0 = time.time()
    print("crash test: %d cycles, %d clients, seed %d, work %s" % (a.cycles, a.clients, seed, work),
          flush=True)
    try:
        d.start()
        for cycle in range(1, a.cycles + 1):
            tag = "c%d" % cycle
            seq0, pubkey = status(a.bin, d)
            ready = os.path.join(work, "ready")
            if os.path.exists(ready):
                os.unlink(ready)
            lp = subprocess.Popen(
                [load, "load", "--addr", "unix:" + d.sock,
                 "--token-file", os.path.join(d.state, "root-token"), "--tag", tag,
                 "--journal", jpath, "--clients", str(a.clients), "--keys", str(a.keys),
                 "--ready", ready],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.time() + 20
            while not os.path.exists(ready):
                if lp.poll() is not None or time.time() > deadline:
                    raise Fail("crash_load did not connect: %s"
                               % lp.communicate()[1].decode(errors="replace"))
                time.sleep(0.002)
            delay = rnd.uniform(a.kill_min_ms, a.kill_max_ms) / 1000.0
            time.sleep(delay)
            d.kill9()
            out, err = lp.communicate(timeout=60)
            if lp.returncode != 0:
                raise Fail("cycle %d: crash_load load failed: %s" % (cycle, err.decode()))
            stats = dict(kv.split("=") for kv in out.decode().split("\n")[0].split())
            d.start()
            writes, reads = journal(jpath, tag)
            if len(writes) != int(stats["acked_writes"]) or len(reads) != int(stats["acked_reads"]):
                raise Fail("cycle %d: journal does not hold what crash_load reported" % cycle)
            recs, _ = export_and_verify(a.bin, d, os.path.join(work, "export.jsonl"), seq0 + 1,
                                        pubkey)
            missing = check_audit(recs, writes, reads)
            if missing:
                for k, n, g in missing[:10]:
                    print("MISSING AUDIT: %s %s v%d acknowledged %d time(s), %d record(s)"
                          % (k[0], k[1], k[2], n, g), file=sys.stderr)
                totals["missing_audit"] += len(missing)
            v = subprocess.run([load, "verify", "--addr", "unix:" + d.sock, "--token-file",
                                os.path.join(d.state, "root-token"), "--journal", jpath,
                                "--tag", tag], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=600)
            vs = dict(kv.split("=") for kv in v.stdout.decode().split())
            lost = int(vs.get("lost", 1)) + int(vs.get("mismatched", 0))
            if v.returncode != 0 and not lost:
                raise Fail("cycle %d: verify failed: %s" % (cycle, v.stderr.decode()))
            if lost:
                sys.stderr.write(v.stderr.decode())
            totals["cycles"] += 1
            totals["acked_writes"] += len(writes)
            totals["acked_reads"] += len(reads)
            totals["lost"] += lost
            totals["unacked_calls"] += int(stats["failed"])
            print("cycle %d: kill after %.0f ms, acked writes %d, reads %d, unacknowledged %s, "
                  "audit records checked %d, lost %d"
                  % (cycle, delay * 1000, len(writes), len(reads), stats["failed"], len(recs),
                     lost), flush=True)
        # Everything acknowledged in every cycle, once more; the whole log.
        v = subprocess.run([load, "verify", "--addr", "unix:" + d.sock, "--token-file",
                            os.path.join(d.state, "root-token"), "--journal", jpath],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1800)
        vs = dict(kv.split("=") for kv in v.stdout.decode().split())
        final_lost = int(vs.get("lost", 1)) + int(vs.get("mismatched", 0))
        if final_lost:
            sys.stderr.write(v.stderr.decode())
        totals["lost"] += final_lost
        _, pubkey = status(a.bin, d)
        recs, text = export_and_verify(a.bin, d, os.path.join(work, "export-all.jsonl"), 0, pubkey)
        print("final: re-read %s acknowledged writes, lost %d; full audit export %d records: %s"
              % (vs.get("checked", "?"), final_lost, len(recs), text.splitlines()[-1] if text else ""))
        rc = d.stop()
        if rc != 0:
            raise Fail("teevaultd exited %d after SIGTERM" % rc)
        ok = totals["lost"] == 0 and totals["missing_audit"] == 0
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr)
        try:
            with open(d.log, "rb") as f:
                sys.stderr.write(b"".join(f.readlines()[-20:]).decode(errors="replace"))
        except OSError:
            pass
    finally:
        if d.proc:
            d.proc.kill()
            d.proc.wait()
    print("cycles=%d acked_writes=%d acked_reads=%d unacknowledged_calls=%d lost=%d "
          "missing_audit=%d seconds=%.0f"
          % (totals["cycles"], totals["acked_writes"], totals["acked_reads"],
             totals["unacked_calls"], totals["lost"], totals["missing_audit"], time.time() - t0))
    if ok and own:
        shutil.rmtree(work, ignore_errors=True)
    elif not ok:
        print("work directory kept: %s" % work, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
