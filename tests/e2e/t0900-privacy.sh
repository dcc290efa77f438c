# Privacy audit (spec sections 4 and 5, issue 9), as an outsider sees it:
# an experiment runs on an external simulator that keeps its objects on
# disk; then, through boto3 (a client independent of ours) and plain HTTP,
# for every HIT the simulator served:
#   - the stage image behind the HIT's presigned URL is byte for byte the
#     stage render of the original at that stage's window with the earlier
#     stages' aggregated boxes redacted (`intofocus render ... -o x.jpg`:
#     the JPEG encoder is deterministic, so equal pixels give equal bytes
#     and no tolerance is needed);
#   - its object name is random (32 hex + .jpg), never the image id or file
#     name, and the URL carries no image id or file name anywhere;
#   - the URL expires: X-Amz-Expires <= 604800 and equal to the HIT's need
#     (lifetime x (1 + max_extensions) + assignment duration), and the
#     simulator refuses a URL signed the same way whose time is past (we
#     sign it with botocore at a date in the past, since the simulator has
#     no clock to wind forward), and one whose expiry was altered.
# And no served, stored or produced file (stage images, the simulator's
# objects, final images, the results site) carries EXIF, XMP, ICC, JPEG
# comments or PNG text/time/EXIF chunks.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/daemon"
PY=${PYTHON:-/usr/bin/python3}
cp "$FIX"/group.jpg "$FIX"/street.jpg .
cat >sim.yaml <<'YAML'
name: privacy
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.10"
  workers: 3
  lifetime: 1d
  assignment_duration: 10m
  max_extensions: 2
stages: [41, 21, 13]
YAML
two_photos_yaml >>sim.yaml

. "$TOP/tests/e2e/sim_lib.sh"

start_sim privacy --seed 3 --state-dir simst
check "the simulator started" test -n "$PORT"
exp_for run "$PORT"
expect_exit 0 "the experiment runs to the end" \
	"$INTOFOCUS" run run/exp.yaml --state-dir run/st
expect_exit 0 "the results site is written" \
	"$INTOFOCUS" report run/exp.yaml --state-dir run/st -o site

