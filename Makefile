# The venv pins a torch/torchvision pair that loads beside timm (see shared/notes/BACKBONES.md);
# pyproject keeps a range so users can bring their own.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_PIN := torch==2.14.1 torchvision==0.29.1
FACENET_PIN := facenet-pytorch==2.6.0

.PHONY: install demo quickstart lint test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	@echo "[1/4] creating $(VENV) (about 2 minutes in all on 2 cores)"
	$(PYTHON) -m venv $(VENV)
	@echo "[2/4] installing $(TORCH_PIN)"
	$(PY) -m pip install --quiet $(TORCH_PIN)
	@echo "[3/4] installing mmadapt[recipe,export,test,docs] (editable) and its dependencies"
	$(PY) -m pip install --quiet -e ".[recipe,export,test,docs]" $(TORCH_PIN)
	@echo "[4/4] installing $(FACENET_PIN) (MTCNN face detector)"
	# facenet-pytorch's pins would downgrade torch/numpy; its MTCNN weights ship in the wheel.
	$(PY) -m pip install --quiet --no-deps $(FACENET_PIN)
	touch $@

demo: install
	@echo "mmadapt demo: writes a synthetic audio-visual dataset, pretrains two small ViTs, trains the adapters"
	$(VENV)/bin/mmadapt demo

quickstart: install
	$(PY) examples/quickstart.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install
	@echo "running the test suite (about 8 minutes on 2 cores)"
	$(PY) -m pytest -q -p no:cacheprovider

bench: install
	$(PY) benchmarks/run_all.py --device cpu

clean:
	rm -rf $(VENV) build dist src/*.egg-info
