"""Schemas fitted to a reply's token budget (`engine.schemas.fit_schema`): the longest reply the grammar
allows fits, the schema's own bounds stay, and a schema that cannot fit keeps the tightest bounds."""

from __future__ import annotations

from engine.schemas import fit_schema, worst_tokens

SPEEDS = {"type": "object", "properties": {"limit": {"type": "integer"},
                                           "kinds": {"type": "array", "items": {"type": "string"}}},
          "required": ["limit", "kinds"], "additionalProperties": False}


def test_open_lists_and_strings_are_unbounded_until_fitted():
    assert worst_tokens(SPEEDS) >= 10 ** 9
    for budget in (96, 256, 1024):
        fitted = fit_schema(SPEEDS, budget)
        assert worst_tokens(fitted) <= budget, budget
    roomy, tight = fit_schema(SPEEDS, 1024), fit_schema(SPEEDS, 128)
    assert roomy["properties"]["kinds"]["maxItems"] >= tight["properties"]["kinds"]["maxItems"]
    assert roomy["properties"]["kinds"]["items"]["maxLength"] > tight["properties"]["kinds"]["items"]["maxLength"]


def test_the_schemas_own_bounds_are_kept():
    own = {"type": "array", "maxItems": 2, "items": {"type": "string", "maxLength": 5}}
    assert fit_schema(own, 1024) == own
    assert worst_tokens(own) == 3 + 2 * (5 + 3 + 2)


def test_objects_are_closed_to_unnamed_properties_and_enums_count_their_longest_value():
    fitted = fit_schema({"type": "object", "properties": {"k": {"enum": ["a", "longer"]}}}, 100)
    assert fitted["additionalProperties"] is False
    assert worst_tokens(fitted) == 3 + len('"k"') + 3 + len('"longer"') + 1


def test_a_schema_too_large_for_the_budget_gets_the_tightest_bounds():
    wide = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(40)}}
    fitted = fit_schema(wide, 64)
    assert worst_tokens(fitted) > 64
    assert fitted["properties"]["p0"]["maxLength"] == 20
