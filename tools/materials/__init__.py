"""Class materials: text extraction from uploads and the durable processing worker."""

from tools.materials.extract import (
    MAX_BYTES,
    ExtractedText,
    ExtractionLimits,
    MaterialMissing,
    MaterialUnreadable,
    Segment,
    SegmentKind,
    SourceType,
    detect_type,
    extract_text,
)
from tools.materials.worker import BatchResult, RunIngest, process_batch

__all__ = [
    "MAX_BYTES",
    "BatchResult",
    "ExtractedText",
    "ExtractionLimits",
    "MaterialMissing",
    "MaterialUnreadable",
    "RunIngest",
    "Segment",
    "SegmentKind",
    "SourceType",
    "detect_type",
    "extract_text",
    "process_batch",
]
