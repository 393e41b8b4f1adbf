"""The GitHub Action's step: ``action.yml`` runs ``python -m callspec.action``.

The step reads the action's inputs from the environment (:mod:`.inputs`: any
input it cannot parse is a usage error, exit 2, and callspec is not started),
runs callspec once in a child process with every argument as one argv item
(no shell ever sees an input), and writes the step's outputs (:mod:`.outputs`:
the summary's counts, and what a pager cares about, read from the JSON report
by :mod:`.verdicts`: destinations answered or not, each escalation's verdict).
The action installs callspec in a virtual environment of its own first; this
package is that callspec's, so the step and the callspec it runs are one version.
"""
