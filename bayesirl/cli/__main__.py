"""``python -m bayesirl.cli``: the same as the ``bayesirl`` command."""

from bayesirl.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
