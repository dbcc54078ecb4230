"""The `wacloud` commands, one module per resource group (docs/cli.md has the reference).

Each module declares its commands on a `Section` (_common.py) and main.py attaches the
sections to the root app, so a module only knows its own resource and the shared
plumbing (app.py, build.py, output.py), never the other commands.
"""
