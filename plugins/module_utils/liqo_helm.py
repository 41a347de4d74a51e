# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the chart values of the deployed `liqo` Helm release, to compare them with a request.

liqoctl install passes every value to Helm, so the release's `config` contains the full value tree.
Helm 3 stores a release in a Secret `sh.helm.release.v1.<release>.v<revision>` (labels owner=helm,
name=<release>, status=deployed) whose `release` field is base64 of the gzipped release JSON,
inside the base64 that the Secret API adds. Values are only compared here, never returned, because
they may hold secrets.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib

RELEASE_NAME = "liqo"
GZIP_MAGIC = b"\x1f\x8b\x08"


def decode_release(encoded):
    """Return the release dict from the `release` field of a Helm release Secret, as the API returns it."""
    payload = base64.b64decode(base64.b64decode(encoded))
    if payload.startswith(GZIP_MAGIC):
        payload = gzip.decompress(payload)
    return json.loads(payload)


def release_revision(secret):
    labels = (secret.get("metadata") or {}).get("labels") or {}
    version = labels.get("version") or "0"
    return int(version) if version.isdigit() else 0


def deployed_release_values(secrets):
    """Return the values of the newest deployed release among Helm release Secrets, or None."""
    if not secrets:
        return None
    newest = max(secrets, key=release_revision)
    encoded = (newest.get("data") or {}).get("release")
    if not encoded:
        return None
    try:
        return decode_release(encoded).get("config") or {}
    except (ValueError, binascii.Error, OSError, zlib.error, AttributeError):
        # An unreadable release only means the values cannot be compared.
        return None


def read_release_values(api, namespace, release=RELEASE_NAME):
    """Return the deployed values of a Helm release through the API, or None when none is readable."""
    selector = f"owner=helm,name={release},status=deployed"
    return deployed_release_values(api.list_secrets(namespace, label_selector=selector))


def values_differences(requested, current, prefix=""):
    """Return the dotted paths where the requested values differ from the current values."""
    differences = []
    current = current if isinstance(current, dict) else {}
    for key in sorted(requested):
        path = f"{prefix}{key}"
        requested_value = requested[key]
        if isinstance(requested_value, dict) and isinstance(current.get(key), dict):
            differences += values_differences(requested_value, current[key], path + ".")
        elif key not in current or current[key] != requested_value:
            differences.append(path)
    return differences


def merge_values(base, overrides):
    """Return base with overrides merged in, nested dicts merged key by key (as Helm merges values files)."""
    merged = dict(base or {})
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def telemetry_enabled(values):
    """Return telemetry.enabled from chart values, or None when the values are unknown."""
    if values is None:
        return None
    return bool((values.get("telemetry") or {}).get("enabled", True))
