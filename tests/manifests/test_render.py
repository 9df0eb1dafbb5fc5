"""Rendering: sandboxed Jinja rooted at the directory, helpers, and template line numbers."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import jinja2
import jinja2.sandbox
import pytest
import yaml

from rmapply.manifests.quoting import QuotingError, to_json, to_toml, to_yaml
from rmapply.manifests.render import Renderer
from rmapply.model import Address
from tests.manifests.conftest import JOB_YAML, load, problems

MakeDir = Callable[..., Path]

INPUT_ID = "58e0c0ca-f730-4e5b-808d-1c8cacacb4d4"

LOOP = """\
jobs:
{% for site in sites %}
  {{ site }}:
    type: Full
    name: {{ site | yaml }}
    workspace: main
    inputs: [{id: {{ uuid5("dns", site) }}}]
    settings:
      quality: {{ quality }}
      outputs: [OBJ]
{% endfor %}
"""


def test_loop_produces_one_job_per_item_with_the_template_line(make_dir: MakeDir) -> None:
    directory = make_dir({"jobs/loop.yaml.j2": LOOP})
    result = load(directory, cli_vars={"sites": '["a", "b"]', "quality": "Draft"})
    assert [str(a) for a in result.desired.jobs] == ["jobs.a", "jobs.b"]
    job = result.desired.jobs[Address.job("b")]
    assert str(job.source) == "jobs/loop.yaml.j2:3"
    assert job.spec.inputs[0].id == str(uuid.uuid5(uuid.NAMESPACE_DNS, "b"))


def test_error_inside_a_loop_points_at_the_template_line(make_dir: MakeDir) -> None:
    directory = make_dir({"jobs/loop.yaml.j2": LOOP})
    assert problems(directory, cli_vars={"sites": '["a", "b"]', "quality": "Best"}) == [
        "jobs/loop.yaml.j2:9: jobs.a.settings.quality: 'Best' is not a quality (one of 'Draft', "
        "'Medium' or 'Extra')",
        "jobs/loop.yaml.j2:9: jobs.b.settings.quality: 'Best' is not a quality (one of 'Draft', "
        "'Medium' or 'Extra')",
    ]


def test_literal_template_line_keeps_its_column(make_dir: MakeDir) -> None:
    directory = make_dir({"jobs/loop.yaml.j2": LOOP.replace("[OBJ]", "[OBJ, Cesium3DTiles]")})
    assert problems(directory, cli_vars={"sites": '["a"]', "quality": "Draft"}) == [
        "jobs/loop.yaml.j2:10:22: jobs.a.settings.outputs[1]: 'Cesium3DTiles' is not an output "
        "format; did you mean 'Cesium 3D Tiles'?"
    ]


def test_import_and_include_of_partials(make_dir: MakeDir) -> None:
    directory = make_dir(
        {
            "_lib/macros.j2": "{% macro outputs() %}[OBJ, LAS]{% endmacro %}\n",
            "_lib/header.j2": "# included\njobs:\n",
            "jobs/a.yaml.j2": '{% import "_lib/macros.j2" as m %}\n{% include "_lib/header.j2" %}\n'
            + JOB_YAML.split("\n", 1)[1].replace("[OBJ, 3MX]", "{{ m.outputs() }}"),
        }
    )
    spec = load(directory).desired.jobs[Address.job("site-a")].spec
    assert [o.value for o in spec.settings.outputs] == ["OBJ", "LAS"]


def test_partials_and_hidden_files_are_never_manifests(make_dir: MakeDir) -> None:
    directory = make_dir(
        {
            "_lib/broken.yaml": "jobs: [",
            ".hidden/x.toml": "[jobs",
            "_draft.toml": "[jobs",
            "vars/default.yaml": "quality: Draft\n",
            "README.md": "not a manifest",
        }
    )
    assert load(directory).files == ("workspaces.toml",)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "syntax.yaml.j2",
            "jobs:\n{% for x in y %}\n",
            "syntax.yaml.j2:2: template syntax error: '{% for %}' is never closed (no "
            "'{% endfor %}' before the end of the file)",
        ),
        (
            "undefined.yaml.j2",
            "jobs:\n  a: {{ nope }}\n",
            "undefined.yaml.j2:2: undefined variable: 'nope' is undefined",
        ),
        (
            "include.yaml.j2",
            "x: 1\n{% include '_missing.j2' %}\n",
            "include.yaml.j2:2: template '_missing.j2' not found below the manifests directory",
        ),
        (
            "escape.yaml.j2",
            "{% include '../outside.j2' %}\n",
            "escape.yaml.j2:1: template '../outside.j2' is outside the manifests directory; name "
            "partials by their path from its top, e.g. '_lib/pipeline.j2'",
        ),
        (
            "sandbox.yaml.j2",
            "{{ ''.__class__ }}\n",
            "sandbox.yaml.j2:1: not allowed in templates: access to attribute '__class__' of "
            "'str' object is unsafe.",
        ),
        (
            "zero.yaml.j2",
            "\n{{ 1 / 0 }}\n",
            "zero.yaml.j2:2: template error: ZeroDivisionError: division by zero",
        ),
        (
            "env.yaml.j2",
            "{{ env('UNSET_VARIABLE') }}\n",
            "env.yaml.j2:1: environment variable 'UNSET_VARIABLE' is not set and env() has no "
            "default",
        ),
        (
            "ns.yaml.j2",
            "{{ uuid5('nope', 'x') }}\n",
            "ns.yaml.j2:1: uuid5: 'nope' is not a UUID nor one of dns, url, oid, x500",
        ),
        (
            "null.toml.j2",
            "a = {{ none | toml }}\n",
            "null.toml.j2:1: toml: TOML has no null; leave the key out instead",
        ),
    ],
)
def test_template_errors_name_the_template_file_and_line(
    make_dir: MakeDir, name: str, text: str, message: str
) -> None:
    assert problems(make_dir({name: text})) == [message]


def test_error_in_a_partial_names_the_partial(make_dir: MakeDir) -> None:
    directory = make_dir(
        {
            "_lib/m.j2": "{% macro broken() %}\n{{ missing.value }}\n{% endmacro %}\n",
            "a.yaml.j2": "{% import '_lib/m.j2' as m %}\n{{ m.broken() }}\n",
        }
    )
    assert problems(directory) == ["_lib/m.j2:2: undefined variable: 'missing' is undefined"]


def test_a_link_out_of_the_directory_is_not_followed(make_dir: MakeDir, tmp_path: Path) -> None:
    outside = tmp_path / "outside.j2"
    outside.write_text("jobs: {}\n")
    directory = make_dir({"a.yaml.j2": "{% include '_link.j2' %}\n"})
    os.symlink(outside, directory / "_link.j2")
    os.symlink(outside, directory / "b.yaml")
    assert problems(directory) == ["b.yaml: is a link that points outside the directory"]
    (directory / "b.yaml").unlink()
    assert problems(directory) == [
        "a.yaml.j2:1: template '_link.j2' is a link that points outside the manifests directory"
    ]


def test_env_helper_reads_the_given_environment_with_a_default(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("name: Site A", "name: {{ env('JOB_NAME', 'fallback') | yaml }}")
    directory = make_dir({"a.yaml.j2": text})
    name = load(directory, environ={"JOB_NAME": "From env"}).desired.jobs[Address.job("site-a")]
    assert name.spec.name == "From env"
    assert load(directory).desired.jobs[Address.job("site-a")].spec.name == "fallback"


def test_variables_are_top_level_names_and_under_vars(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("name: Site A", "name: {{ (vars.prefix ~ prefix) | yaml }}")
    spec = load(make_dir({"a.yaml.j2": text}), cli_vars={"prefix": "p"}).desired.jobs
    assert spec[Address.job("site-a")].spec.name == "pp"


def test_quoting_filters_keep_hostile_strings_valid(make_dir: MakeDir) -> None:
    hostile = 'He said "hi"\\ # not a comment\n: - [x] {y}'
    yaml_text = JOB_YAML.replace("name: Site A", "name: {{ evil | yaml }}")
    toml_text = (
        "[jobs.b]\ntype = 'Full'\nname = {{ evil | toml }}\nworkspace = 'main'\n"
        f"inputs = [{{ id = '{INPUT_ID}', description = {{{{ evil | tojson }}}} }}]\n"
        "settings = { quality = 'Draft', outputs = ['OBJ'] }\n"
    )
    result = load(
        make_dir({"a.yaml.j2": yaml_text, "b.toml.j2": toml_text}), cli_vars={"evil": hostile}
    )
    assert result.desired.jobs[Address.job("site-a")].spec.name == hostile
    assert result.desired.jobs[Address.job("b")].spec.name == hostile
    assert result.desired.jobs[Address.job("b")].spec.inputs[0].description == hostile


def test_toml_and_yaml_filters_write_structures_inline() -> None:
    value = {"a b": [1, 2.5, True, "x"], "c": {"d": "e"}}
    assert to_toml(value) == '{ "a b" = [1, 2.5, true, "x"], c = { d = "e" } }'
    assert to_yaml(value) == '{"a b": [1, 2.5, true, "x"], "c": {"d": "e"}}'
    with pytest.raises(QuotingError):
        to_toml(None)


def test_plain_files_with_markup_are_rendered_too(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("name: Site A", "name: {{ 'Rendered' }}")
    directory = make_dir({"a.yaml": text})
    assert load(directory).desired.jobs[Address.job("site-a")].spec.name == "Rendered"


def test_renderer_records_partials_and_environment_reads(tmp_path: Path) -> None:
    (tmp_path / "_p.j2").write_text("x")
    (tmp_path / "a.yaml.j2").write_text("{% include '_p.j2' %}{{ env('A', '') }}\n")
    renderer = Renderer(tmp_path, {}, {"A": "1"})
    rendered, found = renderer.render("a.yaml.j2")
    assert found == []
    assert rendered is not None
    assert rendered.text == "x1\n"
    assert sorted(rendered.templates) == ["_p.j2", "a.yaml.j2"]
    assert rendered.env_reads == {"A": "1"}


def test_origin_markers_never_change_what_templates_compute(tmp_path: Path) -> None:
    (tmp_path / "a.yaml.j2").write_text(
        "{% set body %}ab\ncd{% endset %}{% macro m() %}x\ny{% endmacro %}"
        "a: {{ body | length }}\nb: {{ m() | length }}\n"
        "{% filter upper %}c: d{% endfilter %}\n"
        "{% macro wrap() %}[{{ caller() | trim }}]{% endmacro %}"
        "e: {% call wrap() %}  f  {% endcall %}\n"
    )
    rendered, found = Renderer(tmp_path, {}, {}).render("a.yaml.j2")
    assert found == []
    assert rendered is not None
    plain = jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(tmp_path),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    assert rendered.text == plain.get_template("a.yaml.j2").render()
    assert rendered.text.startswith("a: 5\nb: 3\nC: D")


def test_lines_written_by_a_macro_map_to_the_line_that_called_it(make_dir: MakeDir) -> None:
    directory = make_dir(
        {
            "_lib/m.j2": "{% macro body() %}\n    type: Ful\n{% endmacro %}\n",
            "a.yaml.j2": "{% import '_lib/m.j2' as m %}\njobs:\n  a:\n{{ m.body() }}\n",
        }
    )
    assert "a.yaml.j2:4: jobs.a.type: 'Ful' is not a job type; did you mean 'Full'?" in problems(
        directory
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "a.yaml.j2:1: range(): loops over more than 10,000,000 numbers in all",
        ),
        ("x: {{ 10 ** (10 ** 9) }}\n", "a.yaml.j2:1: 10 ** 1000000000 is too large a number"),
        (
            "\nx: {{ 'ab' * 10 ** 9 }}\n",
            "a.yaml.j2:2: repeating a text or list gives more than 64 MiB",
        ),
        (
            "x: {{ [1] * 10 ** 9 }}\n",
            "a.yaml.j2:1: repeating a text or list gives more than 64 MiB",
        ),
        (
            "x: {{ [1, 2] | random }}\n",
            "a.yaml.j2:1: template syntax error: No filter named 'random'.",
        ),
    ],
)
def test_templates_that_would_hang_or_differ_per_run_are_stopped(
    make_dir: MakeDir, text: str, message: str
) -> None:
    assert problems(make_dir({"a.yaml.j2": text})) == [message]


def test_ordinary_arithmetic_and_loops_still_work(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("name: Site A", "name: {{ 2 ** 10 }}-{{ 'ab' * 2 }}-{{ range(3)|sum }}")
    assert load(make_dir({"a.yaml.j2": text})).desired.jobs[Address.job("site-a")].spec.name == (
        "1024-abab-3"
    )


HOSTILE = [
    'quote " and \\ backslash',
    "new\nline and\ttab",
    "colon: dash - hash # end",
    "unicode: café ü 日本 😀",
    "controls \x00 \x07 \x1b \x7f \x85 \u2028 \u2029 \ufeff",
    "'single' and ''two''",
    "{{ not markup }}",
    "",
    " leading and trailing ",
    "yes",
    "null",
    "1e3",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_every_quoting_filter_keeps_any_string_in_yaml_and_toml(
    make_dir: MakeDir, value: str
) -> None:
    yaml_job = JOB_YAML.replace("name: Site A", "name: {{ v | yaml }}").replace(
        "description: Photos", "description: {{ v | tojson }}"
    )
    toml_job = (
        "[jobs.b]\ntype = 'Full'\nname = {{ v | toml }}\nworkspace = 'main'\n"
        f"inputs = [{{ id = '{INPUT_ID}', description = {{{{ v | tojson }}}} }}]\n"
        "settings = { quality = 'Draft', outputs = ['OBJ'] }\n"
    )
    result = load(
        make_dir({"a.yaml.j2": yaml_job, "b.toml.j2": toml_job}), cli_vars={"v": json.dumps(value)}
    )
    for key in ("site-a", "b"):
        spec = result.desired.jobs[Address.job(key)].spec
        assert (spec.name, spec.inputs[0].description) == (value, value)


@pytest.mark.parametrize("number", [1e20, 1e-07, -2.5e300, 2.5, 0.0, 7])
def test_tojson_numbers_are_numbers_in_yaml_too(number: float) -> None:
    loaded = yaml.safe_load("v: " + to_json(number))["v"]
    assert (loaded, type(loaded)) == (number, type(number))
    assert json.loads(to_json(number)) == number
