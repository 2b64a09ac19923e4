#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile-load test and bench (issue 14): strangers attack a real teevaultd
while a legitimate client does audited Gets and a function attests.

Attackers (run as uid nobody through setpriv when this runs as root, so the
daemon sees them as another peer; otherwise as this uid, and the report
says so) on the Unix socket, all at once for --duration seconds:
  flood      2 connections pipelining Health and Gets with a bogus token
  challenge  1 connection pipelining Attestation.Challenge
  connect    1 connection pipelining Connect (HTTP/1.1) Health and Challenge
  login      1 connection pipelining Logins with wrong passwords
  slots      opens idle connections (up to 400, reopening closed ones)
  slow       20 connections pipelining Report and never reading replies
Legitimate work (this uid), meanwhile:
  gets       teevault-bench --op get --connections 1 (audited Secrets.Get)
  attest     teevault-bench --op attest --connections 1, one run per second
Reported (text, or one JSON object with --json): the legitimate Gets'
p50/p99, attestations (ok/total, worst p99), attacker requests sent,
audit-store growth (audit records, data.mdb bytes), the daemon's RSS
(start/peak/end) and its log growth. With --check the run fails (exit 1)
unless: every legitimate Get and attestation succeeded, Get p99 <=
--max-p99-ms, every attestation run's p99 < 1 s, the attack alone (the
first third of the run, before the legitimate work) grew the store by at
most --max-audit-kib, peak RSS <= --max-rss-mib.

Usage: hostile_load.py --bin BUILD/bin [--duration S] [--json] [--check ...]
Needs /usr/bin/python3 only (ttrpc_raw.py from tests/integration).
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
INTEG = os.path.join(HERE, "..", "integration")
sys.path.insert(0, INTEG)
import ttrpc_raw as T  # noqa: E402

ATTACK = r'''
import os, socket, sys, time
sys.path.insert(0, sys.argv[3])
import ttrpc_raw as T
sock, kind, end = sys.argv[1], sys.argv[2], time.time() + float(sys.argv[4])
sent = 0
def conn():
    while time.time() < end:
        try:
            return T.Conn(sock, timeout=5)
        except OSError:
            time.sleep(0.05)
    return None
def pipeline(reqs, batch):
    global sent
    c = conn()
    while c and time.time() < end:
        try:
            c.send(b"".join(T.frame(c.next_sid(), reqs[i % len(reqs)]) for i in range(batch)))
            for _ in range(batch):
                if c.recv_frame() is None:
                    raise ConnectionError
            sent += batch
        except (OSError, ConnectionError):
            c.close()
            c = conn()
if kind == "flood":
    bad = [("authorization", "Bearer tvs.bogus")]
    pipeline([T.encode_request("teevault.v1.Sys", "Health"),
              T.encode_request("teevault.v1.Secrets", "Get", T.field_bytes(1, "app/x"), bad)], 64)
elif kind == "challenge":
    pipeline([T.encode_request("teevault.v1.Attestation", "Challenge")], 64)
elif kind == "connect":
    # Connect (HTTP/1.1, JSON) on the same socket: Health and Challenge,
    # pipelined 64 at a time; replies are read and counted by status line.
    req = (b"POST /teevault.v1.Sys/Health HTTP/1.1\r\nHost: v\r\nContent-Type: "
           b"application/json\r\nContent-Length: 2\r\n\r\n{}"
           b"POST /teevault.v1.Attestation/Challenge HTTP/1.1\r\nHost: v\r\nContent-Type: "
           b"application/json\r\nContent-Length: 2\r\n\r\n{}") * 32
    while time.time() < end:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(sock)
            while time.time() < end:
                s.sendall(req)
                got, buf = 0, b""
                while got < 64:
                    d = s.recv(65536)
                    if not d:
                        raise ConnectionError
                    buf += d
                    got = buf.count(b"HTTP/1.1 ")
                sent += 64
        except (OSError, ConnectionError):
            time.sleep(0.05)
elif kind == "login":
    body = T.field_bytes(1, "admin") + T.field_bytes(2, "wrong-password")
    pipeline([T.encode_request("teevault.v1.Auth", "Login", body)], 16)
elif kind == "slots":
    held = []
    while time.time() < end:
        held = [c for c in held if not c.closed_by_peer(0.001)]
        while len(held) < 400 and time.time() < end:
            try:
                held.append(T.Conn(sock, timeout=5))
                sent += 1
            except OSError:
                break
        time.sleep(0.2)
elif kind == "slow":
    cs = []
    for _ in range(20):
        c = conn()
        if c:
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            cs.append(c)
    req = T.encode_request("teevault.v1.Attestation", "Report", T.field_bytes(1, b"n" * 32))
    while time.time() < end:
        for c in cs:
            try:
                c.s.setblocking(False)
                c.s.send(b"".join(T.frame(c.next_sid(), req) for _ in range(32)))
                sent += 32
            except OSError:
                pass
        time.sleep(0.05)
print(sent)
'''


