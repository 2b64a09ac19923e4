#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""TLS checks against a live teevaultd TCP listener.

Usage: tls_check.py MODE PORT PKI_DIR
  MODE server-auth: client_auth off; CA-verified TLS 1.3 works, wrong CA and
                    TLS 1.2 are refused.
  MODE mtls:        client_auth required; no client cert and an untrusted one
                    are refused, a CA-signed one works.
"""
import os
import ssl
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttrpc_raw as T  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def status_ok(conn):
    code, msg, payload = conn.call("teevault.v1.Sys", "Status")
    return code == 0 and T.parse_fields(payload).get(3, [b""])[0] == b"sim"


def refused(fn):
    """True when connecting or the first call fails (handshake or alert)."""
    try:
        c = fn()
    except (ssl.SSLError, OSError):
        return True
    try:
        c.call("teevault.v1.Sys", "Health")
    except (ssl.SSLError, OSError, ConnectionError, ValueError):
        return True
    finally:
        c.close()
    return False


def main():
    mode, port, pki = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ca = os.path.join(pki, "ca.pem")
    other_ca = os.path.join(pki, "other-ca.pem")
    host = "127.0.0.1"
    if mode == "server-auth":
        c = T.Conn.tls(host, port, ca)
        check(c.s.version() == "TLSv1.3", "negotiated TLS 1.3 (%s)" % c.s.version())
        check(status_ok(c), "Sys.Status over TLS with the server verified")
        check(status_ok(c), "second call on the same TLS connection")
        c.close()
        check(refused(lambda: T.Conn.tls(host, port, other_ca)),
              "client trusting another CA refuses the server")
        check(refused(lambda: T.Conn.tls(host, port, ca, server_name="wrong.example")),
              "wrong server name refused")

        def tls12():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_verify_locations(ca)
            return ctx.wrap_socket(socket.create_connection((host, port), timeout=5),
                                   server_hostname="localhost")
        try:
            s = tls12()
            s.close()
            check(False, "TLS 1.2 refused")
        except (ssl.SSLError, OSError):
            check(True, "TLS 1.2 refused")
    elif mode == "mtls":
        check(refused(lambda: T.Conn.tls(host, port, ca)),
              "mutual TLS required: client without a certificate refused")
        check(refused(lambda: T.Conn.tls(host, port, ca, os.path.join(pki, "rogue.pem"),
                                         os.path.join(pki, "rogue.key"))),
              "client certificate from an unknown CA refused")
        c = T.Conn.tls(host, port, ca, os.path.join(pki, "client.pem"),
                       os.path.join(pki, "client.key"))
        check(status_ok(c), "client with a CA-signed certificate served")
        c.close()
    else:
        print("unknown mode")
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
