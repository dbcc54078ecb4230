"""HTTP handlers, grouped by Graph resource. Each returns ``(status, json)`` or a Response."""
