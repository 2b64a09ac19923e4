#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A function runtime for Python functions: attests to teevault as the
runtime (sim in development), then runs one untrusted Python function in a
child process with `secrets.get` bound to its attested session.

    /usr/bin/python3 py_runtime.py --name price-feed-py --code functions/fetch_price.py \
        --entry fetch_price_data --args '["NEO"]' --tee sim --tee-root DIR
    /usr/bin/python3 py_runtime.py --print-measurement
    /usr/bin/python3 py_runtime.py --print-code-hash FILE

What the child sandbox does (honestly, it is much weaker than the QuickJS one):
- a separate process (`python3 -I -S`: no site, no user paths, no PYTHON*
  environment), an empty environment, cwd an empty temporary directory, its
  own session (the whole group is killed at the deadline);
- resource limits: address space (--memory-limit-mb, default 256), CPU
  seconds, open files (32), created file size 0 (it cannot write files),
  no core dumps; as root it also drops to nobody/nogroup (uid/gid 65534);
- it never holds the session token or key: secrets.get is a request to this
  parent process, which opens the sealed value and answers with the value.
What it does NOT isolate: it is not a seccomp/namespace sandbox. The code can
import any module, read any file its uid can read, open network sockets and
spawn processes within the limits above. Run hostile Python only inside a
real isolation layer (gVisor, a microVM, or a separate TEE per function).

Exit 0 ok (result JSON on stdout), 1 refused or failed, 2 usage, 3 stopped
by a limit.
"""
import argparse
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("TEEVAULT_PY_CLIENT",
                                  os.path.join(HERE, "..", "..", "client", "python")))
import teevault as T  # noqa: E402

RUNTIME_FILES = ("py_runtime.py", "py_sandbox_child.py")
CHILD_PY = "/usr/bin/python3"


def measurement() -> bytes:
    h = hashlib.sha256()
    for f in RUNTIME_FILES:
        with open(os.path.join(HERE, f), "rb") as fh:
            h.update(fh.read())
    return h.digest()


def code_hash(path: str) -> bytes:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).digest()


class Stopped(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def run_sandboxed(code: str, entry: str, args: list, get_secret, time_limit: float,
                  memory_limit: int, max_gets: int = 64):
    cpu = max(1, int(time_limit + 0.999))

    def limits():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)

    with tempfile.TemporaryDirectory(prefix="tv-fn-") as cwd:
        os.chmod(cwd, 0o755)
        with open(os.path.join(HERE, "py_sandbox_child.py")) as f:
            child_src = f.read()  # passed as -c: the child (maybe nobody) needs no file access
        p = subprocess.Popen([CHILD_PY, "-I", "-S", "-c", child_src],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env={}, cwd=cwd, close_fds=True,
                             preexec_fn=limits, text=True)
        deadline = time.monotonic() + time_limit
        gets = 0
        timer = None
        try:
            import threading

            def kill():
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            timer = threading.Timer(time_limit, kill)
            timer.start()
            p.stdin.write(json.dumps({"code": code, "entry": entry, "args": args}) + "\n")
            p.stdin.flush()
            for line in p.stdout:
                try:
                    m = json.loads(line)
                except ValueError:
                    raise Stopped("error", "the function broke the protocol") from None
                if m.get("op") == "get":
                    gets += 1
                    if gets > max_gets:
                        reply = {"error": "too many secrets.get calls"}
                    else:
                        try:
                            reply = {"value": get_secret(str(m.get("name"))).decode("utf-8")}
                        except T.TeevaultError as e:
                            reply = {"error": str(e)}
                    p.stdin.write(json.dumps(reply) + "\n")
                    p.stdin.flush()
                elif m.get("op") == "result":
                    return m.get("value")
                elif m.get("op") == "error":
                    raise Stopped(m.get("kind", "error"), m.get("message", "failed"))
            p.wait()
            if time.monotonic() >= deadline or p.returncode in (-signal.SIGKILL, -signal.SIGXCPU):
                raise Stopped("timeout", "time limit of %.1f s exceeded" % time_limit)
            raise Stopped("error", "the function exited without a result (status %s)" %
                          p.returncode)
        finally:
            if timer:
                timer.cancel()
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name")
    ap.add_argument("--code")
    ap.add_argument("--entry", default="main")
    ap.add_argument("--args", default="[]")
    ap.add_argument("--addr")
    ap.add_argument("--transport")
    ap.add_argument("--tee", default="sim")
    ap.add_argument("--tee-root")
    ap.add_argument("--vault-pin", help="VAULT_ID_HEX:SIGN_KEY_HEX, for hardware vaults")
    ap.add_argument("--time-limit", type=float, default=5.0)
    ap.add_argument("--memory-limit-mb", type=int, default=256)
    ap.add_argument("--print-measurement", action="store_true")
    ap.add_argument("--print-code-hash")
    o = ap.parse_args()
    if o.print_measurement:
        print(measurement().hex())
        return 0
    if o.print_code_hash:
        print(code_hash(o.print_code_hash).hex())
        return 0
    if not o.name or not o.code:
        ap.error("--name and --code are required")
    args = json.loads(o.args)
    with open(o.code) as f:
        code = f.read()
    vault = T.Client(o.addr, token="", transport=o.transport)
    report = None
    if o.tee == "sim":
        if not o.tee_root:
            ap.error("--tee sim needs --tee-root (the vault's sim platform dir)")
        print("py-runtime: sim TEE: NO hardware protection (development only)", file=sys.stderr)
        with open(os.path.join(o.tee_root, "sim_platform.pub"), "rb") as f:
            report = vault.verify_vault(sim_platform_pk=f.read())
        print("py-runtime: vault verified (sim report, audit seq %d)" % report.audit_seq,
              file=sys.stderr)
    else:
        # The Python client cannot verify a hardware report: the vault's signing
        # identity must be pinned from a report verified elsewhere (libteevault).
        vid, _, key = (o.vault_pin or "").partition(":")
        try:
            report = T.vault_pin(bytes.fromhex(vid), bytes.fromhex(key))
        except (ValueError, T.TeevaultError):
            ap.error("--tee %s needs --vault-pin VAULT_ID_HEX:SIGN_KEY_HEX (from a report "
                     "verified with libteevault)" % o.tee)
    producer = T.open_producer(o.tee, o.tee_root, measurement=measurement()) \
        if o.tee == "sim" else T.open_producer(o.tee, o.tee_root)
    with vault.attest_function(o.name, code_hash(o.code), producer, report) as session:
        print("py-runtime: attested as function %r" % o.name, file=sys.stderr)
        result = run_sandboxed(code, o.entry, args, session.secrets.get, o.time_limit,
                               o.memory_limit_mb << 20)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Stopped as e:
        print("py-runtime: function stopped (%s): %s" % (e.kind, e), file=sys.stderr)
        sys.exit(3 if e.kind != "error" else 1)
    except T.TeevaultError as e:
        print("py-runtime: %s" % e, file=sys.stderr)
        sys.exit(1)
