"""probtrack for Buildbot: the ``ProbtrackIngest`` step (``probtrack_buildbot.steps``).

After ``pip install``, Buildbot finds the step through its ``buildbot.steps`` entry point::

    from buildbot.plugins import steps
    f.addStep(steps.ProbtrackIngest(step_logs={'trial': 'trial'}))
"""

from probtrack_buildbot.steps import ProbtrackIngest

__all__ = ['ProbtrackIngest']
