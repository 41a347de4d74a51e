# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.cidr import (
    TopologyError,
    check_cluster_id,
    check_topology,
    parse_cidr,
)


def cluster(name, pod_cidr, service_cidr, reserved=None, cluster_id=None):
    return dict(name=name, cluster_id=cluster_id or name, pod_cidr=pod_cidr, service_cidr=service_cidr,
                reserved_subnets=reserved or [])


CONSUMER = cluster("mlops-consumer", "10.244.0.0/16", "10.96.0.0/16", ["172.18.0.0/16"])
PROVIDER = cluster("verda-v100-1", "10.150.0.0/16", "10.151.0.0/16", ["192.168.10.0/24"])


def test_valid_topology_has_no_problems():
    assert check_topology([CONSUMER, PROVIDER]) == []


def test_parse_cidr_rejects_host_bits():
    with pytest.raises(TopologyError, match=r"use the network address, for example 10\.244\.0\.0/16"):
        parse_cidr("10.244.1.0/16", "pod_cidr")


def test_parse_cidr_rejects_plain_address():
    with pytest.raises(TopologyError, match="is not a CIDR"):
        parse_cidr("10.244.0.0", "pod_cidr")


@pytest.mark.parametrize("cluster_id", ["Verda_1", "-verda", "verda-", "", "a" * 52])
def test_cluster_id_rejected(cluster_id):
    with pytest.raises(TopologyError):
        check_cluster_id(cluster_id, "provider")


def test_cluster_id_at_length_limit_accepted():
    check_cluster_id("a" * 51, "provider")


def test_provider_pod_cidr_overlapping_consumer_reported():
    provider = cluster("verda-v100-1", "10.244.128.0/17", "10.151.0.0/16")
    problems = check_topology([CONSUMER, provider])
    assert len(problems) == 1
    assert "mlops-consumer pod_cidr 10.244.0.0/16 overlaps verda-v100-1 pod_cidr 10.244.128.0/17" in problems[0]


def test_same_pod_and_service_cidr_rejected():
    problems = check_topology([cluster("k3s-bad", "10.43.0.0/16", "10.43.0.0/16")])
    assert problems == ["k3s-bad pod_cidr 10.43.0.0/16 overlaps k3s-bad service_cidr 10.43.0.0/16; "
                        "give each cluster its own pod and service CIDRs."]


def test_reserved_subnet_overlap_reported():
    provider = cluster("verda-v100-1", "192.168.10.0/25", "10.151.0.0/16", ["192.168.10.0/24"])
    problems = check_topology([provider])
    assert problems == ["verda-v100-1 pod_cidr 192.168.10.0/25 overlaps verda-v100-1 reserved_subnets[0] "
                        "192.168.10.0/24; pick a pod_cidr outside it."]


def test_liqo_default_ranges_are_reserved():
    problems = check_topology([cluster("verda-v100-1", "10.70.0.0/20", "10.151.0.0/16")])
    assert len(problems) == 1
    assert "Liqo external CIDR default 10.70.0.0/16" in problems[0]
    assert check_topology([cluster("verda-v100-1", "10.70.0.0/20", "10.151.0.0/16")], liqo_defaults=False) == []


def test_shared_reserved_subnets_allowed():
    consumer = cluster("mlops-consumer", "10.244.0.0/16", "10.96.0.0/16", ["192.168.1.0/24"])
    provider = cluster("verda-v100-1", "10.150.0.0/16", "10.151.0.0/16", ["192.168.1.0/24"])
    assert check_topology([consumer, provider]) == []


def test_duplicate_cluster_id_reported():
    provider = cluster("verda-v100-2", "10.150.0.0/16", "10.151.0.0/16", cluster_id="mlops-consumer")
    problems = check_topology([CONSUMER, provider])
    assert problems == ["mlops-consumer and verda-v100-2 both use cluster ID 'mlops-consumer'; "
                        "every cluster needs its own."]


def test_missing_cidr_reported():
    provider = dict(name="verda-v100-1", cluster_id="verda-v100-1", pod_cidr="", service_cidr="10.151.0.0/16")
    assert check_topology([provider]) == ["verda-v100-1 pod_cidr is missing; set it to the CIDR the cluster "
                                          "really uses."]


def test_extra_reserved_range_checked():
    problems = check_topology([PROVIDER], extra_reserved=["10.150.4.0/24"])
    assert problems == ["verda-v100-1 pod_cidr 10.150.0.0/16 overlaps reserved_ranges[0] 10.150.4.0/24; "
                        "pick a pod_cidr outside it."]
