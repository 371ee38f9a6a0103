"""The one base of every error Director explains to a person.

Each error's message says what went wrong and what to do about it, so a surface (the CLI, the studio) shows
it as it is and catches `DirectorError` alone. It lives at the bottom of the house, in `tools/`, so that
backends, memory and agents can all derive from it; `agents.errors` hands it to the surfaces.
"""


class DirectorError(Exception):
    """Something a person can act on: a bad input, a missing model or key, a full disk, a refused note."""
