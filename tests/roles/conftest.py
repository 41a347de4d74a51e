"""Fixtures of the role tests."""

import os
import shutil

import pytest


@pytest.fixture
def chroot_capable():
    """Skip unless this machine can build and enter the Debian tree (root, debootstrap, chroot)."""
    if os.geteuid() != 0:
        pytest.skip("chroot and debootstrap need root")
    if shutil.which("debootstrap") is None:
        pytest.skip("debootstrap is not installed: apt-get install -y debootstrap")
