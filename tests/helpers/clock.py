"""A clock tests can move."""
