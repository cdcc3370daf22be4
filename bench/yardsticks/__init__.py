"""Services that are not Realm's, measured beside it by ``bench.compare`` (DESIGN §10): the
same list query over the same database, written the way each framework's users would write it.
Nothing here is deployed or imported by the ``realm`` package."""
