"""The AI assistant (issue #12): answers customers from context and knowledge, and
knows when to hand them to a person (docs/assistant.md).

`AssistantResponder` queues a customer's message (inbound side); `AssistantWorker`
answers one queued job (functions/assistant); `Ports` is what it needs from the model,
the knowledge base, conversations and moderation (`default_ports` wires the real ones).
"""

from wacloud.assistant.answer import AssistantAnswer, ConversationSummary, FormRow, ReplyForm
from wacloud.assistant.ports import Ports, default_ports
from wacloud.assistant.responder import (
    ANSWERED_TYPES,
    ON_ITS_WAY,
    AssistantResponder,
    answer_pending,
)
from wacloud.assistant.worker import AssistantWorker, InvalidJobError, Job, Outcome

__all__ = [
    "ANSWERED_TYPES",
    "ON_ITS_WAY",
    "AssistantAnswer",
    "AssistantResponder",
    "AssistantWorker",
    "ConversationSummary",
    "FormRow",
    "InvalidJobError",
    "Job",
    "Outcome",
    "Ports",
    "ReplyForm",
    "answer_pending",
    "default_ports",
]
