"""The `sebench` command line: one module per command, imported only when used."""
