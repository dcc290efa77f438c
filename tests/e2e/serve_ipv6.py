# The limits per address of "intofocus serve" count an IPv6 client by its
# /64 (tests/e2e/t0437-serve-ipv6-limits.sh):
#   serve_ipv6.py proxy URL      the clients a trusted proxy (127.0.0.2)
#                                names in X-Real-IP / X-Forwarded-For
#   serve_ipv6.py direct SCRATCH peers of their own: run in a network
#                                namespace of its own (unshare -rn), where
#                                two /64s are made local on lo and the
#                                server is started here on [::1]
# Both against --per-ip 4 --threads 1.  Exit 0 when the case holds.  Talks
# to loopback only; every wait is bounded, and none decides a pass by how
# long something took.
import os, re, select, socket, subprocess, sys, time

ONE_64 = ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::3',
          '2001:DB8:1:2:8000:0:0:4', '2001:db8:1:2:abcd:ef01:2345:6789',
          '2001:db8:1:2:ffff:ffff:ffff:ffff']
NEXT_64 = '2001:db8:1:3::1'
IP_FREEBIND = getattr(socket, 'IP_FREEBIND', 15)


def connect(host, port, src):
    """A connection from src (any address of a local route: freebind)."""
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(30)
    if src is not None:
        s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        s.bind((src, 0))
    s.connect((host, port))
    return s


def status_of(s):
    """The status of the reply on s, or None when it was closed."""
    try:
        data = s.recv(4096)
    except OSError:
        data = b''
    s.close()
    m = re.match(rb'HTTP/1\.[01] (\d{3})', data)
    return int(m.group(1)) if m else None


def answered(socks, want):
    """Waits (30 s at most) until want of socks have something to read
    (a reply or their close); returns those with their status."""
    got = {}
    deadline = time.monotonic() + 30
    while len(got) < want and time.monotonic() < deadline:
        ready, _, _ = select.select([s for s in socks if s not in got], [],
                                    [], 1)
        for s in ready:
            got[s] = status_of(s)
    return got


def finish(socks, rest):
    """Sends rest on each of socks and returns their statuses."""
    st = []
    for s in socks:
        try:
            s.sendall(rest)
        except OSError:
            pass
        st.append(status_of(s))
    return st


# ---- through the trusted proxy ---------------------------------------------

def case_proxy():
    port = int(sys.argv[2].rsplit(':', 1)[1])
    ok = True

    def under_way(client, header='X-Real-IP'):
        """A request through the proxy naming client, its body coming."""
        s = connect('127.0.0.1', port, '127.0.0.2')
        s.sendall(('POST /start HTTP/1.1\r\nHost: x\r\n%s: %s\r\n'
                   'Content-Length: 20\r\nContent-Type: '
                   'application/x-www-form-urlencoded\r\n\r\nabcdefghij'
                   % (header, client)).encode())
        return s

    body_rest = b'0123456789'
    # Six addresses of one /64 (one named as the last X-Forwarded-For
    # entry): four go on, two are refused at once.
    via = [under_way(a) for a in ONE_64[:5]]
    via.append(under_way('203.0.113.5, ' + ONE_64[5], 'X-Forwarded-For'))
    got = answered(via, 2)
    print('proxy, six addresses of one /64:', sorted(
        str(v) for v in got.values()))
    ok &= sorted(got.values(), key=str) == [429, 429]
    # The next /64 is another client.
    s = under_way(NEXT_64)
    st = finish([s], body_rest)
    print('proxy, the next /64 meanwhile:', st)
    ok &= st == [403]
    # IPv4 counts by the address, written either way.
    v4 = [under_way('198.51.100.9') for _ in range(4)]
    s = under_way('::ffff:198.51.100.9')
    st = answered([s], 1)
    print('proxy, a fifth for 198.51.100.9 as ::ffff:198.51.100.9:',
          list(st.values()))
    ok &= list(st.values()) == [429]
    s = under_way('198.51.100.10')
    st = finish([s], body_rest)
    print('proxy, 198.51.100.10 meanwhile:', st)
    ok &= st == [403]
    # The held ones finish normally (no session: 403) ...
    st = finish([s for s in via if s not in got] + v4, body_rest)
    print('the held requests, finished:', st)
    ok &= st == [403] * 8
    # ... and then the /64 may go on.
    s = under_way('2001:db8:1:2::77')
    st = finish([s], body_rest)
    print('proxy, the /64 once they are done:', st)
    ok &= st == [403]
    return ok


# ---- peers of their own, in a network namespace ----------------------------

def start_server(scratch):
    """intofocus serve on [::1], --per-ip 4, one thread; (process, port)."""
    log = open(os.path.join(scratch, 'srv6.log'), 'w+')
    p = subprocess.Popen(
        [os.environ['INTOFOCUS'], 'serve', '--state-dir',
         os.path.join(scratch, 'srv6'), '--listen', '[::1]:0',
         '--per-ip', '4', '--threads', '1', '--timeout', '300'],
        stdout=log, stderr=subprocess.STDOUT)
    for _ in range(400):
        log.seek(0)
        m = re.search(r'endpoint: http://\[::1\]:(\d+)', log.read())
        if m:
            return p, int(m.group(1))
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    p.wait()
    log.seek(0)
    print('the server did not start:', log.read())
    return None, 0


def case_direct():
    scratch = sys.argv[2]
    for cmd in (['ip', 'link', 'set', 'lo', 'up'],
                ['ip', '-6', 'route', 'add', 'local', '2001:db8:1:2::/64',
                 'dev', 'lo'],
                ['ip', '-6', 'route', 'add', 'local', '2001:db8:1:3::/64',
                 'dev', 'lo']):
        subprocess.run(cmd, check=True)
    srv, port = start_server(scratch)
    if srv is None:
        return False
    ok = True
    head, rest = b'GET /enter HTTP/1.1\r\n', b'Host: x\r\n\r\n'
    try:
        def held(src):
            s = connect('::1', port, src)
            s.sendall(head)
            return s

        # Six peers of one /64: four are kept, two closed unanswered.
        peers = [held(a) for a in ONE_64]
        got = answered(peers, 2)
        print('six peers of one /64, closed at once:', len(got),
              list(got.values()))
        ok &= list(got.values()) == [None, None]
        # Meanwhile the next /64 and ::1 are other clients, and a seventh
        # address of the first /64 is turned away too.
        others = [held(NEXT_64), held('::1')]
        late = held('2001:db8:1:2:1234::99')
        st = answered([late], 1)
        print('a seventh of the /64 meanwhile:', list(st.values()))
        ok &= list(st.values()) == [None]
        st = finish(others, rest)
        print('the next /64 and ::1 meanwhile:', st)
        ok &= st == [403, 403]
        st = finish([s for s in peers if s not in got], rest)
        print('the four kept, finished:', st)
        ok &= st == [403] * 4
        # Once they are closed, the /64 gets in again (the server counts
        # a close when it sees it: tried for 30 s at most).
        st = None
        deadline = time.monotonic() + 30
        while st != 403 and time.monotonic() < deadline:
            s = held('2001:db8:1:2:1234::99')
            st = finish([s], rest)[0]
            if st != 403:
                time.sleep(0.1)
        print('the /64 once they are closed:', st)
        ok &= st == 403
    finally:
        srv.terminate()
        rc = srv.wait()
    print('the server stops with', rc)
    return ok and rc == 0


sys.exit(0 if globals()['case_' + sys.argv[1]]() else 1)
