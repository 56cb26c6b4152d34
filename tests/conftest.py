"""Puts tests/ on sys.path so that helpers shared by several areas (browserkit: headless chromium) import as
top-level modules, like each area's own kit (slotkit, cloudkit)."""

import os

# Many tests (network, slots, stacks, capacity) match the CLI's English framing of errors ("error:", "nothing
# was written"); egov's messages are zh-CN by default, so the suite asks for English here — before any test
# runs and in os.environ, so that subprocesses inherit it. tests/egov/test_cli_lang.py unsets it to prove the
# default.
os.environ["EGOV_LANG"] = "en"
