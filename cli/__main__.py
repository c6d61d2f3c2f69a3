"""python -m cli: the recon command."""

from cli.main import main

main()
