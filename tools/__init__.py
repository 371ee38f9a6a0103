"""Director's tools: backends, the cut, memory-free helpers. Nothing here knows about agents.

One logging filter is installed on import: transformers warns, once per image processor class, that
torchvision is missing and it falls back to Pillow. That fallback is what Director wants (the CPU torch build
has no torchvision), so the three lines every diffusers run would print are dropped, and nothing else.
"""

import logging


class _PillowFallbackIsFine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "requires torchvision (not installed); falling back" not in record.getMessage()


logging.getLogger("transformers.utils.import_utils").addFilter(_PillowFallbackIsFine())
