"""The `leadline` command: Django's management commands plus Leadline's own."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["leadline", *sys.argv[1:]])


if __name__ == "__main__":
    main()
