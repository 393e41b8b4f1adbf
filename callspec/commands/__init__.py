"""Every command as a library call: a request in, a result out that owns its exit code.

The click layer (:mod:`callspec.cli`) copies options into a request, calls one
function here, writes the result through its reporters and returns
``result.exit_code()``; nothing below it prints, exits or imports click.

- :mod:`~callspec.commands.findings`: the result of a command that finds
  problems (``validate``, ``check``, ``render``) and the one way to print it,
  in text, JSON or GitHub's annotations;
- :mod:`~callspec.commands.validate`, :mod:`~callspec.commands.check`,
  :mod:`~callspec.commands.render`: those commands;
- :mod:`~callspec.commands.report`: ``callspec report``, any format of a saved report;
- ``run`` is :func:`callspec.execute.execute`, whose result is the run's
  :class:`~callspec.results.RunResult`, rendered by :mod:`callspec.report`.
"""
