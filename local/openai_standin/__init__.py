"""A local OpenAI-compatible server for tests and ``make run`` (never imported by runtime code).

The real ``openai`` SDK talks to it through its base URL (the OpenAI secret's
``base_url`` in the local stack). Deterministic and scriptable: see `Standin`,
`answers` (the default answers and `Rule`) and `control` (`Fault`, the request log).
"""

from .answers import GROUNDING_THRESHOLD, Rule
from .control import Fault
from .embedding import cosine, embed
from .server import Standin, StandinApp

__all__ = ["GROUNDING_THRESHOLD", "Fault", "Rule", "Standin", "StandinApp", "cosine", "embed"]
