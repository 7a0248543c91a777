# Two commands do all set-up on a fresh machine:
#   make run   - virtual environment, dependencies, demo extract, dashboard on http://localhost:8501
#   make test  - the same plus test dependencies (and Debian's chromium and ghostscript for browser tests), then the
#                whole suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO := data/demo
DEMO_PARTICIPANTS ?= 50000
PORT ?= 8501

.PHONY: run test install install-dev demo browser reference clean

$(VENV)/.installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(DEMO)/participants.parquet: | $(VENV)/.installed
	$(PY) -m data_schema synthesize --participants $(DEMO_PARTICIPANTS) --seed 2024 --out $(DEMO)

demo: $(DEMO)/participants.parquet

run: install demo
	$(VENV)/bin/streamlit run dashboard/app.py --server.port $(PORT)

# Debian's chromium for the browser tests (no browser download) and Ghostscript to picture the printed report's
# pages; installed when missing and running as root.
browser:
	@{ command -v chromium && command -v gs; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ghostscript >/dev/null; \
	  else echo "chromium or gs is missing: install Debian's chromium and ghostscript packages (sudo apt-get install chromium ghostscript)"; exit 1; fi; }

test: install-dev demo browser
	$(PY) -m pytest

# Recompute the R reference values in tests/reference/expected (needs R: r-base-core r-cran-survival r-cran-epitools).
reference:
	for script in tests/reference/r/*.R; do Rscript $$script || exit 1; done

clean:
	rm -rf $(VENV) data .pytest_cache
