# One command to run, one to test; each sets up everything it needs first.
.PHONY: run test setup train services lint types validate unit integration conversations bench sbom clean help

help:  ## show targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

setup:  ## build both runtimes from pinned requirements (.venv app, .venv-rasa engine)
	bash scripts/setup_venvs.sh

train: setup  ## train the Rasa model if its inputs changed (cached by hash)
	.venv/bin/python scripts/train_model.py

run: train  ## start engine + action server + console chat (Telegram if TELEGRAM_BOT_TOKEN is set)
	.venv/bin/python -m stack

test: train  ## everything CI runs: lint, types, data validation, unit + integration + conversation tests
	bash scripts/test.sh

services:  ## install PostgreSQL, Redis and nginx binaries (Debian) for the distributed integration test
	bash scripts/services.sh

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

types: setup
	.venv/bin/mypy

validate: setup
	.venv-rasa/bin/rasa data validate --data nlu --domain domain.yml --config config.yml --fail-on-warnings

bench: train  ## benchmarks (print figures next to their baselines; not part of the tests)
	.venv/bin/python -m bench.nlu_eval --model models/current.tar.gz --rasa-python .venv-rasa/bin/python
	.venv/bin/python -m bench.nlu_eval --model models/current.tar.gz --rasa-python .venv-rasa/bin/python \
		--eval-dir tests/nlu_eval_fresh
	.venv/bin/python bench/bench_gateway.py --start --turns 200 --concurrency 1,8,16
	.venv/bin/python bench/bench_reports.py --sizes 10k,100k
	.venv/bin/python -m bench.conversation_success --per-category 0
	.venv/bin/python -m bench.bench_burst --sizes 1,20,50

TOOLS := var/tools
sbom: setup  ## CycloneDX JSON SBOM of both runtimes -> var/sbom/ (tool in its own venv, var/tools)
	test -x $(TOOLS)/bin/cyclonedx-py || { .venv/bin/python -m venv $(TOOLS) && \
		$(TOOLS)/bin/pip install -q "cyclonedx-bom==7.5.0" -c requirements-tools.lock; }
	mkdir -p var/sbom
	$(TOOLS)/bin/cyclonedx-py environment --of JSON --output-reproducible --pyproject pyproject.toml \
		-o var/sbom/app.cdx.json .venv/bin/python
	$(TOOLS)/bin/cyclonedx-py environment --of JSON --output-reproducible \
		-o var/sbom/engine.cdx.json .venv-rasa/bin/python
	@echo "SBOM: var/sbom/app.cdx.json (app, .venv) var/sbom/engine.cdx.json (engine, .venv-rasa)"

clean:  ## remove generated things (venvs, models, local database, reports)
	rm -rf .venv .venv-rasa models var results .rasa
