"""`python -m picstore` runs the CLI."""

from picstore.cli import main

main()
