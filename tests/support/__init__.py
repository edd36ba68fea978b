"""Helpers the tests share (conftest.py files hold fixtures only): paths, subprocesses, the
session services, the log server and the worker as the tests run them."""
