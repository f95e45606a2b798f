"""`python -m evals` runs the same command line as `python -m evals.run`."""

from evals.run import main

if __name__ == "__main__":
    raise SystemExit(main())
