"""Testing servers with chaos: the invariant checker, strategies, the pytest plugin and suite."""
