"""The stand-in's "model": a deterministic structured answer for a JSON schema.

It fills the schema the request asks for by field name. For the assistant's answer
(intent, confidence, language, reply, sources, form) the default behaviour is:

- intent from multilingual keyword lists (spam, opt-out, human request, complaint,
  booking, order status, greeting), checked in that order on the last user turn;
- language from small word lists (es, pt, en; "en" when nothing tells);
- the reply grounded in the ``<knowledge document="..." chunk="...">`` blocks of the
  instructions: the last user turn (then the last two, for a follow-up) is embedded
  with the stand-in's own embeddings and the best block by cosine answers, its
  first sentences as the reply and its document in ``sources``. No block above
  `GROUNDING_THRESHOLD` and no keyword -> intent ``other``, confidence 0.4.

A scripted `Rule` whose ``match`` finds the last user turn overrides any of these.
Any other field is filled deterministically from its schema (``summary``: the user
turns joined; strings: a fixed text; numbers 0; booleans false; arrays empty;
nullable: null).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from .embedding import cosine, embed, fold, phrases, words, wordset

GROUNDING_THRESHOLD = 0.2
"""Lowest cosine between the question and a knowledge block for the block to answer."""
LOW_CONFIDENCE = 0.4
KEYWORD_CONFIDENCE = 0.92

_KNOWLEDGE = re.compile(
    r'<knowledge\s+document="(?P<document>[^"]*)"\s+chunk="(?P<chunk>[^"]*)"\s*>(?P<text>.*?)</knowledge>',
    re.DOTALL,
)
_LINK = re.compile(r"(https?://|www\.|\b[\w-]+\.(com|net|org|io|xyz|biz|info|ru|cn)\b)", re.I)

# Keyword lists, folded (lower case, no accents). Phrases match as substrings of the
# folded text padded with spaces; single words match whole words.
INTENT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "opt_out": phrases(
        """
        stop|unsubscribe|baja|darme de baja|no me escriban|parar|sair|descadastrar|
        cancelar suscripcion|opt out|dejen de escribir
        """
    ),
    "human_request": phrases(
        """
        humano|humana|agente|persona|asesor|asesora|operador|operadora|human|agent|
        representative|real person|a person|talk to someone|speak to someone|
        operator|atendente|pessoa|alguem|ejecutivo|hablar con alguien
        """
    ),
    "complaint": phrases(
        """
        queja|reclamo|reclamacion|denuncia|molesto|molesta|pesimo|terrible|horrible|
        complaint|complain|awful|unacceptable|angry|worst|reclamacao|reclamar|
        pessimo|absurdo|vergonha|estafa|scam|fraude
        """
    ),
    "booking": phrases(
        """
        reservar|reserva|cita|turno|agendar|agendamento|marcar|book|booking|
        appointment|reservation|schedule a
        """
    ),
    "order_status": phrases(
        """
        pedido|mi orden|envio|seguimiento|rastreo|order|tracking|shipment|delivery|
        where is my|encomenda|entrega|rastreio
        """
    ),
    "greeting": phrases(
        """
        hola|buenas|buenos dias|buenas tardes|buenas noches|hello|hi|hey|
        good morning|good afternoon|ola|oi|bom dia|boa tarde|boa noite
        """
    ),
}
SPAM_WORDS = phrases(
    """
    win|winner|free|crypto|bitcoin|prize|gana|ganaste|gratis|premio|cripto|ganhe|
    ganhou|investment|inversion|click|clic|casino|loan|prestamo
    """
)

LANGUAGE_WORDS: dict[str, frozenset[str]] = {
    "es": wordset(
        """
        hola quiero hablar con un una el la los las que de por favor gracias cual
        cuales donde cuando como tienen hay horario buenos dias buenas mi es esta
        estan usted necesito puedo pedido envio persona humano agente asesor queja y
        o pero tambien abren cierran domingo sabado precio cuanto cuesta
        """
    ),
    "pt": wordset(
        """
        ola oi quero falar com um uma o a os as que de por favor obrigado obrigada
        qual onde quando como tem voces horario bom dia boa meu minha e esta estao
        voce preciso posso pedido entrega pessoa atendente humano reclamacao tambem
        abrem fecham domingo sabado preco quanto custa nao sim
        """
    ),
    "en": wordset(
        """
        hello hi i want to talk speak with a an the what which where when how do
        does you have your is are my please thanks thank order delivery person human
        agent representative complaint open close sunday saturday price much cost
        need can hours
        """
    ),
}
_LANGUAGE_MARKS = {"es": "ñ¿¡", "pt": "ãõçâê"}

CANNED: dict[str, dict[str, str]] = {
    "greeting": {
        "es": "¡Hola! ¿En qué puedo ayudarte?",
        "pt": "Olá! Como posso ajudar?",
        "en": "Hello! How can I help you?",
    },
    "human_request": {
        "es": "Te comunico con una persona de nuestro equipo.",
        "pt": "Vou transferir você para uma pessoa da nossa equipe.",
        "en": "I will connect you with a person from our team.",
    },
    "complaint": {
        "es": "Lamentamos lo ocurrido. Una persona revisará tu caso.",
        "pt": "Lamentamos o ocorrido. Uma pessoa vai analisar o seu caso.",
        "en": "We are sorry about this. A person will look into it.",
    },
    "opt_out": {
        "es": "Listo, no te enviaremos más mensajes.",
        "pt": "Pronto, não enviaremos mais mensagens.",
        "en": "Done, we will not message you again.",
    },
    "spam": {"es": "", "pt": "", "en": ""},
    "other": {
        "es": "No estoy seguro de eso. ¿Puedes darme más detalles?",
        "pt": "Não tenho certeza. Pode me dar mais detalhes?",
        "en": "I am not sure about that. Could you tell me more?",
    },
}


@dataclass(frozen=True)
class Knowledge:
    document: str
    chunk: str
    text: str


@dataclass
class Rule:
    """A scripted answer: when ``match`` (a regular expression, case-insensitive) is
    found in the last user turn, these values replace the defaults. ``fields`` sets any
    other field of the schema by name."""

    match: str = ""
    intent: str | None = None
    confidence: float | None = None
    reply: str | None = None
    language: str | None = None
    sources: list[str] | None = None
    form: Any = None
    set_form: bool = False
    fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rule:
        known = {"match", "intent", "confidence", "reply", "language", "sources", "form", "fields"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown rule keys: {sorted(unknown)}")
        re.compile(str(data.get("match", "")))
        return cls(
            match=str(data.get("match", "")),
            intent=data.get("intent"),
            confidence=None if data.get("confidence") is None else float(data["confidence"]),
            reply=data.get("reply"),
            language=data.get("language"),
            sources=data.get("sources"),
            form=data.get("form"),
            set_form="form" in data,
            fields=dict(data.get("fields") or {}),
        )

    def matches(self, text: str) -> bool:
        return re.search(self.match, text, re.IGNORECASE) is not None


@dataclass(frozen=True)
class Conversation:
    instructions: str
    turns: list[tuple[str, str]]  # (role, text), oldest first

    @property
    def user_turns(self) -> list[str]:
        return [text for role, text in self.turns if role == "user"]

    @property
    def last_user(self) -> str:
        users = self.user_turns
        return users[-1] if users else ""


def knowledge_blocks(instructions: str) -> list[Knowledge]:
    """The blocks as a model reads them: entities unescaped (the prompt escapes the
    passage so it cannot close its own tag)."""
    return [
        Knowledge(m["document"], m["chunk"], html.unescape(m["text"]).strip())
        for m in _KNOWLEDGE.finditer(instructions)
    ]


def _body(text: str) -> str:
    """A passage less its leading heading line (a section path such as "Delivery >
    Shipping times", no sentence of its own): what the stand-in quotes back. The
    heading still counts when the block is matched to the question."""
    first, _, rest = text.partition("\n")
    heading = not first.rstrip().endswith((".", "!", "?", ":")) and rest.strip()
    return rest.strip() if heading else text


def _has(folded: str, keyword: str) -> bool:
    if " " in keyword:
        return f" {keyword} " in f" {' '.join(words(folded))} "
    return keyword in words(folded)


def detect_intent(text: str) -> str | None:
    """The keyword intent of ``text``, or None."""
    folded = fold(text)
    if _LINK.search(text) and any(_has(folded, w) for w in SPAM_WORDS):
        return "spam"
    if sum(_has(folded, w) for w in SPAM_WORDS) >= 2:
        return "spam"
    for intent, keywords in INTENT_KEYWORDS.items():
        if any(_has(folded, k) for k in keywords):
            return intent
    return None


def detect_language(text: str) -> str:
    """es, pt or en by word lists and telltale letters; en when nothing tells."""
    lowered = text.lower()
    folded = words(text)
    scores = {lang: sum(1 for w in folded if w in vocab) for lang, vocab in LANGUAGE_WORDS.items()}
    for lang, marks in _LANGUAGE_MARKS.items():
        scores[lang] += 2 * sum(lowered.count(m) for m in marks)
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] > 0 else "en"


def ground(conversation: Conversation) -> tuple[Knowledge, float] | None:
    """The knowledge block that best answers the last user turn (or, for a follow-up
    too short to match, the last two user turns together), if any scores enough."""
    blocks = knowledge_blocks(conversation.instructions)
    users = conversation.user_turns
    if not blocks or not users:
        return None
    vectors = [embed(b.text) for b in blocks]
    queries = [users[-1]] + ([" ".join(users[-2:])] if len(users) > 1 else [])
    for query in queries:
        q = embed(query)
        scored = [(cosine(q, v), i) for i, v in enumerate(vectors)]
        score, index = max(scored)
        if score >= GROUNDING_THRESHOLD:
            return blocks[index], score
    return None


def first_sentences(text: str, limit: int = 2, max_chars: int = 400) -> str:
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    return " ".join(sentences[:limit])[:max_chars].strip()


@dataclass
class Answer:
    """The assistant-shaped values the schema is filled from."""

    intent: str
    confidence: float
    language: str
    reply: str
    sources: list[str]
    form: Any = None
    fields: dict[str, Any] = field(default_factory=dict)


def default_answer(conversation: Conversation, rules: list[Rule]) -> Answer:
    text = conversation.last_user
    language = detect_language(text)
    intent = detect_intent(text)
    grounded = ground(conversation) if intent not in ("spam", "opt_out") else None
    if intent in (None, "greeting", "booking", "order_status") and grounded is not None:
        block, score = grounded
        answer = Answer(
            intent="question" if intent in (None, "greeting") else intent,
            confidence=round(min(0.99, 0.75 + score / 2), 3),
            language=language,
            reply=first_sentences(_body(block.text)),
            sources=[block.document],
        )
    elif intent is not None:
        canned = CANNED.get(intent, CANNED["other"])
        answer = Answer(
            intent=intent,
            confidence=KEYWORD_CONFIDENCE,
            language=language,
            reply=canned.get(language, canned["en"]),
            sources=[],
        )
    else:
        answer = Answer(
            intent="other",
            confidence=LOW_CONFIDENCE,
            language=language,
            reply=CANNED["other"][language],
            sources=[],
        )
    for rule in rules:
        if rule.matches(text):
            _apply(rule, answer)
            break
    return answer


def _apply(rule: Rule, answer: Answer) -> None:
    if rule.intent is not None:
        answer.intent = rule.intent
    if rule.confidence is not None:
        answer.confidence = rule.confidence
    if rule.language is not None:
        answer.language = rule.language
    if rule.reply is not None:
        answer.reply = rule.reply
    if rule.sources is not None:
        answer.sources = list(rule.sources)
    if rule.set_form:
        answer.form = rule.form
    answer.fields.update(rule.fields)


# -- filling a JSON schema ------------------------------------------------------------


def fill_schema(schema: dict[str, Any], answer: Answer, conversation: Conversation) -> Any:
    """A value that validates against ``schema`` (OpenAI strict-mode subset: objects,
    arrays, enums, anyOf, $ref to $defs), from ``answer`` by field name."""
    defs = dict(schema.get("$defs") or schema.get("definitions") or {})
    return _fill(schema, defs, answer, conversation, name="")


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = str(node["$ref"])
        node = defs[ref.rsplit("/", 1)[-1]]
    return node


def _types(node: dict[str, Any]) -> list[str]:
    t = node.get("type")
    if isinstance(t, list):
        return [str(x) for x in t]
    return [str(t)] if t else []


def _fill(
    node: dict[str, Any], defs: dict[str, Any], answer: Answer, conv: Conversation, name: str
) -> Any:
    node = _resolve(node, defs)
    if name and name in answer.fields:
        return answer.fields[name]
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        resolved = [_resolve(o, defs) for o in options]
        nullable = any(_types(o) == ["null"] for o in resolved)
        if name == "form" and answer.form is not None:
            return answer.form
        if nullable:
            return None
        return _fill(resolved[0], defs, answer, conv, name)
    types = _types(node)
    if "null" in types and ((name == "form" and answer.form is None) or len(types) == 1):
        return None
    if name == "form" and answer.form is not None:
        return answer.form
    enum = node.get("enum")
    if "const" in node:
        return node["const"]
    if enum:
        wanted = {"intent": answer.intent, "language": answer.language}.get(name)
        if wanted in enum:
            return wanted
        return "other" if "other" in enum else enum[0]
    kind = next((t for t in types if t != "null"), "object" if "properties" in node else "string")
    if kind == "object":
        props: dict[str, Any] = node.get("properties") or {}
        return {key: _fill(sub, defs, answer, conv, key) for key, sub in props.items()}
    if kind == "array":
        if name == "sources":
            return list(answer.sources)
        return []
    if kind in ("number", "integer"):
        if name == "confidence":
            return answer.confidence
        return 0
    if kind == "boolean":
        return False
    return _string(name, answer, conv)


def _string(name: str, answer: Answer, conv: Conversation) -> str:
    if name == "reply":
        return answer.reply
    if name == "language":
        return answer.language
    if name == "intent":
        return answer.intent
    if name == "summary":
        return " / ".join(conv.user_turns)
    if name in ("text", "description", "answer"):
        return answer.reply
    return f"{name or 'value'} (stand-in)"
