"""Buildbot steps that record every build in probtrack.

Install the package on the master (``pip install probtrack-buildbot``, or ``pip install
contrib/buildbot`` from probtrack's repository): the step is registered under Buildbot's
``buildbot.steps`` entry point, so ``master.cfg`` uses it as ``steps.ProbtrackIngest(...)``, the
last step of a factory; ``contrib/buildbot/README.md`` has the whole ``master.cfg`` snippet.

Where it runs: the step is a ``ShellMixin`` + ``BuildStep``, so ``probtrack ingest`` runs **on the
worker**, in the build's working directory, where the reports and the checkout are. Only small
things travel: the master sends the text of earlier steps' logs (``step_logs``) to the worker as
files, and the worker sends back probtrack's JSON summary. So probtrack must be installed on the
workers, and the database (``db=``, else ``$PROBTRACK_DB`` in the worker's environment, else
``db`` in ``probtrack.toml``) must be one that every worker reaches: a path on the worker for a
one-machine setup, or a path on a shared disk. Run the optional ``probtrack report --html``
follow-up (``report_dir=``) where the site is published from.

What it passes to ``probtrack ingest``:

* ``--builder`` the builder's name (``buildername``), ``--build`` the build number
  (``buildnumber``), ``--time`` the time the build started, ``--revision`` ``got_revision``
  (else ``revision``), ``--branch`` the ``branch`` property when ``branch=True``;
* the blamelist: one ``--change REV:AUTHOR`` per Change of the build (``build.allChanges()``,
  ``who`` and ``revision``: what Buildbot itself blames), or, when the build has no Changes (a
  forced build) and ``git`` names the checkout, ``--git DIR`` so that probtrack takes the commits
  since this builder's previous build from git;
* the files: ``reports`` (globs, relative to the working directory, expanded on the worker) read
  with ``parser``, and ``step_logs`` (``{step name: parser}``): the stdout and stderr of earlier
  steps of this build (trial, a compile), so that no step needs shell glue to save its output;
  a compiler log gets the command that ran it (the first header line of the log) in front, as
  ``make`` echoes it, so that probtrack knows which files were compiled.

``probtrack import --buildbot URL`` reads the same things from the master's REST API for builds
of the past, so a history imported once and then continued by this step gives the same answers.

Afterwards the step's text, and the build's status text, say what probtrack found
("probtrack: 1 new Problem (test_divide by Bob Babbage)", or "probtrack: no new Problems;
still failing: test_divide by Bob Babbage" on a builder that joined a known Problem), with links to the report
(``report_url``: where ``probtrack report --html`` is published; the same value as
``report_url`` in ``probtrack.toml``), and the build gets the properties
``probtrack_new_problems`` (``[{id, test, started_by}]``) and ``probtrack_failing`` for
reporters. With ``exit_code=True`` the step passes ``--exit-code`` and fails the build when it
opened a new Problem that is not intermittent: known and flaky failures do not fail it.

Tested with Buildbot 4.3.0 (``tests/buildbot/run_e2e.sh`` in probtrack's repository).
"""

import datetime
import json
import os
import shlex

from twisted.internet import defer

from buildbot.process import buildstep
from buildbot.process.results import FAILURE
from buildbot.process.results import SKIPPED
from buildbot.process.results import SUCCESS
from buildbot.process.results import WARNINGS
from buildbot.steps.worker import CompositeStepMixin

__all__ = ['ProbtrackIngest']

# probtrack's exit codes (docs/output.md)
_RC_TEXT = {2: 'usage error', 3: 'bad input', 4: 'database error'}


def _plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def short_test(test):
    """A test identity, shortened for a status line: `pkg.mod.Class.test_x` -> `test_x`,
    `native/fast.c:-Wunused-variable:message` -> `native/fast.c -Wunused-variable`."""
    parts = test.split(':')
    if len(parts) >= 3 and parts[1].startswith('-W'):
        return f"{parts[0]} {parts[1]}"
    if len(parts) >= 3:
        return parts[0]
    return test.rsplit('.', 1)[-1]


