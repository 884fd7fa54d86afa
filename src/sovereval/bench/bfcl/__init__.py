"""BFCL (Berkeley Function Calling Leaderboard, v4 data) — the single-turn AST categories.

What is reproduced (from the pinned ``bfcl-eval`` 2026.3.23 data in ``shared/benchmarks/bfcl``; the
checker was re-implemented from reading BFCL's ``ast_checker`` and type converters, not copied):

* **Categories**: simple (python, java, javascript), multiple, parallel, parallel_multiple, irrelevance,
  live_simple, live_parallel, live_parallel_multiple, live_relevance — every file of the pinned copy
  that is scored from data alone.  ``live_multiple`` and ``live_irrelevance`` were not copied (size);
  multi-turn, memory, web-search and format-sensitivity categories need BFCL's executable back ends.
* **Function calling (FC) mode** (``bfcl-*``): the function docs get BFCL's language hints (Java and
  JavaScript parameters become strings "in string representation"), then BFCL's ``convert_to_tool`` type
  mapping (``dict`` -> ``object``, ``float`` -> ``number`` + "This is a float type value.", ``tuple`` ->
  ``array``, ``any`` -> ``string``, Java/JS types...) and go to the model as OpenAI ``tools``; dots in
  function names become underscores (OpenAI's name pattern), and the checker expects the converted names,
  as BFCL does for OpenAI-style models.  The answer is the response's ``tool_calls`` (arguments parsed as
  JSON); a text answer is "no call".
* **Prompting mode** (``bfcl-*-prompt``): no ``tools``; BFCL's classic system prompt
  (``DEFAULT_SYSTEM_PROMPT``: "...put it in the format of [func_name1(params_name1=params_value1...)]...",
  function docs as indented JSON) is put first (prepended to a question's own system message), and the
  answer text is parsed as a Python list of calls with :mod:`ast` — never ``eval``: BFCL evaluates
  binary operations (``2*3``) with ``eval``; here only arithmetic on numeric literals and string
  concatenation are folded, anything else fails to decode (as a name would in BFCL).  Java and
  JavaScript answers are parsed by a bracket- and quote-aware splitter that keeps each argument's source
  text (BFCL uses tree-sitter); a top-level string literal loses its quotes, as in BFCL.
* **Scoring** (:mod:`.checker`): BFCL's AST match — function name, required parameters present, no
  parameter outside the doc and the possible answers, each value's type (Python: int accepted for float;
  Java/JS: the value must be a string, converted by BFCL's converters, quirks included) and value among the
  possible answers with BFCL's string standardisation (spaces and ``,./-_*^`` removed, lower case, ``'``
  -> ``"``), list/dict/list-of-dict checks, "" marking an optional parameter; parallel categories match
  calls to answers in any order (greedy, as BFCL); irrelevance passes when no call is decoded, relevance
  when at least one is.

Not reproduced: BFCL's per-model handlers (chat templates, model-specific decoding), the newer
format-sensitivity prompt variants, and its temperature of 0.001 (declarations here are greedy: 0).
"""
