"""Allow ``python -m kgys``."""

from kgys.cli.main import main

main()
