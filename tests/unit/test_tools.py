import json

from engine.tools import ToolCall, ToolSpec, ToolUse, forced_schema, parse_tool_calls, render_turn, tool_prompt

WEATHER = ToolSpec("get_weather", "Weather for a city", {"type": "object", "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]})
TICKET = ToolSpec("create_ticket", "Open a ticket", {"type": "object", "properties": {"title": {"type": "string"}}})


def test_auto_calls_are_parsed_from_hermes_tags_and_unknown_names_stay_text():
    use = ToolUse((WEATHER, TICKET))
    text = 'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
    calls, rest = parse_tool_calls(text, use)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_weather", {"city": "Oslo"})]
    assert rest == "Sure." and calls[0].id.startswith("call_")
    calls, rest = parse_tool_calls('<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>', use)
    assert calls == [] and "rm_rf" in rest
    assert parse_tool_calls("The badge code is 4471 [1].", use) == ([], "The badge code is 4471 [1].")


def test_forced_choice_is_a_schema_for_that_tool_or_any():
    named = forced_schema(ToolUse((WEATHER, TICKET), "create_ticket"))
    assert named["properties"]["name"]["enum"] == ["create_ticket"]
    args = named["properties"]["arguments"]
    assert args["properties"]["title"] == {"type": "string", "maxLength": 120}  # bounded: the call must end
    assert args["additionalProperties"] is False  # closed too: only named arguments, so the call ends
    assert {k: v for k, v in args.items() if k not in ("properties", "additionalProperties")} == \
        {k: v for k, v in TICKET.parameters.items() if k != "properties"}
    anyof = forced_schema(ToolUse((WEATHER, TICKET), "required"))
    assert [o["properties"]["name"]["enum"][0] for o in anyof["anyOf"]] == ["get_weather", "create_ticket"]
    calls, rest = parse_tool_calls('{"name": "create_ticket", "arguments": {"title": "x"}}',
                                   ToolUse((WEATHER, TICKET), "create_ticket"))
    assert calls[0].name == "create_ticket" and json.loads(calls[0].arguments) == {"title": "x"} and rest == ""


def test_earlier_tool_turns_are_rendered_for_the_model():
    call = ToolCall("call_1", "get_weather", '{"city": "Oslo"}')
    assert render_turn("assistant", "", (call,)) == {"role": "assistant",
                                 "content": '<tool_call>{"name": "get_weather", '
                                            '"arguments": {"city": "Oslo"}}</tool_call>'}
    assert render_turn("tool", "12 C") == {
        "role": "user", "content": "<tool_response>\n12 C\n</tool_response>"}
    assert '"name": "get_weather"' in tool_prompt((WEATHER,))


def test_untagged_calls_are_parsed_and_only_plausible_ones_kept():
    from engine.tools import plausible

    use = ToolUse((WEATHER, TICKET))
    for text in ('{"name": "get_weather", "arguments": {"city": "Oslo"}}',
                 'Here:\n```json\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n```'):
        (call,), _ = parse_tool_calls(text, use)
        assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Oslo"}
    (call,), _ = parse_tool_calls('{"name": "get_weather", "arguments": {"city": "4471"}}', use)
    assert plausible(call, "What is the weather in Oslo?", use)
    assert not plausible(call, "What is the badge code?", use)
