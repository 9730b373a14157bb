"""Read queries behind the API and the CLI."""
