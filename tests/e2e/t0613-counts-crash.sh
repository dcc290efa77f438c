# The counts of progress (state schema 5) and the first start of a large
# study under kill -9 (issue 15).
#
# 1. 1,100 new images are inserted 500 to a transaction: a run killed
#    after the first chunk's commit keeps those 500; the next, killed
#    after its first chunk, adds 500 more; the third adds the last 100 and
#    goes on to work (killed at its first transition).  Every image is
#    there once, seq runs 0..1099, and the counts are the rows'.
# 2. A small study killed at every kind of crash point, round after round
#    until a run finishes (as t0610): after every kill the counts equal a
#    count over the rows, and at the end too.
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/crash_lib.sh"

FIX="$TOP/tests/fixtures/daemon"

# counts_true DB: progress_counts equals a count over the rows.
counts_true() {
	got=$(sqlite3 "$1" "SELECT
	  images = (SELECT COUNT(*) FROM images)
	  AND done = (SELECT COUNT(*) FROM images WHERE state = 'done')
	  AND failed = (SELECT COUNT(*) FROM images WHERE state = 'failed')
	  AND paused = (SELECT COUNT(*) FROM images WHERE state = 'paused')
	  AND erring = (SELECT COUNT(*) FROM images WHERE error != ''
	    AND state NOT IN ('done', 'failed'))
	  AND hits_posted = (SELECT COUNT(*) FROM hits WHERE hit_id != '')
	  AND hits_open = (SELECT COUNT(*) FROM hits WHERE hit_id != ''
	    AND closed = 0)
	  AND cents_hits = (SELECT COALESCE(SUM(cost_cents), 0) FROM hits)
	  AND cents_prolific =
	    (SELECT COALESCE(SUM(cost_cents), 0) FROM prolific_approvals) +
	    (SELECT COALESCE(SUM(cost_cents), 0) FROM prolific_bonuses)
	  FROM progress_counts")
	[ "$got" = 1 ] || { sqlite3 "$1" "SELECT * FROM progress_counts"; false; }
}

# ---- 1. the first start of 1,100 images -----------------------------------
mkdir many
cat >many/exp.yaml <<'YAML'
name: many
mturk:
  environment: simulator
  poll_interval: 1s
hit:
  reward: "0.05"
  workers: 1
stages: [41, 13]
images_host:
  kind: simulator
output_dir: out
images:
YAML
i=0
while [ $i -lt 1100 ]; do
	n=$(printf '%04d' $i)
	ln "$FIX/street.jpg" "many/s$n.jpg" 2>/dev/null ||
		cp "$FIX/street.jpg" "many/s$n.jpg"
	printf '  - id: s%s\n    file: s%s.jpg\n' "$n" "$n" >>many/exp.yaml
	i=$((i + 1))
done
db() { sqlite3 many/st/state.db "$1"; }

expect_exit 137 "a first start killed after its first chunk of new images" \
	env INTOFOCUS_TEST_CRASH_AT=1 INTOFOCUS_TEST_CRASH_LABEL="images added" \
	"$INTOFOCUS" run many/exp.yaml --state-dir many/st
check "... keeps that chunk: 500 images" test "$(db 'SELECT COUNT(*) FROM images')" = 500
check "... and counts them" counts_true many/st/state.db
expect_exit 137 "the next start, killed after its first chunk" \
	env INTOFOCUS_TEST_CRASH_AT=1 INTOFOCUS_TEST_CRASH_LABEL="images added" \
	"$INTOFOCUS" run many/exp.yaml --state-dir many/st
check "... added 500 more" test "$(db 'SELECT COUNT(*) FROM images')" = 1000
expect_exit 137 "the third adds the rest and goes to work (killed at its first transition)" \
	env INTOFOCUS_TEST_CRASH_AT=1 INTOFOCUS_TEST_CRASH_LABEL=post \
	"$INTOFOCUS" run many/exp.yaml --state-dir many/st
expect_stderr "... it named the first new images and counted the rest" \
	"many: 100 new images in all (the first 20 named above)"
check "every image once, seq 0..1099" test \
	"$(db 'SELECT COUNT(*), COUNT(DISTINCT id), COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM images')" = "1100|1100|1100|0|1099"
check "the images were inserted in the file's order" test \
	"$(db "SELECT COUNT(*) FROM images WHERE seq != CAST(substr(id, 2) AS INTEGER)")" = 0
check "the counts are the rows' after the three kills" counts_true many/st/state.db
check "one image went to work" test \
	"$(db "SELECT COUNT(*) FROM images WHERE state != 'render'")" = 1

# ---- 2. kill -9 at every kind of crash point --------------------------------
crash_study small.yaml counts "41, 13" 2
wrong=0
# after_kill KIND ROUND: the counts are still the rows'.
after_kill() {
	if ! counts_true st/state.db >>wrong.log 2>&1; then
		wrong=$((wrong + 1))
		echo "# counts wrong after the kill at $1, round $2"
	fi
}
CRASH_AFTER_KILL=after_kill
# The twelve kinds of point this suite always went through.
CRASH_POINTS=$(echo "$CRASH_POINTS" | sed 's/|after AssociateQualification//')
crash_rounds 200 crash.log "$INTOFOCUS" run small.yaml --state-dir st
rc=$CRASH_RC
kills=$CRASH_KILLS
check "the study finished through the kills" test "$rc" -eq 0
check "it was killed at least once per kind of point" test "$kills" -ge 12
check "after every kill the counts were the rows'" test "$wrong" -eq 0
check "and at the end" counts_true st/state.db
check "every image final and counted so" test \
	"$(sqlite3 st/state.db 'SELECT images, done FROM progress_counts')" = "2|2"

done_testing
