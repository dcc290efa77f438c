#!/usr/bin/python3
"""Writes the named seed corpora of tests/fuzz/corpus/ (issue 9).

Run from the top of the repository with Debian's /usr/bin/python3 (Pillow,
botocore).  Every seed is made here or copied from tests/fixtures (same
licences: written for this project, CC0); crashers found by the fuzzers are
added by hand as crash_* files and are never regenerated.
"""
import datetime
import io
import os
import shutil
import struct
import zlib

from PIL import Image

TOP = os.getcwd()
C = os.path.join(TOP, "tests/fuzz/corpus")


def put(target, name, data):
    d = os.path.join(C, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- answer: QuestionFormAnswers XML with the boxes JSON -------------------
NS = ("http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/"
      "2005-10-01/QuestionFormAnswers.xsd")


def answer(boxes, face="yes", feedback="", decl='<?xml version="1.0" '
           'encoding="ASCII"?>'):
    f = [("boxes", boxes), ("face_found", face), ("feedback", feedback)]
    body = "".join("<Answer><QuestionIdentifier>%s</QuestionIdentifier>"
                   "<FreeText>%s</FreeText></Answer>" % kv for kv in f)
    return '%s<QuestionFormAnswers xmlns="%s">%s</QuestionFormAnswers>' % (
        decl, NS, body)


fx = os.path.join(TOP, "tests/fixtures/answers")
for n in sorted(os.listdir(fx)):
    # The hostile 10 MB case stays in the unit suite: seeds should be small.
    if n.endswith(".xml") and os.path.getsize(os.path.join(fx, n)) < 20000:
        put("answer", n, open(os.path.join(fx, n), "rb").read())
put("answer", "bom", b"\xef\xbb\xbf" + answer("[[1,2,3,4]]").encode())
put("answer", "duplicate_key", answer('{"boxes":[[1,2,3,4]],"boxes":[]}'))
put("answer", "duplicate_field",
    answer("[[1,2,3,4]]").replace("</QuestionFormAnswers>",
                                  "<Answer><QuestionIdentifier>boxes"
                                  "</QuestionIdentifier><FreeText>[]"
                                  "</FreeText></Answer></QuestionFormAnswers>"))
put("answer", "float_coords", answer("[[1.5,2e3,3,4]]"))
put("answer", "int_overflow", answer("[[9223372036854775807,0,1,1]]"))
put("answer", "negative_zero", answer("[[-0,0,1,1]]"))
put("answer", "nested_deep", answer("[" * 300 + "]" * 300))
put("answer", "nul_in_json", answer("[[1,2,3,4]]\\u0000"))
put("answer", "edge_clip", answer("[[490,390,50,50],[-10,-10,20,20]]"))
put("answer", "cdata", answer("<![CDATA[[[1,2,3,4]]]]>"))
put("answer", "no_decl", answer("[[1,2,3,4]]", decl=""))
put("answer", "truncated_json", answer("[[1,2,3,"))
# The confidence field of the task page's slider (one value per box).
put("answer", "confidence",
    answer("[[1,2,3,4],[900,900,5,5],[5,5,5,5]]").replace(
        "</QuestionFormAnswers>",
        "<Answer><QuestionIdentifier>confidence</QuestionIdentifier>"
        "<FreeText>[80,null,0]</FreeText></Answer></QuestionFormAnswers>"))

# ---- image: JPEG, PNG, PPM headers and EXIF --------------------------------
def img_bytes(fmt, size=(8, 6), mode="RGB", **kw):
    b = io.BytesIO()
    Image.new(mode, size, (200, 100, 50) if mode == "RGB" else 128).save(
        b, fmt, **kw)
    return b.getvalue()


ix = os.path.join(TOP, "tests/fixtures/images")
for n in ["gray1.png", "gray16.png", "palette_trns.png", "rgba8.png",
          "meta.jpg", "meta.png", "orient_be_6.jpg", "orient_le_8.jpg",
          "orient_png_5.png", "exp_rgb8.ppm"]:
    put("image", n, open(os.path.join(ix, n), "rb").read())
jpg = img_bytes("JPEG")
put("image", "small.jpg", jpg)
put("image", "truncated_soi", jpg[:2])
put("image", "truncated_half.jpg", jpg[:len(jpg) // 2])
put("image", "progressive.jpg", img_bytes("JPEG", progressive=True))
put("image", "cmyk.jpg", img_bytes("JPEG", mode="CMYK"))
put("image", "gray.jpg", img_bytes("JPEG", mode="L"))
# A SOF claiming 65535 x 65535: refused by the pixel cap before decoding.
i = jpg.find(b"\xff\xc0")
put("image", "huge_sof.jpg", jpg[:i + 5] + b"\xff\xff\xff\xff" + jpg[i + 9:])


def app1_exif(tiff):
    seg = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(seg) + 2) + seg


def tiff_orient(v, endian="<", count=1, offset=8):
    e = endian
    return ((b"II" if e == "<" else b"MM") + struct.pack(e + "HI", 42, offset)
            + struct.pack(e + "H", count)
            + struct.pack(e + "HHIHH", 0x112, 3, 1, v, 0)
            + struct.pack(e + "I", 0))


put("image", "exif_orient_9.jpg", jpg[:2] + app1_exif(tiff_orient(9)) + jpg[2:])
put("image", "exif_bad_offset.jpg",
    jpg[:2] + app1_exif(tiff_orient(6, offset=0xfffffff0)) + jpg[2:])
put("image", "exif_many_entries.jpg",
    jpg[:2] + app1_exif(tiff_orient(6, count=0xffff)) + jpg[2:])
put("image", "exif_short.jpg", jpg[:2] + b"\xff\xe1\x00\x08Exif\0\0" + jpg[2:])
png = img_bytes("PNG")
put("image", "small.png", png)
put("image", "truncated.png", png[:40])
ihdr = png.find(b"IHDR")
put("image", "huge_ihdr.png",
    png[:ihdr + 4] + struct.pack(">II", 100000, 100000) + png[ihdr + 12:])


def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(
        ">I", zlib.crc32(t + d) & 0xffffffff)


iend = png.find(b"IEND") - 4
put("image", "exif_chunk.png", png[:iend] + chunk(b"eXIf", tiff_orient(6))
    + png[iend:])
put("image", "text_chunk.png", png[:iend] + chunk(b"tEXt", b"Author\0me")
    + png[iend:])
put("image", "small.ppm", b"P6\n4 3\n255\n" + bytes(range(36)))
put("image", "ppm_comment.ppm", b"P6 # c\n4 3 255\n" + bytes(36))
put("image", "ppm_huge.ppm", b"P6\n99999999 99999999\n255\n")
put("image", "ppm_maxval16.ppm", b"P6\n1 1\n65535\n" + bytes(6))
put("image", "ppm_truncated.ppm", b"P6\n4 3\n255\n" + bytes(10))
put("image", "empty", b"")

# ---- config: the experiment YAML --------------------------------------------
GOOD = """name: fuzz
mturk:
  environment: simulator
hit:
  reward: "0.15"
  workers: 3
  assignment_duration: 5m
  lifetime: 1h
stages: [41, 27, 21, 17, 13]
aggregate: union
redact:
  style: fill
  color: "#000000"
images_host:
  kind: simulator
budget_usd: "20.00"
output_dir: out
images:
  - id: a
    file: a.jpg
    ground_truth: [[1, 2, 10, 10]]
"""
put("config", "valid", GOOD)
for n in ["exp1.yaml", "demo.yaml"]:
    put("config", "example_" + n, open(os.path.join(TOP, "examples", n),
                                       "rb").read())
put("config", "duplicate_key", GOOD.replace("aggregate: union",
                                            "aggregate: union\naggregate: "
                                            "majority"))
put("config", "tab_indent", GOOD.replace("  environment", "\tenvironment"))
put("config", "bom", b"\xef\xbb\xbf" + GOOD.encode())
put("config", "alias", GOOD.replace("stages: [41, 27, 21, 17, 13]",
                                    "stages: &s [41, 27]\nx: *s"))
put("config", "two_docs", GOOD + "---\nname: b\n")
put("config", "not_utf8", GOOD.encode().replace(b"fuzz", b"f\xff\xfez"))
put("config", "empty", "")
put("config", "scalar_root", "just a string\n")
put("config", "huge_numbers", GOOD.replace("workers: 3",
                                           "workers: 99999999999999999999")
    .replace("5m", "9999999999999999d"))
put("config", "bad_duration", GOOD.replace("1h", "1 fortnight"))
put("config", "bad_money", GOOD.replace('"0.15"', '"0.1.5"'))
put("config", "unknown_key", GOOD + "frobnicate: yes\n")
put("config", "missing_image", GOOD.replace("a.jpg", "nope.jpg"))
put("config", "abs_output", GOOD.replace("output_dir: out",
                                         "output_dir: /nonexistent/x"))
put("config", "deep_nesting", "a: " + "[" * 200 + "]" * 200 + "\n")

# ---- ops: MTurk JSON answers (see fuzz_ops.c for the format) ---------------
HIT = ('{"HITId":"H1","HITTypeId":"T1","HITStatus":"Assignable",'
       '"CreationTime":1767323045.5,"Expiration":1767326645,'
       '"MaxAssignments":3,"RequesterAnnotation":"exp/img/1",'
       '"NumberOfAssignmentsPending":0}')
ASG = ('{"AssignmentId":"A1","WorkerId":"W1","HITId":"H1",'
       '"AssignmentStatus":"Submitted","SubmitTime":1767323100,'
       '"Answer":"<QuestionFormAnswers/>"}')
put("ops", "create_qual_type", 'a{"QualificationType":'
    '{"QualificationTypeId":"Q1"}}')
put("ops", "create_qual_type_exists", 'a400 {"__type":"ServiceFault",'
    '"Message":"You have already created a QualificationType with this '
    'name."}\n--\n{"QualificationTypes":[{"QualificationTypeId":"Q9",'
    '"Name":"q"}]}')
put("ops", "associate_qual", "b{}")
put("ops", "create_hit_type", 'c{"HITTypeId":"T1"}')
put("ops", "get_hit", 'd{"HIT":%s}' % HIT)
put("ops", "get_hit_wrong_types", 'd{"HIT":{"HITId":5,"MaxAssignments":"x",'
    '"CreationTime":"now"}}')
put("ops", "create_hit", 'e{"HIT":%s}' % HIT)
put("ops", "create_hit_exists", 'e400 {"__type":"ServiceFault","Message":'
    '"There is already a HIT which exists with the same idempotency token. '
    'HITId: 3ABCDEF"}\n--\n{"HIT":%s}' % HIT)
put("ops", "list_hits", 'f{"HITs":[%s,%s],"NextToken":"t2"}' % (HIT, HIT))
put("ops", "find_by_annotation", 'g{"HITs":[%s],"NextToken":"t2"}\n--\n'
    '{"HITs":[]}' % HIT)
put("ops", "list_assignments_pages", 'h{"Assignments":[%s],"NextToken":"p2"}'
    '\n--\n{"Assignments":[%s]}' % (ASG, ASG))
put("ops", "list_assignments_repeat_token", 'h{"Assignments":[],'
    '"NextToken":"p"}\n--\n{"Assignments":[],"NextToken":"p"}')
put("ops", "get_assignment", 'i{"Assignment":%s,"HIT":%s}' % (ASG, HIT))
put("ops", "approve_twice", 'j400 {"__type":"RequestError","Message":'
    '"This operation can be called with a status of: Submitted",'
    '"TurkErrorCode":"AWS.MechanicalTurk.InvalidAssignmentState"}\n--\n'
    '{"Assignment":%s}' % ASG.replace("Submitted", "Approved"))
put("ops", "reject", "k{}")
put("ops", "update_expiration_repeat", 'l400 {"__type":"RequestError",'
    '"Message":"The idempotency token has already been processed."}')
put("ops", "delete_hit", "m{}")
put("ops", "balance", 'n{"AvailableBalance":"10000.00",'
    '"OnHoldBalance":"0.00"}')
put("ops", "balance_bad_money", 'n{"AvailableBalance":"1e400"}')
# S3-style XML error bodies (errors.c parses them with libxml2): a good
# one, one with an entity and a DOCTYPE, one cut short.
put("ops", "error_s3_xml", 'n403 <?xml version="1.0"?><Error><Code>'
    'InvalidAccessKeyId</Code><Message>The key &amp; id</Message></Error>')
put("ops", "error_s3_xml_dtd", 'n403 <!DOCTYPE Error [<!ENTITY x "y">]>'
    '<Error><Code>&x;</Code><Message>&x;&x;</Message></Error>')
put("ops", "error_s3_xml_cut", 'n500 <Error><Code>SlowDown</Code><Mess')
put("ops", "not_json", "d<html>503 Service Unavailable</html>")
put("ops", "error_not_json", "d503 <html>Service Unavailable</html>")
put("ops", "error_type_prefix", 'd400 {"__type":"com.amazonaws#'
    'ThrottlingException:http://x","message":"' + "x" * 700 + '"}')
put("ops", "duplicate_key", 'd{"HIT":%s,"HIT":{}}' % HIT)
put("ops", "long_id", 'd{"HIT":{"HITId":"%s"}}' % ("H" * 65))
put("ops", "empty", "")

# ---- sigv4: received requests (see fuzz_sigv4.c for the format) ------------
import botocore.auth
import botocore.awsrequest
import botocore.credentials

T0 = datetime.datetime(2026, 1, 2, 3, 4, 5)


def signed(kind, key, secret, token=None, body=b'{}', query=""):
    creds = botocore.credentials.Credentials(key, secret, token)
    url = "http://127.0.0.1:8000/" + ("bucket/obj.jpg" if kind != "mturk"
                                      else "")
    if query:
        url += "?" + query
    if kind == "mturk":
        req = botocore.awsrequest.AWSRequest(
            "POST", url, data=body, headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "MTurkRequesterServiceV20170117.GetHIT"})
        auth = botocore.auth.SigV4Auth(creds, "mturk-requester", "us-east-1")
    elif kind == "s3":
        req = botocore.awsrequest.AWSRequest("GET", url)
        auth = botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1")
    else:
        req = botocore.awsrequest.AWSRequest("GET", url)
        auth = botocore.auth.S3SigV4QueryAuth(creds, "s3", "us-east-1",
                                              expires=600)
    import unittest.mock as m
    with m.patch("botocore.auth.datetime") as dt:
        dt.datetime.utcnow.return_value = T0
        dt.datetime.now.return_value = T0
        auth.add_auth(req)
    p = req.prepare()
    from urllib.parse import urlsplit
    u = urlsplit(p.url)
    method = ("S3 " if kind != "mturk" else "") + p.method
    hdrs = "".join("%s: %s\n" % (k, v) for k, v in p.headers.items())
    if "host" not in {k.lower() for k in p.headers}:
        hdrs = "Host: 127.0.0.1:8000\n" + hdrs
    b = p.body or b""
    if isinstance(b, str):
        b = b.encode()
    return ("%s\n%s\n%s\n%s\n" % (method, u.path, u.query, hdrs)).encode() + b


K, S = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
good = signed("mturk", K, S, body=b'{"HITId":"H1"}')
put("sigv4", "valid_mturk", good)
put("sigv4", "valid_token", signed("mturk", "ASIAEXAMPLE", "fuzzsecret",
                                   token="fuzztoken"))
put("sigv4", "valid_s3_get", signed("s3", K, S))
put("sigv4", "valid_presigned", signed("presign", K, S))
put("sigv4", "body_changed", good.replace(b'"H1"', b'"H2"'))
put("sigv4", "unknown_key", good.replace(b"AKIDEXAMPLE", b"AKIDNOBODY0"))
put("sigv4", "no_auth", b"POST\n/\n\nHost: 127.0.0.1\n\n{}")
put("sigv4", "auth_garbage", b"POST\n/\n\nHost: x\nAuthorization: AWS4-HMAC"
    b"-SHA256 Credential=,SignedHeaders=;;;,Signature=zz\n\n")
put("sigv4", "presigned_garbage", b"S3 GET\n/b/o\nX-Amz-Algorithm=AWS4-HMAC-"
    b"SHA256&X-Amz-Credential=%2F%2F%2F&X-Amz-Date=99999999T999999Z&"
    b"X-Amz-Expires=-1&X-Amz-SignedHeaders=host&X-Amz-Signature=\n"
    b"Host: x\n\n")
put("sigv4", "presigned_long_expiry",
    signed("presign", K, S).replace(b"X-Amz-Expires=600",
                                    b"X-Amz-Expires=99999999999999999999"))
put("sigv4", "empty", b"")

# ---- sim: the simulator's API requests (see fuzz_sim.c for the format) -----
Q = ('<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/'
     'AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"><HTMLContent>'
     '<![CDATA[<img src="http://127.0.0.1:9000/b/0123456789abcdef0123456789'
     'abcdef.jpg">]]></HTMLContent><FrameHeight>600</FrameHeight>'
     '</HTMLQuestion>')
HT = ('CreateHITType\n{"Title":"t","Description":"d","Reward":"0.10",'
      '"AssignmentDurationInSeconds":600,"AutoApprovalDelayInSeconds":3600}')
HITREQ = ('{"HITTypeId":"%s","Question":%s,"LifetimeInSeconds":3600,'
          '"MaxAssignments":3,"RequesterAnnotation":"e/img/1",'
          '"UniqueRequestToken":"tok1"}')
import json as _json
put("sim", "create_hit", HT + "\n--\nCreateHITWithHITType\n" +
    HITREQ % ("unknown", _json.dumps(Q)))
put("sim", "create_hit_direct", 'CreateHIT\n{"Title":"t","Description":"d",'
    '"Reward":"0.10","AssignmentDurationInSeconds":600,'
    '"LifetimeInSeconds":3600,"MaxAssignments":2,"Question":%s}'
    % _json.dumps(Q))
put("sim", "list_and_balance", 'ListHITs\n{"MaxResults":100}\n--\n'
    'GetAccountBalance\n{}\n--\nListHITs\n{"NextToken":"zz"}')
put("sim", "qualifications", 'CreateQualificationType\n{"Name":"q",'
    '"Description":"d","QualificationTypeStatus":"Active"}\n--\n'
    'ListQualificationTypes\n{"MustBeRequestable":false,"Query":"q"}\n--\n'
    'AssociateQualificationWithWorker\n{"QualificationTypeId":"x",'
    '"WorkerId":"w","IntegerValue":1,"SendNotification":false}')
put("sim", "assignments_unknown", 'ListAssignmentsForHIT\n{"HITId":"nope",'
    '"AssignmentStatuses":["Submitted"]}\n--\nApproveAssignment\n'
    '{"AssignmentId":"nope"}\n--\nGetAssignment\n{"AssignmentId":"nope"}')
put("sim", "wrong_types", 'CreateHITType\n{"Title":5,"Reward":[],'
    '"AssignmentDurationInSeconds":"x"}\n--\nUpdateExpirationForHIT\n'
    '{"HITId":"h","ExpireAt":"soon"}\n--\nDeleteHIT\n{"HITId":null}')
put("sim", "review_status", 'CreateHIT\n{"Title":"t","Description":"d",'
    '"Reward":"0.10","AssignmentDurationInSeconds":60,"LifetimeInSeconds":60,'
    '"MaxAssignments":1,"Question":"<q/>"}\n--\nListReviewableHITs\n'
    '{"Status":"Reviewing","MaxResults":1}\n--\nListReviewableHITs\n'
    '{"HITTypeId":7,"Status":"Open","NextToken":"p9"}\n--\n'
    'UpdateHITReviewStatus\n{"HITId":"nope","Revert":"no"}\n--\n'
    'UpdateHITReviewStatus\n{"HITId":null}')
put("sim", "unknown_op", "Frobnicate\n{}\n--\nListHITs\n[]")
put("sim", "huge_numbers", 'CreateHIT\n{"Title":"t","Description":"d",'
    '"Reward":"99999999999999999999.99","AssignmentDurationInSeconds":'
    '99999999999999999,"LifetimeInSeconds":-1,"MaxAssignments":1000000000}')
put("sim", "lab_submit", "externalSubmit\nassignmentId=A1&boxes=%5B%5B1%2C2"
    "%2C3%2C4%5D%5D&face_found=yes&feedback=caf%C3%A9+%26")
put("sim", "lab_submit_bad_escapes", "externalSubmit\nassignmentId=%&boxes="
    "%ZZ&&=&face_found&feedback=%C3")
put("sim", "lab_after_hit", 'CreateHIT\n{"Title":"t","Description":"d",'
    '"Reward":"0.10","AssignmentDurationInSeconds":600,'
    '"LifetimeInSeconds":3600,"MaxAssignments":2,"Question":%s}\n--\nlab\n'
    % _json.dumps(Q))
