"""Unit tests: pure-Python logic, no chronyd and no compiled extension needed."""
