"""The handoff gate: a responder wrapper that keeps the bot out of a person's way.

For each customer message, in order:
0. an answer to the conversation's satisfaction survey (a survey button replying to
   that survey message: wacloud.conversations.inbox) is kept and thanked; a message
   on a conversation in the inbox moves it up (`last_activity_at`);
1. the conversation is with a person (`in_handoff`: waiting, or assigned to an
   agent): silence, no reply and no typing
   indicator (the message is recorded all the same; the person reads it there). A
   redelivery of the very message that asked for the person finishes that handoff
   (events, notice) instead: the notice's idempotency key makes it go once;
2. a handoff keyword (the tenant's, folded: "hablar con un HUMANO"): hand over and
   tell the customer the expected wait, in their language;
3. anything else goes to the wrapped responder; if it asks for a person
   (`Response.handoff`, e.g. the menu's "Talk to a person"), hand over and send the
   notice instead of its replies.
"""

from __future__ import annotations

from collections.abc import Callable

from wacloud.conversations.handoff import request_handoff
from wacloud.conversations.inbox import survey_answer
from wacloud.conversations.keywords import find_keyword, guess_language
from wacloud.conversations.notice import handoff_notice
from wacloud.conversations.settings import HandoffSettings, load_handoff_settings
from wacloud.inbound import IncomingMessage, Responder, Response, as_response, text_reply
from wacloud.store import conversations as store


class HandoffGate:
    """Wraps ``inner`` (a Responder); itself a Responder."""

    def __init__(
        self,
        inner: Responder,
        *,
        settings_of: Callable[[str], HandoffSettings] = load_handoff_settings,
    ) -> None:
        self.inner = inner
        self.settings_of = settings_of

    def respond(self, message: IncomingMessage) -> Response:
        pnid, wa_id = message.phone_number_id, message.wa_id
        conversation = store.load(pnid, wa_id)
        thanks = survey_answer(
            conversation,
            reply_id=message.reply_id,
            context_wamid=message.context_wamid,
            at=message.at,
        )
        if thanks is not None:
            return Response((text_reply(thanks),))
        if conversation.in_inbox:
            store.touch(pnid, wa_id, conversation, at=message.at)
        if conversation.in_handoff(message.at):
            if conversation.handoff_wamid == message.wamid and conversation.handoff_reason:
                return self._hand_over(message, conversation.handoff_reason)
            return Response()
        settings = self.settings_of(pnid)
        if find_keyword(message.text, settings.keywords):
            return self._hand_over(message, "keyword", settings)
        response = as_response(self.inner.respond(message))
        if response.handoff is not None:
            return self._hand_over(message, response.handoff, settings)
        return response

    def _hand_over(
        self, message: IncomingMessage, reason: str, settings: HandoffSettings | None = None
    ) -> Response:
        settings = settings or self.settings_of(message.phone_number_id)
        language = guess_language(message.text)
        entered = request_handoff(
            message.phone_number_id,
            message.wa_id,
            reason=reason,
            at=message.at,
            language=language,
            wamid=message.wamid,
            settings=settings,
        )
        if not entered:
            return Response()  # someone else handed it over just now and told them
        return Response((text_reply(handoff_notice(settings, language=language, at=message.at)),))
