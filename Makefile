# hypewatch: every target creates .venv itself, so a fresh clone needs only Python >= 3.11.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HW     := $(VENV)/bin/hypewatch
STAMP  := $(VENV)/.installed

.PHONY: install run demo test bench fit judge browser clean

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
	$(HW) demo $(DEMO_ARGS)

# The browser test drives Debian's chromium with Playwright (no browser download).
# As root (CI), install it with apt-get when missing; otherwise the browser test
# says how to install it and is skipped.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium for the browser test..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "could not install chromium: the browser test will be skipped"; \
	else echo "no /usr/bin/chromium: run 'sudo apt-get install chromium' to include the browser test"; fi

test: $(STAMP) browser
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/harvest.py
	$(PY) bench/score.py

# Refit the scorer's weights (scoring/weights.json) on the labelled sets in ../shared, then
# print the evaluation report. Needs scikit-learn, which the test extra installs.
fit: $(STAMP)
	$(PY) -m scoring.fit

judge: $(STAMP)
	$(PY) bench/judge.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
