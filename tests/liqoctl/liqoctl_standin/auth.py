"""The authentication part of peer and unpeer (pkg/liqoctl/authenticate and unauthenticate of v1.0.3).

liqoctl's steps and messages are kept. The nonce challenge really happens: the provider's nonce Secret gets random
bytes, the consumer signs them with the ed25519 key of its authentication-keys Secret. The certificates that
Liqo's identity manager would sign with the provider's CA cannot be made without that CA's key, so the
kubeconfig stored for the consumer is the provider kubeconfig given to `liqoctl peer` (with its credentials).
"""

from __future__ import annotations

import base64
import datetime
import os
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from . import liqo, objects
from . import resources as res
from .factory import Factory
from .kube import Cluster, KubeError
from .network import StepFailed, cluster_id_or_exit

ID_LABEL = "liqo.io/remote-cluster-id"
IDENTITY_TYPE_LABEL = "liqo.io/identity-type"
REMOTE_TENANT_NAMESPACE_ANNOTATION = "liqo.io/remote-tenant-namespace"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def cluster_key(cluster: Cluster, liqo_namespace: str) -> ed25519.Ed25519PrivateKey:
    """The cluster's ed25519 key from Secret authentication-keys (created when missing, as the controller does)."""
    path = res.SECRET.item("authentication-keys", liqo_namespace)
    secret = cluster.get(path)
    if secret is None or "privateKey" not in (secret.get("data") or {}):
        key = ed25519.Ed25519PrivateKey.generate()
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        body = res.SECRET.skeleton("authentication-keys", liqo_namespace)
        body["data"] = {"privateKey": _b64(private), "publicKey": _b64(public)}
        cluster.create(res.SECRET.collection(liqo_namespace), body)
        return key
    return serialization.load_pem_private_key(base64.b64decode(secret["data"]["privateKey"]), password=None)


def _certificate_request(key: ed25519.Ed25519PrivateKey, common_name: str) -> bytes:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "liqo.io"),
        ]
    )
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, None)
    return request.public_bytes(serialization.Encoding.PEM)


def _certificate(common_name: str) -> bytes:
    """A certificate for common_name. Liqo's would be signed by the provider CA; this one is self-signed."""
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "liqo.io"),
        ]
    )
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365))
        .sign(key, None)
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def provider_auth_params(provider: Factory, consumer_id: str, proxy_url: str) -> dict[str, Any]:
    """AuthParams the provider hands out: its advertised API server, CA and a certificate for the consumer."""
    try:
        api_server = liqo.api_server_url(provider.cluster, provider.liqo_namespace)
    except KubeError:
        api_server = provider.cluster.server
    params: dict[str, Any] = {"apiServer": api_server, "signedCRT": _b64(_certificate(consumer_id))}
    ca = provider.config.cluster.get("certificate-authority-data")
    if ca is None and provider.config.cluster.get("certificate-authority"):
        path = provider.config.cluster["certificate-authority"]
        with open(path if os.path.isabs(path) else os.path.join(provider.config.base_path, path), "rb") as handle:
            ca = _b64(handle.read())
    if ca:
        params["ca"] = ca
    if proxy_url:
        params["proxyURL"] = proxy_url
    return params


def authenticate(
    consumer: Factory,
    provider: Factory,
    *,
    in_band: bool,
    proxy_url: str,
    global_labels: dict[str, str],
    global_annotations: dict[str, str],
) -> None:
    """RunAuthenticate: tenant namespaces, nonce challenge, Tenant on the provider, Identity on the consumer."""
    consumer_id = cluster_id_or_exit(consumer)
    provider_id = cluster_id_or_exit(provider)
    consumer_namespace = _ensure_tenant_namespace(consumer, provider_id)
    provider_namespace = _ensure_tenant_namespace(provider, consumer_id)
    nonce = _ensure_nonce(provider, consumer_id, provider_namespace)
    key = cluster_key(consumer.cluster, consumer.liqo_namespace)
    signature = _ensure_signed_nonce(consumer, provider_id, consumer_namespace, nonce, key)
    if in_band and not proxy_url:
        # liqoctl reads the provider's api-server-proxy IP, which only Liqo's IPAM creates.
        message = 'ips.ipam.liqo.io "api-server-proxy" not found'
        raise StepFailed(message)
    tenant = _generate_tenant(consumer, consumer_id, key, signature, proxy_url)
    _ensure_tenant(
        provider,
        tenant,
        provider_namespace,
        consumer_id=consumer_id,
        proxy_url=proxy_url,
        global_labels=global_labels,
        global_annotations=global_annotations,
    )
    identity_spec = _generate_identity(provider, provider_id, consumer_id, provider_namespace, proxy_url)
    _ensure_identity(
        consumer,
        provider,
        identity_spec,
        consumer_namespace,
        global_labels=global_labels,
        global_annotations=global_annotations,
    )


