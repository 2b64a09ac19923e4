# SPDX-License-Identifier: Apache-2.0
"""Protobuf stubs for teevault.v1 and the ttrpc envelope.

Generated from proto/teevault.proto and proto/ttrpc.proto, never committed:
the tests and scripts/dev.sh name their directory with TEEVAULT_PY_STUBS;
without it they are generated on first use with
grpc_tools (Debian's python3-grpc-tools) into a cache directory keyed by the
hash of the .proto files. A stubs directory made from other .proto files (its
.proto-hash stamp differs) is regenerated.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import sys
import tempfile
from types import ModuleType
from typing import Optional, Tuple

_HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = ("teevault.proto", "ttrpc.proto")


def proto_dir() -> str:
    """Where the .proto files are: TEEVAULT_PROTO_DIR, the source tree, or /usr/share."""
    for d in (os.environ.get("TEEVAULT_PROTO_DIR"),
              os.path.normpath(os.path.join(_HERE, "..", "..", "..", "proto")),
              "/usr/share/teevault/proto"):
        if d and os.path.isfile(os.path.join(d, "teevault.proto")):
            return d
    raise ImportError("teevault: cannot find proto/teevault.proto (set TEEVAULT_PROTO_DIR)")


def generate(out_dir: str, src: Optional[str] = None) -> None:
    """Run grpc_tools.protoc: *_pb2.py (messages) and teevault_pb2_grpc.py (stubs)."""
    from grpc_tools import protoc  # python3-grpc-tools

    src = src or proto_dir()
    os.makedirs(out_dir, exist_ok=True)
    for p in PROTOS:
        args = ["protoc", "-I" + src, "--python_out=" + out_dir]
        if p == "teevault.proto":
            args.append("--grpc_python_out=" + out_dir)
        args.append(os.path.join(src, p))
        if protoc.main(args) != 0:
            raise ImportError("teevault: protoc failed on " + p)


def _proto_hash() -> str:
    src = proto_dir()
    h = hashlib.sha256()
    for p in PROTOS:
        with open(os.path.join(src, p), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "teevault", "py-stubs-" + _proto_hash())


_STAMP = ".proto-hash"


def _current(d: str, want: Tuple[str, ...], stamp: str) -> bool:
    """Are the stubs in d all there and made from these .proto files?"""
    if not all(os.path.isfile(os.path.join(d, m)) for m in want):
        return False
    try:
        with open(os.path.join(d, _STAMP), encoding="ascii") as f:
            return f.read().strip() == stamp
    except OSError:
        return False


_mods: Optional[Tuple[ModuleType, ModuleType]] = None


def load() -> Tuple[ModuleType, ModuleType]:
    """(teevault_pb2, ttrpc_pb2), generating them first when needed."""
    global _mods
    if _mods:
        return _mods
    d = os.environ.get("TEEVAULT_PY_STUBS") or _cache_dir()
    want = ("teevault_pb2.py", "teevault_pb2_grpc.py", "ttrpc_pb2.py")
    stamp = _proto_hash()
    if not _current(d, want, stamp):
        # Stubs missing, or made from other .proto files (a build directory
        # kept across a proto change): generate next to the target and move
        # each file in with an atomic rename, so a concurrent user never
        # imports a half-written module.
        parent = os.path.dirname(os.path.abspath(d))
        os.makedirs(d, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=parent, prefix=".stubs-")
        generate(tmp)
        with open(os.path.join(tmp, _STAMP), "w", encoding="ascii") as f:
            f.write(stamp + "\n")
        for m in want + (_STAMP,):
            os.replace(os.path.join(tmp, m), os.path.join(d, m))
        for m in os.listdir(tmp):
            os.unlink(os.path.join(tmp, m))
        os.rmdir(tmp)
    if d not in sys.path:
        sys.path.insert(0, d)
    _mods = (importlib.import_module("teevault_pb2"), importlib.import_module("ttrpc_pb2"))
    return _mods


if __name__ == "__main__":  # python3 -m teevault._stubs OUT_DIR
    generate(sys.argv[1])
