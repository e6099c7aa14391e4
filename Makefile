# The venv pins a torch/torchvision pair that loads beside timm (see shared/notes/BACKBONES.md);
# pyproject keeps a range so users can bring their own.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_PIN := torch==2.14.1 torchvision==0.29.1
FACENET_PIN := facenet-pytorch==2.6.0

.PHONY: install demo quickstart test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_PIN)
	$(PY) -m pip install --quiet -e ".[recipe,test]" $(TORCH_PIN)
	# facenet-pytorch's pins would downgrade torch/numpy; its MTCNN weights ship in the wheel.
	$(PY) -m pip install --quiet --no-deps $(FACENET_PIN)
	touch $@

demo: install
	$(VENV)/bin/mmadapt demo

quickstart: install
	$(PY) examples/quickstart.py

test: install
	$(PY) -m pytest -q -p no:cacheprovider

bench: install
	$(PY) benchmarks/run_all.py --device cpu

clean:
	rm -rf $(VENV) build dist src/*.egg-info
