"""The rmapply command lines of the shipped CI workflows (docs/ci/), per job, read from the YAML."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click
import yaml

from rmapply.cli.main import cli

CI = Path(__file__).resolve().parents[2] / "docs" / "ci"
GITHUB = CI / "github-actions.yml"
GITLAB = CI / "gitlab-ci.yml"
# the stages of the flow, as both workflows name their jobs
PULL_REQUEST, MERGE, DRIFT, CARRY_FORWARD = "plan", "apply", "drift", "carry-forward"
# GitLab's top-level keys that are not jobs
_GITLAB_RESERVED = {"default", "variables", "stages", "include", "workflow", "image", "services"}


def _rmapply_lines(script: str) -> list[str]:
    """The lines of a shell script that run rmapply."""
    lines = (line.strip() for line in script.splitlines())
    return [line for line in lines if line.startswith("rmapply ")]


def github_commands(path: Path = GITHUB) -> dict[str, list[str]]:
    """Job name -> the rmapply lines of its steps' ``run:``, in order."""
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    commands: dict[str, list[str]] = {}
    for name, job in document["jobs"].items():
        lines = [line for step in job["steps"] for line in _rmapply_lines(step.get("run", ""))]
        commands[name] = lines
    return commands


def gitlab_commands(path: Path = GITLAB) -> dict[str, list[str]]:
    """Job name -> the rmapply lines of its ``script:``, in order."""
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    commands: dict[str, list[str]] = {}
    for name, job in document.items():
        if name in _GITLAB_RESERVED or not isinstance(job, dict) or "script" not in job:
            continue
        commands[name] = [line for item in job["script"] for line in _rmapply_lines(str(item))]
    return commands


def argv(line: str) -> list[str]:
    """The arguments of an rmapply line, without ``rmapply`` and without a redirection."""
    words = shlex.split(line)
    assert words[0] == "rmapply", line
    words = words[1:]
    for stop in (">", ">>", "|", "&&", "||", "2>"):
        if stop in words:
            words = words[: words.index(stop)]
    return words


def problems_of(line: str) -> list[str]:
    """What in an rmapply line the CLI would refuse: unknown commands, options, values."""
    words = argv(line)
    command: click.Command = cli
    path = ["rmapply"]
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        sub = command.get_command(click.Context(command), words[0])  # imports a lazy one
        if sub is None:
            return [f"{line}: no command {' '.join([*path, words[0]])}"]
        command, path, words = sub, [*path, words[0]], words[1:]
    if isinstance(command, click.Group):
        return [f"{line}: {' '.join(path)} needs a subcommand"]
    options = {o: p for p in command.params if isinstance(p, click.Option) for o in p.opts}
    flags = {o: p for p in command.params if isinstance(p, click.Option) for o in p.secondary_opts}
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    found: list[str] = []
    positional = 0
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and word != "-":
            name, _, inline = word.partition("=")
            if name in flags:
                i += 1
                continue
            option = options.get(name)
            if option is None:
                found.append(f"{line}: {' '.join(path)} has no option {name}")
                i += 1
                continue
            if option.is_flag:
                i += 1
                continue
            value = inline or (words[i + 1] if i + 1 < len(words) else "")
            if isinstance(option.type, click.Choice) and value not in option.type.choices:
                found.append(f"{line}: {name} does not accept {value!r}")
            i += 1 if inline else 2
            continue
        positional += 1
        i += 1
    if positional > len(arguments):
        found.append(f"{line}: {' '.join(path)} takes {len(arguments)} argument(s)")
    return found
