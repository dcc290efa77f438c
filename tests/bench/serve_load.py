# The task server under load (tests/bench/serve_load.sh):
#   serve_load.py study URL DIR DAEMON_PID N   participants work until the
#                                              daemon exits
#   serve_load.py check URL DIR 0 N            no answer lost or doubled
#   serve_load.py slow URL DIR 0 N             1,100 slow connections from
#                                              one address; others go on
# Loopback only; every loop is bounded in count and time.
import glob, http.client, json, os, random, re, resource, socket, sys
import threading, time, urllib.parse

MODE, URL, DIR, PID, N = (sys.argv[1], sys.argv[2], sys.argv[3],
                          int(sys.argv[4]), int(sys.argv[5]))
PORT = urllib.parse.urlsplit(URL).port
STUDY_LIMIT_S = 900  # the study phase stops by itself after this


def pct(v, p):
    if not v:
        return float('nan')
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def ms(v):
    return '%.1f ms' % (v * 1000)


class Client:
    """One participant's browser: its own address, one keep-alive
    connection, its cookie, our Origin on every POST."""

    def __init__(self, src):
        self.src = src
        self.conn = None
        self.cookie = None

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.cookie:
            h['Cookie'] = self.cookie
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(
                        '127.0.0.1', PORT, timeout=60,
                        source_address=(self.src, 0))
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                hd = {k.lower(): v for k, v in r.getheaders()}
                if 'set-cookie' in hd:
                    self.cookie = hd['set-cookie'].split(';')[0]
                if hd.get('connection', '').lower() == 'close':
                    self.close()
                return r.status, hd, data
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 1:
                    raise
        raise AssertionError('unreachable')

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def post(self, path, fields):
        return self.request('POST', path, urllib.parse.urlencode(fields), {
            'Content-Type': 'application/x-www-form-urlencoded',
            'Origin': URL})

    def enter(self, link):
        u = urllib.parse.urlsplit(link)
        st, _, _ = self.request('GET', u.path + '?' + u.query)
        return st == 200


# ---- the study --------------------------------------------------------------

def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def participant(i, link, stop, out, lock):
    c = Client('127.0.1.%d' % (i % 250 + 1) if i < 250 else
               '127.0.2.%d' % (i % 250 + 1))
    rnd = random.Random(i)
    task_lat, submit_lat, mine, errors = [], [], [], []
    try:
        if not c.enter(link):
            errors.append('enter refused')
        while not stop.is_set():
            st, hd, body = c.request('GET', '/')
            loc = hd.get('location', '')
            if st == 200:
                m = re.search(rb'name="csrf_token" value="([0-9a-f]+)"',
                              body)
                if not m:
                    time.sleep(0.2 + rnd.random() * 0.3)  # none for now
                    continue
                st, hd, _ = c.post('/start', {'csrf_token': m.group(1)})
                loc = hd.get('location', '')
            m = re.match(r'/task/([A-Z0-9]+)', loc)
            if st != 303 or not m:
                time.sleep(0.2 + rnd.random() * 0.3)
                continue
            asg = m.group(1)
            t0 = time.perf_counter()
            st, hd, page = c.request('GET', loc)
            task_lat.append(time.perf_counter() - t0)
            tok = re.search(rb'name="csrf_token" value="([0-9a-f]+)"', page)
            img = re.search(rb'src="(/img/[A-Z0-9]+)"', page)
            if st != 200 or not tok or not img:
                errors.append('task page %d' % st)
                continue
            st, _, _ = c.request('GET', img.group(1).decode())
            if st != 200:
                errors.append('image %d' % st)
            boxes = json.dumps([[rnd.randrange(0, 200), rnd.randrange(0, 150),
                                 20 + rnd.randrange(40), 20 + rnd.randrange(40)]])
            t0 = time.perf_counter()
            st, _, _ = c.post('/mturk/externalSubmit', {
                'assignmentId': asg, 'boxes': boxes, 'face_found': 'yes',
                'feedback': 'load %d' % i, 'csrf_token': tok.group(1)})
            submit_lat.append(time.perf_counter() - t0)
            if st == 303:
                mine.append(asg)
            else:
                errors.append('submit %d' % st)
    except Exception as e:  # a participant's failure is a figure, not a crash
        errors.append(repr(e))
    c.close()
    with lock:
        out['task'] += task_lat
        out['submit'] += submit_lat
        out['errors'] += errors
        out['submits'] += [[asg, i] for asg in mine]


