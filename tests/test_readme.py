"""The README shows the tool as it is: every `--help` block equals the real output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiver.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"<!-- help:([^>]+?) -->\n```text\n\$ ([^\n]+) --help\n(.*?)\n```", re.S)


def blocks() -> list[tuple[str, str, str]]:
    found = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert found, "README.md has no --help blocks"
    return found


@pytest.mark.parametrize("tag,command,shown", blocks(), ids=lambda v: str(v)[:20])
def test_readme_help_matches_the_real_help(tag: str, command: str, shown: str) -> None:
    args = command.split()[1:]
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="archiver")
    assert result.exit_code == 0, result.output
    assert result.output.rstrip() == shown.rstrip(), f"README --help of '{command}' is stale"


def test_every_command_has_its_help_in_the_readme() -> None:
    shown = {command for _tag, command, _ in blocks()}
    expected = {"archiver"}
    for name, command in cli.commands.items():
        subs = getattr(command, "commands", None)
        if subs:
            expected |= {f"archiver {name} {sub}" for sub in subs}
        else:
            expected.add(f"archiver {name}")
    assert expected <= shown, f"missing from README: {sorted(expected - shown)}"
