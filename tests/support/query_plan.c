/*
 * tests/support/query_plan.c - see query_plan.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/query_plan.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
query_plan(sqlite3 *db, const char *sql, char *plan, size_t size)
{
	static const char prefix[] = "EXPLAIN QUERY PLAN ";
	size_t sql_len = strlen(sql), len = 0;
	char *explain = malloc(sizeof(prefix) + sql_len);
	sqlite3_stmt *stmt = NULL;
	bool cut = false;

	assert_non_null(explain);
	assert_true(size > 0);
	memcpy(explain, prefix, sizeof(prefix) - 1);
	memcpy(explain + sizeof(prefix) - 1, sql, sql_len + 1);
	plan[0] = '\0';
	if (sqlite3_prepare_v2(db, explain, -1, &stmt, NULL) != SQLITE_OK) {
		free(explain);
		fail_msg("cannot explain %s: %s", sql, sqlite3_errmsg(db));
	}
	free(explain);
	while (!cut && sqlite3_step(stmt) == SQLITE_ROW) {
		const char *detail =
			(const char *)sqlite3_column_text(stmt, 3);
		int n = snprintf(plan + len, size - len, "%s; ",
				 detail != NULL ? detail : "");

		if (n < 0 || (size_t)n >= size - len)
			cut = true;
		else
			len += (size_t)n;
	}
	sqlite3_finalize(stmt);
	if (cut)
		fail_msg("the plan of %s is longer than %zu bytes: %s", sql,
			 size, plan);
}

/* The plan's first table walk ("SCAN t" without an index), or NULL. */
static const char *
table_scan(const char *plan)
{
	for (const char *p = plan; (p = strstr(p, "SCAN ")) != NULL; p++) {
		const char *end = strchr(p, ';');
		const char *using = strstr(p, "USING");

		/* The rows an indexed subquery gave, not a table. */
		if (strncmp(p, "SCAN (subquery", 14) == 0)
			continue;
		if (using == NULL || (end != NULL && using > end))
			return p;
	}
	return NULL;
}

void
assert_plan_searches(sqlite3 *db, const char *what, const char *sql, ...)
{
	char plan[4096], names[512] = "";
	const char *needle;
	size_t len = 0;
	bool named = false;
	va_list ap;

	query_plan(db, sql, plan, sizeof(plan));
	va_start(ap, sql);
	while ((needle = va_arg(ap, const char *)) != NULL) {
		if (strstr(plan, needle) != NULL)
			named = true;
		if (len < sizeof(names))
			len += (size_t)snprintf(names + len,
						sizeof(names) - len, "%s\"%s\"",
						len > 0 ? " or " : "", needle);
	}
	va_end(ap);
	if (len > 0 && !named)
		fail_msg("%s: no %s in the plan: %s", what, names, plan);
	if (table_scan(plan) != NULL)
		fail_msg("%s: a table scan in the plan: %s", what, plan);
}
