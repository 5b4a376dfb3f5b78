"""One screen per mode (generate, library, budget, config, review) plus the help screen and modals."""
