"""The materials ingest graph, compiled without a checkpointer.

Node-level retries are deliberately absent: the worker's job queue is the retry mechanism
(with a backoff, an attempt limit and a durable record of every failure).
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from graphs.materials.context import IngestContext, IngestOptions
from graphs.materials.nodes import chunk, download, embed_chunks, extract, load, store
from graphs.materials.state import IngestInput, IngestOutput, IngestState
from tools.materials.worker import RunIngest

builder = StateGraph(
    IngestState,
    context_schema=IngestOptions,
    input_schema=IngestInput,
    output_schema=IngestOutput,
)
builder.add_node(load)
builder.add_node(download)
builder.add_node(extract)
builder.add_node(chunk)
builder.add_node("embed", embed_chunks)
builder.add_node(store)
builder.add_edge(START, "load")
builder.add_edge("load", "download")
builder.add_edge("download", "extract")
builder.add_edge("extract", "chunk")
builder.add_edge("chunk", "embed")
builder.add_edge("embed", "store")
builder.add_edge("store", END)

graph = builder.compile(name="materials")


def ingest_runner(context: IngestContext) -> RunIngest:
    """The worker's `run_ingest`: this graph on one material, with `context`."""

    async def run(material_id: str) -> dict[str, Any]:
        output = await graph.ainvoke({"material_id": material_id}, context=context)
        return dict(output)

    return run