def _ensure_tenant_namespace(factory: Factory, remote_id: str) -> str:
    spinner = factory.printer.spinner("Ensuring tenant namespace")
    try:
        namespace = liqo.ensure_tenant_namespace(factory.cluster, remote_id)
    except KubeError as error:
        spinner.fail(f"An error occurred while ensuring tenant namespace: {error}")
        raise StepFailed(error.raw) from None
    spinner.success("Tenant namespace correctly ensured")
    return namespace["metadata"]["name"]


def _ensure_nonce(provider: Factory, consumer_id: str, namespace: str) -> bytes:
    spinner = provider.printer.spinner("Ensuring nonce secret")

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {"liqo.io/nonce": "true", ID_LABEL: consumer_id})

    try:
        secret = objects.create_or_update(provider.cluster, res.SECRET, "liqo-nonce", namespace, mutate)
    except KubeError as error:
        spinner.fail(f"Unable to create nonce secret: {error}")
        raise StepFailed(error.raw) from None
    spinner.success("Nonce secret ensured")
    # The nonce creator controller fills the Secret with random bytes.
    if "nonce" not in (secret.get("data") or {}):
        secret["data"] = {**(secret.get("data") or {}), "nonce": _b64(os.urandom(64))}
        secret = provider.cluster.replace(res.SECRET.item("liqo-nonce", namespace), secret)
    provider.printer.spinner("Waiting for nonce to be generated").success("Nonce generated successfully")
    provider.printer.spinner("Retrieving nonce").success("Nonce retrieved")
    return base64.b64decode(secret["data"]["nonce"])


def _ensure_signed_nonce(
    consumer: Factory, provider_id: str, namespace: str, nonce: bytes, key: ed25519.Ed25519PrivateKey
) -> bytes:
    spinner = consumer.printer.spinner("Ensuring signed nonce")
    # EnsureSignedNonceSecret of v1.0.3 keeps an existing Secret and fails when it contains another nonce, as one
    # left from an earlier peering does after the provider made a new nonce.
    existing = consumer.cluster.get(res.SECRET.item("liqo-signed-nonce", namespace))
    existing_nonce = ((existing or {}).get("data") or {}).get("nonce")
    if existing_nonce is not None and base64.b64decode(existing_nonce) != nonce:
        message = f"nonce secret already exists with a different nonce: {_b64(nonce)}"
        spinner.fail(f"Unable to ensure signed nonce secret: {message}")
        raise StepFailed(message)

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {"liqo.io/signed-nonce": "true", ID_LABEL: provider_id})
        obj["data"] = {**(obj.get("data") or {}), "nonce": _b64(nonce)}
        # The nonce signer controller adds the signature made with the cluster key.
        obj["data"]["signedNonce"] = _b64(key.sign(nonce))

    try:
        secret = objects.create_or_update(consumer.cluster, res.SECRET, "liqo-signed-nonce", namespace, mutate)
    except KubeError as error:
        spinner.fail(f"Unable to ensure signed nonce secret: {error.raw}")
        raise StepFailed(error.raw) from None
    spinner.success("Signed nonce secret ensured")
    consumer.printer.spinner("Waiting for nonce to be signed").success("Nonce is signed")
    consumer.printer.spinner("Retrieving signed nonce").success("Signed nonce retrieved")
    return base64.b64decode(secret["data"]["signedNonce"])


