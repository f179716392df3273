"""Starting and stopping the stack, natively or in containers, and what it needs first: images,
jars, secrets and the database schema."""
