# momenti: two commands to start. `make demo` (build the demo workspace and serve it), `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install install-peers install-models install-spark demo serve test lint bench clean-demo architecture i18n audit lock fuzz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Peers we measure against (pm4py is AGPL: only ever installed beside momenti, never imported by it).
install-peers: install
	$(BIN)/pip install -q -r bench/requirements-peers.txt

# The optional local transformer tier of text sentiment (MOMENTI_TEXT_MODEL_DIR): CPU torch first (pinned: the
# machine holds that CPU wheel; a range could pull CUDA builds), then the extra.
install-models: install
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,models]'

# The optional Spark warehouse (MOMENTI_WAREHOUSE_URL=pyspark://local; needs Java 17+): pyspark, ~450 MB.
install-spark: install
	$(BIN)/pip install -q -e '.[dev,spark]'

demo: install
	$(BIN)/momenti demo
	$(BIN)/momenti serve

serve: install
	$(BIN)/momenti serve

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

# ruff, then the layer contracts (pyproject.toml [tool.importlinter], docs/architecture.md).
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

# Known vulnerabilities in the pinned dependencies (requirements.lock), through pip-audit (.ci/audit says when
# no vulnerability service answers from the machine).
audit: install
	bash .ci/audit

# Re-pin requirements.lock from the CI environment (after make install install-peers install-models install-spark).
lock: install
	{ sed -n '1,2p' requirements.lock; $(BIN)/pip freeze --exclude-editable | grep -v '^#' \
	  | sed -E 's/^([A-Za-z0-9_.-]+) @ file:.*\/[A-Za-z0-9_.]+-([0-9][^-]*)\.tar\.gz.*/\1==\2/'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

# The long hostile-input run: schemathesis over the OpenAPI, 90 examples per operation and mode (> 10,000 cases).
fuzz: install
	MOMENTI_FUZZ_EXAMPLES=90 $(BIN)/python -m pytest -q -p no:cacheprovider -s tests/test_api_fuzz.py

bench: install-peers
	$(BIN)/python bench/metrics.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/http_ingest.py
	$(BIN)/python bench/process.py
	$(BIN)/python bench/contact.py
	$(BIN)/python bench/drivers.py
	$(BIN)/python bench/text.py
	$(BIN)/python bench/survey_pages.py
	$(BIN)/python bench/jobs.py
	$(BIN)/python bench/query_cache.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/loop.py
	$(BIN)/python bench/timeline.py

clean-demo:
	rm -rf momenti-data

# Redraw the layer picture of docs/architecture.md from the code (needs Graphviz's dot).
architecture: install
	$(BIN)/python docs/draw_layers.py

# The interface strings (docs/architecture-i18n.md): extract the msgids (N_, NP_ in Python, _ in templates), merge
# them into the it/en catalogs, compile the .mo files (committed: installs need no build step).
LOCALES := src/momenti/core/locales
i18n:
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k NP_:1c,2 --project=momenti --no-location --sort-output -o $(LOCALES)/momenti.pot src/momenti
	$(BIN)/pybabel update -i $(LOCALES)/momenti.pot -d $(LOCALES) -D momenti --no-fuzzy-matching --ignore-pot-creation-date
	$(BIN)/pybabel compile -d $(LOCALES) -D momenti --statistics
