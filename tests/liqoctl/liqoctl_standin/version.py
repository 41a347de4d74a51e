"""liqoctl version [--client] (pkg/liqoctl/version)."""

from __future__ import annotations

import sys

from . import liqo
from .kube import KubeError


def run(invocation) -> int:
    """Print the client version and, unless --client, the tag of the installed controller-manager image."""
    sys.stdout.write(f"Client version: {invocation.client_version}\n")
    sys.stdout.flush()
    if invocation.value("client"):
        return 0
    factory = invocation.local
    try:
        deployment = liqo.controller_manager(factory.cluster, factory.liqo_namespace)
        server_version = liqo.image_version(liqo.controller_manager_container(deployment))
    except KubeError as error:
        sys.stdout.write("Server version: Unknown\n")
        sys.stdout.flush()
        factory.printer.warning(f"Failed to retrieve Liqo server version: {error}")
        factory.printer.warning(
            "Is Liqo installed in your cluster? Is the cluster reachable? Do you have the permissions to access "
            "the target cluster?"
        )
        return 1
    sys.stdout.write(f"Server version: {server_version}\n")
    sys.stdout.flush()
    if server_version != invocation.client_version:
        factory.printer.warning(
            "The version of liqoctl does not match the Liqo server version. This might cause unexpected behaviors."
        )
    return 0
