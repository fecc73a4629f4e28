"""The README is kept true: its two opening commands, the CI test command, the CLI commands."""

from __future__ import annotations

import re

from typer.main import get_command

from tracemem.cli import app

from conftest import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.*?)\n```", text, re.S)[:2]


def test_readme_starts_with_install_and_test_commands() -> None:
    run, test = readme_commands()
    assert "pip install ." in run and "tracemem report samples/" in run
    sample = run.split("tracemem report ")[1].split()[0]
    assert (ROOT / sample).exists()
    assert "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    _, test = readme_commands()
    assert test in (ROOT / ".ci" / "run").read_text()


def test_every_command_is_documented_and_has_help() -> None:
    text = (ROOT / "README.md").read_text()
    for name, command in get_command(app).commands.items():
        assert f"tracemem {name}" in text
        assert command.help
