"""Tests that drive headless Chromium against the live server (marker: browser)."""
