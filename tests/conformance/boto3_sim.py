#!/usr/bin/python3
"""Conformance of the IntoFocus simulator with an independent client.

Drives `intofocus sim` with Debian's python3-boto3 (botocore's own
serialisers, signer and error parsers) and prints TAP.  Usage:

    boto3_sim.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY

The simulator must run with its simulated crowd and --delay 0, so that a
new HIT's assignments are submitted at once.
"""
import json
import sys
import urllib.request
import xml.etree.ElementTree as ET

import boto3
import botocore.config
from botocore.exceptions import ClientError

ENDPOINT, KEY, SECRET = sys.argv[1:4]
QFA = ('{http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
       '2005-10-01/QuestionFormAnswers.xsd}')
QUESTION = (
    '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/'
    'AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">'
    '<HTMLContent><![CDATA[<!DOCTYPE html><html><body>'
    '<form method="post"><input name="boxes"></form></body></html>]]>'
    '</HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>')

n = 0
failed = 0


def check(desc, cond, detail=''):
    global n, failed
    n += 1
    if cond:
        print(f'ok {n} - {desc}')
    else:
        failed += 1
        print(f'not ok {n} - {desc}')
        if detail:
            for line in str(detail).splitlines():
                print(f'# {line}')


def client(secret=SECRET, service='mturk'):
    cfg = botocore.config.Config(retries={'max_attempts': 1},
                                 signature_version='s3v4' if service == 's3'
                                 else None,
                                 s3={'addressing_style': 'path'})
    return boto3.client(service, endpoint_url=ENDPOINT,
                        region_name='us-east-1', aws_access_key_id=KEY,
                        aws_secret_access_key=secret, config=cfg)


