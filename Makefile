# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
WORKDIR ?= runs
# CONTRACT=data/yours.yaml runs any contract; unset, the CLI uses pyproject.toml's
# [tool.pipelines] default-contract.
CONTRACT ?=
WITH_CONTRACT := $(if $(CONTRACT),--contract $(CONTRACT))

.PHONY: setup lock run replay project report ui screenshots tensorboard test test-quick bench bench-scale bench-serve bench-speedups lint format contract-artifacts clean

setup:  ## create .venv from the locks of the stacks in stacks.toml (returns at once when already done)
	@scripts/setup.sh

lock:  ## recompile requirements.lock and requirements/<stack>.lock from pyproject.toml (needs PyPI)
	@scripts/lock.sh

run: setup  ## the main job: every stack's pipeline on the contract's data, then the report (runs/)
	$(PY) -m pipelines all $(WITH_CONTRACT) --workdir $(WORKDIR)

run-%: setup  ## one stack's pipeline alone: make run-tfx, make run-lightning
	$(PY) -m pipelines $* $(WITH_CONTRACT) --workdir $(WORKDIR)

replay: setup  ## the day-two scenario (data/scenarios/penguins.yaml) replayed into a fresh $(WORKDIR)/replay (replaces the last replay)
	rm -rf $(WORKDIR)/replay
	$(PY) -m pipelines replay --scenario data/scenarios/penguins.yaml --workdir $(WORKDIR)/replay

report: setup  ## the comparison report from MLflow: $(WORKDIR)/report/<dataset>/
	$(PY) -m pipelines report $(WITH_CONTRACT) --workdir $(WORKDIR)

ui: setup  ## the MLflow UI on http://127.0.0.1:5000 over the runs in $(WORKDIR)
	$(PY) -m pipelines ui $(WITH_CONTRACT) --workdir $(WORKDIR)

screenshots: setup  ## every stack run twice against a real MLflow server, its UI pages as PNGs in docs/images/ (needs chromium)
	$(PY) -m tests.review --out docs/images

tensorboard: setup  ## TensorBoard on http://127.0.0.1:6006 over every stack's training logs in $(WORKDIR)
	$(PY) scripts/serve_tensorboard.py --logdir $(WORKDIR)/tensorboard --host 127.0.0.1

test: setup  ## every test, the end-to-end runs included
	$(PY) -m pytest

test-quick: setup  ## the fast tests only
	$(PY) -m pytest -m "not e2e"

bench: setup  ## each pipeline against its frameworks' own minimal use; $(WORKDIR)/bench/bench.md
	$(PY) -m benchmarks.bench --workdir $(WORKDIR)

bench-scale: setup  ## each pipeline on 10k, 100k and 1M generated rows; $(WORKDIR)/bench/scale.md
	$(PY) -m benchmarks.scale --workdir $(WORKDIR)

bench-serve: setup  ## every champion behind every server under 1, 8 and 32 clients; $(WORKDIR)/bench/serve.md
	$(PY) -m benchmarks.serve $(WITH_CONTRACT) --workdir $(WORKDIR)

bench-speedups: setup  ## each pipeline cold with each speed-up of its run machinery off; $(WORKDIR)/bench/speedups.md
	$(PY) -m benchmarks.speedups --workdir $(WORKDIR)

project: setup  ## a new project from this template: make project DEST=../my-project (copier asks the rest)
	@[[ -n "$(DEST)" ]] || { echo "make project: say where, e.g. make project DEST=../my-project" >&2; exit 1; }
	$(VENV)/tools/copier/bin/copier copy --trust . "$(DEST)"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

contract-artifacts: setup  ## regenerate each stack's companion of every data/*.yaml (stacks.toml)
	$(PY) -m components.shared.companions data/*.yaml

clean:
	rm -rf $(WORKDIR)
