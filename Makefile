# Entry points; each target calls a script in scripts/ that can also be run directly.
.PHONY: setup lab-join test sanity lab-start lab-stop molecule

setup:
	scripts/setup

# Set everything up, start the lab and run playbooks/join.yml on it.
lab-join:
	scripts/lab-join

# Everything CI runs: ruff, ansible-lint, ansible-test sanity, unit tests and lab tests.
test:
	scripts/test

sanity:
	scripts/sanity

lab-start: setup
	.venv/bin/python tests/lab/labctl start

lab-stop:
	.venv/bin/python tests/lab/labctl stop

# The same join as the lab tests, as a molecule scenario: create, converge, idempotence, verify, destroy.
molecule: setup
	PATH="$(CURDIR)/.venv/bin:$$PATH" molecule test -s lab
