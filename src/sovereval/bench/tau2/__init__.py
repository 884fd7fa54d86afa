"""τ²-bench (airline and retail) as an episode: agent model, user model, the project's domain tools.

Reproduced (from the pinned data in ``shared/benchmarks/tau2_bench`` — tasks, databases, policies — and
from reading τ²-bench's source; nothing of its code is copied):

* **Domains and tools**: every airline (14) and retail (16) agent tool, re-implemented with the
  original's arguments, checks, error messages, prices, ids, fixed clock and quirks (see
  :mod:`.airline`, :mod:`.retail`); arguments validated by pydantic as τ²'s ``Tool`` does; results and
  ``"Error: ..."`` messages as τ² sends them; tool schemas as pydantic JSON schemas (τ²'s
  ``openai_schema``).  The database is the shipped ``db.json`` (sha256-checked), parsed once and never
  modified; each environment works on copy-on-access records (:mod:`.db`).
* **Agent**: τ²'s ``LLMAgent`` system prompt (instruction + ``<policy>`` = the domain's ``policy.md``),
  the tools as OpenAI ``tools``, the fixed greeting "Hi! How can I help you today?".
* **Simulated user**: τ²'s user-simulator system prompt (``simulation_guidelines.md`` + the task's
  scenario rendered as ``str(UserScenario)``), the conversation with roles flipped, stop tokens
  ``###STOP###`` / ``###TRANSFER###`` (user stop) and ``###OUT-OF-SCOPE###`` (aborted).
* **Orchestration**: half-duplex turns, max 200 steps and 10 tool errors (τ²'s defaults), termination
  reasons and their effect on the reward.
* **Reward**: τ²'s ``evaluate_simulation`` (ALL): 0 unless the user or agent stopped; else the product of
  the task's reward basis — DB (end state equals the gold actions replayed on a fresh copy; airline
  passengers compared without order, as τ²'s airline hash; not evaluated when a state-changing gold
  action fails), COMMUNICATE (substring rule), ACTION (``compare_args`` rule), NL_ASSERTION (τ²'s judge
  prompt, one verdict per assertion required; ``tau2_judged`` only).

Not reproduced: the telecom domain (its tasks are not in the pinned copy) and every user-tool /
dual-control feature; tasks with an ``initial_state`` (none in airline/retail) and ENV_ASSERTION rewards
(not used by these domains); voice, streaming, solo mode, personas; τ²'s LLM-judged ``communicate_info``
for non-English runs; pass^k (one trial per item; k trials need k epochs and an aggregation the
programme does not define yet); τ²'s exact tool-output key order (pydantic field order) — the JSON
carries the same fields and values in the database file's order.  Deliberate differences: tool-call ids
are assigned by the episode (``call_<n>``) so requests are deterministic; malformed tool-call arguments
become an error tool message instead of crashing the run; a judge answer that is not one JSON verdict
per assertion makes the item unscorable (``JudgeError``) rather than being read as "all met"; without a
judge (``tau2``), NL_ASSERTION is recorded as not evaluated and left out of the product (the declaration
``tau2-retail-db`` says so — it is not τ²'s retail number).
"""
