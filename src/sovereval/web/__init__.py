"""The web application: expert panel, user chat sites and the blind arena on the store.

Start it with :func:`sovereval.web.cli.serve` (``sovereval web serve``); build it with
:func:`sovereval.web.app.create_app`.
"""
