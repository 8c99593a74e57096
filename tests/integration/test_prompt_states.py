"""Prompt states restored into the real llama.cpp model (SmolLM2-135M): interleaved prompts are not read
again, and the answers are the ones read from scratch."""

import pytest

from engine.generation import GenerationParams, LlamaGenerator
from models.registry import ModelRegistry
from tests.conftest import MODELS_CACHE

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SEED_LINES = "\n".join(f"[{i}] 00:{i:02d} said: The orchard plot {i} yields {i * 70} kilos of quince."
                       for i in range(1, 25))
ROOM_LINES = "\n".join(f"[{i}] 00:{i:02d} on screen: Choir {i} rehearses in hall {i + 30}." for i in range(1, 25))


def messages(lines: str, question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Answer from the numbered lines."},
            {"role": "user", "content": f"{lines}\nQuestion: {question}"}]


def test_interleaved_prompts_resume_from_their_saved_state_with_the_same_answers():
    path = ModelRegistry(MODELS_CACHE).resolve("smollm2-135m-instruct", "chat")
    asked = [messages(SEED_LINES, "How much does plot 3 yield?"),
             messages(ROOM_LINES, "Where does choir 5 rehearse?"),
             messages(SEED_LINES, "How much does plot 8 yield?"),
             messages(ROOM_LINES, "Where does choir 9 rehearse?")]
    params = GenerationParams(max_tokens=12)
    cached = LlamaGenerator(path, "smollm2", n_ctx=2048, prompt_cache_bytes=64 << 20)
    plain = LlamaGenerator(path, "smollm2", n_ctx=2048)
    try:
        with_states = [cached.chat(m, params) for m in asked[:2]]
        # the admission cost of the next prompt: what neither the live sequence nor a saved state holds
        whole = cached.load().usage[0]
        assert cached.unread(asked[2]) < 30 < whole
        with_states += [cached.chat(m, params) for m in asked[2:]]
        assert cached.prompts.hits == 2 and len(cached.prompts) == 2  # one state per context
        assert cached.prompts.tokens_saved > 2 * 300
        streamed = "".join(d for d, _ in cached.stream(asked[0], params))  # a stream resumes too
        assert cached.prompts.hits == 3
        from_scratch = [plain.chat(m, params) for m in asked]
        assert [g.text for g in with_states] == [g.text for g in from_scratch]
        assert streamed == from_scratch[0].text
        assert plain.prompts.hits == 0 and len(plain.prompts) == 0
    finally:
        cached.close()
        plain.close()
