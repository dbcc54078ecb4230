"""`templates`: the number's message templates, with status, category and quality.

A module of its own, like every resource group, though it has one command for now.
"""

from __future__ import annotations

from wacloud_cli.app import NumberOpt, api, out, pnid, seg
from wacloud_cli.commands._common import Section

section = Section()


@section.command("templates", help="The number's message templates with status, category, quality.")
def templates(number: NumberOpt = None) -> None:
    data = api().get(f"/v1/numbers/{seg(pnid(number))}/templates")
    out().items(data, ["name", "language", "status", "category", "quality"], empty="no templates")
