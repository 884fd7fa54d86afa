"""Independence audit: was this checkpoint derived from a reference model?

Flow: :func:`checkpoint.open_checkpoint` (streaming readers, canonical roles) →
:func:`fingerprint.build_fingerprint` (compact, hashed; also the registry format) →
:func:`battery.run_battery` (T0–T5, cheapest first) → :func:`decision.decide` (family-wise error
control, replication, envelope, coherence; verdict classes with a power statement) →
:func:`card.write_artefacts` (verdict.json + sha256, Markdown/HTML card, figures) →
:func:`gate.gate_decision` (the programme's independence gate).  CLI: :mod:`.cli`.
"""
