"""Outbound payload validation, one module per message family (docs/meta/messages.md#send,
docs/meta/limits.md).

Code choice, applied consistently (docs/meta/errors.md#codes meanings):
- a required field is absent -> 131008 "Required parameter is missing";
- wrong JSON type, over a length/count limit, or an unknown key -> 100 "Invalid parameter"
  ("Unsupported/misspelled parameter or over a length limit");
- a present value that is not acceptable (enum, URL, wamid, phone) -> 131009;
- an unknown message ``type`` -> 131051 "Unsupported message type".
All of these are synchronous HTTP 400 answers.
"""
