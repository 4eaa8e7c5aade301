"""The reference (`../shared/spec/leads-api-v4.md`) read as data, for the tests that hold the
server and its OpenAPI document to it.

The reference is a list of `## ` sections, one per endpoint (and one for the webhook). Each has
its fenced code blocks (```python / ```shell requests, ```json bodies), a request line such as
`` `POST https://app.squadiq.in/api/v4/leads/create/{campaign_id}/` `` and status lines such
as `` `201 Created` if the leads were successfully created. ``
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def _main_checkout(root: Path) -> Path:
    """The repository's main working tree, also when `root` is a `git worktree` of it.

    A worktree's `.git` is a file naming its git dir inside the main checkout's `.git`; the
    reference sits next to the main checkout, not next to every worktree.
    """
    dot_git = root / ".git"
    if not dot_git.is_file():
        return root
    git_dir = Path(dot_git.read_text().removeprefix("gitdir:").strip())
    common = git_dir / (git_dir / "commondir").read_text().strip()
    return common.resolve().parent


REFERENCE = next(
    (
        candidate
        for checkout in (ROOT, _main_checkout(ROOT))
        if (candidate := checkout.parent / "shared" / "spec" / "leads-api-v4.md").exists()
    ),
    ROOT.parent / "shared" / "spec" / "leads-api-v4.md",
)

_REQUEST_LINE = re.compile(r"^`(GET|POST|PUT|PATCH|DELETE) (https?://[^`\s]+)`$")
_STATUS_LINE = re.compile(r"^`(\d{3}) [^`]+`")


@dataclass
class Section:
    heading: str | None
    method: str | None = None
    url: str | None = None
    statuses: list[int] = field(default_factory=list)
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (language, code)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path if self.url else ""

    @property
    def success(self) -> int:
        return next(s for s in self.statuses if 200 <= s < 300)


def parse_sections(text: str, languages=("python", "shell", "json")) -> list[Section]:
    """Every section, with the code blocks in `languages` (other blocks are skipped whole)."""
    sections = [Section(None)]
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        current = sections[-1]
        if line.startswith("## "):
            sections.append(Section(line))
        elif line.startswith("```"):
            end = lines.index("```", i + 1)
            if line[3:] in languages:
                current.blocks.append((line[3:], "\n".join(lines[i + 1 : end])))
            i = end
        elif match := _REQUEST_LINE.match(line.strip()):
            if current.method is None:
                current.method, current.url = match.groups()
        elif match := _STATUS_LINE.match(line):
            current.statuses.append(int(match.group(1)))
        i += 1
    return [s for s in sections if s.heading is not None or s.blocks]


def parse_examples(text: str, languages=("python", "shell")) -> list[tuple[str, str, str]]:
    """(section heading, language, code) of every block in `languages`, in order."""
    return [
        (s.heading, language, code)
        for s in parse_sections(text, languages)
        for language, code in s.blocks
    ]