# Fetch every HIT's stage image; write served/<annotation>.jpg and
# served.txt lines "image stage window url".
check "every HIT's image is fetched through its presigned URL" "$PY" - "$PORT" <<'PYEOF'
import html, os, re, sys, urllib.request
import boto3
port = sys.argv[1]
c = boto3.client("mturk", endpoint_url="http://127.0.0.1:%s" % port,
                 region_name="us-east-1",
                 aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
hits, tok = [], None
while True:
    kw = {"MaxResults": 100}
    if tok:
        kw["NextToken"] = tok
    r = c.list_hits(**kw)
    hits += r["HITs"]
    tok = r.get("NextToken")
    if not tok:
        break
windows = {1: 41, 2: 21, 3: 13}
os.makedirs("served", exist_ok=True)
lines = []
for h in hits:
    exp, img, stage = h["RequesterAnnotation"].split("/")
    q = h["Question"]
    for _ in range(3):
        q = html.unescape(q)
    urls = set(re.findall(r"https?://127\.0\.0\.1:%s/[^\"'<>\s]*" % port, q))
    urls = {u for u in urls if "X-Amz-Signature=" in u}
    assert len(urls) == 1, (h["HITId"], urls)
    url = urls.pop()
    data = urllib.request.urlopen(url).read()
    name = "served/%s-%s.jpg" % (img, stage)
    open(name, "wb").write(data)
    lines.append("%s %s %d %s\n" % (img, stage, windows[int(stage)], url))
assert len(lines) == 6, lines
open("served.txt", "w").writelines(sorted(lines))
print("ok", len(lines))
PYEOF

# For each served image: the render of the original at its window with the
# union of the earlier stages' boxes (from the daemon's record) redacted.
check "each served image is the stage render with the earlier boxes redacted" \
	"$PY" - "$INTOFOCUS" <<'PYEOF'
import json, subprocess, sys
intofocus = sys.argv[1]
n = 0
for line in open("served.txt"):
    img, stage, window, url = line.split()
    rec = json.load(open("run/out/%s.json" % img))
    earlier = [b for st in rec["stages"][:int(stage) - 1] for b in st["boxes"]]
    args = [intofocus, "render", "%s.jpg" % img, "-w", window, "-o",
            "want-%s-%s.jpg" % (img, stage)]
    for b in earlier:
        args += ["--box", ",".join(str(v) for v in b)]
    subprocess.run(args, check=True)
    got = open("served/%s-%s.jpg" % (img, stage), "rb").read()
    want = open("want-%s-%s.jpg" % (img, stage), "rb").read()
    assert got == want, "%s stage %s: served image differs from the render " \
        "with %d earlier boxes" % (img, stage, len(earlier))
    if int(stage) > 1:
        n += len(earlier) > 0
print("ok", n, "later-stage images had boxes to redact")
assert n >= 2, "no later stage had an earlier box: the test proves little"
PYEOF

# The simulator keeps its objects in simst/sim.db: take them out to look
# at them as files.
"$PY" - <<'PYEOF'
import os, sqlite3
os.makedirs("stored", exist_ok=True)
db = sqlite3.connect("simst/sim.db")
rows = db.execute("SELECT data FROM records WHERE kind = 'objects' ORDER BY seq")
for i, (data,) in enumerate(rows):
    open("stored/%d.obj" % i, "wb").write(data)
PYEOF

# Nothing else reached the image host: each object the simulator stores is
# one of the served images checked above.
check "the simulator stores exactly the served images" "$PY" - <<'PYEOF'
import glob
served = {open(f, "rb").read() for f in glob.glob("served/*.jpg")}
stored = [open(f, "rb").read() for f in glob.glob("stored/*")]
assert len(stored) == len(served) == 6, (len(stored), len(served))
assert set(stored) == served
PYEOF

check "object names are random: 32 hex + .jpg, no id or file name in the URL" \
	"$PY" - <<'PYEOF'
import re, urllib.parse
keys = set()
for line in open("served.txt"):
    img, stage, window, url = line.split()
    u = urllib.parse.urlsplit(url)
    key = u.path.rsplit("/", 1)[1]
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", key), key
    # The bucket (and an S3 prefix) are the operator's choice and may name the
    # experiment; what must not show is which image this is.
    for word in ("group", "street"):
        assert word not in url.lower(), (word, url)
    keys.add(key)
assert len(keys) == 6, keys
PYEOF

# 1d x (1 + 2) + 10m = 259800 s, under the 7-day cap of presigned URLs.
check "presigned URLs expire: X-Amz-Expires = the HIT's need, <= 604800" \
	"$PY" - <<'PYEOF'
import urllib.parse
for line in open("served.txt"):
    url = line.split()[3]
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    e = int(q["X-Amz-Expires"])
    assert e == 86400 * 3 + 600, e
    assert 0 < e <= 604800, e
PYEOF

check "the simulator refuses an expired or altered presigned URL" \
	"$PY" - "$PORT" <<'PYEOF'
import datetime, os, sys, urllib.error, urllib.parse, urllib.request
from unittest import mock
import boto3
from botocore.config import Config
port = sys.argv[1]
url = open("served.txt").readline().split()[3]
u = urllib.parse.urlsplit(url)
bucket, key = u.path.lstrip("/").split("/", 1)

def status(url):
    try:
        return urllib.request.urlopen(url).status
    except urllib.error.HTTPError as e:
        return e.code

s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:%s" % port,
                  region_name="us-east-1",
                  config=Config(signature_version="s3v4",
                                s3={"addressing_style": "path"}),
                  aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
ok = s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                               "Key": key}, ExpiresIn=600)
assert status(ok) == 200, ("control: a fresh URL must work", status(ok))
past = datetime.datetime.utcnow() - datetime.timedelta(hours=2)
with mock.patch("botocore.auth.datetime") as dt:
    dt.datetime.utcnow.return_value = past
    dt.datetime.now.return_value = past
    old = s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                    "Key": key}, ExpiresIn=600)
