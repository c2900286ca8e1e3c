"""The `dockyard` command line."""
