# The attacks of issue 15 against "intofocus serve", one case per run:
#   serve_attacks.py CASE URL SCRATCH
# Exit 0 when the server holds.  Talks to loopback only; every loop is
# bounded and nothing waits on a clock.
import http.client, json, os, re, socket, sys, urllib.parse
import boto3, botocore.config

CASE, URL, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
HOST, PORT = urllib.parse.urlsplit(URL).hostname, urllib.parse.urlsplit(URL).port
KEY, SECRET = os.environ['AWS_ACCESS_KEY_ID'], os.environ['AWS_SECRET_ACCESS_KEY']
CFG = botocore.config.Config(retries={'max_attempts': 1},
                             s3={'addressing_style': 'path'},
                             signature_version='s3v4')


def mturk():
    return boto3.client('mturk', endpoint_url=URL, region_name='us-east-1',
                        aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                        config=CFG)


def s3():
    return boto3.client('s3', endpoint_url=URL, region_name='us-east-1',
                        aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                        config=CFG)


def req(method, path, body=None, headers=None, src=None):
    c = http.client.HTTPConnection(HOST, PORT, timeout=30,
                                   source_address=(src, 0) if src else None)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


class Person:
    """A participant's browser: one cookie, our Origin on every POST."""

    def __init__(self):
        self.cookie = None

    def get(self, path):
        h = {'Cookie': self.cookie} if self.cookie else {}
        st, hd, body = req('GET', path, headers=h)
        if 'set-cookie' in hd:
            self.cookie = hd['set-cookie'].split(';')[0]
        return st, hd, body

    def post(self, path, fields, origin=URL, csrf=True):
        h = {'Content-Type': 'application/x-www-form-urlencoded'}
        if self.cookie:
            h['Cookie'] = self.cookie
        if origin:
            h['Origin'] = origin
        return req('POST', path, urllib.parse.urlencode(fields), h)

    def csrf(self):
        st, hd, body = self.get('/')
        m = re.search(rb'name="csrf_token" value="([0-9a-f]+)"', body)
        return m.group(1).decode() if m else None

    def start(self):
        """The task the home page leads to (following its redirect to an
        open task, or posting its form): the assignment id, or None."""
        st, hd, _ = self.get('/')
        m = re.match(r'/task/([A-Z0-9]+)\?', hd.get('location', ''))
        if st == 303 and m:
            return m.group(1)
        tok = self.csrf()
        if tok is None:
            return None
        st, hd, _ = self.post('/start', {'csrf_token': tok})
        m = re.match(r'/task/([A-Z0-9]+)\?', hd.get('location', ''))
        return m.group(1) if st == 303 and m else None

    def task_token(self, asg):
        st, hd, body = self.get('/task/' + asg)
        m = re.search(rb'name="csrf_token" value="([0-9a-f]+)"', body)
        return st, body, (m.group(1).decode() if m else None)

    def submit(self, asg, feedback='fine', extra=None, origin=URL):
        st, body, tok = self.task_token(asg)
        f = {'assignmentId': asg, 'boxes': '[[1,2,3,4]]',
             'face_found': 'yes', 'feedback': feedback,
             'csrf_token': tok or ''}
        f.update(extra or {})
        return self.post('/mturk/externalSubmit', f, origin=origin)


def link(pid):
    return open(os.path.join(SCRATCH, 'link-' + pid)).read().strip()


def enter(pid):
    p = Person()
    st, hd, _ = p.get(urllib.parse.urlsplit(link(pid))._replace(
        scheme='', netloc='').geturl())
    assert st == 200, st
    return p


def html_question(img):
    page = ('<!DOCTYPE html><html><body><img id="img" src="%s">'
            '<form id="mturk_form" method="post" action="x">'
            '<input type="hidden" name="assignmentId" id="assignmentId">'
            '<textarea name="feedback" maxlength="2000"></textarea>'
            '<input type="submit" id="submitButton"></form></body></html>'
            % img.replace('&', '&amp;'))
    return ('<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/'
            'AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">'
            '<HTMLContent><![CDATA[' + page + ']]></HTMLContent>'
            '<FrameHeight>600</FrameHeight></HTMLQuestion>')


