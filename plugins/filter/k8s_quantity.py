# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.quantity import parse_quantity


def k8s_quantity(value):
    """Return the numeric value of a Kubernetes quantity: an int when whole, else a float."""
    try:
        exact = parse_quantity(value)
    except ValueError as error:
        raise AnsibleFilterError("k8s_quantity: %s" % error) from error
    if exact.denominator == 1:
        return int(exact)
    return float(exact)


class FilterModule(object):
    def filters(self):
        return {"k8s_quantity": k8s_quantity}
