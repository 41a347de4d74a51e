"""Helm values of the Liqo v1.0.3 chart as liqoctl install assembles them.

Precedence (low to high): chart defaults, liqoctl's own values, provider values, --values files, --set,
--set-string. The maps are combined with Liqo's util.MergeMaps, whose quirks matter: lists are appended, not
replaced, and values of different Go types under one key are an error. Helm decodes chart defaults through JSON,
so their numbers are float64, while liqoctl decodes --values files with yaml.v3 into int. Overriding a numeric chart
default from a --values file therefore fails, and the stand-in keeps that behaviour.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

# Chart defaults used by the stand-in (deployments/liqo/values.yaml of v1.0.3; only the keys it renders or
# that liqoctl reads). Numbers are floats because Helm decodes chart values through JSON.
CHART_DEFAULTS: dict[str, Any] = {
    "tag": "",
    "nameOverride": "",
    "fullnameOverride": "",
    "pullPolicy": "IfNotPresent",
    "imagePullSecrets": [],
    "metrics": {"enabled": False, "prometheusOperator": {"enabled": False}},
    "apiServer": {"address": "", "ca": "", "trustedCA": False},
    "networking": {
        "enabled": True,
        "reflectIPs": True,
        "genevePort": 6091.0,
        "serverResources": [{"apiVersion": "networking.liqo.io/v1beta1", "resource": "wggatewayservers"}],
        "clientResources": [{"apiVersion": "networking.liqo.io/v1beta1", "resource": "wggatewayclients"}],
        "gatewayTemplates": {"wireguard": {"implementation": "kernel"}, "replicas": 1.0},
        "fabric": {
            "image": {"name": "ghcr.io/liqotech/fabric", "version": ""},
            "config": {
                "fullMasquerade": False,
                "gatewayMasqueradeBypass": False,
                "nftablesMonitor": False,
                "healthProbeBindAddressPort": "8081",
                "metricsAddressPort": "8082",
            },
        },
    },
    "authentication": {"enabled": True, "tlsCompatibilityMode": False},
    "offloading": {
        "enabled": True,
        "defaultNodeResources": {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "20Gi"},
        "createNode": True,
        "disableNetworkCheck": False,
        "runtimeClass": {
            "name": "liqo",
            "annotations": {},
            "labels": {},
            "handler": "liqo",
            "nodeSelector": {"enabled": True, "labels": {"liqo.io/type": "virtual-node"}},
            "tolerations": {
                "enabled": True,
                "tolerations": [
                    {"key": "virtual-node.liqo.io/not-allowed", "operator": "Exists", "effect": "NoExecute"}
                ],
            },
        },
        "reflection": {
            "service": {"loadBalancerClasses": []},
            "ingress": {"ingressClasses": []},
        },
    },
    "storage": {
        "enabled": True,
        "virtualStorageClassName": "liqo",
        "realStorageClassName": "",
        "storageNamespace": "liqo-storage",
    },
    "common": {
        "nodeSelector": {},
        "tolerations": [],
        "affinity": {},
        "extraArgs": [],
        "globalLabels": {"liqo.io/managed": "true"},
        "globalAnnotations": {},
    },
    "controllerManager": {
        "replicas": 1.0,
        "image": {"name": "ghcr.io/liqotech/liqo-controller-manager", "version": ""},
        "config": {
            "enableResourceEnforcement": True,
            "defaultLimitsEnforcement": "None",
            "enableNodeFailureController": False,
        },
    },
    "webhook": {
        "replicas": 1.0,
        "image": {"name": "ghcr.io/liqotech/webhook", "version": ""},
        "port": 9443.0,
        "failurePolicy": "Fail",
    },
    "ipam": {
        "external": {"enabled": False, "url": ""},
        "internal": {"image": {"name": "ghcr.io/liqotech/ipam", "version": ""}, "replicas": 1.0},
        "podCIDR": "",
        "serviceCIDR": "",
        "externalCIDR": "10.70.0.0/16",
        "internalCIDR": "10.80.0.0/16",
        "reservedSubnets": [],
        "pools": ["10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12"],
    },
    "crdReplicator": {"image": {"name": "ghcr.io/liqotech/crd-replicator", "version": ""}},
    "discovery": {"config": {"clusterID": "", "clusterLabels": {}}},
    "metricAgent": {"enabled": True, "image": {"name": "ghcr.io/liqotech/metric-agent", "version": ""}},
    "telemetry": {"enabled": True, "image": {"name": "ghcr.io/liqotech/telemetry", "version": ""}},
    "virtualKubelet": {
        "replicas": 1.0,
        "image": {"name": "ghcr.io/liqotech/virtual-kubelet", "version": ""},
        "extra": {"annotations": {}, "labels": {}, "args": []},
        "metrics": {"port": 5872.0, "podMonitor": {}},
    },
    "uninstaller": {"image": {"name": "ghcr.io/liqotech/uninstaller", "version": ""}},
    "proxy": {
        "enabled": True,
        "replicas": 1.0,
        "image": {"name": "ghcr.io/liqotech/proxy", "version": ""},
        "service": {"type": "ClusterIP", "annotations": {}},
        "config": {"listeningPort": 8118.0},
    },
    "requirements": {"kernel": {"enabled": True}},
    "openshiftConfig": {"enabled": False},
}


class ValuesError(Exception):
    """Values could not be merged or parsed; the message is liqoctl's."""


