#!/usr/bin/env python3
"""HTTPS via CivetWeb with a certificate made here by openssl: TLS 1.2 and 1.3 only.

Checks: HTTPS requests verify against the generated certificate; an authenticated ingest works
over TLS; TLS 1.0/1.1 handshakes and plain HTTP are refused; the body deadline also holds for a
trickled body over TLS; a missing certificate stops startup with a clear error.
"""
import os
import socket
import ssl
import subprocess
import sys
import time
import hashlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Exporter, base_config, record, write, run  # noqa: E402


def openssl_connects(port, version_flag, tmp):
    """Whether `openssl s_client` completes a handshake with only `version_flag` allowed."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", version_flag,
                        "-cipher", "DEFAULT:@SECLEVEL=0", "-CAfile", os.path.join(tmp, "cert.pem")],
                       input=b"", capture_output=True, timeout=20)
    out = r.stdout.decode(errors="replace")
    return r.returncode == 0 and "Verify return code: 0 (ok)" in out


def test(exporter, checks, tmp):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", os.path.join(tmp, "key.pem"), "-out", os.path.join(tmp, "cert.pem"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    with open(os.path.join(tmp, "server.pem"), "w") as out:
        for name in ("cert.pem", "key.pem"):
            with open(os.path.join(tmp, name)) as f:
                out.write(f.read())
    db = os.path.join(tmp, "usage.db")
    token = "tls-test-token"
    server = (f'listen = "127.0.0.1:0"\ntls_certificate = "{tmp}/server.pem"\n'
              f'body_timeout = "1s"\nrequest_timeout = "300ms"')
    auth = (f'\n[[auth.tokens]]\nname = "t"\nsha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\n'
            f'scopes = ["ingest", "read"]\n')
    cfg = write(os.path.join(tmp, "c.toml"),
                base_config(db, auth).replace('listen = "127.0.0.1:0"', server))
    ex = Exporter(exporter, cfg, os.path.join(tmp, "log"), tls_ca=os.path.join(tmp, "cert.pem"))
    try:
        checks.check("tls=on" in ex.log_text(), "startup log says tls=on")
        status, _, _ = ex.request("GET", "/-/healthy")
        checks.check(status == 200, f"HTTPS /-/healthy verifies against the generated certificate ({status})")
        status, body, _ = ex.ingest([record("tls-1")], {"Authorization": f"Bearer {token}"})
        checks.check(status == 200 and body["accepted"] == 1, f"authenticated ingest over TLS ({status})")
        status, _, _ = ex.ingest([record("tls-2")])
        checks.check(status == 401, f"no token over TLS is still 401 ({status})")
        checks.check(openssl_connects(ex.port, "-tls1_2", tmp), "TLS 1.2 handshake accepted")
        checks.check(openssl_connects(ex.port, "-tls1_3", tmp), "TLS 1.3 handshake accepted")
        checks.check(not openssl_connects(ex.port, "-tls1_1", tmp), "TLS 1.1 handshake refused")
        checks.check(not openssl_connects(ex.port, "-tls1", tmp), "TLS 1.0 handshake refused")
        with ex.raw_socket() as s:
            s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                reply = s.recv(100)
            except OSError:
                reply = b""
            checks.check(not reply.startswith(b"HTTP/"), "plain HTTP on the TLS port gets no HTTP answer")
        # A body trickled over TLS is cut at the body deadline too.
        ctx = ssl.create_default_context(cafile=os.path.join(tmp, "cert.pem"))
        body = b'[{"userId":"u","provider":"acme","model":"m","usage":{"promptTokens":1,"completionTokens":1}}]'
        with ctx.wrap_socket(ex.raw_socket(), server_hostname="127.0.0.1") as s:
            start = time.time()
            s.sendall(b"POST /api/v1/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body))
            s.settimeout(0.1)
            reply = b""
            for i in range(len(body)):
                try:
                    s.sendall(body[i:i + 1])
                    reply += s.recv(4096)
                    break
                except socket.timeout:
                    continue
                except OSError:
                    break
            s.settimeout(5)
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
            except OSError:
                pass
            took = time.time() - start
        checks.check(reply.startswith(b"HTTP/1.1 408") and took < 2.5,
                     f"trickled body over TLS cut at the deadline ({took:.1f} s): {reply[:40]!r}")
    finally:
        ex.stop()
    bad = write(os.path.join(tmp, "bad.toml"),
                base_config(db).replace('listen = "127.0.0.1:0"',
                                        f'listen = "127.0.0.1:0"\ntls_certificate = "{tmp}/missing.pem"'))
    r = subprocess.run([exporter, "--config", bad], capture_output=True, timeout=20)
    err = r.stderr.decode(errors="replace")
    checks.check(r.returncode == 1 and "with certificate" in err and "missing.pem" in err,
                 f"a missing certificate stops startup with a clear error (rc {r.returncode})")


if __name__ == "__main__":
    sys.exit(run("tls", test))
