"""Realm's shared data layer: every Cloud Function imports what it needs from here."""

import gc

# A function's first import of realm comes right after functions-framework and Flask have made
# ~31,000 objects that live as long as the process, and right before pydantic, pg8000 and the
# API models add ~22,000 more. Frozen, the first are never traversed again, and no full
# collection (~20 ms over all of them) falls due in the load or the first request. Nothing is
# lost: none of them is garbage when frozen (docs/decisions/0062).
gc.freeze()
