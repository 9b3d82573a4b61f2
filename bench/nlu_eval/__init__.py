"""Held-out NLU benchmark: our Rasa pipeline vs. a TF-IDF baseline, on the same data.

Why this exists: intent errors are the bot's most expensive failure (a citizen whose
unpaid-wage message is read as "other_legal" is routed to the wrong legal-aid queue).
We need one number we can trust when the pipeline or the training data changes, and
a yardstick telling us whether our pipeline earns its cost at all. So:

* training data = every Rasa NLU YAML under ``--train-dir`` (default ``nlu/``);
* evaluation data = ``--eval-dir`` (default ``tests/nlu_eval/``), written separately
  and NEVER used for training (see its README). Exact text overlap between the two
  is reported as leakage;
* system (b), always run: scikit-learn TF-IDF over character 1-3-grams + logistic
  regression, trained here on the training data -- cheap, no segmentation, robust
  to typos, and a hard baseline for short Chinese messages;
* system (a), optional: the trained Rasa model, parsed either by a subprocess in
  the engine venv (``--rasa-python`` + ``--model``; runs ``bench/_rasa_parse.py``,
  nothing to start first) or by an already running Rasa server's
  ``/model/parse`` (``--rasa-url``; this package starts nothing).

Printed: per-intent precision/recall/F1/support for both systems side by side,
macro-F1 and accuracy (overall, legal categories, conversational intents, and
messages flagged ``mixed`` in the eval set), top confusions, optional full
confusion matrices, per-message latency p50/p90, a fallback-threshold sweep, three
decision views and a paired bootstrap. ``--json`` writes all of it, plus every
prediction, to a file so runs can be diffed.

Modules: ``data`` (loading the YAML), ``systems`` (baseline and Rasa predictions),
``scoring`` (sklearn.metrics per system), ``decisions`` (fallback rule, views,
bootstrap), ``report`` (printing and the JSON file), ``cli`` (arguments and the run).

Run: ``.venv/bin/python -m bench.nlu_eval --help``. Exit codes: 0 when the evaluation
ran (whatever the scores); 1 when a requested Rasa run produced no predictions (so CI
notices a broken model instead of a silent baseline-only report); 2 for usage errors.

Runs in the app venv (Python 3.11: scikit-learn, numpy, PyYAML, httpx). The engine
venv is only ever used through the subprocess.
"""
