"""Test helpers: clients, servers, mail, factories."""
