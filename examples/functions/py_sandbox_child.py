# SPDX-License-Identifier: Apache-2.0
"""The child side of py_runtime.py: runs one untrusted Python function.

Started by py_runtime.py as `python3 -I -S py_sandbox_child.py` with resource
limits already applied (see py_runtime.py for what is and is not isolated).
Protocol, JSON lines: stdin first carries {"code", "entry", "args"}; each
secrets.get sends {"op": "get", "name"} on stdout and reads {"value"} or
{"error"} from stdin; the end is {"op": "result", "value"} or
{"op": "error", "message"}.
"""
import json
import sys

_in, _out = sys.stdin, sys.stdout
# The function's own prints must not corrupt the protocol channel.
sys.stdout = sys.stderr


def _send(obj):
    _out.write(json.dumps(obj) + "\n")
    _out.flush()


class _Secrets:
    """The only capability handed to the function."""

    __slots__ = ()

    def get(self, name):
        if not isinstance(name, str):
            raise TypeError("secrets.get needs a name")
        _send({"op": "get", "name": name})
        r = json.loads(_in.readline() or "{}")
        if "error" in r or "value" not in r:
            raise PermissionError("secrets.get(%r): %s" % (name, r.get("error", "no reply")))
        return r["value"]


def main():
    job = json.loads(_in.readline())
    env = {"__name__": "function", "secrets": _Secrets()}
    try:
        exec(compile(job["code"], "function.py", "exec"), env)
        value = env[job["entry"]](*job["args"])
        _send({"op": "result", "value": value})
    except MemoryError:
        _send({"op": "error", "kind": "memory", "message": "memory limit exceeded"})
    except BaseException as e:  # noqa: B902 - report everything, including SystemExit
        _send({"op": "error", "kind": "error", "message": "%s: %s" % (type(e).__name__, e)})


main()
