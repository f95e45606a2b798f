"""`/v1/llm/generate` and `/v1/llm/embeddings` as the web app calls and reads them."""

from __future__ import annotations

from tests.contract import bodies
from tests.contract.conftest import WebApp, read_stream
from tests.contract.reading import array, fields, is_int, non_null_str, number, read_ok, text
from tests.contract.shapes import usage

GENERATE = "/v1/llm/generate"


def read_generate(data: object) -> None:
    found = fields(data, "data", ("provider", "model", "content", "usage", "latency_ms"))
    text(found["provider"], "data.provider")
    text(found["model"], "data.model")
    text(non_null_str(found["content"], "data.content"), "data.content")  # trimmed, then shown
    usage(found["usage"], "data.usage")
    is_int(found["latency_ms"], "data.latency_ms")


def test_llm_generate(webapp: WebApp) -> None:
    read_generate(read_ok(webapp.call(GENERATE, bodies.llm_generate("What is a newton?"))))


def test_llm_embeddings(webapp: WebApp) -> None:
    inputs = ["Force is measured in newtons.", "Photosynthesis makes glucose from light."]
    data = read_ok(webapp.call("/v1/llm/embeddings", bodies.embeddings(inputs)))
    found = fields(data, "data", ("provider", "model", "embeddings", "usage", "latency_ms"))
    text(found["provider"], "data.provider")
    text(found["model"], "data.model")
    vectors = array(found["embeddings"], "data.embeddings", min_len=2, max_len=2)
    for n, vector in enumerate(vectors):
        # Each vector goes into a `vector(1536)` column: exactly 1536 finite numbers.
        values = array(vector, f"data.embeddings[{n}]", min_len=1536, max_len=1536)
        for m, value in enumerate(values):
            number(value, f"data.embeddings[{n}][{m}]")
    assert vectors[0] != vectors[1]
    usage(found["usage"], "data.usage")
    is_int(found["latency_ms"], "data.latency_ms")


def test_llm_generate_streams_when_asked(webapp: WebApp) -> None:
    data, events = read_stream(webapp, GENERATE, bodies.llm_generate("What is a newton?"))
    read_generate(data)
    # The model's tokens arrive first, as `[chunk, metadata]` pairs, and add up to the content.
    tokens = [e.data for e in events if e.event == "messages"]
    assert len(tokens) > 1, "the reply did not stream token by token"
    assert "".join(chunk["content"] for chunk, _ in tokens) == data["content"]
    assert all(metadata["langgraph_node"] == "generate" for _, metadata in tokens)
