"""Alembic migrations of the store; run by :class:`sovereval.store.Store` on open (``upgrade head``)."""
