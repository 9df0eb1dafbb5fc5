"""What a template rendered, shown with a parse error: the rendered lines around it, numbered as
the template's lines where they map; and the line where an unclosed block was opened."""

from __future__ import annotations

from collections.abc import Callable

import jinja2

from rmapply.errors import ManifestProblem

CONTEXT_LINES = 2
MAX_SHOWN = 120
# With trim_blocks and lstrip_blocks on, these remove a newline a second time: two lines join.
WHITESPACE_CONTROL = ("{%-", "-%}", "{{-", "-}}")
# Tags that open a block closed by ``end<name>``.
BLOCK_TAGS = frozenset(
    {"for", "if", "macro", "call", "filter", "block", "with", "autoescape", "trans"}
)

Origin = Callable[[int], "tuple[str, int] | None"]


def rendered_excerpt(
    text: str, line: int, template: str, origin: Origin | None, source: str | None
) -> str:
    """Lines to append to a parse error at rendered ``line`` of ``template``'s text."""
    lines = text.split("\n")
    first, last = max(1, line - CONTEXT_LINES), min(len(lines), line + CONTEXT_LINES)
    labels: dict[int, str] = {}
    for number in range(first, last + 1):
        found = origin(number) if origin is not None else None
        if found is None:
            labels[number] = f"rendered line {number}"
        elif found[0] == template:
            labels[number] = str(found[1])
        else:
            labels[number] = f"{found[0]}:{found[1]}"
    width = max((len(label) for label in labels.values()), default=1)
    shown = [f"  rendered text, numbered by the lines of {template} that wrote it:"]
    for number in range(first, last + 1):
        body = lines[number - 1]
        body = body if len(body) <= MAX_SHOWN else body[: MAX_SHOWN - 3] + "..."
        marker = ">" if number == line else " "
        shown.append(f"  {marker} {labels[number]:>{width}} | {body}")
    if source is not None and any(mark in source for mark in WHITESPACE_CONTROL):
        shown.append(
            "  note: the template uses '{%-' or '-%}' while rmapply renders with trim_blocks "
            "and lstrip_blocks: a newline next to a tag may be removed twice, joining two "
            f"lines; see the whole text with 'rmapply render --raw {template}'"
        )
    return "\n".join(shown)


def unclosed_block_line(environment: jinja2.Environment, source: str) -> tuple[str, int] | None:
    """(tag, line) of the innermost block still open at the end of ``source``, or None.

    Jinja reports an unclosed ``{% for %}`` at the end of the file; the opening tag is what a
    person needs to find.
    """
    stack: list[tuple[str, int]] = []
    try:
        tokens = [token for token in environment.lex(source) if token[1] != "whitespace"]
    except jinja2.TemplateSyntaxError:
        return None
    index = 0
    while index < len(tokens):
        lineno, kind, _ = tokens[index]
        if kind == "block_begin" and index + 1 < len(tokens) and tokens[index + 1][1] == "name":
            name = tokens[index + 1][2]
            if name in BLOCK_TAGS:
                stack.append((name, lineno))
            elif name == "set" and not _assigns(tokens, index + 2):
                stack.append((name, lineno))  # {% set x %}...{% endset %}
            elif name.startswith("end") and stack and stack[-1][0] == name[3:]:
                stack.pop()
        index += 1
    return stack[-1] if stack else None


def _assigns(tokens: list[tuple[int, str, str]], index: int) -> bool:
    """True when the ``set`` tag starting at ``index`` has ``=`` before its end."""
    while index < len(tokens) and tokens[index][1] != "block_end":
        if tokens[index][1] == "operator" and tokens[index][2] == "=":
            return True
        index += 1
    return False


def syntax_problem(
    where: str, exc: jinja2.TemplateSyntaxError, source: str | None, environment: jinja2.Environment
) -> ManifestProblem:
    """A Jinja syntax error at its line; an unclosed block at the line of its opening tag."""
    opened = (
        unclosed_block_line(environment, source)
        if source is not None and str(exc.message).startswith("Unexpected end of template")
        else None
    )
    if opened is None:
        return ManifestProblem(where, exc.lineno, message=f"template syntax error: {exc.message}")
    tag, line = opened
    message = (
        f"template syntax error: '{{% {tag} %}}' is never closed "
        f"(no '{{% end{tag} %}}' before the end of the file)"
    )
    return ManifestProblem(where, line, message=message)
