"""The kit's core: what the checker on the host and the reference solutions in
the guest both need, so it uses the standard library only (and tomli on
Python 3.10, which has no tomllib).

The guest has no virtualenv and none of the checker's libraries: provision/
imports these modules straight from the shared folder. tests/unit/
test_core_imports.py walks this folder and refuses an import from anywhere
else, the rest of the `lab` package included.
"""
