"""Tests of the ProbtrackIngest step with Buildbot's own test helpers for steps
(``buildbot.test.steps.TestBuildStepMixin``), as Buildbot's built-in steps are tested: a fake
master and worker, the remote commands the step must send, and what it makes of their answers.

Run with ``python -m twisted.trial tests`` in ``contrib/buildbot`` after ``pip install .``.
"""

import json
import warnings

from twisted.trial import unittest

from buildbot.process import remotetransfer
from buildbot.process.results import FAILURE
from buildbot.process.results import SKIPPED
from buildbot.process.results import SUCCESS
from buildbot.process.results import WARNINGS
from buildbot.test import fakedb
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.steps import ExpectDownloadFile
from buildbot.test.steps import ExpectGlob
from buildbot.test.steps import ExpectMkdir
from buildbot.test.steps import ExpectRemoteRef
from buildbot.test.steps import ExpectShell
from buildbot.test.steps import TestBuildStepMixin

from probtrack_buildbot import ProbtrackIngest
from probtrack_buildbot.steps import summary_text

# buildbot.test makes every warning an error; these two come from newer releases of Buildbot's
# own dependencies (Alembic's configuration, Twisted 26's TLS), not from the step.
warnings.filterwarnings('ignore', message='No path_separator found', category=DeprecationWarning)
warnings.filterwarnings('ignore', message='.*ProtocolNegotiationSupport', category=DeprecationWarning)

# The fake build of TestBuildStepMixin: build id 92, started at 1304262222 (fakedb's default).
STARTED = '2011-05-01T15:03:42Z'
BOB = 'Bob Babbage <bob@example.org>'
DIVIDE = 'calc.test.test_core.CoreTests.test_divide'


class FakeChange:
    def __init__(self, revision, who):
        self.revision = revision
        self.who = who
        self.files = []


def ingest_answer(new_problems=(), failed=0):
    return json.dumps({
        'builder': 'unit',
        'build': 7,
        'counts': {'passed': 3, 'failed': failed, 'error': 0},
        'new_problems': list(new_problems),
    })


