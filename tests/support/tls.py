"""A throwaway certificate authority and broker certificate, made with the openssl command for one test."""

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BrokerTls:
    """Files for a SASL_SSL broker: give `directory` to `local-kafka start --sasl-ssl`; clients trust `ca`."""

    directory: Path
    ca: Path
    username: str
    password: str


def make_broker_tls(directory: Path, username: str, password: str) -> BrokerTls:
    """A CA, a broker key and certificate for 127.0.0.1 signed by it, and one SCRAM user."""
    directory.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=logferry test CA",
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker-key.pem", "-out", "broker.csr", "-subj", "/CN=127.0.0.1")
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "broker.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-out",
        "broker-cert.pem",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
    )
    (directory / "scram-users").write_text(f"{username}:{password}\n")
    return BrokerTls(directory, directory / "ca.pem", username, password)
