"""Per-cluster access objects, like liqoctl's factory.Factory for the local and the remote cluster."""

from __future__ import annotations

from .flags import FlagSet
from .kube import AccessFlags, Cluster, ConfigError, ResolvedConfig, resolve
from .output import LiqoctlExit, Printer

ACCESS_FLAG_FIELDS = {
    "kubeconfig": "kubeconfig",
    "context": "context",
    "cluster": "cluster",
    "user": "user",
    "server": "server",
    "token": "token",
    "certificate-authority": "certificate_authority",
    "client-certificate": "client_certificate",
    "client-key": "client_key",
    "insecure-skip-tls-verify": "insecure_skip_tls_verify",
    "tls-server-name": "tls_server_name",
    "request-timeout": "request_timeout",
    "as": "impersonate",
    "as-uid": "impersonate_uid",
    "as-group": "impersonate_groups",
}


class Factory:
    """Access to one cluster: resolved kubeconfig, REST client, Liqo namespace and a scoped printer."""

    def __init__(self, flags: FlagSet, remote: bool, verbose: bool, scoped: bool):
        prefix = "remote-" if remote else ""
        self.remote = remote
        self.access = AccessFlags(
            **{
                field: flags.value(prefix + name)
                for name, field in ACCESS_FLAG_FIELDS.items()
                if flags.lookup(prefix + name) is not None
            }
        )
        namespace_flag = flags.lookup(prefix + "namespace")
        self.liqo_namespace = namespace_flag.value if namespace_flag is not None else "liqo"
        scope = ""
        if scoped:
            scope = "remote" if remote else "local"
        self.printer = Printer(scope=scope, verbose=verbose)
        self.global_printer = Printer(scope="global" if scoped else "", verbose=verbose)
        self.config: ResolvedConfig | None = None
        self._cluster: Cluster | None = None

    def initialize(self) -> None:
        """Resolve the kubeconfig, printing the error and exiting like liqoctl's Printer.CheckErr."""
        try:
            self.config = resolve(self.access)
        except ConfigError as error:
            self.printer.error(str(error))
            raise LiqoctlExit(1) from None

    @property
    def cluster(self) -> Cluster:
        """REST access to this cluster (created on first use)."""
        if self._cluster is None:
            if self.config is None:
                self.initialize()
            self._cluster = Cluster(self.config)
        return self._cluster

    def check_err(self, message: str) -> None:
        """Print an error the way kubectl's CheckErr formats a plain Go error, then exit 1."""
        if not message.startswith(
            (
                "error: ",
                "Error from server",
                "The connection to the server",
                "Unable to connect to the server",
                "Error in configuration",
            )
        ):
            message = "error: " + message
        self.printer.error(message)
        raise LiqoctlExit(1)
