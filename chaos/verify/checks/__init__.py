"""One module per verify check: the clients it sends and the pure judge of their records."""
