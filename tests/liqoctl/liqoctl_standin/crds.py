"""The Liqo v1.0.3 CRDs, read from the directory named by LIQOCTL_STANDIN_CRDS and applied server-side."""

from __future__ import annotations

import glob
import os
from typing import Any

import yaml

from . import resources as res
from .helm import wait_until
from .kube import Cluster

CRDS_ENV = "LIQOCTL_STANDIN_CRDS"


class CRDError(Exception):
    """The CRD directory is missing or unusable."""


def load() -> list[dict[str, Any]]:
    """Return the CRD objects from the directory in LIQOCTL_STANDIN_CRDS."""
    directory = os.environ.get(CRDS_ENV, "")
    if not directory:
        raise CRDError(f"{CRDS_ENV} is not set; point it at the directory holding the Liqo v1.0.3 CRD YAML files")
    paths = sorted(glob.glob(os.path.join(directory, "*.yaml")) + glob.glob(os.path.join(directory, "*.yml")))
    if not paths:
        raise CRDError(f"no CRD YAML files found in {directory} ({CRDS_ENV})")
    crds = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for document in yaml.safe_load_all(handle):
                if document and document.get("kind") == "CustomResourceDefinition":
                    crds.append(document)
    return crds


def apply(cluster: Cluster, crds: list[dict[str, Any]], timeout_seconds: float) -> bool:
    """Apply the CRDs server-side and wait until each is Established; return False on timeout."""
    for crd in crds:
        cluster.apply(res.CRD.item(crd["metadata"]["name"]), crd, manager="helm")

    def established() -> bool:
        for crd in crds:
            live = cluster.get(res.CRD.item(crd["metadata"]["name"]))
            conditions = (live or {}).get("status", {}).get("conditions") or []
            if not any(item["type"] == "Established" and item["status"] == "True" for item in conditions):
                return False
        return True

    return wait_until(established, timeout_seconds, interval=0.2)
