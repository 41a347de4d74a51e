# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.oss_mlops.multicloud.plugins.filter.k8s_quantity import FilterModule, k8s_quantity


@pytest.mark.parametrize(("quantity", "expected"), [
    ("64Gi", 68719476736),
    ("65536Mi", 68719476736),
    ("16", 16),
    (110, 110),
    ("500m", 0.5),
    ("1e3", 1000),
])
def test_quantity_value(quantity, expected):
    assert k8s_quantity(quantity) == expected


def test_whole_value_is_int():
    assert isinstance(k8s_quantity("2k"), int)


def test_invalid_quantity_raises_filter_error():
    with pytest.raises(AnsibleFilterError, match="k8s_quantity: '64 GB' is not a Kubernetes quantity"):
        k8s_quantity("64 GB")


def test_filter_registered():
    assert FilterModule().filters() == {"k8s_quantity": k8s_quantity}
