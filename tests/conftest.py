"""Puts tests/ on sys.path so that helpers shared by several areas (browserkit: headless chromium) import as
top-level modules, like each area's own kit (slotkit, cloudkit)."""
