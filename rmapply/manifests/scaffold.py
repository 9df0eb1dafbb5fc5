"""The files of a new project (``rmapply init``): small, commented, and valid as written."""

from __future__ import annotations

PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"


def scaffold_files(itwin_id: str = PLACEHOLDER_ID) -> dict[str, str]:
    """File name (relative, posix) -> content of a project that validates."""
    return {
        "rmapply.toml": f"""\
# rmapply project settings (reference: docs/manifests.md).
[project]
iTwinId = "{itwin_id}"  # the iTwin that owns the workspaces and jobs

[defaults]
# Jobs are created but not submitted until you set this to true: submitting costs money.
submit = false

# Template variables (lowest precedence; vars/default.yaml, --var-file,
# RMAPPLY_VAR_<name> and --var override them).
[vars]
quality = "Medium"
photos = "{PLACEHOLDER_ID}"  # the reality-data id of your photos
gigaPixels = 1.0
outputs = ["Cesium 3D Tiles", "OBJ"]

[budget]
maxCost = 10.0
""",
        "workspaces.toml": """\
[workspaces.main]
name = "Main workspace"
""",
        "jobs/first.yaml.j2": """\
# A templated job; `rmapply render` shows what it becomes.
jobs:
  first:
    type: Full
    name: {{ ("First model (" ~ quality ~ ")") | yaml }}
    workspace: main
    inputs:
      - id: {{ photos | yaml }}
        description: Photos
    costEstimationParameters:
      gigaPixels: {{ gigaPixels }}
      meshQuality: {{ quality }}
    settings:
      quality: {{ quality }}
      processingEngines: 0
      outputs: {{ outputs | yaml }}
""",
        ".gitignore": """\
# rmapply's parse cache and state lock (the state file itself is up to you)
.rmapply/
*.lock
*.lock.info
""",
    }
