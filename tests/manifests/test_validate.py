"""Field validation: one message per mistake, on the field's own line, with did-you-mean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rmapply.model import Address
from tests.manifests.conftest import CONFIG, JOB_TOML, JOB_YAML, load, problems

MakeDir = Callable[..., Path]


def test_valid_job_loads_with_its_source_line(make_dir: MakeDir) -> None:
    result = load(make_dir({"jobs/a.toml": "# comment\n" + JOB_TOML}))
    job = result.desired.jobs[Address.job("site-a")]
    assert str(job.source) == "jobs/a.toml:2"
    assert job.spec.settings.outputs[1].value == "3MX"
    assert str(result.desired.workspaces[Address.workspace("main")].source) == "workspaces.toml:1"


def test_output_format_typo_names_field_line_and_suggestion(make_dir: MakeDir) -> None:
    text = JOB_TOML.replace('outputs = ["OBJ", "3MX"]', 'outputs = ["OBJ",\n  "Cesium3DTiles"]')
    assert problems(make_dir({"jobs/site-a.toml": text})) == [
        "jobs/site-a.toml:16:3: jobs.site-a.settings.outputs[1]: 'Cesium3DTiles' is not an "
        "output format; did you mean 'Cesium 3D Tiles'?"
    ]


def test_yaml_enum_typo_points_at_the_item(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("outputs: [OBJ, 3MX]", "outputs:\n        - OBJ\n        - 3mx")
    assert problems(make_dir({"jobs/a.yaml": text})) == [
        "jobs/a.yaml:18:11: jobs.site-a.settings.outputs[1]: '3mx' is not an output format; "
        "did you mean '3MX'?"
    ]


def test_field_typo_suggests_the_field(make_dir: MakeDir) -> None:
    text = JOB_TOML.replace('workspace = "main"', 'worksapce = "main"')
    assert problems(make_dir({"jobs/a.toml": text})) == [
        "jobs/a.toml:4:1: jobs.site-a.worksapce: 'worksapce' is not a field of a job; "
        "did you mean 'workspace'?",
    ]


def test_snake_case_spelling_is_refused(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("workspace: main", "workspace_id: abc")
    assert problems(make_dir({"a.yaml": text})) == [
        "a.yaml:5:5: jobs.site-a.workspace_id: 'workspace_id' is not a field of a job; "
        "did you mean 'workspaceId'?",
    ]


def test_nested_unknown_field_names_the_nested_table(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("quality: Extra\n      processing", "qualty: Extra\n      processing")
    assert problems(make_dir({"a.yaml": text})) == [
        "a.yaml:13:5: jobs.site-a.settings.quality: required field is missing",
        "a.yaml:14:7: jobs.site-a.settings.qualty: 'qualty' is not a field of 'settings'; "
        "did you mean 'quality'?",
    ]


def test_missing_required_field_points_at_its_table(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("    name: Site A\n", "")
    assert problems(make_dir({"a.yaml": text})) == [
        "a.yaml:2:3: jobs.site-a.name: required field is missing"
    ]


def test_wrong_types_say_what_was_expected(make_dir: MakeDir) -> None:
    text = JOB_TOML.replace("processingEngines = 5", 'processingEngines = "many"').replace(
        'name = "Site A"', "name = 42"
    )
    assert problems(make_dir({"a.toml": text})) == [
        "a.toml:3:1: jobs.site-a.name: expected a string, got an integer (42)",
        "a.toml:14:1: jobs.site-a.settings.processingEngines: expected a whole number, "
        "got a string ('many')",
    ]


def test_job_type_and_quality_enums(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("type: Full", "type: full").replace(
        "meshQuality: Extra", "meshQuality: High"
    )
    assert problems(make_dir({"a.yaml": text})) == [
        "a.yaml:3:5: jobs.site-a.type: 'full' is not a job type; did you mean 'Full'?",
        "a.yaml:12:7: jobs.site-a.costEstimationParameters.meshQuality: 'High' is not a quality "
        "(one of 'Draft', 'Medium' or 'Extra')",
    ]


def test_api_documentation_body_validates_under_a_key(make_dir: MakeDir) -> None:
    body = (
        '{ "type": "Full", "name": "My first Reality Modeling job", "costEstimationParameters": '
        '{ "gigaPixels": 2.5, "megaPoints": 1.5, "meshQuality": "Extra" }, "inputs": [{ "id": '
        '"58e0c0ca-f730-4e5b-808d-1c8cacacb4d4", "description": "Drone ImageCollection" }, '
        '{ "id": "dc65ce7d-2598-422f-97a5-5ae8eb004b67", "description": "Drone CCOrientations" }'
        ' ], "workspaceId": "6881117d-9fd2-4900-870b-9b721dc90f25", "settings": { "quality": '
        '"Extra", "processingEngines": 5, "outputs": [ "OBJ", "3MX" ] } }'
    )
    result = load(make_dir({"a.yaml": f"jobs:\n  first: {body}\n"}))
    spec = result.desired.jobs[Address.job("first")].spec
    assert spec.workspace_id == "6881117d-9fd2-4900-870b-9b721dc90f25"
    assert spec.to_creation(spec.workspace_id).to_wire()["settings"]["outputs"] == ["OBJ", "3MX"]


def test_defaults_fill_submit_retry_and_workspace_itwin(make_dir: MakeDir) -> None:
    config = CONFIG + "[defaults]\nsubmit = false\nretryFailed = true\n"
    explicit = JOB_YAML.replace("workspace: main", "workspace: main\n    submit: true")
    result = load(make_dir({"rmapply.toml": config, "a.yaml": explicit}))
    job = result.desired.jobs[Address.job("site-a")].spec
    assert (job.submit, job.retry_failed) == (True, True)
    workspace = result.desired.workspaces[Address.workspace("main")].spec
    assert workspace.i_twin_id == "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def test_invalid_key_and_unknown_top_level_table(make_dir: MakeDir) -> None:
    text = "job:\n  a: {}\njobs:\n  Site_A: {}\n"
    assert problems(make_dir({"a.yaml": text})) == [
        "a.yaml:1:1: job: unknown top-level key 'job'; did you mean 'jobs'?",
        "a.yaml:4: jobs.Site_A: 'Site_A' is not a valid key: use [a-z0-9][a-z0-9_-]*",
    ]


def test_duplicate_key_across_files_names_both_places(make_dir: MakeDir) -> None:
    directory = make_dir({"a.toml": JOB_TOML, "b/c.yaml": "\n" + JOB_YAML})
    assert problems(directory) == [
        "a.toml:1: jobs.site-a: defined twice: here and at b/c.yaml:3; keys are unique across "
        "the directory",
        "b/c.yaml:3: jobs.site-a: defined twice: here and at a.toml:1; keys are unique across "
        "the directory",
    ]


def test_duplicate_key_inside_one_yaml_mapping_is_an_error(make_dir: MakeDir) -> None:
    text = "workspaces:\n  w1: {name: a}\n  w1: {name: b}\n"
    assert problems(make_dir({"a.yaml": text})) == [
        "a.yaml:3:3: workspaces.w1: duplicate key (also at line 2); YAML would keep only the last"
    ]


def test_several_yaml_documents_in_one_file(make_dir: MakeDir) -> None:
    text = "workspaces:\n  w2: {name: two}\n---\n" + JOB_YAML.replace("site-a", "site-b")
    result = load(make_dir({"a.yaml": text}))
    assert [str(a) for a in result.desired.jobs] == ["jobs.site-b"]
    assert str(result.desired.jobs[Address.job("site-b")].source) == "a.yaml:5"
    assert sorted(str(a) for a in result.desired.workspaces) == ["workspaces.main", "workspaces.w2"]


def test_all_problems_of_all_files_are_reported_together(make_dir: MakeDir) -> None:
    directory = make_dir(
        {
            "a.toml": "[jobs\n",
            "b.yaml": "jobs: [1,\n",
            "c.yaml": JOB_YAML.replace("type: Full", "type: Ful"),
        }
    )
    assert problems(directory) == [
        "a.toml:1:6: invalid TOML: Expected ']' at the end of a table declaration",
        "b.yaml:2:1: invalid YAML: did not find expected node content (while parsing a flow node)",
        "c.yaml:3:5: jobs.site-a.type: 'Ful' is not a job type; did you mean 'Full'?",
    ]


def test_workspace_without_itwin_anywhere(make_dir: MakeDir) -> None:
    directory = make_dir({"rmapply.toml": None})
    assert problems(directory) == [
        "workspaces.toml:1:1: workspaces.main.iTwinId: not set here nor as [project] iTwinId in "
        "rmapply.toml"
    ]


def test_toml_resources_written_as_dotted_keys_or_inline_tables_have_lines(
    make_dir: MakeDir,
) -> None:
    text = (
        "# dotted keys at the root\n"
        'jobs.a.type = "Full"\n'
        'jobs.a.name = "A"\n'
        'jobs.a.workspace = "main"\n'
        'jobs.a.inputs = [{ id = "58e0c0ca-f730-4e5b-808d-1c8cacacb4d4" }]\n'
        'jobs.a.settings = { quality = "Draft", outputs = ["OBJ"] }\n'
        "\n"
        'jobs.b = { type = "Full", name = "B", workspace = "main", '
        'inputs = [{ id = "dc65ce7d-2598-422f-97a5-5ae8eb004b67" }], '
        'settings = { quality = "Draft", outputs = ["LAS", "LAS"] } }\n'
    )
    directory = make_dir({"a.toml": text})
    assert problems(directory) == [
        "a.toml:8:169: jobs.b.settings.outputs[1]: 'LAS' is listed twice (also outputs[0])"
    ]
    fixed = load(make_dir({"a.toml": text.replace('"LAS", "LAS"', '"LAS"')})).desired.jobs
    assert {str(a): str(j.source) for a, j in fixed.items()} == {
        "jobs.a": "a.toml:2",
        "jobs.b": "a.toml:8",
    }


def test_field_spelled_with_other_case_suggests_the_api_spelling(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("workspace: main", "workspaceID: 6881117d-9fd2-4900-870b-9b721dc90f25")
    assert problems(make_dir({"a.yaml": text}))[0] == (
        "a.yaml:5:5: jobs.site-a.workspaceID: 'workspaceID' is not a field of a job; "
        "did you mean 'workspaceId'?"
    )


def test_key_written_twice_inside_a_yaml_job_names_both_lines(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("    name: Site A\n", "    name: Site A\n    name: Site B\n")
    text = text.replace("      quality: Extra\n", "      quality: Extra\n      quality: Draft\n")
    assert problems(make_dir({"a.yaml": text})) == [
        "a.yaml:5:5: jobs.site-a.name: duplicate key (also at line 4); YAML would keep only "
        "the last",
        "a.yaml:16:7: jobs.site-a.settings.quality: duplicate key (also at line 15); YAML would "
        "keep only the last",
    ]


def test_resource_or_table_written_twice_in_toml_names_both_lines(make_dir: MakeDir) -> None:
    twice = JOB_TOML + "\n" + JOB_TOML.split("\n\n")[0] + "\n"
    assert problems(make_dir({"a.toml": twice})) == [
        "a.toml:17:1: jobs.site-a: invalid TOML: defined twice (first at line 1)"
    ]
    key_twice = JOB_TOML.replace('name = "Site A"\n', 'name = "Site A"\nname = "B"\n')
    assert problems(make_dir({"a.toml": key_twice})) == [
        "a.toml:4:1: jobs.site-a.name: invalid TOML: defined twice (first at line 3)"
    ]


def test_a_loop_that_writes_one_key_twice_names_the_template_lines(make_dir: MakeDir) -> None:
    text = (
        "workspaces:\n"
        "{% for key in ['a', 'b', 'a'] %}\n"
        "  {{ key }}:\n"
        "    name: {{ key }}\n"
        "{% endfor %}\n"
        "  c: {name: c}\n"
        "  c: {name: d}\n"
    )
    assert problems(make_dir({"a.yaml.j2": text})) == [
        "a.yaml.j2:3: workspaces.a: duplicate key (also at line 3); YAML would keep only the last",
        "a.yaml.j2:7:3: workspaces.c: duplicate key (also at line 6); YAML would keep only the "
        "last",
    ]


def test_every_kind_of_problem_of_a_run_is_reported_at_once(make_dir: MakeDir) -> None:
    directory = make_dir(
        {
            "jobs/site-a.toml": JOB_TOML.replace('"3MX"]', '\n  "Cesium3DTiles"]').replace(
                'quality = "Extra"\nprocessing', 'qualty = "Extra"\nprocessing'
            ),
            "jobs/b.yaml.j2": "jobs:\n  b: {{ undefined_thing }}\n",
            "jobs/c.yaml": "jobs:\n  c: {name: x}\n  c: {name: y}\n",
            "jobs/d.toml": "[jobs.d\n",
        }
    )
    assert problems(directory) == [
        "jobs/b.yaml.j2:2: undefined variable: 'undefined_thing' is undefined",
        "jobs/c.yaml:3:3: jobs.c: duplicate key (also at line 2); YAML would keep only the last",
        "jobs/d.toml:1:8: invalid TOML: Expected ']' at the end of a table declaration",
        "jobs/site-a.toml:12:1: jobs.site-a.settings.quality: required field is missing",
        "jobs/site-a.toml:13:1: jobs.site-a.settings.qualty: 'qualty' is not a field of "
        "'settings'; did you mean 'quality'?",
        "jobs/site-a.toml:16:3: jobs.site-a.settings.outputs[1]: 'Cesium3DTiles' is not an "
        "output format; did you mean 'Cesium 3D Tiles'?",
    ]
