# CareTeam: `make run` serves the app with a worker, beat and a mail catcher;
# `make test` runs the whole suite against SQLite and a real PostgreSQL, Redis and Chromium.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export FLASK_APP := wsgi

.PHONY: run test lint format clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	@touch $(STAMP)

run: $(STAMP)
	@mkdir -p instance/mail
	FLASK_DEBUG=1 $(BIN)/flask db upgrade
	FLASK_DEBUG=1 $(BIN)/flask careteam seed-demo --if-empty
	@echo ""
	@echo "  CareTeam:       http://127.0.0.1:5000"
	@echo "  Caught mail:    http://127.0.0.1:5000/dev/mail"
	@echo "  Stop with Ctrl-C (stops the web app, worker, beat and mail catcher)."
	@echo ""
	@# Demo only: providers may skip two-factor here (admins never can; see seed-demo's output).
	FLASK_DEBUG=1 CARETEAM_DEV_MAILBOX=instance/mail CARETEAM_TWO_FACTOR_REQUIRED_FOR_PROVIDERS=false \
		PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho --procfile Procfile.dev start

# Two test processes (pytest-xdist): each starts its own PostgreSQL and Redis.
TEST_WORKERS ?= 2

test: $(STAMP)
	bash scripts/ensure-test-deps.sh
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# bandit: every accepted finding carries an inline "# nosec <test id>" beside its reason.
# lint-imports: the layer contracts in pyproject.toml ([tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r careteam worker wsgi.py
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance test-artifacts .pytest_cache .ruff_cache