def _generate_tenant(
    consumer: Factory, consumer_id: str, key: ed25519.Ed25519PrivateKey, signature: bytes, proxy_url: str
) -> dict[str, Any]:
    spinner = consumer.printer.spinner("Generating tenant")
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    spec: dict[str, Any] = {
        "clusterID": consumer_id,
        "publicKey": _b64(public),
        "csr": _b64(_certificate_request(key, consumer_id)),
        "signature": _b64(signature),
    }
    if proxy_url:
        spec["proxyURL"] = proxy_url
    spinner.success("Tenant correctly generated")
    return spec


def _ensure_tenant(
    provider: Factory,
    spec: dict[str, Any],
    namespace: str,
    *,
    consumer_id: str,
    proxy_url: str,
    global_labels: dict[str, str],
    global_annotations: dict[str, str],
) -> None:
    spinner = provider.printer.spinner("Applying tenant on provider cluster")

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: consumer_id})
        previous = obj.get("spec") or {}
        # The Tenant webhook defaults the policy and the condition; liqoctl's update keeps what is there.
        obj["spec"] = {
            "authzPolicy": previous.get("authzPolicy", "KeysExchange"),
            "tenantCondition": previous.get("tenantCondition", "Active"),
            **spec,
        }

    try:
        objects.create_or_update(
            provider.cluster,
            res.TENANT,
            consumer_id,
            namespace,
            mutate,
            global_labels=global_labels,
            global_annotations=global_annotations,
        )
        objects.write_status(
            provider.cluster,
            res.TENANT,
            consumer_id,
            namespace,
            lambda live: {
                **(live.get("status") or {}),
                "tenantNamespace": namespace,
                "authParams": provider_auth_params(provider, consumer_id, proxy_url),
            },
        )
    except KubeError as error:
        spinner.fail(f"Unable to apply tenant on provider cluster: {error}")
        raise StepFailed(error.raw) from None
    spinner.success("Tenant correctly applied on provider cluster")
    provider.printer.spinner("Waiting for tenant status to be filled").success("Tenant status is filled")


def _generate_identity(
    provider: Factory, provider_id: str, consumer_id: str, provider_namespace: str, proxy_url: str
) -> dict[str, Any]:
    spinner = provider.printer.spinner("Generating identity")
    tenant = provider.cluster.get(res.TENANT.item(consumer_id, provider_namespace)) or {}
    auth_params = (tenant.get("status") or {}).get("authParams") or provider_auth_params(
        provider, consumer_id, proxy_url
    )
    spinner.success("Identity correctly generated")
    return {
        "clusterID": provider_id,
        "type": "ControlPlane",
        "authParams": auth_params,
        "namespace": provider_namespace,
    }


def _ensure_identity(
    consumer: Factory,
    provider: Factory,
    spec: dict[str, Any],
    namespace: str,
    *,
    global_labels: dict[str, str],
    global_annotations: dict[str, str],
) -> None:
    spinner = consumer.printer.spinner("Applying identity on consumer cluster")
    provider_id = spec["clusterID"]
    name = f"controlplane-{provider_id}"

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: provider_id})
        obj["spec"] = dict(spec)

    try:
        identity = objects.create_or_update(
            consumer.cluster,
            res.IDENTITY,
            name,
            namespace,
            mutate,
            global_labels=global_labels,
            global_annotations=global_annotations,
        )
        ensure_kubeconfig_secret(consumer, provider, identity)
    except KubeError as error:
        spinner.fail(f"Unable to apply identity on consumer cluster: {error}")
        raise StepFailed(error.raw) from None
    spinner.success("Identity correctly applied on consumer cluster")
    consumer.printer.spinner("Waiting for identity status to be filled").success("Identity status is filled")