def mode_study():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    links = [l.strip() for l in open(os.path.join(DIR, 'links'))]
    ids = [re.search(r'[?&]p=([^&]+)', l).group(1) for l in links]
    stop, lock = threading.Event(), threading.Lock()
    out = {'task': [], 'submit': [], 'errors': [], 'submits': []}
    threads = [threading.Thread(target=participant,
                                args=(i, l, stop, out, lock), daemon=True)
               for i, l in enumerate(links)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    while alive(PID) and time.monotonic() - t0 < STUDY_LIMIT_S:
        time.sleep(0.5)
    wall = time.monotonic() - t0
    stop.set()
    for t in threads:
        t.join(120)
    out['submits'] = [[a, ids[i]] for a, i in out['submits']]
    json.dump(out, open(os.path.join(DIR, 'submits.json'), 'w'))
    print('  %d participants, %d answers in %.1f s (the daemon %s)' % (
        len(links), len(out['submits']), wall,
        'finished' if not alive(PID) else 'still running: stopped waiting'))
    print('  task page  p50 %s  p99 %s  (%d requests)' % (
        ms(pct(out['task'], 50)), ms(pct(out['task'], 99)),
        len(out['task'])))
    print('  submit     p50 %s  p99 %s  (%d requests)' % (
        ms(pct(out['submit'], 50)), ms(pct(out['submit'], 99)),
        len(out['submit'])))
    if out['errors']:
        print('  participants\' errors: %d, e.g. %s' % (
            len(out['errors']), sorted(set(out['errors']))[:3]))
    return True


# ---- no answer lost or doubled ------------------------------------------------

def mode_check():
    import boto3, botocore.config
    m = boto3.client('mturk', endpoint_url=URL, region_name='us-east-1',
                     config=botocore.config.Config(
                         retries={'max_attempts': 3}))
    mine = json.load(open(os.path.join(DIR, 'submits.json')))['submits']
    # The server's records, through its API as the daemon reads them.
    server, hits, token = [], 0, None
    while True:
        kw = {'MaxResults': 100}
        if token:
            kw['NextToken'] = token
        r = m.list_hits(**kw)
        for h in r['HITs']:
            hits += 1
            at = None
            while True:
                kw = {'HITId': h['HITId'], 'MaxResults': 100}
                if at:
                    kw['NextToken'] = at
                a = m.list_assignments_for_hit(**kw)
                server += [(x['AssignmentId'], x['WorkerId'], h['HITId'])
                           for x in a['Assignments']]
                at = a.get('NextToken')
                if not at:
                    break
        token = r.get('NextToken')
        if not token:
            break
    # The daemon's records: its results, every stage of every image.
    daemon = []
    for f in glob.glob(os.path.join(DIR, 'out', '*.json')):
        doc = json.load(open(f))
        if not isinstance(doc, dict) or 'stages' not in doc:
            continue
        for st in doc['stages']:
            daemon += [(a['assignment_id'], a['worker_id'], a['hit_id'])
                       for a in st.get('assignments', [])]
    want = N * 5 * 3
    s_mine = {(a, w) for a, w in mine}
    s_server = {(a, w) for a, w, _ in server}
    s_daemon = {(a, w) for a, w, _ in daemon}
    doubled = (len(mine) - len(s_mine), len(server) - len(s_server),
               len(daemon) - len(s_daemon))
    per_hit = {}
    for _, w, h in daemon:
        per_hit.setdefault(h, []).append(w)
    same_worker_twice = sum(len(v) - len(set(v)) for v in per_hit.values())
    print('  answers: participants %d, server %d (%d HITs), daemon %d; '
          'wanted %d' % (len(mine), len(server), hits, len(daemon), want))
    lost = (s_mine ^ s_server) | (s_server ^ s_daemon)
    ok = (not lost and doubled == (0, 0, 0) and same_worker_twice == 0 and
          len(s_daemon) == want)
    print('  no answer lost or doubled: %s' % ('yes' if ok else
          'NO (differ: %d, doubled: %s, a worker twice on a HIT: %d)' % (
              len(lost), doubled, same_worker_twice)))
    return ok


# ---- one address holds 1,100 slow connections ------------------------------

def mode_slow():
    import boto3, botocore.config
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 1300:
        print('  slow connections: skipped (descriptor limit %d)' % hard)
        return True
    held = []
    for _ in range(1100):
        try:
            s = socket.create_connection(('127.0.0.1', PORT), timeout=10,
                                         source_address=('127.0.3.1', 0))
            s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ')
            held.append(s)
        except OSError:
            pass
    stop = threading.Event()

    def drip():  # a byte every 2 s on each, the slow loris' way
        for _ in range(30):
            if stop.wait(2):
                return
            for s in list(held):
                try:
                    s.sendall(b'a')
                except OSError:
                    held.remove(s)
    t = threading.Thread(target=drip, daemon=True)
    t.start()
    time.sleep(1)  # let the server drop the connections it refuses
    for s in list(held):
        try:
            s.sendall(b'a')
        except OSError:
            held.remove(s)
    links = [l.strip() for l in open(os.path.join(DIR, 'links-others'))]
    lat, fails, lock = [], [], threading.Lock()

    def other(i, link):
        c = Client('127.0.4.%d' % (i + 1))
        for _ in range(5):
            t0 = time.perf_counter()
            try:
                ok = c.enter(link)
                st, _, _ = c.request('GET', '/')
                ok &= st in (200, 303)
            except Exception as e:
                ok = False
            with lock:
                lat.append(time.perf_counter() - t0)
                if not ok:
                    fails.append(i)
        c.close()
    ths = [threading.Thread(target=other, args=(i, l))
           for i, l in enumerate(links)]
    for th in ths:
        th.start()
    m = boto3.client('mturk', endpoint_url=URL, region_name='us-east-1',
                     config=botocore.config.Config(
                         retries={'max_attempts': 1}))
    api_ok = 0
    for _ in range(10):
        try:
            m.get_account_balance()
            api_ok += 1
        except Exception:
            pass
    for th in ths:
        th.join(120)
    still = 0
    for s in list(held):
        try:
            s.sendall(b'a')
            still += 1
        except OSError:
            pass
    stop.set()
    for s in held:
        s.close()
    n = len(lat)
    print('  one address, 1,100 slow connections: %d kept by the server, '
          '%d turned away' % (still, 1100 - still))
    print('  meanwhile %d others: %d of %d visits succeeded (enter + home), '
          'p50 %s p99 %s; the daemon\'s API: %d of 10 calls' % (
              len(links), n - len(fails), n, ms(pct(lat, 50)),
              ms(pct(lat, 99)), api_ok))
    return not fails and api_ok == 10


sys.exit(0 if globals()['mode_' + MODE]() else 1)
