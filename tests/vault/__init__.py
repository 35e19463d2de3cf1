"""Tests of the vault services (package so file names may repeat those of other test folders)."""
