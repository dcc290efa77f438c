# intofocus serve behind a reverse proxy (tests/e2e/t0435-serve-nginx.sh,
# t0436-serve-caddy.sh):
#   serve_proxy.py CASE ARG SCRATCH [...]
# Exit 0 when the case holds.  Talks to loopback only; every wait is
# bounded, and none decides a pass by how long something took.
import http.client, os, re, select, socket, ssl, sys, time, urllib.parse

CASE, ARG, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]


# ---- helpers of the shell script --------------------------------------------

def case_free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    print(s.getsockname()[1])
    s.close()
    return True


def case_wait_ports():
    """Every port of ARG (comma-separated) accepts, within 30 s."""
    for port in ARG.split(','):
        for _ in range(300):
            try:
                socket.create_connection(('127.0.0.1', int(port)), 1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            print('port', port, 'never accepted')
            return False
    return True


def case_nginx_conf():
    """The guide's ```nginx blocks, filled in as an operator would."""
    doc, pub, api, srv = ARG, sys.argv[4], sys.argv[5], sys.argv[6]
    blocks = re.findall(r'^```nginx\n(.*?)^```$', open(doc).read(),
                        re.S | re.M)
    if len(blocks) != 2:
        sys.stderr.write('wanted 2 nginx blocks, found %d\n' % len(blocks))
        return False
    tls = os.path.join(SCRATCH, 'tls')
    subs = [
        (r'listen 443 ssl;', 'listen 127.0.0.1:%s ssl;' % pub),
        (r'listen 8443 ssl;', 'listen 127.0.0.1:%s ssl;' % api),
        (r'ssl_certificate\s+\S+;',
         'ssl_certificate %s/server.pem;' % tls),
        (r'ssl_certificate_key\s+\S+;',
         'ssl_certificate_key %s/server.key;' % tls),
        (r'127\.0\.0\.1:9000', '127.0.0.1:%s' % srv),
        (r'allow 192\.0\.2\.10;', 'allow 127.0.0.1;'),
    ]
    text = '\n'.join(blocks)
    for pat, rep in subs:
        text, n = re.subn(pat, rep, text)
        if n == 0:
            sys.stderr.write('the guide has no %s\n' % pat)
            return False
    print(text)
    return True


def case_caddy_conf():
    """The guide's ```caddy blocks, filled in as an operator would, with
    the test's own certificate for Caddy's ACME, and nothing on loopback
    but the two ports (no admin endpoint, no http port)."""
    doc, pub, api, srv = ARG, sys.argv[4], sys.argv[5], sys.argv[6]
    blocks = re.findall(r'^```caddy\n(.*?)^```$', open(doc).read(),
                        re.S | re.M)
    if len(blocks) != 2:
        sys.stderr.write('wanted 2 caddy blocks, found %d\n' % len(blocks))
        return False
    tls = os.path.join(SCRATCH, 'tls')
    site = ('https://127.0.0.1:%s {\n    bind 127.0.0.1\n'
            '    tls %s/server.pem %s/server.key')
    subs = [
        (r'\A\{\n', '{\n    admin off\n    auto_https off\n'
         '    storage file_system %s/caddy-data\n' % SCRATCH),
        (r'^tasks\.example\.org \{', site % (pub, tls, tls)),
        (r'^tasks\.example\.org:8443 \{', site % (api, tls, tls)),
        (r'127\.0\.0\.1:9000', '127.0.0.1:%s' % srv),
        (r'remote_ip 192\.0\.2\.10', 'remote_ip 127.0.0.1'),
    ]
    text = '\n'.join(blocks)
    for pat, rep in subs:
        text, n = re.subn(pat, rep, text, flags=re.M)
        if n == 0:
            sys.stderr.write('the guide has no %s\n' % pat)
            return False
    print(text)
    return True


def case_spoof():
    """Through the proxy at ARG (https, Caddy), a client that names
    addresses of its own in X-Real-IP and X-Forwarded-For is still one
    client: with per_ip requests under way (their bodies still coming,
    which Caddy passes on as they arrive), its next request is refused
    (429); once those are done, it may go on."""
    per_ip = int(sys.argv[4])
    ctx = ssl.create_default_context(
        cafile=os.path.join(SCRATCH, 'tls', 'ca.pem'))
    u = urllib.parse.urlsplit(ARG)

    # From an address of its own (127.0.0.2), so that what the test's
    # other clients at 127.0.0.1 still have under way through the proxy
    # (the daemon's long poll, torn down as its run ended) is never
    # counted with it: only this client's requests decide.
    def send(i, body):
        raw = socket.create_connection((u.hostname, u.port), timeout=30,
                                       source_address=('127.0.0.2', 0))
        s = ctx.wrap_socket(raw, server_hostname=u.hostname)
        s.sendall(('POST /start HTTP/1.1\r\nHost: %s\r\n'
                   'X-Real-IP: 198.51.100.%d\r\n'
                   'X-Forwarded-For: 198.51.100.%d\r\n'
                   'Origin: %s\r\nContent-Length: 20\r\nContent-Type: '
                   'application/x-www-form-urlencoded\r\n\r\n%s'
                   % (u.netloc, i, i, ARG, body)).encode())
        return s

    held = [send(i + 1, 'abcdefghij') for i in range(per_ip)]
    # The server counts a request from its headers on: wait (30 s at
    # most) until the proxy has passed all of them on, that is until one
    # more is refused.
    st = None
    deadline = time.monotonic() + 30
    while st != 429 and time.monotonic() < deadline:
        st = status_of(send(per_ip + 1, 'abcdefghij0123456789'))
    print('with %d under way, one more, naming another address:' % per_ip,
          st)
    probe = st
    for s in held:
        s.sendall(b'0123456789')
    st = [status_of(s) for s in held]
    print('the held requests, finished:', st)
    # Caddy passes the held requests on in its own time, so a probe may
    # reach the server before the last of them: then that one is the
    # request past the limit (429) and every probe found per_ip under
    # way with itself (403).  Either way one client, per_ip at once.
    ok = ((probe == 429 and st == [403] * per_ip) or
          (probe == 403 and sorted(st) == [403] * (per_ip - 1) + [429]))
    st = status_of(send(per_ip + 2, 'abcdefghij0123456789'))
    print('once they are done:', st)
    return ok and st == 403


# ---- the limits per address, against the server itself ---------------------

def hold(src, head):
    """A connection from src that has sent head and waits."""
    s = socket.create_connection(('127.0.0.1', PORT), timeout=30,
                                 source_address=(src, 0))
    s.sendall(head)
    return s


def status_of(s):
    """The status of the reply on s, or None when it was closed."""
    try:
        data = s.recv(4096)
    except OSError:
        return None
    s.close()
    m = re.match(rb'HTTP/1\.[01] (\d{3})', data)
    return int(m.group(1)) if m else None


def partial_post(src, client):
    """A request whose headers are in and whose body is still coming."""
    return hold(src, ('POST /start HTTP/1.1\r\nHost: x\r\n'
                      'X-Real-IP: %s\r\nContent-Length: 20\r\n'
                      'Content-Type: application/x-www-form-urlencoded'
                      '\r\n\r\nabcdefghij' % client).encode())


def refused_of(socks, want):
    """Waits (30 s at most) for want of socks to be answered; returns the
    answered ones with their status."""
    got = {}
    deadline = time.monotonic() + 30
    while len(got) < want and time.monotonic() < deadline:
        ready, _, _ = select.select([s for s in socks if s not in got], [],
                                    [], 1)
        for s in ready:
            got[s] = status_of(s)
    return got


def case_limits():
    """--per-ip 4, --threads 1, --trusted-proxy 127.0.0.2."""
    ok = True
    # The proxy's connections are not held to --per-ip: 10 idle ones, then
    # each is answered.
    held = [hold('127.0.0.2', b'GET /enter HTTP/1.1\r\n') for _ in range(10)]
    st = [None] * 10
    for i, s in enumerate(held):
        s.sendall(b'Host: x\r\nX-Real-IP: 198.51.100.%d\r\n\r\n' % (i + 1))
        st[i] = status_of(s)
    print('proxy, 10 connections:', st)
    ok &= st == [403] * 10
    # Anyone else is: of 6 from 127.0.0.3, 4 are kept, whatever address
    # their X-Real-IP claims.
    held = [hold('127.0.0.3', b'GET /enter HTTP/1.1\r\n') for _ in range(6)]
    st = []
    for i, s in enumerate(held):
        try:
            s.sendall(b'Host: x\r\nX-Real-IP: 198.51.100.%d\r\n\r\n'
                      % (i + 1))
        except OSError:
            pass
        st.append(status_of(s))
    print('127.0.0.3, 6 connections:', st)
    ok &= st.count(403) == 4 and st.count(None) == 2
    # Requests under way per client: 4 from 127.0.0.4 naming client A do
    # not count for A (not the proxy) ...
    other = [partial_post('127.0.0.4', '198.51.100.77') for _ in range(4)]
    # ... 6 through the proxy naming A: 4 go on, 2 are refused at once.
    via = [partial_post('127.0.0.2', '198.51.100.77') for _ in range(6)]
    got = refused_of(via, 2)
    print('proxy, client A, 6 requests under way:', sorted(
        v for v in got.values() if v is not None))
    ok &= sorted(got.values()) == [429, 429]
    # Client B, through the proxy, is not held back by A.
    s = hold('127.0.0.2', b'GET /enter HTTP/1.1\r\nHost: x\r\n'
             b'X-Real-IP: 2001:db8::42\r\n\r\n')
    st = status_of(s)
    print('proxy, client B:', st)
    ok &= st == 403
    # A's four finish normally (no session: 403), as do 127.0.0.4's.
    rest = [s for s in via if s not in got] + other
    for s in rest:
        s.sendall(b'0123456789')
    st = [status_of(s) for s in rest]
    print('the held requests, finished:', st)
    ok &= st == [403] * 8
    # Once they are done, A may go on.
    s = partial_post('127.0.0.2', '198.51.100.77')
    s.sendall(b'0123456789')
    st = status_of(s)
    ok &= st == 403
    # A proxy request naming no address is refused.
    s = hold('127.0.0.2', b'GET /enter HTTP/1.1\r\nHost: x\r\n'
             b'X-Real-IP: <script>\r\n\r\n')
    st = status_of(s)
    print('proxy, bad X-Real-IP:', st)
    ok &= st == 400
    return ok


# ---- participants through nginx --------------------------------------------

CTX = None


def https(method, path, body=None, headers=None):
    u = urllib.parse.urlsplit(ARG)
    c = http.client.HTTPSConnection(u.hostname, u.port, timeout=30,
                                    context=CTX)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


class Person:
    def __init__(self, pid):
        self.pid = pid
        self.cookie = None
        self.set_cookie = None
        self.done = 0

    def get(self, path):
        h = {'Cookie': self.cookie} if self.cookie else {}
        st, hd, body = https('GET', path, headers=h)
        if 'set-cookie' in hd:
            self.set_cookie = hd['set-cookie']
            self.cookie = hd['set-cookie'].split(';')[0]
        return st, hd, body

    def post(self, path, fields, origin=None):
        h = {'Content-Type': 'application/x-www-form-urlencoded',
             'Origin': origin or ARG}
        if self.cookie:
            h['Cookie'] = self.cookie
        return https('POST', path, urllib.parse.urlencode(fields), h)

    def enter(self):
        link = open(os.path.join(SCRATCH, 'link-' + self.pid)).read()
        u = urllib.parse.urlsplit(link.strip())
        st, _, _ = self.get(u.path + '?' + u.query)
        return st == 200

    def step(self):
        """Takes and submits one task if there is one: True if it did."""
        st, hd, body = self.get('/')
        loc = hd.get('location', '')
        if st == 200:
            m = re.search(rb'name="csrf_token" value="([0-9a-f]+)"', body)
            if not m:
                return False  # done for now
            st, hd, _ = self.post('/start', {'csrf_token': m.group(1)})
            loc = hd.get('location', '')
        m = re.match(r'/task/([A-Z0-9]+)', loc)
        if st != 303 or not m:
            return False
        asg = m.group(1)
        st, hd, page = self.get(loc)
        tok = re.search(rb'name="csrf_token" value="([0-9a-f]+)"', page)
        img = re.search(rb'src="(/img/[A-Z0-9]+)"', page)
        if st != 200 or not tok or not img:
            raise AssertionError('task page %d' % st)
        ist, ihd, _ = self.get(img.group(1).decode())
        if ist != 200 or not ihd.get('content-type', '').startswith(
                'image/'):
            raise AssertionError('image %d' % ist)
        st, hd, _ = self.post('/mturk/externalSubmit', {
            'assignmentId': asg, 'boxes': '[[40,50,48,60]]',
            'face_found': 'yes', 'feedback': 'through nginx',
            'csrf_token': tok.group(1)})
        if st != 303:
            raise AssertionError('submit %d' % st)
        self.done += 1
        return True


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def case_participants():
    global CTX
    CTX = ssl.create_default_context(
        cafile=os.path.join(SCRATCH, 'tls', 'ca.pem'))
    run_pid = int(sys.argv[4])
    refused = int(sys.argv[5]) if len(sys.argv) > 5 else 403
    ok = True
    # Without our CA, nginx's certificate is refused.
    try:
        c = http.client.HTTPSConnection('127.0.0.1',
                                        urllib.parse.urlsplit(ARG).port,
                                        timeout=30,
                                        context=ssl.create_default_context())
        c.request('GET', '/')
        c.getresponse()
        print('a client without the CA was served')
        ok = False
    except ssl.SSLError:
        pass
    # The API and the image store are not on the participants' port.
    st, _, _ = https('POST', '/', '{}', {
        'X-Amz-Target': 'MTurkRequesterServiceV20170117.GetAccountBalance',
        'Content-Type': 'application/x-amz-json-1.1'})
    print('API on the public port:', st)
    ok &= st == refused
    st, _, _ = https('PUT', '/intofocus-nginx/x', b'x')
    print('image store on the public port:', st)
    ok &= st == 404
    people = [Person('P%d' % i) for i in range(1, 6)]
    for p in people:
        ok &= p.enter()
    sc = people[0].set_cookie or ''
    print('cookie:', re.sub(r'=[^;]*', '=...', sc, count=1))
    ok &= (sc.startswith('__Host-') and '; Secure' in sc and
           'HttpOnly' in sc and 'SameSite=Strict' in sc)
    # Every page through nginx keeps the server's headers.
    st, hd, _ = people[0].get('/')
    ok &= ("frame-ancestors 'none'" in hd.get('content-security-policy', '')
           and hd.get('x-content-type-options') == 'nosniff')
    # A POST whose Origin is the server's own address, not the public
    # URL, is refused: the browser's Origin is the public one.
    st, _, body = https('GET', '/', headers={'Cookie': people[0].cookie})
    m = re.search(rb'name="csrf_token" value="([0-9a-f]+)"', body)
    if m:
        st, _, _ = people[0].post('/start', {'csrf_token': m.group(1)},
                                  origin='http://127.0.0.1:9000')
        print('POST with another Origin:', st)
        ok &= st == 403
    # Work until the daemon is done (both stages), 240 s at most.
    deadline = time.monotonic() + 240
    while alive(run_pid) and time.monotonic() < deadline:
        worked = False
        for p in people:
            worked |= p.step()
        if not worked:
            time.sleep(0.2)
    print('tasks done:', {p.pid: p.done for p in people})
    # Two answers per stage, two stages, exclusive: four tasks in all, by
    # four different people.
    done = sorted(p.done for p in people)
    ok &= sum(done) == 4 and max(done) == 1
    return ok


PORT = urllib.parse.urlsplit(ARG).port if ARG.startswith('http') else 0
sys.exit(0 if globals()['case_' + CASE]() else 1)
