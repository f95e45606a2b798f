"""Extraction limits in the materials worker, over a real socket on both backends: a PDF over
the page or time limit fails with its reason, and the batch goes on."""

from __future__ import annotations

import base64
import time

from tests.server.conftest import Serve
from tests.server.routes.test_materials import create, material_status, ok, process
from tests.tools.materials.test_extract import make_pdf
from tests.tools.materials.test_extraction_limits import slow_pdf


def test_the_worker_fails_a_slow_pdf_with_the_reason_and_keeps_going(serve: Serve) -> None:
    with serve(material_extract_seconds=1.0, material_max_pages=2) as api:
        slow = ok(
            create(
                api,
                title="Dense scan",
                content_base64=base64.b64encode(slow_pdf()).decode(),
                file_name="dense.pdf",
            )
        )
        long = ok(
            create(
                api,
                title="Whole textbook",
                content_base64=base64.b64encode(make_pdf("a", "b", "c")).decode(),
                file_name="book.pdf",
            )
        )
        fine = ok(create(api, title="Optics", file_name="optics.md", mime_type="text/markdown"))
        started = time.monotonic()
        result = ok(process(api, {"batch_size": 3}))
        assert time.monotonic() - started < 10
        assert (result["processed"], result["succeeded"], result["failed"]) == (3, 1, 2)
        status, reason = material_status(api, slow["material_id"])
        assert status == "failed"
        assert reason is not None and "took longer than 1 seconds" in reason
        assert material_status(api, long["material_id"]) == (
            "failed",
            "The PDF has 3 pages; a material can have at most 2. Split it into smaller files.",
        )
        assert material_status(api, fine["material_id"]) == ("ready", None)
