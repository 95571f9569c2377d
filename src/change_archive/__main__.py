"""``python -m change_archive``: the operator CLI (same as ``pipeline``)."""

from change_archive.cli import main

if __name__ == "__main__":
    main()
