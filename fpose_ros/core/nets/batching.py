"""Running a network over many inputs in chunks whose size adapts to the memory available."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from fpose_ros.core.errors import ConfigError


class AdaptiveBatcher:
    """Calls a function on consecutive index ranges, halving the range size after an out-of-memory error.

    The size it settles on is kept for later calls, so a device that ran out of memory once is not asked
    again for the size that failed.

    Attributes:
        batch_size: current largest number of items per call (>= 1).
    """

    def __init__(self, batch_size: int) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = batch_size

    def map(self, n: int, fn: Callable[[int, int], torch.Tensor]) -> list[torch.Tensor]:
        """``[fn(start, stop) for consecutive ranges covering 0..n]``, halving a range that runs out of memory.

        A range that runs out of memory is retried at half the size (down to 1, after which the error
        propagates). O(n / batch_size) calls.
        """
        outputs = []
        start = 0
        while start < n:
            stop = min(n, start + self.batch_size)
            try:
                outputs.append(fn(start, stop))
            except (torch.OutOfMemoryError, RuntimeError) as exc:
                if not _is_out_of_memory(exc) or self.batch_size == 1:
                    raise
                self.batch_size = max(1, (stop - start) // 2)
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            start = stop
        return outputs


def inference_context(device: torch.device, amp: bool) -> contextlib.AbstractContextManager:
    """``no_grad`` plus, on CUDA with ``amp``, float16 autocast (as FoundationPose ran inference)."""
    stack = contextlib.ExitStack()
    stack.enter_context(torch.no_grad())
    if amp and device.type == "cuda":
        stack.enter_context(torch.autocast("cuda", dtype=torch.float16))
    return stack


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc) or "can't allocate" in str(exc)

