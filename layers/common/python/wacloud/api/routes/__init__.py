"""One module per resource of the operator API, each exposing ``router`` (a Powertools
``Router``). Paths are absolute (``/v1/...``); docs/operator-api.md lists them."""