def rss_kib(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def status(sock):
    """Sys.Status: audit_seq (field 12), storage used (field 10)."""
    c = T.Conn(sock)
    try:
        code, msg, payload = c.call("teevault.v1.Sys", "Status")
    finally:
        c.close()
    if code != 0:
        raise RuntimeError("Sys.Status: %d %s" % (code, msg))
    f = T.parse_fields(payload)
    return {"audit_seq": f.get(12, [0])[0], "used": f.get(10, [0])[0]}


def bench(binp, sock, tokf, plat, op, conns, reqs):
    r = subprocess.run([os.path.join(binp, "teevault-bench"), "--addr", "unix:" + sock,
                        "--token-file", tokf, "--op", op, "--connections", str(conns),
                        "--requests", str(reqs), "--value-size", "64", "--sim-platform", plat,
                        "--warmup", "0", "--format", "json"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return None, r.stderr.strip()[-300:]
    return json.loads(r.stdout), ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--get-requests", type=int, default=0,
                    help="legitimate Gets (default: about 300 per second of --duration)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--max-p99-ms", type=float, default=5.0)
    ap.add_argument("--max-audit-kib", type=float, default=256)
    ap.add_argument("--max-rss-mib", type=float, default=256)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--attacks", default="flood,flood,challenge,connect,login,slots,slow",
                    help="comma-separated attacker processes")
    a = ap.parse_args()

    d = tempfile.mkdtemp(prefix="tv-hostile.")
    os.chmod(d, 0o755)
    sock = os.path.join(d, "tv.sock")
    conf = os.path.join(d, "hostile.conf")
    with open(conf, "w") as f:
        f.write("[listen]\nunix_mode = 0666\n[log]\nlevel = info\n")
    logp = os.path.join(d, "teevaultd.log")
    log = open(logp, "w")
    daemon = subprocess.Popen([os.path.join(a.bin, "teevaultd"), "--dev", "--state-dir",
                               os.path.join(d, "state"), "--socket", sock, "--config", conf],
                              stdout=log, stderr=log)
    tokf = os.path.join(d, "state", "root-token")
    plat = os.path.join(d, "state")
    res = {}
    try:
        for _ in range(200):
            if os.path.exists(tokf) and os.path.exists(sock):
                try:
                    status(sock)
                    break
                except Exception:
                    pass
            time.sleep(0.05)
        os.chmod(sock, 0o666)
        # Warm up: the bench's own secrets and function exist; sessions live.
        g0, err = bench(a.bin, sock, tokf, plat, "get", 1, 200)
        if g0 is None:
            raise SystemExit("warm-up get failed: " + err)
        st0 = status(sock)
        mdb = os.path.join(d, "state", "data.mdb")
        size0 = os.path.getsize(mdb)
        log.flush()
        log0 = os.path.getsize(logp)
        rss0 = rss_kib(daemon.pid)

        root = os.geteuid() == 0 and shutil.which("setpriv")
        pre = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if root else []
        kinds = [k for k in a.attacks.split(",") if k]
        attackers = [subprocess.Popen(pre + ["/usr/bin/python3", "-c", ATTACK, sock, k, INTEG,
                                             str(a.duration)],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                     for k in kinds]
        # Phase 1, attack only (a third of the time): what strangers alone
        # add to the audit store.
        t_att = a.duration / 3
        time.sleep(t_att)
        st_a = status(sock)
        size_a = os.path.getsize(mdb)
        res_attack_only = {
            "seconds": round(t_att, 1),
            "audit_records": st_a["audit_seq"] - st0["audit_seq"],
            "data_mdb_growth_kib": round((size_a - size0) / 1024, 1),
        }
        # Phase 2: legitimate work under the same attack.
        t_end = time.time() + a.duration - t_att
        peak = rss0
        att_ok = att_runs = 0
        att_p99 = []
        nget = a.get_requests or int(200 * (a.duration - t_att))
        getp = subprocess.Popen([os.path.join(a.bin, "teevault-bench"), "--addr", "unix:" + sock,
                                 "--token-file", tokf, "--op", "get", "--connections", "1",
                                 "--requests", str(nget), "--value-size", "64", "--warmup", "0",
                                 "--format", "json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        while time.time() < t_end:
            t0 = time.time()
            r, _ = bench(a.bin, sock, tokf, plat, "attest", 1, 2)
            att_runs += 1
            if r:
                att_ok += 1
                att_p99.append(r["p99_us"] / 1000.0)
            peak = max(peak, rss_kib(daemon.pid))
            time.sleep(max(0.0, 1.0 - (time.time() - t0)))
        gout, gerr = getp.communicate(timeout=120)
        sent = {}
        for k, p in zip(kinds, attackers):
            o, _ = p.communicate(timeout=30)
            try:
                sent[k] = sent.get(k, 0) + int(o.strip() or 0)
            except ValueError:
                sent[k] = sent.get(k, 0)
        peak = max(peak, rss_kib(daemon.pid))
        time.sleep(0.5)
        st1 = status(sock)
        size1 = os.path.getsize(mdb)
        log.flush()
        log1 = os.path.getsize(logp)
        g = json.loads(gout) if getp.returncode == 0 else None
        res = {
            "duration_s": a.duration,
            "attackers_as": "uid 65534 (setpriv)" if root else "this uid (same peer!)",
            "attacker_requests": sent,
            "legit_get": g if g else {"error": gerr.strip()[-300:]},
            "attest_runs_ok": att_ok, "attest_runs": att_runs,
            "attest_p99_ms_worst": round(max(att_p99), 1) if att_p99 else None,
            "attack_only": res_attack_only,
            "audit_records_added": st1.get("audit_seq", 0) - st0.get("audit_seq", 0),
            "audit_store_growth_kib": round((size1 - size0) / 1024, 1),
            "rss_mib": {"start": round(rss0 / 1024, 1), "peak": round(peak / 1024, 1),
                        "end": round(rss_kib(daemon.pid) / 1024, 1)},
            "log_growth_kib": round((log1 - log0) / 1024, 1),
        }
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)
    if a.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print("%-24s %s" % (k, v))
    if a.check:
        bad = []
        g = res.get("legit_get", {})
        if "error" in g:
            bad.append("legitimate Gets failed: %s" % g["error"])
        elif g["p99_us"] / 1000.0 > a.max_p99_ms:
            bad.append("legitimate Get p99 %.2f ms > %.2f ms" % (g["p99_us"] / 1000.0, a.max_p99_ms))
        if res["attest_runs_ok"] != res["attest_runs"] or res["attest_runs"] == 0:
            bad.append("attestations failed: %d of %d runs ok" % (res["attest_runs_ok"],
                                                                  res["attest_runs"]))
        elif res["attest_p99_ms_worst"] >= 1000:
            bad.append("an attestation took %.0f ms" % res["attest_p99_ms_worst"])
        ao = res["attack_only"]
        if ao["data_mdb_growth_kib"] > a.max_audit_kib:
            bad.append("the attack alone grew the store %.1f KiB" % ao["data_mdb_growth_kib"])
        if res["rss_mib"]["peak"] > a.max_rss_mib:
            bad.append("peak RSS %.1f MiB" % res["rss_mib"]["peak"])
        for b in bad:
            print("FAIL", b)
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