def client_error(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return e
    return None


mt = client()

bal = mt.get_account_balance()
check('GetAccountBalance is 10000.00', bal['AvailableBalance'] == '10000.00',
      bal)

q = mt.create_qualification_type(
    Name='boto3-conformance-stage-1', Description='worked in stage 1',
    QualificationTypeStatus='Active')['QualificationType']
qid = q['QualificationTypeId']
check('CreateQualificationType returns an id',
      qid.isalnum() and qid.isupper(), q)
e = client_error(mt.create_qualification_type,
                 Name='boto3-conformance-stage-1', Description='again',
                 QualificationTypeStatus='Active')
check('a duplicate qualification name is a RequestError',
      e is not None and e.response['Error']['Code'] == 'RequestError', e)
lq = mt.list_qualification_types(MustBeRequestable=False,
                                 MustBeOwnedByCaller=True)
check('ListQualificationTypes lists it',
      any(t['QualificationTypeId'] == qid for t in lq['QualificationTypes']),
      lq)

hit = mt.create_hit(
    MaxAssignments=3, LifetimeInSeconds=3600, AssignmentDurationInSeconds=300,
    Reward='0.15', Title='Box faces', Description='Draw boxes over faces',
    Keywords='image,privacy', Question=QUESTION,
    RequesterAnnotation='conformance/img/1', UniqueRequestToken='conf-tok-1',
    QualificationRequirements=[{
        'QualificationTypeId': qid, 'Comparator': 'DoesNotExist',
        'ActionsGuarded': 'DiscoverPreviewAndAccept'}])['HIT']
hit_id = hit['HITId']
check('CreateHIT returns a 30-character HITId',
      len(hit_id) == 30 and hit_id.isalnum() and hit_id.isupper(), hit)
check('timestamps parse as datetimes',
      hasattr(hit['CreationTime'], 'year') and hasattr(hit['Expiration'],
                                                       'year'), hit)
check('MaxAssignments and annotation echo back',
      hit['MaxAssignments'] == 3 and
      hit['RequesterAnnotation'] == 'conformance/img/1', hit)

a = mt.list_assignments_for_hit(HITId=hit_id, MaxResults=2)
page1 = a['Assignments']
check('ListAssignmentsForHIT pages with MaxResults',
      len(page1) == 2 and 'NextToken' in a, a)
a2 = mt.list_assignments_for_hit(HITId=hit_id, MaxResults=2,
                                 NextToken=a['NextToken'])
assignments = page1 + a2['Assignments']
check('the second page holds the rest and no NextToken',
      len(assignments) == 3 and 'NextToken' not in a2, a2)
workers = {x['WorkerId'] for x in assignments}
check('three distinct MTurk-shaped worker ids',
      len(workers) == 3 and all(w.startswith('A') and w.isalnum()
                                for w in workers), workers)

parsed_ok = True
detail = ''
for x in assignments:
    try:
        root = ET.fromstring(x['Answer'])
        fields = {ans.find(QFA + 'QuestionIdentifier').text:
                  (ans.find(QFA + 'FreeText').text or '')
                  for ans in root.findall(QFA + 'Answer')}
        boxes = json.loads(fields['boxes'])
        parsed_ok &= root.tag == QFA + 'QuestionFormAnswers'
        parsed_ok &= fields['face_found'] in ('yes', 'no')
        parsed_ok &= all(len(b) == 4 and all(isinstance(v, int) for v in b)
                         for b in boxes)
        parsed_ok &= x['AssignmentStatus'] == 'Submitted'
    except Exception as ex:  # report, don't crash the TAP stream
        parsed_ok = False
        detail = f'{ex}: {x}'
check('each Answer is QuestionFormAnswers with boxes and face_found',
      parsed_ok, detail)

for w in workers:
    mt.associate_qualification_with_worker(
        QualificationTypeId=qid, WorkerId=w, IntegerValue=1,
        SendNotification=False)
hit2 = mt.create_hit(
    MaxAssignments=5, LifetimeInSeconds=3600, AssignmentDurationInSeconds=300,
    Reward='0.15', Title='Box faces', Description='Draw boxes over faces',
    Question=QUESTION, RequesterAnnotation='conformance/img/2',
    QualificationRequirements=[{
        'QualificationTypeId': qid, 'Comparator': 'DoesNotExist'}])['HIT']
w2 = {x['WorkerId'] for x in mt.list_assignments_for_hit(
    HITId=hit2['HITId'])['Assignments']}
check('DoesNotExist keeps qualified workers away',
      len(w2) == 5 and not (w2 & workers), (w2, workers))

first = assignments[0]['AssignmentId']
mt.approve_assignment(AssignmentId=first)
got = mt.get_assignment(AssignmentId=first)['Assignment']
check('ApproveAssignment approves', got['AssignmentStatus'] == 'Approved',
      got)
e = client_error(mt.approve_assignment, AssignmentId=first)
check('a second approve is a RequestError',
      e is not None and e.response['Error']['Code'] == 'RequestError', e)
check('... saying "This operation can be called with a status of: Submitted"',
      e is not None and 'This operation can be called with a status of: '
      'Submitted' in e.response['Error']['Message'], e)
check('... with TurkErrorCode AWS.MechanicalTurk.InvalidAssignmentState',
      e is not None and e.response.get('TurkErrorCode') ==
      'AWS.MechanicalTurk.InvalidAssignmentState', e and e.response)
mt.reject_assignment(AssignmentId=assignments[1]['AssignmentId'],
                     RequesterFeedback='empty answer')
sub = mt.list_assignments_for_hit(HITId=hit_id,
                                  AssignmentStatuses=['Submitted'])
check('AssignmentStatuses filters', len(sub['Assignments']) == 1, sub)

e = client_error(
    mt.create_hit, MaxAssignments=3, LifetimeInSeconds=3600,
    AssignmentDurationInSeconds=300, Reward='0.15', Title='Box faces',
    Description='Draw boxes over faces', Question=QUESTION,
    UniqueRequestToken='conf-tok-1')
check('a repeated UniqueRequestToken is HitAlreadyExists',
      e is not None and e.response.get('TurkErrorCode') ==
      'AWS.MechanicalTurk.HitAlreadyExists', e and e.response)
check('... naming the existing HITId',
      e is not None and hit_id in e.response['Error']['Message'], e)

e = client_error(mt.get_hit, HITId='3NOSUCHHIT0000000000000000000X')
check('an unknown HIT is HITDoesNotExist',
      e is not None and e.response.get('TurkErrorCode') ==
      'AWS.MechanicalTurk.HITDoesNotExist', e and e.response)

pages = 0
ids = set()
for page in mt.get_paginator('list_hits').paginate(
        PaginationConfig={'PageSize': 1}):
    pages += 1
    ids |= {h['HITId'] for h in page['HITs']}
check('the ListHITs paginator walks every page',
      pages >= 2 and {hit_id, hit2['HITId']} <= ids, (pages, ids))

# --delay 0: every assignment is in, so the HIT is Reviewable.
pages = 0
rev = []
for page in mt.get_paginator('list_reviewable_hits').paginate(
        HITTypeId=hit['HITTypeId'], Status='Reviewable',
        PaginationConfig={'PageSize': 1}):
    pages += 1
    rev += [h['HITId'] for h in page['HITs']]
    check('... each page a NumResults that counts its HITs',
          page['NumResults'] == len(page['HITs']), page)
check('the ListReviewableHITs paginator finds the finished HIT of its type',
      hit_id in rev and pages >= 1 and
      all(h != hit2['HITId'] or hit2['HITTypeId'] == hit['HITTypeId']
          for h in rev), (pages, rev))
mt.update_hit_review_status(HITId=hit_id, Revert=False)
st = mt.get_hit(HITId=hit_id)['HIT']['HITStatus']
check('UpdateHITReviewStatus(Revert=False) makes it Reviewing',
      st == 'Reviewing', st)
got = [h['HITId'] for h in mt.list_reviewable_hits(
    Status='Reviewing', MaxResults=100)['HITs']]
check('ListReviewableHITs Status=Reviewing lists it', hit_id in got, got)
got = [h['HITId'] for h in mt.list_reviewable_hits(
    HITTypeId=hit['HITTypeId'])['HITs']]
check('... and the default Status (Reviewable) no longer does',
      hit_id not in got, got)
e = client_error(mt.update_hit_review_status, HITId=hit_id, Revert=False)
check('a repeat is a RequestError InvalidHITState naming the status',
      e is not None and e.response.get('TurkErrorCode') ==
      'AWS.MechanicalTurk.InvalidHITState' and
      "'Reviewing'" in e.response['Error']['Message'], e and e.response)
mt.update_hit_review_status(HITId=hit_id, Revert=True)
st = mt.get_hit(HITId=hit_id)['HIT']['HITStatus']
check('Revert=True brings it back to Reviewable', st == 'Reviewable', st)
e = client_error(mt.update_hit_review_status,
                 HITId='3NOSUCHHIT0000000000000000000X')
check('UpdateHITReviewStatus of an unknown HIT is HITDoesNotExist',
      e is not None and e.response.get('TurkErrorCode') ==
      'AWS.MechanicalTurk.HITDoesNotExist', e and e.response)
e = client_error(mt.list_reviewable_hits, Status='Assignable')
check('a Status outside the enum is a ValidationException',
      e is not None and e.response['Error']['Code'] == 'ValidationException',
      e and e.response)

mt.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
st = mt.get_hit(HITId=hit_id)['HIT']['HITStatus']
check('UpdateExpirationForHIT in the past closes the HIT',
      st in ('Reviewable', 'Unassignable'), st)

e = client_error(client(secret='wrong-secret').get_account_balance)
check('a wrong secret is refused with InvalidSignatureException',
      e is not None and e.response['Error']['Code'] ==
      'InvalidSignatureException', e)
check('... as HTTP 400',
      e is not None and
      e.response['ResponseMetadata']['HTTPStatusCode'] == 400, e)

s3 = client(service='s3')
s3.put_object(Bucket='stage-images', Key='0a1b2c.jpg', Body=b'\xff\xd8jpeg',
              ContentType='image/jpeg')
url = s3.generate_presigned_url(
    'get_object', Params={'Bucket': 'stage-images', 'Key': '0a1b2c.jpg'},
    ExpiresIn=600)
with urllib.request.urlopen(url) as r:
    body = r.read()
check('S3 PutObject then a presigned GET returns the bytes',
      body == b'\xff\xd8jpeg', body)
bad = client(secret='wrong-secret', service='s3')
e = client_error(bad.put_object, Bucket='stage-images', Key='x.jpg',
                 Body=b'x')
check('S3 refuses a wrong secret with SignatureDoesNotMatch',
      e is not None and e.response['Error']['Code'] ==
      'SignatureDoesNotMatch', e)

print(f'1..{n}')
sys.exit(1 if failed else 0)
