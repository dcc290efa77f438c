/*
 * tests/support/people_rig.c - see people_rig.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/people_rig.h"
#include "tests/support/tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t
rig_clock(void *ctx)
{
	return ((const struct people_rig *)ctx)->now_ms;
}

void
people_rig_participants(struct sim_store_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 1;
	cfg->crowd_off = true;
	cfg->csprng_ids = true;
	cfg->people = true;
}

struct people_rig *
people_rig_new(const struct sim_store_config *cfg, const char *tag)
{
	struct people_rig *r = calloc(1, sizeof(*r));
	struct sim_store_config c = *cfg;
	struct errbuf eb;

	assert_non_null(r);
	r->now_ms = 1767323045000LL; /* 2026-01-02T03:04:05Z */
	c.clock_ms = rig_clock;
	c.clock_ctx = r;
	r->st = sim_store_new(&c);
	assert_non_null(r->st);
	if (tag != NULL) {
		r->dir = tmpdir_new(tag);
		err_init(&eb);
		if (sim_store_open(r->st, r->dir, &eb) != IF_OK)
			fail_msg("sim_store_open %s: %s", r->dir, eb.msg);
	}
	return r;
}

void
people_rig_free(struct people_rig *r)
{
	if (r == NULL)
		return;
	sim_people_free(r->people);
	sim_store_free(r->st);
	tmpdir_free(r->dir);
	free(r);
}

void
people_rig_pages(struct people_rig *r, const struct sim_people_config *pc)
{
	struct errbuf eb;

	err_init(&eb);
	assert_null(r->people);
	r->people = sim_people_new(pc, NULL, "http://127.0.0.1:9", &eb);
	if (r->people == NULL)
		fail_msg("sim_people_new: %s", eb.msg);
}

json_t *
people_rig_call(struct people_rig *r, const char *op, const char *req)
{
	json_error_t je;
	json_t *in = json_loads(req, 0, &je), *resp = NULL;
	struct sim_err err;

	if (in == NULL)
		fail_msg("%s: not JSON: %s", op, req);
	memset(&err, 0, sizeof(err));
	if (sim_store_call(r->st, op, in, &resp, &err) != 0)
		fail_msg("%s failed: %s %s %s", op, err.type, err.turk,
			 err.message);
	json_decref(in);
	return resp;
}

void
people_rig_hit(struct people_rig *r, const char *req,
	       char id[SIM_ID_LEN + 1])
{
	json_t *resp = people_rig_call(r, "CreateHIT", req);
	const char *s = json_string_value(
		json_object_get(json_object_get(resp, "HIT"), "HITId"));

	assert_non_null(s);
	assert_true(strlen(s) <= SIM_ID_LEN);
	snprintf(id, SIM_ID_LEN + 1, "%s", s);
	json_decref(resp);
}

void
people_rig_post_hit(struct people_rig *r, int max, const char *ann,
		    const char *extra, char id[SIM_ID_LEN + 1])
{
	char req[2048];

	snprintf(req, sizeof(req),
		 "{\"MaxAssignments\":%d,\"LifetimeInSeconds\":3600,"
		 "\"AssignmentDurationInSeconds\":300,\"Reward\":\"0.10\","
		 "\"Title\":\"t\",\"Description\":\"d\",\"Question\":\"<q/>\","
		 "\"RequesterAnnotation\":\"%s\"%s}",
		 max, ann, extra != NULL ? extra : "");
	people_rig_hit(r, req, id);
}

void
people_rig_grant(struct people_rig *r, const char *worker, int value,
		 char qid[SIM_ID_LEN + 1])
{
	char req[512];
	json_t *resp;
	const char *s;

	resp = people_rig_call(r, "CreateQualificationType",
			       "{\"Name\":\"q\",\"Description\":\"d\","
			       "\"QualificationTypeStatus\":\"Active\"}");
	s = json_string_value(json_object_get(
		json_object_get(resp, "QualificationType"),
		"QualificationTypeId"));
	assert_non_null(s);
	assert_true(strlen(s) <= SIM_ID_LEN);
	snprintf(qid, SIM_ID_LEN + 1, "%s", s);
	json_decref(resp);
	snprintf(req, sizeof(req),
		 "{\"QualificationTypeId\":\"%s\",\"WorkerId\":\"%s\","
		 "\"IntegerValue\":%d}",
		 qid, worker, value);
	json_decref(people_rig_call(r, "AssociateQualificationWithWorker",
				    req));
}

int
people_rig_take(struct people_rig *r, const char *who, int share, bool peek,
		char asg[SIM_ID_LEN + 1])
{
	char why[256];

	return sim_store_people_take(r->st, who, share, peek, asg, why,
				     sizeof(why));
}

int
people_rig_submit(struct people_rig *r, const char *who, const char *asg)
{
	char why[256], *xml = strdup("<QuestionFormAnswers/>");

	assert_non_null(xml);
	return sim_store_people_submit(r->st, who, asg, xml, "[]", why,
				       sizeof(why));
}

void
people_rig_do_task(struct people_rig *r, const char *who, int share,
		   char asg[SIM_ID_LEN + 1])
{
	char why[256], *xml;

	if (sim_store_people_take(r->st, who, share, false, asg, why,
				  sizeof(why)) != 0)
		fail_msg("%s takes no task: %s", who, why);
	xml = strdup("<QuestionFormAnswers/>");
	assert_non_null(xml);
	if (sim_store_people_submit(r->st, who, asg, xml, "[]", why,
				    sizeof(why)) != 0)
		fail_msg("%s cannot submit %s: %s", who, asg, why);
}

static const char *
no_arg(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

struct sim_reply
people_rig_get(struct people_rig *r, const char *path, const char *cookie,
	       people_rig_arg_fn *arg)
{
	struct sim_people_request rq = {
		.method = "GET",
		.path = path,
		.cookie = cookie,
		.body = "",
		.arg = arg != NULL ? arg : no_arg,
	};
	struct sim_reply reply;

	assert_non_null(r->people);
	memset(&reply, 0, sizeof(reply));
	sim_people_handle(r->people, r->st, &rq, &reply);
	return reply;
}

int
people_rig_enter(struct people_rig *r, people_rig_arg_fn *arg, char *cookie,
		 size_t size)
{
	struct sim_reply reply = people_rig_get(r, "/enter", NULL, arg);
	int len = (int)strcspn(reply.cookie, ";");

	/* A cookie with its attributes ("; Path=/; HttpOnly ..."). */
	if (len == 0 || reply.cookie[len] != ';')
		fail_msg("/enter set no cookie (status %d): %s", reply.status,
			 reply.cookie);
	assert_true((size_t)len < size);
	snprintf(cookie, size, "%.*s", len, reply.cookie);
	buf_cleanup(&reply.body);
	return reply.status;
}

bool
people_rig_body_has(const struct sim_reply *reply, const char *s)
{
	return reply->body.data != NULL && strstr(reply->body.data, s) != NULL;
}
