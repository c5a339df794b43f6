"""``python -m kgys_verify PACKAGE [--key PUBLIC_KEY.pem]``."""

from kgys_verify.cli import main

raise SystemExit(main())
