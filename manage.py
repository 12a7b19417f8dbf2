#!/usr/bin/env python
"""Developer entry point; operators use the installed `zhengwu` command (same thing)."""

from zhengwu.cli import main

if __name__ == "__main__":
    main()
