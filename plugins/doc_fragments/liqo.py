# -*- coding: utf-8 -*-
# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options every Liqo module shares. Users set them once with module_defaults group/oss_mlops.multicloud.liqo.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to the kubeconfig file of the cluster the module works on.
      - The same file is passed to liqoctl with C(--kubeconfig) and read by the Kubernetes Python client.
      - When not set, the module uses the E(K8S_AUTH_KUBECONFIG) environment variable, then E(KUBECONFIG)
        (one file only), then C(~/.kube/config).
      - The file is only read. Credentials found in it are masked in the module output.
    type: path
  context:
    description:
      - Name of the kubeconfig context to use. The current context of the file when not set.
      - Can also be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  liqoctl_path:
    description:
      - Path to the liqoctl binary.
      - When not set, liqoctl is looked up in E(PATH) on the host that runs the module.
    type: path
  liqoctl_version:
    description:
      - Version liqoctl must report with C(liqoctl version --client).
      - The module fails before changing anything when the binary reports another version. Liqo
        supports peering only between clusters that run the same minor version, and liqoctl installs
        its own version of the chart by default, so one pinned version keeps every cluster alike.
    type: str
    default: v1.0.3
  liqo_namespace:
    description:
      - Namespace Liqo is (or is to be) installed in on this cluster.
    type: str
    default: liqo
requirements:
  - kubernetes >= 29.0.0 (Python library, on the host that runs the module)
  - liqoctl, the version given in O(liqoctl_version), on the host that runs the module
notes:
  - The modules run liqoctl and reach the cluster APIs from the host they run on, usually the
    controller, through C(delegate_to) set to V(localhost) or a local connection.
  - All Liqo modules of this collection belong to the action group C(oss_mlops.multicloud.liqo),
    so O(kubeconfig), O(context), O(liqoctl_path), O(liqoctl_version) and O(liqo_namespace) can be
    set once with C(module_defaults) and C(group/oss_mlops.multicloud.liqo).
"""
