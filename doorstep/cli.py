"""The `doorstep` console script: `doorstep run`, `doorstep seed`, and every Django management command."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:] if argv is None else argv
    if args and not args[0].startswith("-"):  # `doorstep check-production` runs check_production
        args = [args[0].replace("-", "_"), *args[1:]]
    execute_from_command_line(["doorstep", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
