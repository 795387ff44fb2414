"""Benchmarks of ProfileExpand (`make bench`, `python -m bench`) and its runs on a Lambda runtime."""
