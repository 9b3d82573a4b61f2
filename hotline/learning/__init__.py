"""The NLU inbox: the bot learns from the people who correct it (issue 11).

Every category an operator corrects on a ticket (desk `/category`, CLI `tickets category`) and every
category a citizen picks from the clarification buttons is kept as a labelled example
(`inbox.record_example`), PII-masked, with its source. A supervisor approves or rejects them
(`python -m hotline nlu review`), and `nlu export` writes the approved ones to `nlu/learned/examples.yml`,
which the next `make train` picks up (the model cache key hashes `nlu/` recursively).
"""
