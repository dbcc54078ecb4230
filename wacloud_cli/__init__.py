"""`wacloud`, the command line for the operator API (docs/cli.md).

It talks only HTTP to the API (httpx); it never imports the Lambda code, so it runs
on any machine with the project installed (`pip install .` or `make setup`).
"""

__version__ = "0.1.0"
