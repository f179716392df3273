"""Putting the stack right: backup and restore, rebuilding a table, restarting a program."""
