# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ansible_collections.oss_mlops.multicloud importable for plain pytest runs.

pyproject.toml puts .build/collections (made by scripts/setup) on sys.path. When that link farm
is missing, or the repository is not already inside an ansible_collections tree (as under
ansible-test), a temporary link farm pointing at this checkout is created instead.
"""

import importlib.util
import os
import sys
import tempfile

REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def collection_importable():
    try:
        return importlib.util.find_spec("ansible_collections.oss_mlops.multicloud") is not None
    except ModuleNotFoundError:
        return False


def add_link_farm():
    farm = tempfile.mkdtemp(prefix="oss-mlops-collections-")
    namespace_dir = os.path.join(farm, "ansible_collections", "oss_mlops")
    os.makedirs(namespace_dir)
    os.symlink(REPOSITORY_ROOT, os.path.join(namespace_dir, "multicloud"))
    sys.path.insert(0, farm)


if not collection_importable():
    add_link_farm()
