"""runwatch.engine: a local Run API (FastAPI + uvicorn + SQLite) that runs real code.

This package's top level imports nothing heavy: the supervisor and handler runner processes import
submodules of it, and they must start fast.
"""
