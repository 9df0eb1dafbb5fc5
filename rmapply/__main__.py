"""``python -m rmapply``: the same as the ``rmapply`` console script."""

from rmapply.cli import main

if __name__ == "__main__":
    main()
