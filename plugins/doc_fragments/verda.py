# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of the Verda modules, shared through the action group oss_mlops.multicloud.verda.
    DOCUMENTATION = r"""
options:
  client_id:
    description:
      - OAuth2 client ID of a Verda API credential (Verda console, Keys, Cloud API credentials).
      - When not set, the E(VERDA_CLIENT_ID) environment variable. Keep it out of inventories in clear text;
        use the environment or Ansible Vault.
    type: str
  client_secret:
    description:
      - OAuth2 client secret of the same credential.
      - When not set, the E(VERDA_CLIENT_SECRET) environment variable. It is never logged.
    type: str
  base_url:
    description:
      - Base URL of the Verda public API, including the version path.
      - When not set, the E(VERDA_BASE_URL) environment variable, else V(https://api.verda.com/v1).
    type: str
  api_timeout:
    description:
      - Seconds to wait for one API response before the request counts as failed.
    type: int
    default: 30
  api_retries:
    description:
      - How often a request that failed transiently (timeout, connection error, server error, non-JSON error
        page) is repeated, with exponential backoff starting at two seconds.
      - Reads and the delete action are repeated as they are. A create request is repeated only after the
        instance list shows no instance with the hostname.
    type: int
    default: 3
requirements:
  - verda >= 1.25.0 (Python library, on the host that runs the module, usually the controller)
  - requests (installed with verda)
notes:
  - Run the Verda modules on the controller (C(delegate_to) V(localhost) or a local connection).
  - Both Verda modules belong to the action group C(oss_mlops.multicloud.verda), so the connection options can
    be set once with C(module_defaults) and C(group/oss_mlops.multicloud.verda).
"""