def case_setup():
    """HIT A for anyone, its image uploaded as the daemon does."""
    c = s3()
    for key, body in (('secretexp/img-42/stage1.png', b'\x89PNG\r\n\x1a\nA'),
                      ('secretexp/img-43/stage1.png', b'\x89PNG\r\n\x1a\nB')):
        c.put_object(Bucket='study', Key=key, Body=body,
                     ContentType='image/png')
    ua = c.generate_presigned_url('get_object', Params={
        'Bucket': 'study', 'Key': 'secretexp/img-42/stage1.png'},
        ExpiresIn=3600)
    m = mturk()
    a = m.create_hit(MaxAssignments=9, LifetimeInSeconds=3600,
                     AssignmentDurationInSeconds=600, Reward='0.10',
                     Title='A', Description='d', Question=html_question(ua),
                     RequesterAnnotation='secretexp/img-42/1')['HIT']
    json.dump({'a': a['HITId']},
              open(os.path.join(SCRATCH, 'hits.json'), 'w'))
    return True


def make_hit_b():
    """HIT B, an exclusive next stage: EXCL (who did A) is kept out."""
    c, m = s3(), mturk()
    ub = c.generate_presigned_url('get_object', Params={
        'Bucket': 'study', 'Key': 'secretexp/img-43/stage1.png'},
        ExpiresIn=3600)
    q = m.create_qualification_type(Name='excluded', Description='d',
                                    QualificationTypeStatus='Active')
    qid = q['QualificationType']['QualificationTypeId']
    m.associate_qualification_with_worker(QualificationTypeId=qid,
                                          WorkerId='EXCL', IntegerValue=1,
                                          SendNotification=False)
    b = m.create_hit(MaxAssignments=9, LifetimeInSeconds=3600,
                     AssignmentDurationInSeconds=600, Reward='0.10',
                     Title='B', Description='d', Question=html_question(ub),
                     RequesterAnnotation='secretexp/img-43/1',
                     QualificationRequirements=[{
                         'QualificationTypeId': qid,
                         'Comparator': 'DoesNotExist',
                         'ActionsGuarded': 'DiscoverPreviewAndAccept'}])['HIT']
    h = hits()
    h['b'] = b['HITId']
    json.dump(h, open(os.path.join(SCRATCH, 'hits.json'), 'w'))


def hits():
    return json.load(open(os.path.join(SCRATCH, 'hits.json')))


def case_headers():
    """CSP with frame-ancestors 'none', nosniff, Referrer-Policy everywhere."""
    p = enter('P01')
    paths = ['/', '/enter', '/nope', '/task/3XYZ', '/img/3XYZ',
             '/study/secretexp/img-42/stage1.png']
    for path in paths:
        for who in (Person(), p):
            st, hd, _ = who.get(path)
            csp = hd.get('content-security-policy', '')
            if ("frame-ancestors 'none'" not in csp or
                    hd.get('x-content-type-options') != 'nosniff' or
                    'referrer-policy' not in hd):
                print('missing headers on', path, st, hd)
                return False
    return True


def case_xss():
    """S3's signature error never echoes a signed header's name as markup."""
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    q = urllib.parse.urlencode({
        'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
        'X-Amz-Credential': '%s/%s/us-east-1/s3/aws4_request' % (
            KEY, now.strftime('%Y%m%d')),
        'X-Amz-Date': now.strftime('%Y%m%dT%H%M%SZ'),
        'X-Amz-Expires': '600',
        'X-Amz-SignedHeaders': 'host;<script>alert(1)</script>',
        'X-Amz-Signature': '0' * 64})
    st, hd, body = req('GET', '/study/k?' + q)
    print(st, body[:300])
    return (st == 403 and b'<script' not in body and
            b'&lt;script&gt;' in body and
            hd.get('x-content-type-options') == 'nosniff' and
            "default-src 'none'" in hd.get('content-security-policy', ''))


def case_entry():
    """Sessions come only from valid entry links; cookies are strict."""
    st, hd, _ = req('GET', '/')
    if st != 403:
        return False
    bad = link('P01').replace('&t=', '&t=0')
    st, hd, _ = req('GET', urllib.parse.urlsplit(bad)._replace(
        scheme='', netloc='').geturl())
    if st != 403 or 'set-cookie' in hd:
        return False
    # A participant id in the URL opens nothing unless allowed.
    st, hd, _ = req('GET', '/enter?participant=P01')
    if st != 403 or 'set-cookie' in hd:
        return False
    st, hd, _ = req('GET', '/?workerId=P01')
    if st != 403:
        return False
    p = Person()
    st, hd, _ = p.get(urllib.parse.urlsplit(link('P01'))._replace(
        scheme='', netloc='').geturl())
    sc = hd.get('set-cookie', '')
    print(sc)
    return (st == 200 and 'HttpOnly' in sc and 'SameSite=Strict' in sc
            and 'Path=/' in sc)


