"""The lake's queries: SQL files both engines run unchanged (wacloud/lake/sql/*.sql).

Each file selects from ``{table}``, the only text substituted (Athena: the Glue table,
``"<database>"."<table>"``; DuckDB: a view over the local files), and takes the day
range as two positional parameters (``?``), bound by each engine's own parameter
mechanism (Athena's ExecutionParameters, DuckDB's prepared statements).
"""

from __future__ import annotations

from importlib import resources

__all__ = ["QUERIES", "render"]

#: The queries there are, by file name (without .sql).
QUERIES = ("funnel", "templates", "billable")


def render(name: str, table: str) -> str:
    """The query's text with the table in place and its leading comments dropped."""
    if name not in QUERIES:
        raise ValueError(f"no lake query {name!r}; there are {', '.join(QUERIES)}")
    text = resources.files("wacloud.lake").joinpath("sql", f"{name}.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return body.replace("{table}", table).strip()
