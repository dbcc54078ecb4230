"""Entry point for ``python -m local.emulator``."""

from .cli import main

raise SystemExit(main())