def case_csrf():
    """Accept and submit need the session, the token and our Origin."""
    p = enter('P01')
    tok = p.csrf()
    if tok is None:
        return False
    # A GET never accepts.
    st, hd, _ = p.get('/start')
    if st == 303:
        return False
    for origin, t in (('https://evil.example', tok), (None, tok),
                      (URL, ''), (URL, '0' * 64)):
        st, hd, _ = p.post('/start', {'csrf_token': t}, origin=origin)
        if st != 403:
            print('start refused?', origin, t, st)
            return False
    asg = p.start()
    if asg is None:
        return False
    # Another site's form, with the victim's assignment id: refused.
    st, _, _ = p.submit(asg, origin='https://evil.example')
    if st != 403:
        return False
    # Without a session: refused whatever the assignment id.
    st, _, _ = Person().post('/mturk/externalSubmit', {
        'assignmentId': asg, 'boxes': '[]', 'csrf_token': tok})
    if st != 403:
        return False
    # Another participant, with their own valid session and token,
    # cannot submit or see P01's assignment.
    q = enter('AP01')
    st, body, _ = q.task_token(asg)
    if st != 404 or b'study' in body:
        return False
    st, _, _ = q.get('/img/' + asg)
    if st != 404:
        return False
    qtok = q.csrf()
    st, _, _ = q.post('/mturk/externalSubmit', {
        'assignmentId': asg, 'boxes': '[]', 'csrf_token': qtok})
    if st != 409:
        print('foreign submit', st)
        return False
    # The holder can.
    st, hd, _ = p.submit(asg)
    return st == 303 and hd.get('location') == '/'


def case_ids():
    """P01, AP01, p-0-1 are three participants; Pé01 is refused."""
    cookies = set()
    for pid in ('P01', 'AP01', 'p-0-1'):
        cookies.add(enter(pid).cookie)
    st, hd, _ = req('GET', '/enter?p=P%C3%A901&t=' + '0' * 64)
    if st != 403 or len(cookies) != 3:
        return False
    # p-0-1 takes HIT A separately from P01 and AP01 (who already did).
    p = enter('p-0-1')
    asg = p.start()
    if asg is None:
        return False
    st, _, _ = p.submit(asg)
    if st != 303:
        return False
    m = mturk()
    workers = sorted(a['WorkerId'] for a in m.list_assignments_for_hit(
        HITId=hits()['a'])['Assignments'])
    print(workers)
    return workers == ['EXCL', 'P01', 'p-0-1']


def case_exclusion():
    """EXCL, qualified out of B, neither gets, sees nor fetches B."""
    x = enter('EXCL')
    asg = x.start()
    if asg is None:
        return False
    st, body, _ = x.task_token(asg)
    # The page shows A's image by assignment, never its key or names.
    if (st != 200 or b'/img/' + asg.encode() not in body or
            b'secretexp' in body or b'img-42' in body):
        print(body[:400])
        return False
    st, hd, img = x.get('/img/' + asg)
    if st != 200 or img != b'\x89PNG\r\n\x1a\nA':
        return False
    # One open assignment at a time: starting again gives the same one.
    if x.start() != asg:
        return False
    st, _, _ = x.submit(asg)
    if st != 303:
        return False
    make_hit_b()
    # Nothing left for EXCL: B is not offered; done.
    st, hd, body = x.get('/')
    if st != 200 or b'You are done' not in body:
        print(st, body[:300])
        return False
    # Presigned-looking or raw S3 paths serve nothing to a browser.
    st, _, _ = x.get('/study/secretexp/img-43/stage1.png')
    if st == 200:
        return False
    # After submit the image is closed to its former holder.
    st, _, _ = x.get('/img/' + asg)
    return st == 404


def case_return():
    """A participant who comes back lands in the same session and task."""
    p = enter('RET1')
    asg = p.start()
    q = enter('RET1')  # later, another browser, the same link
    if q.cookie != p.cookie:
        return False
    st, hd, _ = q.get('/')
    return st == 303 and hd.get('location', '').startswith('/task/' + asg)