assert "X-Amz-Date=%s" % past.strftime("%Y%m%dT%H") in old, old
got = status(old)
assert got == 403, ("an expired URL was served", got)
altered = url.replace("X-Amz-Expires=259800", "X-Amz-Expires=604800")
assert altered != url
got = status(altered)
assert got == 403, ("a URL with an altered expiry was served", got)
print("ok")
PYEOF

# Metadata scan: JPEG markers other than SOI/APP0 JFIF/DQT/SOFn/DHT/DRI/SOS/
# RSTn/EOI, and PNG chunks other than IHDR/PLTE/tRNS/IDAT/IEND, are refused.
cat >scan.py <<'PYEOF'
import struct, sys

ALLOWED_JPEG = {0xd8, 0xe0, 0xdb, 0xc0, 0xc1, 0xc2, 0xc4, 0xdd, 0xda, 0xd9}
ALLOWED_PNG = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}

def jpeg_markers(d):
    i, out = 2, []
    while i + 4 <= len(d):
        assert d[i] == 0xff, "no marker at %d" % i
        m = d[i + 1]
        if m == 0xff:
            i += 1
            continue
        out.append(m)
        if m == 0xd9 or 0xd0 <= m <= 0xd7:
            i += 2
            continue
        n = struct.unpack(">H", d[i + 2:i + 4])[0]
        if m == 0xe0 and d[i + 4:i + 9] != b"JFIF\0":
            out.append(-1)  # an APP0 that is not JFIF (JFXX thumbnail...)
        i += 2 + n
        if m == 0xda:  # entropy-coded data: skip to the next real marker
            while i + 1 < len(d) and not (d[i] == 0xff and d[i + 1] != 0
                                          and not 0xd0 <= d[i + 1] <= 0xd7):
                i += 1
    return out

bad = []
for f in sys.argv[1:]:
    d = open(f, "rb").read()
    if d[:2] == b"\xff\xd8":
        extra = set(jpeg_markers(d)) - ALLOWED_JPEG
        if extra:
            bad.append("%s: JPEG markers %s" % (f, sorted(extra)))
    elif d[:8] == b"\x89PNG\r\n\x1a\n":
        i = 8
        while i + 8 <= len(d):
            n, t = struct.unpack(">I4s", d[i:i + 8])
            if t not in ALLOWED_PNG:
                bad.append("%s: PNG chunk %s" % (f, t.decode("latin-1")))
            i += 12 + n
    else:
        bad.append("%s: neither JPEG nor PNG" % f)
print("\n".join(bad) or "clean: %d files" % (len(sys.argv) - 1))
sys.exit(1 if bad else 0)
PYEOF

# Each kind of file must be there, or the scan proves nothing about it.
for kind in "served/*.jpg" "stored/*" "run/out/*.jpg" "site/images/*"; do
	set -- $kind
	check "there are files to scan: $kind ($# found)" test -f "$1"
done
check "no served stage image carries metadata" "$PY" scan.py served/*.jpg
check "no object the simulator stores carries metadata" "$PY" scan.py stored/*
check "no final image carries metadata" "$PY" scan.py run/out/*.jpg
check "no image of the results site carries metadata" "$PY" scan.py \
	$(find site -type f \( -name '*.jpg' -o -name '*.png' \))
# Controls: the scan sees metadata where there is some.
expect_exit 1 "control: the scan flags a JPEG with EXIF/XMP/ICC/comment" \
	"$PY" scan.py "$TOP/tests/fixtures/images/meta.jpg"
expect_exit 1 "control: the scan flags a PNG with text/EXIF chunks" \
	"$PY" scan.py "$TOP/tests/fixtures/images/meta.png"

done_testing
