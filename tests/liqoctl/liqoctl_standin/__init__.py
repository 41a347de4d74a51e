"""Test double of liqoctl v1.0.3: its CLI, with Liqo's effects written straight into the lab's API servers."""
