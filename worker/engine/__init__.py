"""Continuous (token-level) batching: many requests share each forward pass of one model."""

from worker.engine.batch_engine import BatchEngine, EngineOutput, RequestStream
from worker.engine.sampling import SamplingParams

__all__ = ["BatchEngine", "EngineOutput", "RequestStream", "SamplingParams"]
