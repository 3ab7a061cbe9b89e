# Targets mirror the README's two commands and CI, so humans and CI run the same thing.
.PHONY: run test ci

run:
	python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/vhhub demo && .venv/bin/vhhub serve

test:
	python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m pytest

ci:
	bash .ci/run
