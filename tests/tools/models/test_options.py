"""Per-call model options: the names each provider honours, picked without importing the
libraries of providers the client is not from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from langchain_openai import ChatOpenAI

from tools.models.options import CallOptions, call_kwargs

_ROOT = Path(__file__).resolve().parents[3]

_PROBE = """
import sys
from tests.fakes import ScriptedChatModel
from tools.models.options import CallOptions, call_kwargs

model = ScriptedChatModel.replying("ok")
before = set(sys.modules)
kwargs = call_kwargs(model, CallOptions(max_tokens=5, json_mode=True), native_schema=False)
assert kwargs == {"max_tokens": 5, "response_format": {"type": "json_object"}}, kwargs
print(sorted(m for m in set(sys.modules) - before if m.startswith("langchain_")))
"""


def test_options_for_another_client_import_no_provider_library() -> None:
    # A fresh interpreter: this one has imported every provider's library already.
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_an_openai_client_still_gets_its_own_names() -> None:
    client = ChatOpenAI(model="gpt-4o-mini", api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    options = CallOptions(temperature=0.2, max_tokens=5, json_mode=True)
    assert call_kwargs(client, options, native_schema=False) == {
        "temperature": 0.2,
        "extra_body": {"max_tokens": 5, "response_format": {"type": "json_object"}},
    }
