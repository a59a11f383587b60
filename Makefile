# The four commands of the README: setup (what a fresh machine lacks), up, test, down.
VENV   := .venv
PYTHON := $(VENV)/bin/python
EXTRAS := hub,sim,datacentre,singleuser,test

.PHONY: setup host venv images oidc-node browser-node up down status test test-unit test-e2e bench lock docs lessons translations

setup: host venv images oidc-node browser-node

host:
	sh swarm/setup-host.sh

venv: $(VENV)/.installed

# Re-installed when the pins change; the lock makes it the same build every time.
$(VENV)/.installed: pyproject.toml requirements/lock.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q -c requirements/lock.txt -e ".[$(EXTRAS)]"
	touch $@

# The npm oidc-provider the login tests run as their second provider, as pinned.
OIDC_NODE := tests/support/oidc/node
oidc-node: $(OIDC_NODE)/node_modules/.package-lock.json
$(OIDC_NODE)/node_modules/.package-lock.json: $(OIDC_NODE)/package-lock.json
	cd $(OIDC_NODE) && npm ci --no-audit --no-fund

# axe-core, the accessibility check the browser tests run in each public page, as pinned.
BROWSER_NODE := tests/support/browser
browser-node: $(BROWSER_NODE)/node_modules/.package-lock.json
$(BROWSER_NODE)/node_modules/.package-lock.json: $(BROWSER_NODE)/package-lock.json
	cd $(BROWSER_NODE) && npm ci --no-audit --no-fund

images: host venv
	$(PYTHON) -c "from pathlib import Path; from astrohub import courses, images, settings; s = settings.load(secrets_dir='/nonexistent'); images.build(Path('.'), s.image_tag, courses=courses.course_ids(s))"

up: setup
	$(VENV)/bin/astrohub up --no-build

down:
	$(VENV)/bin/astrohub down

status:
	$(VENV)/bin/astrohub status

# The whole suite: unit, integration (real processes) and e2e (a real Swarm).
test: setup
	$(PYTHON) -m pytest

test-unit: venv
	$(PYTHON) -m pytest tests/unit

test-e2e: setup
	$(PYTHON) -m pytest tests/e2e

bench: setup
	$(PYTHON) benchmarks/spawn.py

lock:
	sh requirements/make-lock.sh

# The masterclasses' student and teacher notebooks, built from their sources as the user image builds them.
lessons: venv
	rm -rf build/lessons
	PYTHONPATH=src $(PYTHON) -m servicekit.lessons masterclasses build/lessons/students build/lessons/teachers

docs: venv
	$(VENV)/bin/astrohub settings-doc

# New and changed strings into the catalogues (src/astrohub/locale), then what is left to translate.
translations: venv
	$(PYTHON) -m astrohub.translations update
