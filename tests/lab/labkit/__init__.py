"""Library behind tests/lab/labctl: builds, starts and stops the lab's Kubernetes control planes."""
