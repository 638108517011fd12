"""One module per fault, their base (`Fault`) and the registry that lists them by kind."""
