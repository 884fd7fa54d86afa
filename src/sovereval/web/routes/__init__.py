"""Route modules, one per audience: auth (public), admin, panel (experts), chat (users), arena (jurors)."""
