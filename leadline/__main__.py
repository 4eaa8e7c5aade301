"""The `leadline` command: Django's management commands plus Leadline's own."""

import os
import re
import sys
import textwrap

OVERVIEW_ARGS: tuple[list[str], ...] = ([], ["help"], ["--help"], ["-h"])


def overview() -> str:
    """Our own commands first, one line each; Django's and the libraries' after, by name.

    Django's own listing groups commands by app alphabetically, so a newcomer reads thirty
    `axes_*`, `django` and `staticfiles` entries before finding `demo` or `serve`.
    """
    import django
    from django.core.management import get_commands, load_command_class

    django.setup()
    ours: list[tuple[str, str]] = []
    others: list[str] = []
    for name, app in sorted(get_commands().items()):
        if not app.startswith("leadline."):
            others.append(name)
            continue
        text = " ".join((load_command_class(app, name).help or "").split())
        ours.append((name, re.split(r"(?<=\.)\s", text, maxsplit=1)[0]))
    width = max(len(name) for name, _ in ours)
    lines = ["Usage: leadline <command> [options]", "", "Leadline commands:"]
    indent = " " * (width + 4)
    for name, summary in ours:
        lines += textwrap.wrap(
            summary, 100, initial_indent=f"  {name.ljust(width)}  ", subsequent_indent=indent
        ) or [f"  {name}"]
    lines += ["", "Django and library commands:"]
    lines += textwrap.wrap(", ".join(others), 100, initial_indent="  ", subsequent_indent="  ")
    lines += [
        "",
        "`leadline help <command>` (or `leadline <command> --help`) shows a command's options.",
    ]
    return "\n".join(lines)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    args = sys.argv[1:]
    if args in OVERVIEW_ARGS:
        print(overview())
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(["leadline", *args])


if __name__ == "__main__":
    main()