class ProbtrackIngestTests(TestBuildStepMixin, TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        return self.setup_test_build_step()

    def setup(self, step, changes=()):
        self.setup_step(step)
        self.build.setProperty('buildername', 'unit', 'test')
        self.build.setProperty('buildnumber', 7, 'test')
        self.build.setProperty('got_revision', 'b0b', 'test')
        self.build.allChanges = lambda: list(changes)

    def ingest_argv(self, parser, files, *extra):
        return [
            'probtrack', 'ingest', '--builder', 'unit', '--build', '7', '--format', 'json',
            '--db', '/srv/p.db', '--revision', 'b0b', '--parser', parser, '--time', STARTED,
            '--source-root', 'wkdir/.', *extra, *files,
        ]

    def test_plugin_entry_point(self):
        """After `pip install`, Buildbot's plugin namespace has the step."""
        from buildbot.plugins import steps

        self.assertIs(steps.ProbtrackIngest, ProbtrackIngest)

    def test_reports_blamelist_and_new_problem(self):
        self.setup(
            ProbtrackIngest(reports=['reports/*.xml'], db='/srv/p.db', exit_code=True,
                            report_url='https://ci.example.org/probtrack/'),
            changes=[FakeChange('b0b', BOB)],
        )
        new = {'id': 1, 'test': DIVIDE, 'started_by': [BOB]}
        self.expect_commands(
            ExpectMkdir(dir='wkdir/.probtrack', log_environ=True).exit(0),
            ExpectGlob(path='wkdir/reports/*.xml', log_environ=True)
            .files(['wkdir/reports/a.xml'])
            .exit(0),
            ExpectShell(
                workdir='wkdir',
                command=self.ingest_argv(
                    'auto', ['wkdir/reports/a.xml'], '--change', f'b0b:{BOB}', '--exit-code'
                ),
            )
            .stdout(ingest_answer([new], failed=1))
            .exit(1),
            ExpectShell(
                workdir='wkdir',
                command=['probtrack', 'problems', '--builder', 'unit', '--format', 'json',
                         '--db', '/srv/p.db'],
            )
            .stdout(json.dumps([{'id': 1, 'test': DIVIDE, 'started_by': []}]))
            .exit(0),
            ExpectShell(
                workdir='wkdir',
                command=['probtrack', 'since', DIVIDE, '--format', 'json', '--db', '/srv/p.db'],
            )
            .stdout(json.dumps({'builders': [{'builder': 'unit'}]}))
            .exit(0),
        )
        self.expect_outcome(result=FAILURE)
        self.expect_property('probtrack_new_problems', [new])
        self.expect_property('probtrack_failing', 1)
        self.expect_result_summary({
            'step': 'probtrack: 1 new Problem (test_divide by Bob Babbage) '
                    '(failing the build: new breakage)'
        })
        return self.run_step()

    async def test_step_logs_are_sent_with_the_compile_command(self):
        """An earlier step's stdio log goes to the worker without Buildbot's header lines; a
        compiler log gets its command (the first header line) in front."""
        await self.master.db.insert_test_data([
            fakedb.Step(id=50, buildid=92, number=1, name='compile'),
            fakedb.Log(id=60, stepid=50, name='stdio', slug='stdio', type='s', num_lines=5),
            fakedb.LogChunk(
                logid=60, first_line=0, last_line=4,
                content='hcc -Wall -c native/fast.c -o fast.o\n'
                        'h in dir /w/unit/build\n'
                        'enative/fast.c:3:9: warning: unused variable \u2018count\u2019 [-Wunused-variable]\n'
                        'o\n'
                        'hprogram finished with exit code 0',
            ),
        ])
        self.setup(ProbtrackIngest(step_logs={'compile': 'gcc'}, db='/srv/p.db'))
        sent = []
        self.expect_commands(
            ExpectMkdir(dir='wkdir/.probtrack', log_environ=True).exit(0),
            ExpectDownloadFile(
                workerdest='.probtrack/compile.log', workdir='wkdir', blocksize=32 * 1024,
                maxsize=None, mode=None, reader=ExpectRemoteRef(remotetransfer.StringFileReader),
            )
            .download_string(sent.append, size=10_000)
            .exit(0),
            ExpectShell(
                workdir='wkdir', command=self.ingest_argv('gcc', ['.probtrack/compile.log'])
            )
            .stdout(ingest_answer())
            .exit(0),
            ExpectShell(
                workdir='wkdir',
                command=['probtrack', 'problems', '--builder', 'unit', '--format', 'json',
                         '--db', '/srv/p.db'],
            )
            .stdout('[]')
            .exit(0),
        )
        self.expect_outcome(result=SUCCESS)
        self.expect_result_summary({'step': 'probtrack: no new Problems'})
        await self.run_step()
        self.assertEqual(
            b''.join(sent).decode(),
            'cc -Wall -c native/fast.c -o fast.o\n'
            'native/fast.c:3:9: warning: unused variable \u2018count\u2019 [-Wunused-variable]\n'
            '\n',
        )

    def test_no_reports_skips(self):
        self.setup(ProbtrackIngest(reports=['reports/*.xml']))
        self.expect_commands(
            ExpectMkdir(dir='wkdir/.probtrack', log_environ=True).exit(0),
            ExpectGlob(path='wkdir/reports/*.xml', log_environ=True).files([]).exit(0),
        )
        self.expect_outcome(result=SKIPPED)
        self.expect_result_summary({'step': 'probtrack: no reports'})
        return self.run_step()

    def test_database_error_warns_and_says_so(self):
        self.setup(ProbtrackIngest(reports=['r.xml'], db='/srv/p.db'))
        self.expect_commands(
            ExpectMkdir(dir='wkdir/.probtrack', log_environ=True).exit(0),
            ExpectGlob(path='wkdir/r.xml', log_environ=True).files(['wkdir/r.xml']).exit(0),
            ExpectShell(workdir='wkdir', command=self.ingest_argv('auto', ['wkdir/r.xml']))
            .stderr('error: database is locked')
            .exit(4),
        )
        self.expect_outcome(result=WARNINGS)
        self.expect_result_summary({'step': 'probtrack: ingest failed (exit 4: database error)'})
        return self.run_step()


class SummaryTextTests(unittest.TestCase):
    def test_new_and_known(self):
        new = [{'id': 2, 'test': 'native/fast.c:-Wunused-variable:unused', 'started_by': ['Carol <c@x>']}]
        known = [{'id': 1, 'test': DIVIDE, 'started_by': [BOB]}, new[0]]
        self.assertEqual(
            summary_text(new, known),
            'probtrack: 1 new Problem (native/fast.c -Wunused-variable by Carol); '
            'still failing: test_divide by Bob Babbage',
        )

    def test_many(self):
        new = [{'id': i, 'test': f'a.T.test_{i}', 'started_by': []} for i in range(5)]
        self.assertEqual(
            summary_text(new),
            'probtrack: 5 new Problems (test_0 by unknown; test_1 by unknown; test_2 by unknown; '
            'and 2 more)',
        )
