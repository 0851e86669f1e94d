"""Compilation: rewrite pipeline, code generation and the Function object."""
