"""``python -m wacloud.lake <query> --from DAY --to DAY``: a lake query, printed as JSON
lines, run by DuckDB over local files (``--dir``), over a lake bucket's days copied
locally (``--bucket``), or by Athena (``--athena``). docs/lake.md has examples.

Run from the repository with the layer on the path:
``PYTHONPATH=layers/common/python .venv/bin/python -m wacloud.lake funnel --from ... ``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from wacloud.lake.queries import QUERIES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m wacloud.lake", description=__doc__)
    parser.add_argument("query", choices=QUERIES)
    parser.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", required=True, help="last day, inclusive")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--dir", type=Path, help="a directory holding events/day=*/ (DuckDB)")
    where.add_argument("--bucket", help="the lake bucket: copy the days, then DuckDB")
    where.add_argument("--athena", action="store_true", help="run on Athena")
    parser.add_argument("--database", help="Athena: the Glue database (LakeDatabaseName)")
    parser.add_argument("--table", default="events", help="Athena: the Glue table")
    parser.add_argument("--workgroup", help="Athena: the workgroup (LakeWorkGroupName)")
    return parser


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.athena:
        if not args.database or not args.workgroup:
            raise SystemExit("--athena needs --database and --workgroup (the stack's outputs)")
        from wacloud.lake.athena import query as athena_query

        return athena_query(
            args.query,
            database=args.database,
            table=args.table,
            workgroup=args.workgroup,
            first=args.first,
            last=args.last,
        )
    from wacloud.lake.duck import download, query

    if args.dir is not None:
        return query(args.query, args.dir, args.first, args.last)
    from wacloud.infra.aws import s3

    with tempfile.TemporaryDirectory(prefix="wacloud-lake-") as tmp:
        download(s3(), args.bucket, args.first, args.last, Path(tmp))
        return query(args.query, Path(tmp), args.first, args.last)


def main(argv: list[str] | None = None) -> int:
    for row in run(_parser().parse_args(argv)):
        print(json.dumps(row, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
