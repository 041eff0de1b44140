# gridgov: `make run` serves the demo county on http://127.0.0.1:8000; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := gridgov/static/vendor

.PHONY: run test lint check vendor messages browser fonts clean bench

run: $(BIN)/.installed vendor messages fonts
	$(BIN)/gridgov demo

test: $(BIN)/.installed vendor messages browser
	$(BIN)/pytest -n 2 -p no:cacheprovider

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy gridgov

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Front-end libraries come from npm (locked) and are copied, never committed, never loaded from a CDN.
vendor: node_modules/.installed
	mkdir -p $(VENDOR)/leaflet $(VENDOR)/htmx $(VENDOR)/alpinejs $(VENDOR)/echarts $(VENDOR)/hls
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.js.map node_modules/leaflet/dist/leaflet.css node_modules/leaflet/dist/images $(VENDOR)/leaflet/
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/alpinejs/dist/cdn.min.js $(VENDOR)/alpinejs/alpine.min.js
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts/
	cp node_modules/hls.js/dist/hls.min.js $(VENDOR)/hls/

messages: $(BIN)/.installed
	$(BIN)/gridgov compile-translations

# Browser tests drive Debian's Chromium; install it (and a CJK font) when missing and we may.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wqy"; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else echo "browser tests need: sudo apt-get install chromium fonts-wqy-microhei"; fi; fi

# The mediation agreements (PDF) embed a CJK TrueType font; install Debian's when missing and we may.
fonts:
	@if ! fc-list 2>/dev/null | grep -qi "wqy"; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null; \
	  else echo "mediation agreements (PDF) need a CJK font: sudo apt-get install fonts-wqy-microhei"; fi; fi

bench: $(BIN)/.installed
	for f in bench/[!_]*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var/gridgov.sqlite3*
