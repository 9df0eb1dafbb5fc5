"""The one-line summaries shown by ``rmapply --help`` and the examples that end each command's
help, by command path (``state list``); tests check that every command has both."""

from __future__ import annotations

GUID_EXAMPLE = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

# Short enough for an 80-column terminal, so click never cuts one with "...".
SUMMARIES: dict[str, str] = {
    "apply": "Carry out a plan (asks first), or a saved plan file.",
    "graph": "Draw the resources and their dependencies (DOT, Mermaid).",
    "import": "Adopt an existing job or workspace into the state.",
    "init": "Create a small working project.",
    "output": "Print job ids and output ids for scripts.",
    "plan": "Show what apply would do, and what it costs.",
    "refresh": "Update the state from the API only.",
    "render": "Print the rendered manifests (or one template's text).",
    "schema": "Print the JSON Schema of a manifest (for editors).",
    "serve": "Run a local Reality Modeling emulator.",
    "show": "Print a plan saved with 'rmapply plan --out FILE'.",
    "state": "Inspect and edit the state file (never calls the API).",
    "state list": "List the addresses in state.",
    "state show": "Print the record of ADDRESS as JSON.",
    "state rm": "Forget ADDRESS without touching the remote object.",
    "state mv": "Rename SOURCE to DESTINATION in state.",
    "state forget-intent": "Drop a pending operation of unknown outcome.",
    "state rebind": "Bind the state to another endpoint or iTwin.",
    "state versions": "List the earlier versions of the state kept for restore.",
    "state restore": "Bring an earlier version of the state back.",
    "state init": "Create an empty state under [state] key in PostgreSQL.",
    "state migrate": "Move the local state into PostgreSQL, or copy it back to a file.",
    "status": "Show the live state of the jobs in state.",
    "validate": "Check the manifests and report every problem.",
    "wait": "Wait for the running jobs to succeed, fail or be cancelled.",
}

EXAMPLES: dict[str, tuple[str, ...]] = {
    "apply": (
        "rmapply apply -C manifests",
        "rmapply plan --out plan.json && rmapply apply plan.json",
        "rmapply apply --local --auto-approve --wait --target 'jobs.site-*'",
    ),
    "graph": (
        "rmapply graph -C manifests | dot -Tsvg > graph.svg",
        "rmapply graph --format mermaid > graph.mmd",
    ),
    "import": (
        f"rmapply import jobs.site-a {GUID_EXAMPLE}",
        f"rmapply import -C manifests workspaces.main {GUID_EXAMPLE}",
    ),
    "init": (
        "rmapply init my-project",
        f"rmapply init my-project --itwin-id {GUID_EXAMPLE}",
    ),
    "output": (
        "rmapply output",
        "rmapply output jobs.site-a --json",
        "rmapply output --local",
    ),
    "plan": (
        "rmapply plan -C manifests",
        "rmapply plan --out plan.json",
        "rmapply plan --no-refresh --format markdown > plan.md",
    ),
    "refresh": (
        "rmapply refresh -C manifests",
        "rmapply refresh --local",
    ),
    "render": (
        "rmapply render -C manifests --format yaml",
        "rmapply render --var-file vars/prod.yaml --var quality=High",
        "rmapply render --raw jobs/sites.toml.j2",
    ),
    "schema": ("rmapply schema > manifest.schema.json",),
    "serve": (
        "rmapply serve --port 8080",
        "rmapply serve --port 0 --speed 60 --data emulator.sqlite",
    ),
    "show": (
        "rmapply show plan.json",
        "rmapply show plan.json --format json",
    ),
    "state": (
        "rmapply state list",
        "rmapply state mv jobs.old-name jobs.new-name",
    ),
    "state list": (
        "rmapply state list",
        "rmapply state list -C manifests",
    ),
    "state show": ("rmapply state show jobs.site-a",),
    "state rm": (
        "rmapply state rm jobs.site-a",
        "rmapply state rm workspaces.main --lock-timeout 30",
    ),
    "state mv": ("rmapply state mv jobs.old-name jobs.new-name",),
    "state forget-intent": ("rmapply state forget-intent jobs.site-a",),
    "state versions": (
        "rmapply state versions",
        "rmapply state versions --format json",
    ),
    "state init": ("rmapply state init",),
    "state migrate": (
        "rmapply state migrate --to postgresql://ci@db.example.com:5432/rmapply --key my-project",
        "rmapply state migrate --to rmapply.state.json",
    ),
    "state restore": (
        "rmapply state restore",
        "rmapply state restore backup",
        "rmapply state restore journal",
    ),
    "state rebind": (
        "rmapply state rebind --endpoint https://api.bentley.com/contextcapture",
        f"rmapply state rebind --itwin {GUID_EXAMPLE}",
    ),
    "status": (
        "rmapply status",
        "rmapply status jobs.site-a jobs.site-b --json",
    ),
    "validate": (
        "rmapply validate -C manifests",
        "rmapply validate --var-file vars/prod.yaml --var quality=High",
    ),
    "wait": (
        "rmapply wait",
        "rmapply wait jobs.site-a --timeout 3600",
        "rmapply wait --local --json",
    ),
}
