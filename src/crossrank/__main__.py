"""``python -m crossrank``: the ``crossrank`` command line, for when the script is not on PATH.

Example:
    $ python -m crossrank --help
    $ python -m crossrank rerank "How do I reset my password?" "Click 'Forgot password'."
"""

from crossrank.cli import main

if __name__ == "__main__":
    main()
