"""``python -m local.openai_standin --port 8090``: the stand-in on its own, until Ctrl-C.

Point a client at ``http://127.0.0.1:8090/v1`` with any API key.
"""

from __future__ import annotations

import argparse
import time

from .server import Standin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.openai_standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    standin = Standin(args.host, args.port).start()
    print(f"OpenAI stand-in at {standin.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
