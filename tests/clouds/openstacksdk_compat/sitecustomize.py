"""Make `openstack.version` an attribute of the `openstack` package again, for the tests only.

openstack.cloud 2.5.0 (the collection in ansible 12) reads `openstack.version.__version__` after a bare
`import openstack`. openstacksdk 4.15.0 and later no longer import that submodule from the package, so every
openstack.cloud 2.5.0 module fails with "module 'openstack' has no attribute 'version'". The integration tests
put this directory on PYTHONPATH so the modules run with openstacksdk 4.22.0; users pin openstacksdk below
4.15 or use a newer openstack.cloud (requirements.txt).
"""

import contextlib
import importlib

# Without openstacksdk on this interpreter there is nothing to repair. Importing the submodule sets the attribute.
with contextlib.suppress(ImportError):
    importlib.import_module("openstack.version")
