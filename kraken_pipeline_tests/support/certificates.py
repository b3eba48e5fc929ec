"""A throwaway CA and server certificates for the HTTPS emulator, made with the openssl command.

The `cryptography` package is not a dependency of this project, and the openssl command line
is on every machine that has Python's ssl module. Keys are P-256 (quick to make); certificates
live two days and carry the extensions a strict verifier expects of a CA and of a server.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = {names}
"""


@dataclass(frozen=True)
class ServerCertificate:
    """A certificate chain file and its private key, as EmulatorConfig.tls takes them."""

    certfile: Path
    keyfile: Path

    @property
    def tls(self) -> tuple[Path, Path]:
        return self.certfile, self.keyfile


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA (its certificate is what KRAKEN_CA_BUNDLE points to) and servers it signed."""

    ca_bundle: Path
    loopback: ServerCertificate  # for 127.0.0.1 and localhost
    elsewhere: ServerCertificate  # for kraken.example only: a name mismatch on loopback


def _openssl(*arguments: str, cwd: Path) -> None:
    executable = shutil.which("openssl")
    assert executable, "the openssl command is needed to make test certificates"
    subprocess.run([executable, *arguments], cwd=cwd, check=True, capture_output=True)


def _key_request(name: str, subject: str) -> list[str]:
    return [
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-subj", subject,
    ]  # fmt: skip


def _server(name: str, alt_names: str, cwd: Path) -> ServerCertificate:
    _openssl("req", *_key_request(name, f"/CN={name}"), "-out", f"{name}.csr", cwd=cwd)
    (cwd / f"{name}.ext").write_text(_SERVER_EXTENSIONS.format(names=alt_names))
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-sha256", "-extfile", f"{name}.ext",
        "-out", f"{name}.pem",
        cwd=cwd,
    )  # fmt: skip
    return ServerCertificate(cwd / f"{name}.pem", cwd / f"{name}.key")


def make_certificate_authority(directory: Path) -> CertificateAuthority:
    """Make a CA and two server certificates in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", *_key_request("ca", "/CN=kraken-pipeline test CA"),
        "-days", "2", "-sha256", "-out", "ca.pem",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    return CertificateAuthority(
        ca_bundle=directory / "ca.pem",
        loopback=_server("loopback", "IP:127.0.0.1, DNS:localhost", directory),
        elsewhere=_server("elsewhere", "DNS:kraken.example", directory),
    )
