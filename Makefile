# hypewatch: every target creates .venv itself, so a fresh clone needs only Python >= 3.11.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HW     := $(VENV)/bin/hypewatch
STAMP  := $(VENV)/.installed

.PHONY: install run demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "hypewatch needs Python 3.11 or newer; run make with PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	-$(HW) harvest
	$(HW) status

demo: $(STAMP)
	$(HW) demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/harvest.py
	$(PY) bench/score.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
