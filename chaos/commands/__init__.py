"""Subcommands of the ``chaos`` command line, one module each (see ``chaos.cli``)."""
