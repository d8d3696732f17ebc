"""The Buildbot end-to-end test; tests/buildbot/run_e2e.sh sets up its virtual environment.

Runs with the venv's python (it needs the `buildbot` and `buildbot-worker` commands beside it).
Everything lives under --work; the master and the worker listen on 127.0.0.1 only.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time

BUILDERS = ['unit-a', 'unit-b']
DIVIDE = 'calc.test.test_core.CoreTests.test_divide'
ADA = ('Ada Lovelace', 'ada@example.org')
BOB = ('Bob Babbage', 'bob@example.org')
CAROL = ('Carol Hopper', 'carol@example.org')
DAVE = ('Dave Knuth', 'dave@example.org')
GLOBAL_TIMEOUT = 15 * 60
BUILD_TIMEOUT = 5 * 60
REPORT_URL = 'https://ci.example.org/probtrack/'

passed = 0
failed = 0
children = []


def check(name, ok, detail=''):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}{': ' + detail if detail else ''}")


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(argv, **kw):
    kw.setdefault('check', True)
    return subprocess.run(argv, text=True, capture_output=True, **kw)


def author(who):
    return f"{who[0]} <{who[1]}>"


# -- the project under test -----------------------------------------------------------------

FILES = {
    'calc/__init__.py': '',
    'calc/core.py': 'def add(a, b):\n    return a + b\n\n\ndef divide(a, b):\n    return a / b\n',
    'calc/test/__init__.py': '',
    'calc/test/test_core.py': textwrap.dedent(
        '''\
        from twisted.trial import unittest

        from calc import core


        class CoreTests(unittest.TestCase):
            def test_add(self):
                self.assertEqual(core.add(2, 3), 5)

            def test_divide(self):
                self.assertEqual(core.divide(7, 2), 3.5)
        '''
    ),
    'native/fast.c': textwrap.dedent(
        '''\
        int fast_sum(const int *values, int n)
        {
            int total = 0;
            for (int i = 0; i < n; i++)
                total += values[i];
            return total;
        }
        '''
    ),
}


def git(repo, *args, who=None):
    env = dict(os.environ)
    if who:
        env.update(
            GIT_AUTHOR_NAME=who[0],
            GIT_AUTHOR_EMAIL=who[1],
            GIT_COMMITTER_NAME=who[0],
            GIT_COMMITTER_EMAIL=who[1],
        )
    return run(['git', '-C', repo, *args], env=env).stdout.strip()


def commit(repo, who, message, edits):
    for path, (old, new) in edits.items():
        full = os.path.join(repo, path)
        with open(full) as f:
            text = f.read()
        assert old in text, (path, old)
        with open(full, 'w') as f:
            f.write(text.replace(old, new))
    git(repo, 'commit', '-q', '-a', '-m', message, who=who)
    return git(repo, 'rev-parse', 'HEAD')


def make_repo(repo):
    os.makedirs(repo)
    for path, text in FILES.items():
        os.makedirs(os.path.dirname(os.path.join(repo, path)), exist_ok=True)
        with open(os.path.join(repo, path), 'w') as f:
            f.write(text)
    git(repo, 'init', '-q', '-b', 'master')
    git(repo, 'add', '.')
    git(repo, 'commit', '-q', '-m', 'calc: add and divide, with a C helper', who=ADA)
    return git(repo, 'rev-parse', 'HEAD')


# -- Buildbot -------------------------------------------------------------------------------

MASTER_CFG = '''\
# The master of probtrack's Buildbot end-to-end test (tests/buildbot/e2e.py writes it).
from twisted.internet import defer

from buildbot.plugins import changes, schedulers, steps, util, worker
from buildbot.process import buildstep
from buildbot.process.results import SUCCESS


class UnitResults(buildstep.BuildStep):
    """Records a test result set through Buildbot's own API (as a step that reads a test tool's
    output would): results.test_divide fails in builds 2 and 3, as the trial test does."""

    name = 'unit-results'

    @defer.inlineCallbacks
    def run(self):
        setid = yield self.addTestResultSet('unit tests', 'pass_fail', 'boolean')
        failing = self.getProperty('buildnumber') in (2, 3)
        yield self.addTestResult(setid, '1', test_name='results.test_add', duration_ns=1500000)
        yield self.addTestResult(setid, '0' if failing else '1', test_name='results.test_divide')
        return SUCCESS


c = BuildmasterConfig = {{}}
c['buildbotNetUsageData'] = None
c['title'] = 'probtrack e2e'
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['workers'] = [worker.Worker('local-worker', 'worker-pass')]
c['protocols'] = {{'pb': {{'port': 'tcp:{pb_port}:interface=127.0.0.1'}}}}
# The web server, for its REST API (/api/v2), which `probtrack import --buildbot` reads.
c['www'] = {{'port': 'tcp:{www_port}:interface=127.0.0.1', 'plugins': {{}}}}
c['buildbotURL'] = 'http://127.0.0.1:{www_port}/'
c['change_source'] = [changes.PBChangeSource(user='change', passwd='changepw')]
c['schedulers'] = [
    schedulers.SingleBranchScheduler(
        name='on-commit',
        change_filter=util.ChangeFilter(branch='master'),
        treeStableTimer=None,
        builderNames={builders!r} + ['results'],
    )
]

# One site, one writer at a time.
probtrack_lock = util.MasterLock('probtrack')

f = util.BuildFactory()
f.addStep(steps.Git(repourl={repo!r}, mode='full', method='clobber'))
f.addStep(steps.ShellCommand(name='trial', command=[{python!r}, '-m', 'twisted.trial', 'calc']))
f.addStep(steps.Compile(name='compile',
                        command=['cc', '-Wall', '-Wextra', '-c', 'native/fast.c', '-o', 'fast.o']))
f.addStep(steps.ProbtrackIngest(  # the plugin, installed with pip
    step_logs={{'trial': 'trial', 'compile': 'gcc'}},
    db={db!r},
    git='.',
    exit_code=True,
    report_url={report_url!r},
    report_dir={site!r},
    probtrack={probtrack!r},
    locks=[probtrack_lock.access('exclusive')],
))

results = util.BuildFactory()
results.addStep(UnitResults())

c['builders'] = [
    util.BuilderConfig(name=name, workernames=['local-worker'], factory=f)
    for name in {builders!r}
] + [util.BuilderConfig(name='results', workernames=['local-worker'], factory=results)]
'''


def start(argv, logfile, cwd):
    out = open(logfile, 'w')
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    children.append(proc)
    return proc


def stop_children():
    for proc in reversed(children):
        if proc.poll() is None:
            proc.terminate()
    deadline = time.time() + 20
    for proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_port(port, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def completed_builds(state_db):
    if not os.path.exists(state_db):
        return []
    con = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=10)
    try:
        rows = con.execute(
            'SELECT b.name, bu.id, bu.number, bu.results, bu.state_string FROM builds bu'
            ' JOIN builders b ON b.id = bu.builderid WHERE bu.complete_at IS NOT NULL'
            ' ORDER BY b.name, bu.number'
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()
    return rows


def step_urls(state_db, buildid, stepname):
    con = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=10)
    try:
        row = con.execute(
            'SELECT urls_json FROM steps WHERE buildid = ? AND name = ?', (buildid, stepname)
        ).fetchone()
    finally:
        con.close()
    return json.loads(row[0]) if row and row[0] else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--work', required=True)
    ap.add_argument('--probtrack', required=True)
    args = ap.parse_args()
    started = time.time()
    bindir = os.path.dirname(sys.executable)
    work = args.work
    repo = os.path.join(work, 'repo')
    master = os.path.join(work, 'master')
    workerdir = os.path.join(work, 'worker')
    db = os.path.join(work, 'probtrack.db')
    site = os.path.join(work, 'site')
    state_db = os.path.join(master, 'state.sqlite')
    pb_port = free_port()
    www_port = free_port()

    revs = {'ada': make_repo(repo)}

    run([os.path.join(bindir, 'buildbot'), 'create-master', '-q', '-r', master])
    with open(os.path.join(master, 'master.cfg'), 'w') as f:
        f.write(
            MASTER_CFG.format(
                pb_port=pb_port,
                www_port=www_port,
                builders=BUILDERS,
                repo=repo,
                python=sys.executable,
                db=db,
                report_url=REPORT_URL,
                site=site,
                probtrack=args.probtrack,
            )
        )
    run([os.path.join(bindir, 'buildbot'), 'checkconfig', master])
    run(
        [
            os.path.join(bindir, 'buildbot-worker'),
            'create-worker',
            '-q',
            '-r',
            workerdir,
            f"127.0.0.1:{pb_port}",
            'local-worker',
            'worker-pass',
        ]
    )
    start(
        [os.path.join(bindir, 'buildbot'), 'start', '--nodaemon', master],
        os.path.join(work, 'master.out'),
        work,
    )
    if not wait_port(pb_port, 120):
        check('the master listens on 127.0.0.1', False, 'no port after 120 s; see master/twistd.log')
        return
    start(
        [os.path.join(bindir, 'buildbot-worker'), 'start', '--nodaemon', workerdir],
        os.path.join(work, 'worker.out'),
        work,
    )

    def sendchange(who, rev, comments, files):
        argv = [
            os.path.join(bindir, 'buildbot'),
            'sendchange',
            '--master',
            f"127.0.0.1:{pb_port}",
            '--auth',
            'change:changepw',
            '--who',
            author(who),
            '--revision',
            rev,
            '--branch',
            'master',
            '--repository',
            repo,
            '--vc',
            'git',
            '--comments',
            comments,
            *files,
        ]
        for attempt in range(10):
            res = run(argv, check=False)
            if res.returncode == 0:
                return
            time.sleep(1)
        raise RuntimeError(f"sendchange failed: {res.stdout}{res.stderr}")

    def wait_builds(count, what):
        deadline = min(time.time() + BUILD_TIMEOUT, started + GLOBAL_TIMEOUT)
        while time.time() < deadline:
            rows = completed_builds(state_db)
            if len(rows) >= count:
                print(f"     {what}: {len(rows)} builds done after {time.time() - started:.0f} s")
                return rows
            time.sleep(1)
        check(f"{what}: builds finish in time", False, f"{len(completed_builds(state_db))}/{count}")
        raise SystemExit(1)

    # Each commit is built by the two builders with ProbtrackIngest and by `results`.
    per = len(BUILDERS) + 1
    sendchange(ADA, revs['ada'], 'calc: add and divide', ['calc/core.py', 'native/fast.c'])
    wait_builds(per, 'initial commit')
    revs['bob'] = commit(
        repo, BOB, 'divide: integer division is enough', {'calc/core.py': ('a / b', 'a // b')}
    )
    sendchange(BOB, revs['bob'], 'divide: integer division is enough', ['calc/core.py'])
    wait_builds(2 * per, "Bob's commit (breaks test_divide)")
    revs['carol'] = commit(
        repo,
        CAROL,
        'fast_sum: keep a count',
        {'native/fast.c': ('int total = 0;\n', 'int total = 0;\n    int count;\n')},
    )
    sendchange(CAROL, revs['carol'], 'fast_sum: keep a count', ['native/fast.c'])
    wait_builds(3 * per, "Carol's commit (adds a warning)")
    revs['dave'] = commit(
        repo, DAVE, 'divide: true division again', {'calc/core.py': ('a // b', 'a / b')}
    )
    sendchange(DAVE, revs['dave'], 'divide: true division again', ['calc/core.py'])
    wait_builds(4 * per, "Dave's commit (fixes test_divide)")
    # test_add breaks twice and is fixed twice: two incidents, for the flaky ranking.
    n = 4
    for who, key, old, new, what in (
        (BOB, 'bob2', 'a + b', 'a - b', 'add: subtract instead'),
        (ADA, 'ada2', 'a - b', 'a + b', 'add: add again'),
        (BOB, 'bob3', 'a + b', 'a + b + 0 * len(str(a)) - (a == 2)', 'add: an off-by-one for 2'),
        (ADA, 'ada3', 'a + b + 0 * len(str(a)) - (a == 2)', 'a + b', 'add: plain addition'),
    ):
        revs[key] = commit(repo, who, what, {'calc/core.py': (old, new)})
        sendchange(who, revs[key], what, ['calc/core.py'])
        n += 1
        rows = wait_builds(n * per, what)

    # -- Buildbot's side: results, status texts, links ------------------------------------
    by = {(name, number): (bid, res, text) for name, bid, number, res, text in rows}
    texts = {}
    for name in BUILDERS:
        got = [by.get((name, n), (None, None, None))[1] for n in (1, 2, 3, 4)]
        # 0 success, 1 warnings, 2 failure (the trial step, or probtrack's gate on new breakage)
        check(f"{name}: build results", got[:3] == [0, 2, 2] and got[3] in (0, 1), str(got))
        texts[name] = [by.get((name, n), (None, None, ''))[2] or '' for n in (1, 2, 3, 4)]
        print(f"     {name} status texts: {texts[name]}")
        t = texts[name]
        check(f"{name} #1: no new Problems", t[0].endswith('probtrack: no new Problems'), t[0])
        check(f"{name} #2: names test_divide and Bob", 'test_divide by Bob Babbage' in t[1], t[1])
        check(
            f"{name} #3: names the warning and Carol",
            'native/fast.c -Wunused-variable by Carol Hopper' in t[2] and 'test_divide by Bob' in t[2],
            t[2],
        )
        check(
            f"{name} #4: no new Problems, the warning still there",
            'probtrack: no new Problems; still failing: native/fast.c -Wunused-variable by Carol'
            in t[3]
            and 'test_divide' not in t[3],
            t[3],
        )
        urls = [u.get('url') for u in step_urls(state_db, by[(name, 2)][0], 'probtrack')]
        check(
            f"{name} #2: links the report and the Problem",
            REPORT_URL in urls and any(u.startswith(REPORT_URL + 'problem-') for u in urls),
            str(urls),
        )
    # One Problem spans both builders, its first failure the failing build that started first
    # (the step passes each build's start time): the builder that ingested first opened it
    # (new); the other one joined it (still failing), or, when its build had started earlier
    # but finished later, took its first failure (new as well).
    for n, what in ((1, 'test_divide by Bob Babbage'), (2, 'native/fast.c -Wunused-variable by Carol')):
        news = [name for name in BUILDERS if f"probtrack: 1 new Problem ({what}" in texts[name][n]]
        joined = [
            name
            for name in BUILDERS
            if what in texts[name][n].partition('still failing: ')[2]
        ]
        check(
            f"build #{n + 1}: a builder reports the new Problem, each names it",
            news and sorted(news + joined) == BUILDERS,
            f"new: {news}, still failing: {joined}",
        )

    # -- probtrack's side ------------------------------------------------------------------
    def pt(*argv):
        res = run([args.probtrack, '--db', db, *argv, '--format', 'json'])
        return json.loads(res.stdout)

    problems = pt('problems', '--all')
    print('     problems:', json.dumps(problems, indent=1)[:3000])
    # test_add broke twice and was fixed twice: intermittent, so not among the Problems listed.
    check('two Problems in all', len(problems) == 2, f"{len(problems)}")
    div = [p for p in problems if p['test'] == DIVIDE]
    warn = [p for p in problems if p['kind'] == 'compile']
    check('one Problem for test_divide, across both builders', len(div) == 1)
    if div:
        p = div[0]
        check('test_divide: fixed', p['state'] == 'fixed', p['state'])
        check('test_divide: on both builders', sorted(p['builders']) == BUILDERS, str(p['builders']))
        check(
            "test_divide: started by Bob's commit",
            [(c['revision'], c['author']) for c in p['started_by']] == [(revs['bob'], author(BOB))],
            str(p['started_by']),
        )
        check(
            "test_divide: fixed by Dave's commit",
            [(c['revision'], c['author']) for c in p['fixed_by']] == [(revs['dave'], author(DAVE))],
            str(p['fixed_by']),
        )
        check('test_divide: first failure in build 2', p['first_failure']['build'] == 2)
        check('test_divide: not intermittent', p['intermittent'] is False)
    check('one compile Problem', len(warn) == 1)
    if warn:
        p = warn[0]
        check(
            'the warning: its identity',
            p['test'].startswith('native/fast.c:-Wunused-variable:'),
            p['test'],
        )
        check('the warning: open', p['state'] == 'open', p['state'])
        check('the warning: on both builders', sorted(p['builders']) == BUILDERS, str(p['builders']))
        check(
            "the warning: started by Carol's commit",
            [(c['revision'], c['author']) for c in p['started_by']] == [(revs['carol'], author(CAROL))],
            str(p['started_by']),
        )

    users = {u['user']: u for u in pt('users')}
    print('     users:', json.dumps(users, indent=1)[:2000])
    bob, carol, dave = users.get('Bob Babbage'), users.get('Carol Hopper'), users.get('Dave Knuth')
    check('users: Bob started one, none open', bool(bob) and bob['started'] == 1 and bob['open_problems'] == [])
    check(
        "users: Carol is on the hook for the warning",
        bool(carol) and warn and carol['open_problems'] == [warn[0]['id']],
    )
    check('users: Dave fixed one', bool(dave) and dave['fixed'] == 1)

    since = pt('since', 'test_divide')
    print('     since:', json.dumps(since))
    check('since: test_divide passes now', since['failing'] is False)
    check('since: started by Bob', [c['author'] for c in since['started_by']] == [author(BOB)])
    check('since: fixed by Dave in build 4', [c['author'] for c in since['fixed_by']] == [author(DAVE)] and since['fixed_build'] == 4)

    builds = pt('builds', '--limit', '100')
    for b in builds:
        want = {1: ADA, 2: BOB, 3: CAROL, 4: DAVE, 5: BOB, 6: ADA, 7: BOB, 8: ADA}[b['build']]
        key = {1: 'ada', 2: 'bob', 3: 'carol', 4: 'dave', 5: 'bob2', 6: 'ada2', 7: 'bob3', 8: 'ada3'}[b['build']]
        check(
            f"{b['builder']} #{b['build']}: revision and blamelist from Buildbot",
            b['revision'] == revs[key] and b['changes'] == [{'revision': revs[key], 'author': author(want)}],
            json.dumps(b['changes']),
        )
    check('sixteen builds recorded', len(builds) == 16, str(len(builds)))
    ids = [p['id'] for p in problems]
    check(
        'the HTML report was written, with a page per Problem',
        os.path.exists(os.path.join(site, 'index.html'))
        and all(os.path.exists(os.path.join(site, f"problem-{i}.html")) for i in ids),
    )

    # -- import --buildbot: the same history from the master's REST API ----------------------
    url = f"http://127.0.0.1:{www_port}/"
    imported = os.path.join(work, 'imported.db')

    def imp(db_path, *argv):
        res = run(
            [args.probtrack, '--db', db_path, 'import', '--buildbot', url, *argv, '--format', 'json'],
            check=False,
        )
        if res.returncode != 0:
            check(f"import {' '.join(argv)}", False, res.stderr)
            return None
        return json.loads(res.stdout)

    def on(db_path, *argv):
        return json.loads(run([args.probtrack, '--db', db_path, *argv, '--format', 'json']).stdout)

    step_args = ['--step', 'trial=trial', '--step', 'compile=gcc']
    first = imp(imported, *step_args, '--builder', BUILDERS[0], '--builder', BUILDERS[1])
    print('     import:', json.dumps(first))
    check('import: every build of the two builders', first and first['imported'] == 16, json.dumps(first))

    def without_result(rows):
        return [{k: v for k, v in b.items() if k != 'result'} for b in rows]

    def same(what, ours, theirs):
        check(
            f"import --buildbot: {what} equal the step's",
            ours == theirs,
            f"\n step:     {json.dumps(theirs)[:1500]}\n imported: {json.dumps(ours)[:1500]}",
        )

    got_builds = on(imported, 'builds', '--limit', '100')
    same('builds (revision, time, counts, blamelist)', without_result(got_builds), without_result(builds))
    check(
        "import: the builds' results are Buildbot's",
        {(b['builder'], b['build']): b['result'] for b in got_builds}.get((BUILDERS[0], 2)) == 'failure'
        and all(b['result'] for b in got_builds),
        json.dumps([b['result'] for b in got_builds]),
    )
    same('Problems (starts, fixes, people)', on(imported, 'problems', '--all'), problems)
    same('users', on(imported, 'users'), pt('users'))
    flaky = pt('flaky')
    print('     flaky:', json.dumps(flaky)[:1500])
    check(
        'flaky: test_add, which broke twice',
        [f['test'] for f in flaky] == ['calc.test.test_core.CoreTests.test_add'],
        json.dumps(flaky)[:500],
    )
    same('flaky ranking', on(imported, 'flaky'), flaky)
    same("test_add's history", on(imported, 'history', 'test_add'), pt('history', 'test_add'))

    again = imp(imported, *step_args, '--builder', BUILDERS[0], '--builder', BUILDERS[1])
    check(
        'import again: nothing new, every build already present',
        again and again['imported'] == 0 and again['skipped'] == 16,
        json.dumps(again),
    )

    # The `results` builder records Buildbot test result sets (no step logs named).
    results_db = os.path.join(work, 'results.db')
    res = imp(results_db, '--builder', 'results', '--since', '2000-01-01')
    check('import --builder results: its eight builds', res and res['imported'] == 8, json.dumps(res))
    rp = on(results_db, 'problems', '--all')
    print('     results problems:', json.dumps(rp)[:1500])
    check(
        "test result sets: results.test_divide failed in builds 2 and 3, started by Bob",
        [(p['test'], p['first_failure']['build'], p['fixed']['build'] if p.get('fixed') else None,
          [c['author'] for c in p['started_by']]) for p in rp]
        == [('results.test_divide', 2, 4, [author(BOB)])],
        json.dumps(rp)[:800],
    )
    print(f"     took {time.time() - started:.0f} s")


def on_term(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, on_term)
    try:
        main()
    except SystemExit as e:
        if e.code not in (0, None, 1):
            check('finished before being stopped', False, f"signal/exit {e.code}")
    except Exception as e:  # a setup step failed: say which
        detail = str(e)
        if isinstance(e, subprocess.CalledProcessError):
            detail = f"{e.cmd}: {e.stdout}{e.stderr}"
        check('setup', False, detail)
    finally:
        stop_children()
        alive = [p.pid for p in children if p.poll() is None]
        check('no Buildbot process left behind', not alive, str(alive))
    print(f"buildbot-e2e: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
