"""Realm's shared data layer: every Cloud Function imports what it needs from here."""

import gc

# A function's first import of realm comes right after functions-framework and Flask are loaded,
# and right before pydantic, pg8000 and the API models add some hundred thousand objects that
# live as long as the process. Frozen, the objects made so far are no longer traversed, so the
# collector does not run a full collection over all of them in the middle of the cold start
# (one, ~20 ms, otherwise; see docs/benchmarks.md). Nothing is lost: they are never garbage.
gc.freeze()