def case_limits():
    """Bodies above a route's limit are refused before they are read."""
    p = enter('LIM1')
    asg = p.start()
    # A 12 MB feedback, refused on its Content-Length, body never sent.
    s = socket.create_connection((HOST, PORT), timeout=30)
    s.sendall(('POST /mturk/externalSubmit HTTP/1.1\r\nHost: x\r\n'
               'Cookie: %s\r\nOrigin: %s\r\nContent-Type: '
               'application/x-www-form-urlencoded\r\nContent-Length: %d'
               '\r\n\r\n' % (p.cookie, URL, 12 * 1024 * 1024)).encode())
    head = s.recv(4096)
    s.close()
    if not head.startswith(b'HTTP/1.1 413'):
        print(head[:200])
        return False
    # A feedback one character over the stated limit: refused.
    st, _, _ = p.submit(asg, feedback='é' * 2001)
    if st != 400:
        return False
    # A NUL in the feedback: refused, not truncated.
    st, _, body = p.submit(asg, feedback='before\x00after')
    if st != 400 or b'NUL' not in body:
        return False
    # The assignment is still open and takes the 2000-character answer.
    st, _, _ = p.submit(asg, feedback='é' * 2000)
    if st != 303:
        return False
    m = mturk()
    got = [a for a in m.list_assignments_for_hit(
        HITId=hits()['a'])['Assignments'] if a['WorkerId'] == 'LIM1']
    if len(got) != 1:
        return False
    import xml.etree.ElementTree as ET
    ns = ('{http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
          '2005-10-01/QuestionFormAnswers.xsd}')
    root = ET.fromstring(got[0]['Answer'])
    f = {a.find(ns + 'QuestionIdentifier').text: a.find(ns + 'FreeText').text
         for a in root.findall(ns + 'Answer')}
    return f.get('feedback') == 'é' * 2000 and 'csrf_token' not in f


def case_s3_put():
    """A PUT's signature is checked before its body is read."""
    s = socket.create_connection((HOST, PORT), timeout=30)
    s.sendall(('PUT /study/x HTTP/1.1\r\nHost: x\r\n'
               'Authorization: AWS4-HMAC-SHA256 Credential=%s/20260101/'
               'us-east-1/s3/aws4_request, SignedHeaders=host, Signature=%s'
               '\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n'
               'x-amz-date: 20260101T000000Z\r\nContent-Length: %d\r\n\r\n'
               % (KEY, '0' * 64, 15 * 1024 * 1024)).encode())
    head = s.recv(4096)
    s.close()
    print(head[:120])
    if not head.startswith(b'HTTP/1.1 403'):
        return False
    s = socket.create_connection((HOST, PORT), timeout=30)
    s.sendall(b'PUT /study/y HTTP/1.1\r\nHost: x\r\nContent-Length: '
              b'%d\r\n\r\n' % (17 * 1024 * 1024))
    head = s.recv(4096)
    s.close()
    if not head.startswith(b'HTTP/1.1 413'):
        return False
    # The daemon's own uploads still work.
    s3().put_object(Bucket='study', Key='ok', Body=b'x' * 100000)
    return True


def case_connections():
    """Idle connections from one address never lock others out."""
    held = []
    for _ in range(300):
        try:
            c = socket.create_connection((HOST, PORT), timeout=5,
                                         source_address=('127.0.0.2', 0))
            c.sendall(b'G')  # a slow request, never finished
            held.append(c)
        except OSError:
            pass
    ok = True
    for _ in range(5):
        st, _, _ = req('GET', '/enter')
        ok &= st == 403
    m = mturk()
    ok &= m.get_account_balance()['AvailableBalance'] is not None
    for c in held:
        c.close()
    print('held', len(held))
    return ok


def case_prolific():
    """Prolific entry: checked; once done, sent to the completion URL."""
    st, hd, _ = req('GET', '/enter?PROLIFIC_PID=5f0c0a1b2c3d4e5f6a7b8c9d'
                    '&STUDY_ID=wrongstudy&SESSION_ID=s1')
    if st != 403 or 'set-cookie' in hd:
        return False
    p = Person()
    st, hd, _ = p.get('/enter?PROLIFIC_PID=5f0c0a1b2c3d4e5f6a7b8c9d'
                      '&STUDY_ID=study1&SESSION_ID=sess1')
    if st != 200 or p.cookie is None:
        return False
    for _ in range(3):  # share 2, but only A and B exist
        asg = p.start()
        if asg is None:
            break
        st, _, _ = p.submit(asg)
        if st != 303:
            return False
    st, hd, _ = p.get('/')
    print(st, hd.get('location'))
    return (st == 303 and hd.get('location') ==
            'https://app.prolific.com/submissions/complete?cc=CODE123')


sys.exit(0 if globals()['case_' + CASE]() else 1)
