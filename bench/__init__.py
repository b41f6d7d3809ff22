"""hookpool's benchmark: run `python -m bench` (or `python bench/run.py`); see run.py."""
