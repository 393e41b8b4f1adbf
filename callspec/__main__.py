"""``python -m callspec``: the same entry point as the ``callspec`` script."""

from callspec.cli import main

if __name__ == "__main__":
    main()
