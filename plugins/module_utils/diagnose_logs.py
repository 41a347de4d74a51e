# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read failure signatures out of container log lines: names that did not resolve, addresses not reached.

Plain Python, so every pattern is unit-tested on the log lines that Go (KFP, Argo), Python (requests,
urllib3, socket) and curl print.
"""

from __future__ import annotations

import ipaddress
import re

# Lines that say a host name did not resolve, in the words of Go's resolver, glibc, Python and curl.
DNS_FAILURE = re.compile(
    r"no such host|Name or service not known|Temporary failure in name resolution|nodename nor servname|"
    r"Failed to resolve|ENOTFOUND|Could not resolve host|server misbehaving|NameResolutionError",
    re.IGNORECASE,
)
# Lines that say an address was reached at the IP level but nothing answered, or the route is missing.
CONNECT_FAILURE = re.compile(
    r"i/o timeout|connection refused|no route to host|connection timed out|Connect(?:ion)?Timeout|"
    r"Max retries exceeded|context deadline exceeded|network is unreachable|ECONNREFUSED|ETIMEDOUT",
    re.IGNORECASE,
)
# A namespace named in an API error or a KFP message, e.g. namespace="kubeflow-mlops-consumer".
NAMESPACE_MENTION = re.compile(r"""namespaces? ?[=:]? ?["']([a-z0-9][-a-z0-9]{0,62})["']""")
IP_PORT = re.compile(r"(?<![\d.])((?:\d{1,3}\.){3}\d{1,3})(?::(\d{1,5}))?(?![\d.])")
HOST_NAME = re.compile(
    r"(?<![-a-zA-Z0-9.@/])([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)+)(?![-\w])"
    # A port may follow. A colon without digits, an opening bracket or ".Name" mark Python names (socket.gaierror:).
    r"(?::(\d{1,5}))?(?!:\D|:$|\(|\.[A-Za-z])"
)
CLUSTER_SUFFIXES = (".svc.cluster.local", ".svc")
# Python modules and file names that look like host names in tracebacks.
NOT_HOST_SUFFIXES = (".py", ".go", ".so", ".json", ".yaml", ".csv", ".txt", ".log")


def is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def service_reference(host):
    """Return (service, namespace) for a cluster DNS name such as minio-service.kubeflow.svc.cluster.local.

    Return None for names that are not of the form <service>.<namespace>[.svc[.cluster.local]].
    """
    name = host.lower().rstrip(".")
    for suffix in CLUSTER_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    parts = name.split(".")
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


def host_names(line):
    """Return the host names (with their ports) written in one log line, IP addresses and file names left out."""
    names = []
    for match in HOST_NAME.finditer(line):
        host = match.group(1)
        if is_ip(host) or host.endswith(NOT_HOST_SUFFIXES):
            continue
        names.append((host, match.group(2)))
    return names


def ip_addresses(line):
    """Return (ip, port) pairs written in one log line; the port is None when none follows the address."""
    return [(match.group(1), match.group(2)) for match in IP_PORT.finditer(line) if is_ip(match.group(1))]


def read_signatures(lines):
    """Return what a log tail says about name resolution, connections and namespaces.

    The result has three lists: `unresolved` (host, port, line) for names in lines with a DNS failure,
    `unreachable` (ip, port, line) for addresses in lines with a connection failure, and `namespaces`
    (namespace, line) for namespaces named in any line.
    """
    signatures = {"unresolved": [], "unreachable": [], "namespaces": []}
    for line in lines:
        if DNS_FAILURE.search(line):
            for host, port in host_names(line):
                signatures["unresolved"].append({"host": host, "port": port, "line": line})
        if CONNECT_FAILURE.search(line):
            for ip, port in ip_addresses(line):
                signatures["unreachable"].append({"ip": ip, "port": port, "line": line})
        for match in NAMESPACE_MENTION.finditer(line):
            signatures["namespaces"].append({"namespace": match.group(1), "line": line})
    return signatures
