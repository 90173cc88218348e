# The two commands of the README. Both do all set-up on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,belt,postgres]"
	@# neurokit2's wheel installs its own test suite as a top-level "tests" package, which
	@# shadows this repository's tests/ (imported as tests.conftest): remove that copy.
	$(PY) -c "import importlib.util as u, pathlib, shutil; s = u.find_spec('tests'); \
	p = pathlib.Path(s.origin).parent if s and s.origin else None; \
	p and (p / 'tests_ecg.py').exists() and shutil.rmtree(p)"
	touch $(STAMP)

install: $(STAMP)

## make demo: install into .venv, fill a demo clinic database and start the dashboard
demo: $(STAMP)
	$(VENV)/bin/mindmove demo

## make test: install into .venv and run the whole suite
test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