def short_author(author):
    """`Ada Lovelace <ada@example.org>` -> `Ada Lovelace`."""
    name = author.split('<', 1)[0].strip()
    return name or author


def _problem_text(p):
    who = ', '.join(short_author(a) for a in p.get('started_by') or []) or 'unknown'
    return f"{short_test(p['test'])} by {who}"


def summary_text(new_problems, known=(), *, failed=None):
    """The status line the step shows: the build's new Problems (ingest's `new_problems`), then
    the open Problems this builder is already part of (`known`, as `problems` lists them, with
    `started_by` reduced to authors)."""
    if failed is not None:
        return f"probtrack: {failed}"

    def listed(problems):
        shown = '; '.join(_problem_text(p) for p in problems[:3])
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ''
        return shown + more

    new_ids = {p['id'] for p in new_problems}
    known = [p for p in known if p['id'] not in new_ids]
    if new_problems:
        text = f"probtrack: {_plural(len(new_problems), 'new Problem')} ({listed(new_problems)})"
    else:
        text = "probtrack: no new Problems"
    if known:
        text += f"; still failing: {listed(known)}"
    return text


def _join_url(base, page):
    return base.rstrip('/') + '/' + page


class ProbtrackIngest(buildstep.ShellMixin, CompositeStepMixin, buildstep.BuildStep):
    """Run `probtrack ingest` on the worker for this build; see the module's docstring."""

    name = 'probtrack'
    description = ['probtrack', 'ingesting']
    descriptionDone = ['probtrack']
    renderables = [
        'reports',
        'step_logs',
        'parser',
        'db',
        'git',
        'branch',
        'source_root',
        'report_url',
        'report_dir',
        'probtrack',
        'builder_name',
        'extra_args',
    ]

    def __init__(
        self,
        reports=None,
        step_logs=None,
        parser='auto',
        db=None,
        git=None,
        exit_code=False,
        report_url=None,
        report_dir=None,
        probtrack='probtrack',
        builder_name=None,
        branch=False,
        source_root=None,
        extra_args=None,
        **kwargs,
    ):
        kwargs = self.setupShellMixin(kwargs, prohibitArgs=['command'])
        # Record every build, including those whose tests failed or whose earlier step halted.
        kwargs.setdefault('alwaysRun', True)
        kwargs.setdefault('haltOnFailure', False)
        # The status text goes into the build's status text whatever the result.
        kwargs.setdefault('updateBuildSummaryPolicy', True)
        super().__init__(**kwargs)
        if isinstance(reports, str):
            reports = [reports]
        self.reports = list(reports or [])
        self.step_logs = dict(step_logs or {})
        self.parser = parser
        self.db = db
        self.git = git
        self.exit_code = exit_code
        self.report_url = report_url
        self.report_dir = report_dir
        self.probtrack = probtrack
        self.builder_name = builder_name
        self.branch = branch
        self.source_root = source_root
        self.extra_args = list(extra_args or [])
        self.new_problems = []
        self.summary = None

    # -- what the master knows -----------------------------------------------------------

    def _revision(self):
        rev = self.getProperty('got_revision') or self.getProperty('revision')
        if isinstance(rev, dict):  # several codebases: the first one's
            rev = next((v for v in rev.values() if v), None)
        return rev or None

    def _changes(self):
        seen = set()
        out = []
        for change in self.build.allChanges():
            if not change.revision or change.revision in seen:
                continue
            seen.add(change.revision)
            out.append((change.revision, change.who or 'unknown'))
        return out

    def _step_command(self, stepname):
        for step in self.build.executedSteps:
            if step.name == stepname and isinstance(getattr(step, 'command', None), list):
                return ' '.join(shlex.quote(str(a)) for a in step.command)
        return None

    @defer.inlineCallbacks
    def _step_log_text(self, stepname, logname='stdio'):
        """stdout and stderr of an earlier step of this build (not Buildbot's header lines), and
        the command that ran (the first header line, as the worker quoted it), or None."""
        buildid = self.build.buildid
        try:
            chunk = yield self.master.data.get(
                ('builds', buildid, 'steps', stepname, 'logs', logname, 'contents')
            )
        except Exception:  # an unknown step or log
            chunk = None
        if not chunk:
            return None, None
        lines = []
        command = None
        for line in chunk['content'].split('\n'):
            if line[:1] in ('o', 'e'):
                lines.append(line[1:] + '\n')
            elif line[:1] == 'h' and command is None:
                command = line[1:]
        return ''.join(lines), command

    @defer.inlineCallbacks
    def _started_at(self):
        """When this build started, RFC 3339 in UTC (None when the master does not say)."""
        try:
            build = yield self.master.data.get(('builds', self.build.buildid))
        except Exception:
            build = None
        started = (build or {}).get('started_at')
        if isinstance(started, (int, float)):
            started = datetime.datetime.fromtimestamp(started, datetime.timezone.utc)
        if not isinstance(started, datetime.datetime):
            return None
        if started.tzinfo is None:
            started = started.replace(tzinfo=datetime.timezone.utc)
        return started.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')

    # -- the step ----------------------------------------------------------------------------

    def _abs_on_worker(self, path):
        builddir = self.getProperty('builddir') or ''
        return os.path.join(builddir, self.workdir, path)

    def _builder(self):
        return self.builder_name or self.getProperty('buildername')

    def _base_args(self):
        args = [
            self.probtrack,
            'ingest',
            '--builder',
            self._builder(),
            '--build',
            str(self.getProperty('buildnumber')),
            '--format',
            'json',
        ]
        if self.db:
            args += ['--db', self.db]
        rev = self._revision()
        if rev:
            args += ['--revision', rev]
        if self.branch and self.getProperty('branch'):
            args += ['--branch', self.getProperty('branch')]
        return args

    @defer.inlineCallbacks
    def _collect_files(self, log):
        files = []  # (parser, path on the worker, relative to the working directory)
        for stepname, parser in self.step_logs.items():
            text, cmd = yield self._step_log_text(stepname)
            if text is None:
                yield log.addHeader(f"probtrack: no log of a step named {stepname!r}\n")
                continue
            if parser in ('gcc', 'auto'):
                cmd = cmd or self._step_command(stepname)
                if cmd:  # as make echoes it: the parser learns which files were compiled
                    text = cmd + '\n' + text
            dest = os.path.join('.probtrack', f"{stepname}.log")
            yield self.downloadFileContentToWorker(dest, text, workdir=self.workdir)
            files.append((parser, dest))
        for pattern in self.reports:
            matches = yield self.runGlob(self._abs_on_worker(pattern))
            if not matches:
                yield log.addHeader(f"probtrack: no file matches {pattern!r}\n")
            files += [(self.parser, m) for m in sorted(matches)]
        return files

    @defer.inlineCallbacks
    def _known_problems(self):
        """The open, non-intermittent Problems that fail on this builder now."""
        argv = [self.probtrack, 'problems', '--builder', self._builder(), '--format', 'json']
        if self.db:
            argv += ['--db', self.db]
        if self.branch and self.getProperty('branch'):
            argv += ['--branch', self.getProperty('branch')]
        cmd = yield self.makeRemoteShellCommand(command=argv, collectStdout=True)
        yield self.runCommand(cmd)
        try:
            problems = json.loads(cmd.stdout) if cmd.rc == 0 else []
        except ValueError:
            problems = []
        # An open Problem may be fixed here and still open elsewhere: keep those that fail here.
        builder = self._builder()
        failing = []
        for p in problems[:10]:
            argv = [self.probtrack, 'since', p['test'], '--format', 'json']
            argv += ['--db', self.db] if self.db else []
            if self.branch and self.getProperty('branch'):
                argv += ['--branch', self.getProperty('branch')]
            cmd = yield self.makeRemoteShellCommand(command=argv, collectStdout=True)
            yield self.runCommand(cmd)
            try:
                since = json.loads(cmd.stdout) if cmd.rc == 0 else {}
            except ValueError:
                since = {}
            if any(b.get('builder') == builder for b in since.get('builders') or []):
                p['started_by'] = [
                    c.get('author') or c.get('revision') for c in p.get('started_by') or []
                ]
                failing.append(p)
        return failing

    @defer.inlineCallbacks
    def run(self):
        log = yield self.addLog('stdio')
        yield self.runMkdir(os.path.join(self.workdir, '.probtrack'), abandonOnFailure=False)
        files = yield self._collect_files(log)
        if not files:
            self.summary = "probtrack: no reports"
            return SKIPPED

        groups = {}
        for parser, path in files:
            groups.setdefault(parser, []).append(path)

        changes = self._changes()
        started = yield self._started_at()
        source_root = self.source_root or self.git or '.'
        results = SUCCESS
        summary = {}
        failed = None
        for i, (parser, paths) in enumerate(groups.items()):
            argv = self._base_args() + ['--parser', parser]
            if started:
                argv += ['--time', started]
            argv += ['--source-root', self._abs_on_worker(source_root)]
            if i == 0:  # the blamelist, once per build
                if changes:
                    for rev, who in changes:
                        argv += ['--change', f"{rev}:{who}"]
                elif self.git:
                    argv += ['--git', self.git]
            if self.exit_code:
                argv.append('--exit-code')
            argv += self.extra_args + paths
            cmd = yield self.makeRemoteShellCommand(command=argv, collectStdout=True)
            yield self.runCommand(cmd)
            rc = cmd.rc
            try:
                summary = json.loads(cmd.stdout) if cmd.stdout.strip() else {}
            except ValueError:
                summary = {}
            if rc == 1 and self.exit_code:
                results = FAILURE
            elif rc not in (0, 1):
                failed = f"ingest failed (exit {rc}: {_RC_TEXT.get(rc, 'error')})"
                results = WARNINGS
                break

        # The last ingest of the build lists every new Problem whose first failure is this build.
        self.new_problems = summary.get('new_problems') or []
        counts = summary.get('counts') or {}
        self.setProperty('probtrack_new_problems', self.new_problems, 'ProbtrackIngest')
        self.setProperty(
            'probtrack_failing', counts.get('failed', 0) + counts.get('error', 0), 'ProbtrackIngest'
        )
        known = []
        if failed is None:
            known = yield self._known_problems()
        self.summary = summary_text(self.new_problems, known, failed=failed)
        yield log.addHeader(self.summary + '\n')

        if self.report_dir and failed is None:
            argv = [self.probtrack, 'report', '--html', self.report_dir]
            if self.db:
                argv += ['--db', self.db]
            cmd = yield self.makeRemoteShellCommand(command=argv)
            yield self.runCommand(cmd)
            if cmd.rc != 0 and results == SUCCESS:
                results = WARNINGS
        if self.report_url:
            yield self.addURL('probtrack report', self.report_url)
            linked = set()
            for p in list(self.new_problems) + list(known):
                if p['id'] in linked:
                    continue
                linked.add(p['id'])
                url = _join_url(self.report_url, f"problem-{p['id']}.html")
                yield self.addURL(f"Problem {p['id']}: {short_test(p['test'])}", url)
        return results

    def getResultSummary(self):
        if self.summary is None:
            return super().getResultSummary()
        text = self.summary
        if self.results == FAILURE:
            text += ' (failing the build: new breakage)'
        if self.build is not None:
            text = self.build.properties.cleanupTextFromSecrets(text)
        return {'step': text}
