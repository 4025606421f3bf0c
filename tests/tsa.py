"""A real RFC 3161 timestamp authority for tests: ``openssl ts -reply`` on 127.0.0.1.

``LocalTSA(workdir, mode=...)`` makes a throwaway root CA and a TSA certificate
(critical extendedKeyUsage timeStamping), writes an openssl TSA config (without
``certs=``: openssl writes that certificate SET unsorted and rfc3161-client rejects
it), and serves ``POST application/timestamp-query`` from a threaded HTTP server on
a free port. Used as a context manager: ``url``, ``root_pem``, ``root_path``.

Fault modes, each a named broken TSA a user could meet:

* ``ok``: a correct TSA.
* ``http500``: answers HTTP 500.
* ``garbage``: answers 200 with an HTML page instead of a timestamp response.
* ``reject``: openssl itself rejects the query (it only accepts SHA-512 imprints),
  giving a PKIStatus rejection with failure info badAlg.
* ``other_data``: signs a token over a different imprint (same nonce).
* ``wrong_nonce``: answers a different query for the same imprint (another nonce).
* ``no_eku``: the token is signed with a certificate lacking the timeStamping EKU
  (openssl ts refuses such a signer, so the TSTInfo openssl produced is re-signed
  with ``openssl cms -sign``; the result is a well-formed token from a bad cert).
* ``expiring``: the TSA certificate's notAfter is ``expire_after`` seconds after
  start, so a token issued now verifies later only "at the token's time".

Run this file to print a working TSA's URL and serve until Ctrl-C.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MODES = ("ok", "http500", "garbage", "reject", "other_data", "wrong_nonce", "no_eku", "expiring")
POLICY = "1.3.6.1.4.1.55555.1.1"


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "archiver tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def make_ca(workdir: Path, cn: str = "archiver test root") -> tuple[Path, Path]:
    """A self-signed root CA: returns (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / "root.pem", workdir / "root.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, key)
    return cert_path, key_path


def make_tsa_cert(
    workdir: Path,
    ca_cert: Path,
    ca_key: Path,
    *,
    eku: bool = True,
    not_after: dt.datetime | None = None,
    name: str = "tsa",
) -> tuple[Path, Path]:
    """A TSA certificate issued by the CA: returns (cert path, key path)."""
    issuer = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    issuer_key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    assert isinstance(issuer_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(f"archiver test {name}"))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(not_after or now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    if eku:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    cert = builder.sign(issuer_key, hashes.SHA256())
    cert_path, key_path = workdir / f"{name}.pem", workdir / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, key)
    return cert_path, key_path


_CONFIG = """\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = {cert}
signer_key = {key}
signer_digest = sha256
default_policy = {policy}
digests = {digests}
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der_seq(*parts: bytes) -> bytes:
    body = b"".join(parts)
    return b"\x30" + _der_len(len(body)) + body


class LocalTSA:
    """A running ``openssl ts -reply`` TSA on 127.0.0.1 (see module docstring)."""

    def __init__(self, workdir: Path, mode: str = "ok", *, expire_after: float = 3.0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown TSA mode {mode!r}")
        self.mode = mode
        self.dir = workdir / f"tsa-{mode}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.root_path, root_key = make_ca(self.dir)
        self.root_pem = self.root_path.read_bytes()
        not_after = None
        if mode == "expiring":
            not_after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expire_after)
        self.cert_path, self.key_path = make_tsa_cert(
            self.dir, self.root_path, root_key, not_after=not_after
        )
        self.not_after = x509.load_pem_x509_certificate(
            self.cert_path.read_bytes()
        ).not_valid_after_utc
        if mode == "no_eku":
            self.bad_cert, self.bad_key = make_tsa_cert(
                self.dir, self.root_path, root_key, eku=False, name="tsa-no-eku"
            )
        (self.dir / "tsaserial").write_text("01\n")
        self.config = self.dir / "tsa.cnf"
        self.config.write_text(
            _CONFIG.format(
                dir=self.dir,
                cert=self.cert_path,
                key=self.key_path,
                policy=POLICY,
                digests="sha512" if mode == "reject" else "sha256, sha384, sha512",
            )
        )
        self._lock = threading.Lock()
        self._count = 0
        self.requests: list[bytes] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "LocalTSA is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/tsa"

    def __enter__(self) -> LocalTSA:
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, ctype, answer = tsa.answer(body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- answering ---------------------------------------------------------------

    def _openssl(self, *args: str) -> bytes:
        proc = subprocess.run(["openssl", *args], capture_output=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout

    def reply(self, query: bytes) -> bytes:
        """Run ``openssl ts -reply`` on a DER TimeStampReq; return the TimeStampResp DER."""
        with self._lock:
            self._count += 1
            n = self._count
            q, r = self.dir / f"q{n}.tsq", self.dir / f"r{n}.tsr"
            q.write_bytes(query)
            self._openssl(
                "ts", "-reply", "-config", str(self.config), "-queryfile", str(q), "-out", str(r)
            )
            return r.read_bytes()

    def answer(self, query: bytes) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one POSTed query, per ``mode``."""
        self.requests.append(query)
        reply_type = "application/timestamp-reply"
        if self.mode == "http500":
            return 500, "text/plain", b"internal error\n"
        if self.mode == "garbage":
            return 200, "text/html", b"<html><body>Welcome to our portal</body></html>\n"
        if self.mode == "other_data":
            wanted = self._imprint(query)
            query = query.replace(wanted, hashlib.sha256(b"some other document").digest())
        elif self.mode == "wrong_nonce":
            other = self._openssl(
                "ts", "-query", "-digest", self._imprint(query).hex(), "-sha256", "-cert"
            )
            return 200, reply_type, self.reply(other)
        resp = self.reply(query)
        if self.mode == "no_eku":
            resp = self._resign(resp)
        return 200, reply_type, resp

    def _imprint(self, query: bytes) -> bytes:
        from rfc3161_client import _rust  # the client's own DER parser

        parsed = _rust.parse_timestamp_request(query)
        return bytes(parsed.message_imprint.message)

    def _resign(self, resp: bytes) -> bytes:
        """Re-sign the TSTInfo of ``resp`` with the no-EKU certificate."""
        with self._lock:
            tsr, token = self.dir / "resign.tsr", self.dir / "resign.token"
            tst, signed = self.dir / "resign.tstinfo", self.dir / "resign.p7"
            tsr.write_bytes(resp)
            self._openssl("ts", "-reply", "-in", str(tsr), "-token_out", "-out", str(token))
            self._openssl(
                "cms", "-verify", "-noverify", "-inform", "DER", "-in", str(token), "-out", str(tst)
            )
            self._openssl(
                "cms",
                "-sign",
                "-binary",
                "-nodetach",
                "-nosmimecap",
                "-econtent_type",
                "1.2.840.113549.1.9.16.1.4",
                "-md",
                "sha256",
                "-signer",
                str(self.bad_cert),
                "-inkey",
                str(self.bad_key),
                "-in",
                str(tst),
                "-outform",
                "DER",
                "-out",
                str(signed),
            )
            status_granted = _der_seq(b"\x02\x01\x00")
            return _der_seq(status_granted, signed.read_bytes())


if __name__ == "__main__":
    import sys
    import tempfile
    import time

    with tempfile.TemporaryDirectory() as tmp:
        mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
        with LocalTSA(Path(tmp), mode) as running:
            print(running.url, running.root_path, flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
