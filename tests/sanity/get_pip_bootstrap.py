"""Bootstrap pip in the virtual environments ansible-test creates for its sanity tests, without the internet.

ansible-test normally downloads pypa's get-pip.py from ci-files.testing.ansible.com and, when that host is
unreachable, reads the bootstrap script from ~/.ansible/test/cache/get_pip_<version>.py. scripts/sanity copies
this file there. It installs the pip bundled with Python (ensurepip), then runs `pip install` with the
arguments ansible-test passes, such as `pip==24.2`, from the package index pip is configured for.
"""

import subprocess
import sys

# Options of get-pip.py itself that pip install does not know.
GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
    pip_arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, "-m", "pip", "install", *pip_arguments])


main()
