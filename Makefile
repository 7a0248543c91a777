# Two commands do all set-up on a fresh machine:
#   make run   - virtual environment, dependencies, demo extract, dashboard on http://localhost:8501
#                (make run ENGINE=spark: the same on Apache Spark in local mode, installing the optional extra)
#   make test  - the same plus test dependencies (Debian's chromium and ghostscript for browser tests, pyspark and
#                Debian's Java 17 for the Spark equivalence tests), then ruff (ruff.toml) and the whole suite (which
#                starts and stops a Spark standalone cluster and Connect server on 127.0.0.1: tests/engines/cluster.py)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO := data/demo
DEMO_PARTICIPANTS ?= 50000
PORT ?= 8501
ENGINE ?= duckdb

.PHONY: run test install install-dev demo browser java spark reference clean

$(VENV)/.installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.installed-spark: $(VENV)/.installed requirements-spark.txt
	$(PY) -m pip install --quiet -r requirements-spark.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Rebuilt when the generator, its calibration, its mapping or the table declarations change (a stale extract would
# lack what the loader now derives).
DEMO_SOURCES := $(wildcard data_schema/demo/*.py data_schema/demo/*.toml data_schema/tables/*.toml)
$(DEMO)/participants.parquet: $(DEMO_SOURCES) | $(VENV)/.installed
	rm -rf $(DEMO)
	$(PY) -m data_schema synthesize --participants $(DEMO_PARTICIPANTS) --seed 2024 --out $(DEMO)

demo: $(DEMO)/participants.parquet

# The cohort is checked and loaded into the store before the server starts (with its progress in the terminal), so
# the first page shows numbers in about a second instead of waiting on preparation behind a spinner.
run: install demo $(if $(filter spark,$(ENGINE)),spark)
	$(PY) -m queries prepare --data $(DEMO) --summary
	RLS_ENGINE=$(ENGINE) $(VENV)/bin/streamlit run dashboard/app.py --server.port $(PORT)

# Java 17 from Debian's packages for Spark, installed when missing and running as root.
java:
	@command -v java >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	  else echo "java is missing: install Debian's openjdk-17-jre-headless (sudo apt-get install openjdk-17-jre-headless)"; exit 1; fi; }

# The optional Spark engine: pyspark (with Ibis's pyspark backend) and Java 17.
spark: $(VENV)/.installed-spark java

# Debian's chromium for the browser tests (no browser download) and Ghostscript to picture the printed report's
# pages; installed when missing and running as root.
browser:
	@{ command -v chromium && command -v gs; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ghostscript >/dev/null; \
	  else echo "chromium or gs is missing: install Debian's chromium and ghostscript packages (sudo apt-get install chromium ghostscript)"; exit 1; fi; }

test: install-dev demo browser spark
	$(PY) -m ruff check .
	RLS_REQUIRE_SPARK=1 $(PY) -m pytest

# Recompute the R reference values in tests/reference/expected (needs R: r-base-core r-cran-survival r-cran-epitools).
reference:
	for script in tests/reference/r/*.R; do Rscript $$script || exit 1; done

clean:
	rm -rf $(VENV) data .pytest_cache
