# Consilium's front door: `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` is what a clinician tries first: Django's debug pages (the URL map on any 404,
# settings on a 500) stay off unless asked for with `make run DEBUG=1`; tracebacks of real
# errors still reach the terminal. Links in emails point where the server listens, unless
# BASE_URL says otherwise (a proxy's public name).
DEBUG ?= 0
BASE_URL ?= http://$(HOST):$(PORT)
# The DICOM listener (C-ECHO, C-STORE from a PACS) runs beside Daphne in `make run`.
DICOM_HOST ?= 127.0.0.1
DICOM_PORT ?= 11112
RUN_ENV := DEBUG=$(DEBUG) BASE_URL=$(BASE_URL)
VENV := .venv
VPY := $(VENV)/bin/python
PYENV_ROOT ?= $(HOME)/.pyenv

# The newest Python >= 3.11 that actually runs: pyenv shims on PATH may exist
# without working, so every candidate is asked for its version.
define FIND_PYTHON
for p in python3.13 python3.12 python3.11 python3 $(PYENV_ROOT)/versions/3.*/bin/python3; do \
  v=$$("$$p" -c 'import sys; print("%d.%02d" % sys.version_info[:2] if sys.version_info >= (3, 11) else "")' 2>/dev/null) \
  && [ -n "$$v" ] && echo "$$v $$p"; \
done | sort -r -k1,1 | head -n1 | cut -d' ' -f2
endef
ifeq ($(origin PYTHON), undefined)
PYTHON := $(shell $(FIND_PYTHON))
endif

# $(call ensure_venv,EXTRAS): (re)create .venv for $(PYTHON) and install the
# project with EXTRAS whenever pyproject.toml is newer than the last install.
define ensure_venv
@test -n "$(PYTHON)" || { echo "No Python >= 3.11 found; set PYTHON=/path/to/python3.11+" >&2; exit 1; }
@want=$$("$(PYTHON)" -c 'import sys; print(sys.version)'); \
have=$$("$(VPY)" -c 'import sys; print(sys.version)' 2>/dev/null || true); \
if [ "$$want" != "$$have" ]; then \
  echo "Creating $(VENV) with $(PYTHON) ($$want)"; rm -rf $(VENV); "$(PYTHON)" -m venv $(VENV); \
fi
@stamp=$(VENV)/.installed-$(1); \
if [ ! -f $$stamp ] || [ pyproject.toml -nt $$stamp ]; then \
  $(VPY) -m pip install --quiet --disable-pip-version-check --upgrade pip && \
  $(VPY) -m pip install --quiet --disable-pip-version-check -e ".$(if $(filter-out base,$(1)),[$(1)])" && touch $$stamp; \
fi
endef

.PHONY: help run test lint fmt migrations python venv
help:
	@echo "make run    install, migrate, load demo data and serve on http://$(HOST):$(PORT)"
	@echo "            (HOST=... PORT=... to serve elsewhere; DEBUG=1 for Django's debug pages)"
	@echo "make test   ruff and the whole pytest suite"
	@echo "make fmt    format and autofix with ruff"
	@echo "Python: $(PYTHON)"

python:
	@echo $(PYTHON)

venv:
	$(call ensure_venv,base)

run:
	$(call ensure_venv,base)
	$(RUN_ENV) $(VPY) manage.py migrate --noinput
	$(RUN_ENV) $(VPY) manage.py seed_demo
	@echo "Consilium is starting on http://$(HOST):$(PORT)/ (Ctrl-C stops it; links in emails: $(BASE_URL); DEBUG=$(DEBUG))"
	@echo "DICOM listener on $(DICOM_HOST):$(DICOM_PORT) (a board's PACS inbox names its AE title)"
	exec env $(RUN_ENV) DICOM_LISTENER=1 DICOM_HOST=$(DICOM_HOST) DICOM_PORT=$(DICOM_PORT) $(VPY) -m board.serve -b $(HOST) -p $(PORT) board.asgi:application

test:
	$(call ensure_venv,test)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint:
	$(call ensure_venv,test)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt:
	$(call ensure_venv,test)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations:
	$(call ensure_venv,base)
	$(VPY) manage.py makemigrations

# Consilium's imaging pipeline beside Orthanc (Debian's orthanc and orthanc-dicomweb, never
# installed here): a table, then one JSON line. BENCH_ARGS="--slices 100 --size 256".
.PHONY: bench-imaging
bench-imaging:
	$(call ensure_venv,base)
	$(VPY) bench/imaging.py $(BENCH_ARGS)

# Live-session latency, presenter to 10/50/200 followers, Consilium beside a bare websockets
# broadcast server (the floor): a table, then one JSON line. Redis when REDIS_URL is set.
# BENCH_ARGS="--followers 10,50 --seconds 3 --rate 30".
.PHONY: bench-sync
bench-sync:
	$(call ensure_venv,test)
	$(VPY) bench/sync.py $(BENCH_ARGS)

# The consensus PDF: 30 opinions and 8 phantom key images rendered to PDF/A-3b, no database:
# a table, then one JSON line. BENCH_ARGS="--runs 9 --out /tmp/report.pdf".
.PHONY: bench-report
bench-report:
	$(call ensure_venv,test)
	$(VPY) bench/report.py $(BENCH_ARGS)

# Pages under load (home, case page, board queue, decision panel, series manifest, raw frame)
# at concurrency 10 and 50 beside the /healthz floor, then again with the case grown to 120
# opinions: a table, then one JSON line. PostgreSQL and Redis when DATABASE_URL/REDIS_URL set.
# BENCH_ARGS="--seconds 2 --concurrency 10,50 --opinions 120".
.PHONY: bench-http
bench-http:
	$(call ensure_venv,test)
	$(VPY) bench/http.py $(BENCH_ARGS)
