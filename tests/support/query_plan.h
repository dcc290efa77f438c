/*
 * tests/support/query_plan.h - SQLite's plan of a query (EXPLAIN QUERY
 * PLAN), and the check that a query searches an index rather than walking
 * a table (test_sim_index, test_pass_work, test_store_counts,
 * test_state_scale).
 */
#ifndef INTOFOCUS_QUERY_PLAN_H
#define INTOFOCUS_QUERY_PLAN_H

#include <sqlite3.h>
#include <stddef.h>

/*
 * The plan of sql on db into plan: each step's detail followed by "; ".
 * The test fails when sql cannot be prepared or its plan does not fit in
 * size (a cut plan could hide a table scan).
 */
void query_plan(sqlite3 *db, const char *sql, char *plan, size_t size);

/*
 * Fails, naming what and the plan, unless sql's plan on db names one of
 * the strings that follow what (a NULL ends them) and walks no table:
 * every "SCAN" step goes through an index ("SCAN t USING ... INDEX") or
 * reads the rows a subquery gave.
 */
void assert_plan_searches(sqlite3 *db, const char *what, const char *sql,
			  ...);

#endif
