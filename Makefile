# The two set-up commands: `make run` (the main job on the local stack) and `make test`.
PY := .venv/bin/python

.PHONY: run test test-unit lint up down status worker load dead-letters venv

venv: .venv/.installed
.venv/.installed: requirements.txt scripts/bootstrap.sh
	scripts/bootstrap.sh

run: venv  ## start the local stack and its workers, show every capability on real media, write the report
	$(PY) -m local_stack up
	$(PY) -m loadgen demo
	@echo "the stack is still up: 'make down' stops it, 'make status' shows it"

test: venv lint  ## the test suite: unit tests, then tests against real servers it starts on its own ports
	$(PY) -m pytest

test-unit: venv  ## the server-free tests alone (tests/unit/, about a minute and a half)
	$(PY) -m pytest tests/unit

lint: venv
	.venv/bin/ruff check .

up: venv  ## the local stack and the pipeline's workers, e.g. make up WORKERS=2 (per stage)
	$(PY) -m local_stack up --workers $(or $(WORKERS),1)

worker: venv  ## the pipeline's workers alone: the archiver and WORKERS per stage
	$(PY) -m local_stack worker --workers $(or $(WORKERS),1)

down: venv
	$(PY) -m local_stack down

status: venv
	$(PY) -m local_stack status

load: venv  ## e.g. make load COUNT=200 RATE=5 (needs `make up`)
	$(PY) -m loadgen run --count $(or $(COUNT),50) --rate $(or $(RATE),2)

dead-letters: venv  ## list the dead letters; re-drive with `python -m jobs.dead_letters redrive ...`
	$(PY) -m jobs.dead_letters list
