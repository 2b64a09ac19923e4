# SPDX-License-Identifier: Apache-2.0
"""gRPC interop: Debian's python3-grpcio (a client we did not write) against
the live daemon, with stubs generated at test time from proto/teevault.proto
by python3-grpc-tools. Usage: grpc_interop.py GEN_DIR TARGET ROOT_TOKEN_FILE
[CA_FILE]. TARGET is unix:/path or host:port (then TLS with CA_FILE, ALPN h2).
"""
import concurrent.futures
import sys
import time

import grpc

sys.path.insert(0, sys.argv[1])
import teevault_pb2 as pb  # noqa: E402
import teevault_pb2_grpc as rpc  # noqa: E402
import ttrpc_pb2  # noqa: E402  google.rpc.Status has ttrpc.Status's layout

FAILED = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILED.append(what)


def code_of(fn):
    try:
        fn()
        return grpc.StatusCode.OK, None
    except grpc.RpcError as e:
        return e.code(), e


def detail_name(err):
    """teevault error name from grpc-status-details-bin."""
    for k, v in err.trailing_metadata() or ():
        if k == "grpc-status-details-bin":
            st = ttrpc_pb2.Status.FromString(v)
            for a in st.details:
                if a.type_url.endswith("/teevault.v1.ErrorDetail"):
                    return pb.ErrorDetail.FromString(a.value).name
    return None


def main():
    target, token = sys.argv[2], open(sys.argv[3]).read().strip()
    if target.startswith("unix:"):
        ch = grpc.insecure_channel(target)
    else:
        creds = grpc.ssl_channel_credentials(open(sys.argv[4], "rb").read())
        ch = grpc.secure_channel(target, creds,
                                 options=(("grpc.ssl_target_name_override", "localhost"),))
    auth = (("authorization", "Bearer " + token),)
    P = "grpcu/" if target.startswith("unix:") else "grpct/"  # one namespace per run
    sysc, sec = rpc.SysStub(ch), rpc.SecretsStub(ch)

    st = sysc.Status(pb.Empty(), timeout=10)
    check(st.initialized and st.tee_backend == "sim", "Sys.Status without a token: %s, %s"
          % (st.initialized, st.tee_backend))

    value = bytes(range(256)) * 4
    put = sec.Put(pb.PutRequest(name=P + "key", value=value), metadata=auth, timeout=10)
    check(put.version == 1, "Secrets.Put with a Bearer token -> version %d" % put.version)
    got = sec.Get(pb.GetRequest(name=P + "key"), metadata=auth, timeout=10)
    check(got.value == value and got.version == 1, "Secrets.Get returns the exact bytes")
    sec.Put(pb.PutRequest(name=P + "other", value=b"x"), metadata=auth, timeout=10)
    lst = sec.List(pb.ListRequest(prefix=P), metadata=auth, timeout=10)
    names = sorted(lst.names)
    check(names == [P + "key", P + "other"], "Secrets.List -> %s" % names)

    code, e = code_of(lambda: sec.Get(pb.GetRequest(name=P + "key"), timeout=10))
    check(code == grpc.StatusCode.UNAUTHENTICATED, "Get without a token -> %s" % code)
    code, e = code_of(lambda: sec.Get(pb.GetRequest(name=P + "key"), timeout=10,
                                      metadata=(("authorization", "Bearer tvs.bogus"),)))
    check(code == grpc.StatusCode.UNAUTHENTICATED and "not valid" in e.details(),
          "Get with a bad token -> %s (%s)" % (code, e and e.details()))
    code, e = code_of(lambda: sec.Get(pb.GetRequest(name=P + "missing"), metadata=auth,
                                      timeout=10))
    check(code == grpc.StatusCode.NOT_FOUND and detail_name(e) == "not_found",
          "Get of a missing secret -> %s, detail %s" % (code, e and detail_name(e)))
    sec.Delete(pb.VersionsRequest(name=P + "other"), metadata=auth, timeout=10)
    code, e = code_of(lambda: sec.Get(pb.GetRequest(name=P + "other"), metadata=auth,
                                      timeout=10))
    check(code == grpc.StatusCode.NOT_FOUND and detail_name(e) == "deleted",
          "Get of a deleted secret -> %s, ErrorDetail %s (same gRPC code, exact error)"
          % (code, e and detail_name(e)))
    code, e = code_of(lambda: sec.Put(pb.PutRequest(name="bad\x01name", value=b"v"),
                                      metadata=auth, timeout=10))
    check(code == grpc.StatusCode.INVALID_ARGUMENT and "\\x01" in e.details(),
          "Put with a control character in the name -> %s, quoted: %s"
          % (code, e and e.details()))
    nope = ch.unary_unary("/teevault.v1.Secrets/Nope", request_serializer=lambda m: m,
                          response_deserializer=lambda b: b)
    code, e = code_of(lambda: nope(b"", timeout=10))
    check(code == grpc.StatusCode.UNIMPLEMENTED, "unknown method -> %s" % code)
    raw_get = ch.unary_unary("/teevault.v1.Secrets/Get", request_serializer=lambda m: m,
                             response_deserializer=lambda b: b)
    code, e = code_of(lambda: raw_get(b"\xff\xff\xff", metadata=auth, timeout=10))
    check(code == grpc.StatusCode.INVALID_ARGUMENT, "garbage payload -> %s" % code)

    # 64 calls in flight on one channel (one HTTP/2 connection, many streams).
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        futs = [ex.submit(lambda: sec.Get(pb.GetRequest(name=P + "key"), metadata=auth,
                                          timeout=30).value) for _ in range(64)]
        vals = [f.result() for f in futs]
    check(all(v == value for v in vals), "64 concurrent Gets on one channel all answered")

    # A large value after the connection is authenticated (the 16 KiB
    # pre-auth cap lifts, as for ttrpc).
    big = b"B" * (512 * 1024)
    sec.Put(pb.PutRequest(name=P + "big", value=big), metadata=auth, timeout=30)
    check(sec.Get(pb.GetRequest(name=P + "big"), metadata=auth, timeout=30).value == big,
          "a 512 KiB value round-trips (flow control)")

    # A deadline the server sees: the login back-off holds a failed login's
    # reply for a second; with a 200 ms deadline the client gives up.
    authc = rpc.AuthStub(ch)
    t0 = time.monotonic()
    code, e = code_of(lambda: authc.Login(pb.LoginRequest(user="nobody", password="x"),
                                          timeout=0.2))
    check(code == grpc.StatusCode.DEADLINE_EXCEEDED and time.monotonic() - t0 < 0.9,
          "grpc-timeout: a call over its deadline ends DEADLINE_EXCEEDED (%s)" % code)
    ch.close()
    print("grpc interop: %d failed" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
