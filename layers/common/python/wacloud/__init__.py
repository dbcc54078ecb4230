"""wacloud: the runtime core every Lambda function of the stack imports.

Submodules are imported explicitly by what needs them (never re-exported here), so
a function's cold start pays only for the modules its own path touches.
"""

__version__ = "0.1.0"
