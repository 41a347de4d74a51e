"""Per-cluster credentials: CA, API server serving certificate, service-account key pair, admin token, kubeconfig.

Every secret file is written with mode 0600. Existing files are kept, so a stopped lab restarts with the
same credentials.
"""

import base64
import datetime
import ipaddress
import os
import secrets
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .topology import Cluster

VALIDITY = datetime.timedelta(days=365)
SERVICE_DNS_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
ADMIN_USER = "lab-admin"


class ClusterFiles:
    """Paths of one cluster's directory under the state dir."""

    def __init__(self, state_dir: Path, cluster: Cluster):
        self.root = state_dir / "clusters" / cluster.name
        self.pki = self.root / "pki"
        self.logs = self.root / "logs"
        self.run = self.root / "run"
        self.etcd_data = self.root / "etcd"
        self.kwok_workdir = self.root / "kwok"
        self.ca_cert = self.pki / "ca.crt"
        self.ca_key = self.pki / "ca.key"
        self.apiserver_cert = self.pki / "apiserver.crt"
        self.apiserver_key = self.pki / "apiserver.key"
        self.sa_key = self.pki / "sa.key"
        self.sa_pub = self.pki / "sa.pub"
        self.tokens = self.pki / "tokens.csv"
        self.kubeconfig = self.root / "admin.kubeconfig"
        self.egress_selector = self.root / "egress-selector.yaml"
        self.egress_socket = self.run / "egress-blocked.sock"

    def make_dirs(self) -> None:
        for directory in (self.root, self.pki, self.logs, self.run, self.etcd_data, self.kwok_workdir):
            directory.mkdir(parents=True, exist_ok=True)
        # etcd expects mode 0700 on its data dir.
        self.etcd_data.chmod(0o700)
        self.pki.chmod(0o700)


def write_secret(path: Path, data: bytes) -> None:
    """Write a file that only the owner can read, creating it with mode 0600 so it is never briefly readable."""
    tmp = path.with_name(path.name + ".tmp")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def _private_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> datetime.datetime:
    # Back-date a little so clocks that disagree by a few seconds still accept the certificates.
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)


def _make_ca(cluster: Cluster) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{cluster.name}-ca")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now())
        .not_valid_after(_now() + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _serving_names(cluster: Cluster) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    names += [x509.DNSName(name) for name in SERVICE_DNS_NAMES]
    for address in (cluster.address, cluster.first_service_ip):
        names.append(x509.IPAddress(ipaddress.ip_address(address)))
    return x509.SubjectAlternativeName(names)


def _make_serving_cert(cluster: Cluster, ca_cert: x509.Certificate, ca_key) -> tuple[x509.Certificate, object]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now())
        .not_valid_after(_now() + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_serving_names(cluster), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return certificate, key


def _write_certificates(files: ClusterFiles, cluster: Cluster) -> None:
    ca_cert, ca_key = _make_ca(cluster)
    serving_cert, serving_key = _make_serving_cert(cluster, ca_cert, ca_key)
    write_secret(files.ca_key, _private_pem(ca_key))
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    write_secret(files.apiserver_key, _private_pem(serving_key))
    files.apiserver_cert.write_bytes(serving_cert.public_bytes(serialization.Encoding.PEM))


def _write_service_account_keys(files: ClusterFiles) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_secret(files.sa_key, _private_pem(key))
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    files.sa_pub.write_bytes(public)


def read_admin_token(files: ClusterFiles) -> str:
    return files.tokens.read_text().split(",", 1)[0]


def _write_token_and_kubeconfig(files: ClusterFiles, cluster: Cluster) -> None:
    token = secrets.token_urlsafe(32)
    write_secret(files.tokens, f'{token},{ADMIN_USER},{ADMIN_USER}-uid,"system:masters"\n'.encode())
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster.name,
                "cluster": {
                    "server": cluster.api_server_url,
                    "certificate-authority-data": base64.b64encode(files.ca_cert.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": ADMIN_USER, "user": {"token": token}}],
        "contexts": [{"name": cluster.name, "context": {"cluster": cluster.name, "user": ADMIN_USER}}],
        "current-context": cluster.name,
        "preferences": {},
    }
    write_secret(files.kubeconfig, yaml.safe_dump(kubeconfig, sort_keys=False).encode())


def ensure_credentials(files: ClusterFiles, cluster: Cluster) -> None:
    """Create the cluster's CA, serving certificate, SA keys, token and kubeconfig unless they exist."""
    files.make_dirs()
    if not (files.ca_cert.exists() and files.apiserver_cert.exists()):
        _write_certificates(files, cluster)
    if not files.sa_key.exists():
        _write_service_account_keys(files)
    if not (files.tokens.exists() and files.kubeconfig.exists()):
        _write_token_and_kubeconfig(files, cluster)