def ensure_kubeconfig_secret(consumer: Factory, provider: Factory, identity: dict[str, Any]) -> str:
    """Secret kubeconfig-<identity> (made by the identity controller), owned by the Identity; return its name."""
    spec = identity["spec"]
    name = f"kubeconfig-{identity['metadata']['name']}"
    namespace = identity["metadata"]["namespace"]
    managed_labels, managed_annotations = objects.controller_globals(consumer.cluster, consumer.liqo_namespace)
    kubeconfig = provider.config.flattened_kubeconfig(spec["clusterID"])

    def mutate(obj: dict[str, Any]) -> None:
        objects.merge_labels(obj, {ID_LABEL: spec["clusterID"], IDENTITY_TYPE_LABEL: spec["type"]})
        if spec.get("namespace"):
            objects.merge_annotations(obj, {REMOTE_TENANT_NAMESPACE_ANNOTATION: spec["namespace"]})
        objects.set_owner(obj, identity, controller=True)
        obj["type"] = "Opaque"
        obj["data"] = {"kubeconfig": _b64(kubeconfig.encode())}

    objects.create_or_update(
        consumer.cluster,
        res.SECRET,
        name,
        namespace,
        mutate,
        global_labels=managed_labels,
        global_annotations=managed_annotations,
    )
    objects.write_status(
        consumer.cluster,
        res.IDENTITY,
        identity["metadata"]["name"],
        namespace,
        lambda live: {**(live.get("status") or {}), "kubeconfigSecretRef": {"name": name}},
    )
    return name


# -- unauthenticate -------------------------------------------------------------------------------------------


def unauthenticate(consumer: Factory, provider: Factory) -> None:
    """RunUnauthenticate: refuse while slices remain, delete the control-plane Identity and the Tenant."""
    cluster_id_or_exit(consumer)
    provider_id = cluster_id_or_exit(provider)
    consumer_id = liqo.cluster_id(consumer.cluster, consumer.liqo_namespace)
    spinner = consumer.printer.spinner("Checking for leftover ResourceSlices")
    try:
        slices = consumer.cluster.list(
            res.RESOURCE_SLICE.collection(), label_selector=f"liqo.io/replication=true,liqo.io/remoteID={provider_id}"
        )
    except KubeError as error:
        spinner.fail(f"Error while retrieving resourceslices on consumer cluster: {error}")
        raise StepFailed(error.raw) from None
    if slices:
        spinner.fail("resourceslices are still present on consumer cluster")
        raise StepFailed("resourceslices are still present on consumer cluster")
    spinner.success("No leftover resourceslices on consumer cluster")
    _delete_control_plane_identity(consumer, provider_id)
    _delete_tenant(provider, consumer_id)


def _delete_control_plane_identity(consumer: Factory, provider_id: str) -> None:
    spinner = consumer.printer.spinner("Deleting identity control plane")
    identities = [
        item
        for item in consumer.cluster.list(res.IDENTITY.collection(), label_selector=f"{ID_LABEL}={provider_id}")
        if item.get("spec", {}).get("type") == "ControlPlane"
    ]
    if not identities:
        spinner.success("Identity control plane already deleted")
        return
    identity = identities[0]
    namespace = identity["metadata"]["namespace"]
    try:
        consumer.cluster.delete(res.IDENTITY.item(identity["metadata"]["name"], namespace))
        # The garbage collector would remove the kubeconfig Secret owned by the Identity.
        consumer.cluster.delete(res.SECRET.item(f"kubeconfig-{identity['metadata']['name']}", namespace))
    except KubeError as error:
        spinner.fail(f"Error while deleting Identity control plane: {error}")
        raise StepFailed(error.raw) from None
    spinner.success("Identity control plane correctly deleted")


def _delete_tenant(provider: Factory, consumer_id: str) -> None:
    spinner = provider.printer.spinner("Deleting tenant")
    try:
        namespace = liqo.get_tenant_namespace(provider.cluster, consumer_id)["metadata"]["name"]
    except KubeError as error:
        spinner.fail(f"Error while retrieving tenant namespace: {error}")
        raise StepFailed(error.raw) from None
    tenants = provider.cluster.list(res.TENANT.collection(namespace), label_selector=f"{ID_LABEL}={consumer_id}")
    if not tenants:
        spinner.success("Tenant already deleted")
        return
    try:
        provider.cluster.delete(res.TENANT.item(tenants[0]["metadata"]["name"], namespace))
    except KubeError as error:
        spinner.fail(f"Error while deleting tenant: {error}")
        raise StepFailed(error.raw) from None
    spinner.success("Tenant correctly deleted")
