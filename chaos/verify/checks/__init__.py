"""One module per verify check: the clients it sends and the pure judge of their records.

Each module is a :class:`~chaos.verify.checks.base.Check`: ``CHECK`` names its row of the
verdict table and ``judge(evidence, settings)`` decides it; :mod:`.timing` holds the rule the
three timeout checks share.
"""