def go_type(value: Any) -> str:
    """Name of the Go type a decoded YAML/JSON value has in liqoctl."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def merge_maps(base: dict[str, Any] | None, patch: dict[str, Any]) -> dict[str, Any]:
    """Merge patch into base with the rules of liqoctl's install/util.MergeMaps."""
    if base is None:
        return patch
    result: dict[str, Any] = {}
    for key in {**base, **patch}:
        in_base, in_patch = key in base, key in patch
        left, right = base.get(key), patch.get(key)
        if in_base and (not in_patch or right is None):
            result[key] = left
        elif (not in_base or left is None) and in_patch:
            result[key] = right
        elif go_type(left) != go_type(right):
            raise ValuesError(
                f"the two maps have different types for the same key {key}: {go_type(left)}, {go_type(right)}"
            )
        elif isinstance(left, list):
            result[key] = [*left, *right]
        elif isinstance(left, dict):
            result[key] = merge_maps(left, right)
        else:
            result[key] = right
    return result


def read_values_files(paths: list[str]) -> dict[str, Any]:
    """Read --values files; like liqoctl, each new file is the base and the files read before override it."""
    values: dict[str, Any] = {}
    for path in paths:
        if path.strip() == "-":
            raise ValuesError("reading values from stdin is not supported by the liqoctl stand-in")
        if "://" in path:
            raise ValuesError(f"the liqoctl stand-in cannot download values from {path}")
        try:
            with open(path, encoding="utf-8") as handle:
                current = yaml.safe_load(handle) or {}
        except FileNotFoundError:
            raise ValuesError(f"open {path}: no such file or directory") from None
        except yaml.YAMLError as error:
            raise ValuesError(f"yaml: {error}") from None
        if not isinstance(current, dict):
            raise ValuesError("yaml: unmarshal errors: values file must be a map")
        values = merge_maps(current, values)
    return values


# --- Helm strvals (--set / --set-string) ----------------------------------------------------------------------


def typed_value(text: str, as_string: bool) -> Any:
    """Convert a --set value like Helm's strvals: true/false/null/integers are typed unless --set-string."""
    if as_string:
        return text
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if lowered == "null":
        return None
    if text == "0":
        return 0
    if text and text[0] != "0":
        try:
            value = int(text, 10)
        except ValueError:
            return text
        if -(1 << 63) <= value < (1 << 63) and text.lstrip("+-").isdigit():
            return value
    return text


class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.position = 0

    def at_end(self) -> bool:
        return self.position >= len(self.text)

    def read_until(self, stops: str) -> tuple[str, str]:
        """Read runes until one of stops (backslash escapes the next rune); return text and the stop rune."""
        out = []
        while not self.at_end():
            char = self.text[self.position]
            self.position += 1
            if char == "\\" and not self.at_end():
                out.append(self.text[self.position])
                self.position += 1
            elif char in stops:
                return "".join(out), char
            else:
                out.append(char)
        return "".join(out), ""


def parse_set(expression: str, values: dict[str, Any], as_string: bool) -> None:
    """Apply one --set/--set-string expression (a=b,c.d=e,l={x,y},l[0]=z) to values in place."""
    reader = _Reader(expression)
    while not reader.at_end():
        _parse_assignment(reader, values, as_string)


def _parse_assignment(reader: _Reader, target: dict[str, Any], as_string: bool) -> None:
    key, stop = reader.read_until("=.[,")
    if stop == "":
        raise ValuesError(f'key "{key}" has no value')
    if stop == ",":
        raise ValuesError(f'key "{key}" has no value (cannot end with ,)')
    if stop == ".":
        child = target.get(key)
        if not isinstance(child, dict):
            child = {}
        target[key] = child
        _parse_assignment(reader, child, as_string)
        return
    if stop == "[":
        _parse_list_assignment(reader, target, key, as_string)
        return
    target[key] = _read_value(reader, as_string)


def _read_value(reader: _Reader, as_string: bool) -> Any:
    if reader.text.startswith("{", reader.position):
        reader.position += 1
        items, _unused = reader.read_until("}")
        if not reader.at_end() and reader.text[reader.position] == ",":
            reader.position += 1
        return [typed_value(item, as_string) for item in items.split(",")] if items else []
    text, _unused = reader.read_until(",")
    return typed_value(text, as_string)


def _parse_list_assignment(reader: _Reader, target: dict[str, Any], key: str, as_string: bool) -> None:
    index_text, _unused = reader.read_until("]")
    try:
        index = int(index_text)
    except ValueError:
        raise ValuesError(f"failed to parse index: {index_text}") from None
    if index < 0:
        raise ValuesError(f"negative {index} index not allowed")
    items = target.get(key)
    if not isinstance(items, list):
        items = []
    while len(items) <= index:
        items.append(None)
    target[key] = items
    following = reader.text[reader.position : reader.position + 1]
    reader.position += 1
    if following == "=":
        items[index] = _read_value(reader, as_string)
    elif following == ".":
        child = items[index] if isinstance(items[index], dict) else {}
        items[index] = child
        _parse_assignment(reader, child, as_string)
    else:
        raise ValuesError(f"unexpected data at end of array index: {following}")


def get(values: dict[str, Any], path: str, default: Any = None) -> Any:
    """Return values[a][b][c] for path "a.b.c", or default."""
    current: Any = values
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return default
        current = current[part]
    return current


def dump(values: dict[str, Any]) -> str:
    """Serialise values as YAML with sorted keys, printing integral float64s as integers like yaml.v3."""
    return yaml.safe_dump(_integral_floats(values), sort_keys=True, default_flow_style=False)


def _integral_floats(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _integral_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def chart_defaults() -> dict[str, Any]:
    """A fresh copy of the chart defaults."""
    return copy.deepcopy(CHART_DEFAULTS)
