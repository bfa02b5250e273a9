"""`python -m regledger`: the same command line as the `regledger` script."""

from __future__ import annotations

from regledger.adapters.cli import main

if __name__ == "__main__":
    main()
