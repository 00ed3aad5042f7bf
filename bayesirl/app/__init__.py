"""The application layer: run folders, the fit / report / query jobs and their plots.

The command line (:mod:`bayesirl.cli`) only parses arguments and calls into this package.
"""
