"""Pinned versions and the locations of the lab's cache, state directory and slot."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
LAB_DIR = REPO_ROOT / "tests" / "lab"
DEFAULT_TOPOLOGY = LAB_DIR / "topology.yml"
KWOK_STAGES_DIR = LAB_DIR / "kwok-stages"
LIQOCTL_STANDIN = REPO_ROOT / "tests" / "liqoctl" / "liqoctl.py"

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
LIQO_VERSION = "v1.0.3"
LIQO_MODULE = "github.com/liqotech/liqo"
LIQO_CRDS_SUBDIR = "deployments/liqo/charts/liqo-crds/crds"
LIQO_CRD_COUNT = 28

# Loopback slots: slot s uses 127.<10+s>.0.0/16, so s must keep the second octet below 256.
MAX_SLOT = 245


def cache_dir() -> Path:
    """Return the binary and CRD cache, shared by every state directory of this user."""
    configured = os.environ.get("OSS_MLOPS_LAB_CACHE")
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".cache" / "oss-mlops-lab"


def default_state_dir() -> Path:
    configured = os.environ.get("OSS_MLOPS_LAB_STATE")
    if configured:
        return Path(configured).expanduser().resolve()
    return REPO_ROOT / ".lab"


def default_slot() -> str:
    """Return the slot from the environment as text; argparse converts and validates it like --slot."""
    return os.environ.get("OSS_MLOPS_LAB_SLOT", "0")


def kubernetes_bin_dir() -> Path:
    return cache_dir() / f"kubernetes-{KUBERNETES_VERSION}" / "bin"


def etcd_binary() -> Path:
    return cache_dir() / f"etcd-{ETCD_VERSION}" / "bin" / "etcd"


def kwok_binary() -> Path:
    return cache_dir() / f"kwok-{KWOK_VERSION}" / "bin" / "kwok"


def liqo_crds_dir() -> Path:
    return cache_dir() / f"liqo-{LIQO_VERSION}" / "crds"


def python_for_tools() -> Path:
    """Return the repository's virtual environment interpreter, which has the lab's Python dependencies."""
    return REPO_ROOT / ".venv" / "bin" / "python"
