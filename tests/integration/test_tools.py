"""Function calling through the official `openai` SDK, against the real server and a real model.

Forced calls (named / required) are grammar-constrained, so SmolLM2 produces well-formed calls; the
free choice (`auto`) needs a model trained on the tool format: Qwen2.5 (the default model).
"""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.integration]

TOOLS = [
    {"type": "function", "function": {
        "name": "create_ticket", "description": "Open a maintenance ticket",
        "parameters": {"type": "object", "properties": {"title": {"type": "string"},
                                                        "priority": {"type": "string", "enum": ["low", "high"]}},
                       "required": ["title", "priority"]}}},
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
]


@pytest.fixture(scope="module")
def client(live_server):
    from openai import OpenAI

    return OpenAI(api_key="local", base_url=f"{live_server.url}/v1", max_retries=0)


def test_named_tool_choice_returns_a_valid_call(client):
    r = client.chat.completions.create(
        model="nimbus-001", messages=[{"role": "user", "content": "The forklift tyres are flat, open a ticket."}],
        tools=TOOLS, tool_choice={"type": "function", "function": {"name": "create_ticket"}}, max_tokens=60)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "create_ticket" and call.id.startswith("call_")
    args = json.loads(call.function.arguments)
    assert isinstance(args["title"], str) and args["priority"] in ("low", "high")


def test_required_picks_one_of_the_tools_and_streams_it(client):
    stream = client.chat.completions.create(
        model="nimbus-001", messages=[{"role": "user", "content": "What is the weather in Oslo?"}],
        tools=TOOLS, tool_choice="required", stream=True, max_tokens=60)
    calls, finish = {}, None
    for chunk in stream:
        for ch in chunk.choices:
            for tc in ch.delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"name": "", "arguments": ""})
                entry["name"] += tc.function.name or ""
                entry["arguments"] += tc.function.arguments or ""
            finish = ch.finish_reason or finish
    assert finish == "tool_calls" and len(calls) == 1
    call = calls[0]
    assert call["name"] in ("create_ticket", "get_weather") and isinstance(json.loads(call["arguments"]), dict)


def test_tool_result_round_trip_continues_the_conversation(client):
    first = client.chat.completions.create(
        model="nimbus-001", messages=[{"role": "user", "content": "What is the weather in Oslo?"}],
        tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}}, max_tokens=40)
    call = first.choices[0].message.tool_calls[0]
    follow = client.chat.completions.create(
        model="nimbus-001", tools=TOOLS, max_tokens=40, tool_choice="none", messages=[
            {"role": "user", "content": "What is the weather in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "Oslo: 12 degrees and raining"}])
    msg = follow.choices[0].message
    assert follow.choices[0].finish_reason in ("stop", "length") and not msg.tool_calls
    assert msg.content and msg.content.strip()
    plain = client.chat.completions.create(model="nimbus-001", tools=TOOLS, max_tokens=5, tool_choice="none",
                                           messages=[{"role": "user", "content": "What is the weather in Oslo?"}])
    # The result was in the prompt as a numbered evidence line: at least its own ~8 tokens more than the
    # same question alone (the call itself is not evidence, so it is not repeated).
    assert follow.usage.prompt_tokens >= plain.usage.prompt_tokens + 8


def test_auto_lets_a_tool_trained_model_decide(qwen_server):
    from openai import OpenAI

    c = OpenAI(api_key="local", base_url=f"{qwen_server.url}/v1", max_retries=0)
    r = c.chat.completions.create(model="nimbus-001", tools=TOOLS, max_tokens=80, messages=[
        {"role": "user", "content": "Please open a high priority ticket titled 'Replace forklift tyres'."}])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls", choice.message.content
    args = json.loads(choice.message.tool_calls[0].function.arguments)
    assert choice.message.tool_calls[0].function.name == "create_ticket" and "tyre" in args["title"].lower()


def test_auto_does_not_call_tools_for_questions_about_the_videos(qwen_server):
    from openai import OpenAI

    c = OpenAI(api_key="local", base_url=f"{qwen_server.url}/v1", max_retries=0)
    r = c.chat.completions.create(model="nimbus-001", tools=TOOLS, max_tokens=60,
                                  messages=[{"role": "user", "content": "What is the badge code?"}])
    assert r.choices[0].finish_reason != "tool_calls" and r.choices[0].message.content
