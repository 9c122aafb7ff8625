"""Trio server for the tri-party signaling protocol."""
