"""Text and YAML from outside the project: dbt literals render back to themselves, bombs are refused, ids kept."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.files import InputTooLarge, load_yaml_file, safe_load_bounded
from dmesh_dbt.inert import dbt_literal, dbt_literals
from dmesh_dbt.project import ensure_project_id, load_descriptor

TEXTS = [
    "{{ env_var('DMESH_MASKING_KEY') }}",
    "{% for x in range(10**9) %}x{% endfor %}",
    "{# hidden #}visible",
    "{{{ triple }}} and }} and {%- raw %}{% endraw %}",
    "{% endraw %}{{ env_var('K') }}",
    "plain text, {single braces} and a trailing {",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_a_dbt_literal_renders_back_to_exactly_the_text(text: str) -> None:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)  # dbt renders YAML strings this way
    environment.globals["env_var"] = lambda *_: pytest.fail("the payload ran")
    assert environment.from_string(dbt_literal(text)).render() == text


def test_literals_reach_nested_values_and_keys() -> None:
    assert dbt_literals({"{{k}}": ["{{v}}", 1]}) == {"{{ '{' }}{k}}": ["{{ '{' }}{v}}", 1]}


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (BOMB, "aliases expand it past"),
        ("[" * 100 + "]" * 100, "nesting deeper than"),
        ("x: &x 1\na: [" + "*x, " * 2000 + "]", "more than 1000 aliases"),
        ("# x\n" * 3_000_000, "over the limit"),
    ],
)
def test_hostile_yaml_is_refused_before_it_is_built(text: str, problem: str) -> None:
    with pytest.raises(InputTooLarge, match=problem):
        safe_load_bounded(text)


def test_ordinary_anchors_still_load(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text("base: &base {a: 1}\nother: *base\n")
    assert load_yaml_file(path, ConfigError) == {"base": {"a": 1}, "other": {"a": 1}}


def test_a_project_id_is_added_once_after_the_owner_keeping_comments(tmp_path: Path) -> None:
    dmesh = tmp_path / "dmesh.yml"
    dmesh.write_text("# the domain\ndomain: payments\nowner: team@example.com  # who\nregistry: ../registry\n")
    project_id = ensure_project_id(tmp_path)
    assert ensure_project_id(tmp_path) == project_id
    lines = dmesh.read_text().splitlines()
    assert lines[:3] == ["# the domain", "domain: payments", "owner: team@example.com  # who"]
    assert lines[3].startswith(f"project_id: {project_id}")
    assert load_descriptor(tmp_path).project_id == project_id
