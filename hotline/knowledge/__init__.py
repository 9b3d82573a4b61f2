"""Answers to common general legal questions (issue 10): the knowledge base as data, its retriever, outcomes.

`faq.yaml` holds the entries, `loader` validates them, `search` finds the entry a general question asks
about (and refuses personal stories), `outcome` records an inquiry the bot resolved on its own, `config`
is the `knowledge:` section of config/hotline.yaml. `proposals` is the operators' proposals and the
supervisors' approvals (database), `served` the retriever over faq.yaml + the approved entries, `texts`
the operator-facing sentences of proposals. Nothing is imported here, so reading the configuration
does not load scikit-learn.
"""
