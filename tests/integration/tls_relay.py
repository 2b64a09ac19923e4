# SPDX-License-Identifier: Apache-2.0
"""A TLS-terminating relay (attacker test, issue 12): it presents its own
certificate (one the client trusts), opens its own TLS connection to the
vault and copies bytes both ways, so it sees and could rewrite everything.

Usage: tls_relay.py LISTEN_PORT_FILE VAULT_PORT CERT KEY CA
Writes the port it listens on to LISTEN_PORT_FILE, serves until killed.

One thread per relayed connection drives both TLS sockets: an SSL object
must not be read in one thread while another writes it (two threads per
connection lost a request now and then under load).
"""
import select
import socket
import ssl
import sys
import threading


def drain(src, dst):
    """Copy what src has decrypted to dst; False once src is closed."""
    while True:
        try:
            d = src.recv(65536)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return True
        if not d:
            return False
        dst.setblocking(True)
        dst.sendall(d)
        dst.setblocking(False)


def relay(a, b):
    try:
        a.setblocking(False)
        b.setblocking(False)
        while True:
            ready, _, _ = select.select([a, b], [], [])
            if not all(drain(s, b if s is a else a) for s in ready):
                break
    except OSError:
        pass
    for s in (a, b):
        try:
            s.close()
        except OSError:
            pass


def main():
    port_file, vault_port, cert, key, ca = sys.argv[1:6]
    srv_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv_ctx.load_cert_chain(cert, key)
    cli_ctx = ssl.create_default_context(cafile=ca)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(port_file, "w") as f:
        f.write(str(ls.getsockname()[1]))
    while True:
        c, _ = ls.accept()
        try:
            down = srv_ctx.wrap_socket(c, server_side=True)
            up = cli_ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(vault_port))),
                                     server_hostname="localhost")
        except (OSError, ssl.SSLError):
            c.close()
            continue
        threading.Thread(target=relay, args=(down, up), daemon=True).start()


main()
