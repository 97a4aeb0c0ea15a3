"""One module per command: thin Typer adapters over the pyipc library."""
