# The two commands of the README. Both do all set-up on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The home practice page's web assets (MediaPipe tasks-vision, pinned with its integrity hash
# in web/package-lock.json), from the npm registry at set-up time: never committed, never a CDN.
WEB_STAMP := web/node_modules/.installed

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

$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is needed for the home practice page (apt-get install npm)"; exit 1; }
	cd web && npm ci --no-audit --no-fund --ignore-scripts
	touch $(WEB_STAMP)

install: $(STAMP) $(WEB_STAMP)

## make demo: install, fill a demo clinic database, start home practice and the dashboard
demo: $(STAMP) $(WEB_STAMP)
	$(VENV)/bin/mindmove demo

## make test: install into .venv and run the whole suite
test: $(STAMP) $(WEB_STAMP)
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info web/node_modules
