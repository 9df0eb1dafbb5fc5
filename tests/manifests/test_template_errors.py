"""A template whose rendered text does not parse shows that text; an unclosed block names its
opening tag; ``render --raw`` prints the text as it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from rmapply.cli import cli
from tests.manifests.conftest import problems

MakeDir = Callable[..., Path]

LOOP = """\
{% for k in ["a", "b"] %}
[jobs.{{ k }}]
type = "Full"
name = "x" {{ "oops" if k == "b" else "" }}
{% endfor %}
"""


def test_a_rendered_toml_that_does_not_parse_shows_its_lines_numbered_as_the_template(
    make_dir: MakeDir,
) -> None:
    [problem] = problems(make_dir({"jobs/a.toml.j2": LOOP}))
    assert problem.splitlines() == [
        "jobs/a.toml.j2:4: invalid TOML: Expected newline or end of document after a statement",
        "  rendered text, numbered by the lines of jobs/a.toml.j2 that wrote it:",
        "    2 | [jobs.b]",  # rendered line 4: the loop's second pass
        '    3 | type = "Full"',
        '  > 4 | name = "x" oops',
        "    5 | ",
    ]


def test_a_rendered_yaml_that_does_not_parse_shows_its_lines_and_a_partial_by_name(
    make_dir: MakeDir,
) -> None:
    files = {
        "_lib/name.j2": "    name: [unclosed\n",
        "jobs/a.yaml.j2": "jobs:\n  a:\n{% include '_lib/name.j2' %}\n    type: Full\n",
    }
    [problem] = problems(make_dir(files))
    lines = problem.splitlines()
    assert lines[0].startswith("jobs/a.yaml.j2:4:") and "invalid YAML" in lines[0]
    assert lines[1:] == [
        "  rendered text, numbered by the lines of jobs/a.yaml.j2 that wrote it:",
        "                 2 |   a:",
        "    _lib/name.j2:1 |     name: [unclosed",
        "  >              4 |     type: Full",
        "                 5 | ",
    ]


def test_whitespace_control_with_trim_blocks_adds_a_hint_that_lines_were_joined(
    make_dir: MakeDir,
) -> None:
    text = '[jobs.a]\ntype = "Full"\nname = "x"\n{%- if true %}\nworkspace = "main"\n{% endif %}\n'
    [problem] = problems(make_dir({"jobs/a.toml.j2": text}))
    assert '  > 3 | name = "x"workspace = "main"' in problem.splitlines()
    assert problem.splitlines()[-1] == (
        "  note: the template uses '{%-' or '-%}' while rmapply renders with trim_blocks and "
        "lstrip_blocks: a newline next to a tag may be removed twice, joining two lines; see "
        "the whole text with 'rmapply render --raw jobs/a.toml.j2'"
    )
    [plain] = problems(make_dir({"jobs/a.toml.j2": LOOP}))
    assert "note:" not in plain


def test_a_manifest_without_markup_gets_no_rendered_text(make_dir: MakeDir) -> None:
    [problem] = problems(make_dir({"jobs/a.toml": '[jobs.a]\nname = "x" oops\n'}))
    assert problem == (
        "jobs/a.toml:2:12: invalid TOML: Expected newline or end of document after a statement"
    )


def test_an_unclosed_block_names_the_line_of_its_opening_tag(make_dir: MakeDir) -> None:
    text = "{% set n = 1 %}\n[jobs.a]\n{% for k in [1] %}\n{% if k %}\nx = 1\n{% endif %}\n"
    assert problems(make_dir({"jobs/a.toml.j2": text})) == [
        "jobs/a.toml.j2:3: template syntax error: '{% for %}' is never closed "
        "(no '{% endfor %}' before the end of the file)"
    ]
    nested = "{% for k in [1] %}\n{% if k %}\nx = 1\n{% endfor %}\n"
    [problem] = problems(make_dir({"jobs/b.toml.j2": nested}))
    assert problem.startswith("jobs/b.toml.j2:4: template syntax error: Encountered unknown tag")


def test_render_raw_prints_the_text_of_a_template_that_does_not_parse(
    make_dir: MakeDir, monkeypatch
) -> None:
    directory = make_dir({"jobs/a.toml.j2": LOOP})
    runner = CliRunner()
    result = runner.invoke(cli, ["render", "-C", str(directory), "--raw", "jobs/a.toml.j2"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        '[jobs.a]\ntype = "Full"\nname = "x" \n[jobs.b]\ntype = "Full"\nname = "x" oops\n'
    )
    monkeypatch.chdir(directory.parent)
    from_here = runner.invoke(
        cli, ["render", "-C", directory.name, "--raw", f"{directory.name}/jobs/a.toml.j2"]
    )
    assert from_here.stdout == result.stdout
    invalid = runner.invoke(cli, ["render", "-C", str(directory)])
    assert invalid.exit_code == 1 and "invalid TOML" in invalid.stderr


def test_render_raw_of_a_missing_or_broken_template_is_an_error(make_dir: MakeDir) -> None:
    directory = make_dir({"jobs/a.toml.j2": "{{ nope }}\n"})
    missing = CliRunner().invoke(cli, ["render", "-C", str(directory), "--raw", "jobs/x.toml"])
    assert missing.exit_code == 1
    assert "jobs/x.toml: no such file in" in missing.stderr
    broken = CliRunner().invoke(cli, ["render", "-C", str(directory), "--raw", "jobs/a.toml.j2"])
    assert broken.exit_code == 1
    assert "jobs/a.toml.j2:1: undefined variable: 'nope' is undefined" in broken.stderr
