# scripts/check-paths.sh (part of make check-style) finds each way a tracked
# file can read outside the repository, in a scratch git tree beside a copy
# of the script; the project itself must pass (a clone works alone).
. "$TOP/tests/e2e/lib.sh"

# The offences are spelled in pieces, so that this file does not itself
# read as one to other tools that look for them.
team="..""/shared"
machine="/wo""rk/main"

expect_exit 0 "the project reads nothing outside its repository" \
	sh "$TOP/scripts/check-paths.sh"
sed 's/^/# /' "$SCRATCH/.stdout" | grep -v 'stay inside' | head -20

mkdir -p tree/scripts tree/tests/unit tree/tests/e2e tree/examples
cp "$TOP/scripts/check-paths.sh" tree/scripts/
printf 'int f(void);\n' >tree/tests/unit/test_a.c
printf 'TOP=$(cd "$(dirname "$0")/../.." && pwd)\n' >tree/tests/e2e/run.sh
printf 'output_dir: ../out\n' >tree/examples/a.yaml
printf 'See %s/design/spec.md for where this came from.\n' "$team" \
	>tree/NOTES.md
(cd tree && git init -q . && git add -A) || exit 1
expect_exit 0 "a tree that stays inside passes (notes in .md may name the team folder)" \
	sh tree/scripts/check-paths.sh

offence() { # offence FILE TEXT WHAT: adding TEXT to FILE fails, naming WHAT
	cp "tree/$1" "$SCRATCH/.keep"
	printf '%s\n' "$2" >>"tree/$1"
	expect_exit 1 "$3 fails" sh tree/scripts/check-paths.sh
	expect_stdout "... naming the file and line" "$1:2: $4"
	cp "$SCRATCH/.keep" "tree/$1"
}
offence tests/unit/test_a.c \
	"static const char *v = \"$team/vectors\";" \
	"a C file reading the team folder" \
	"reads the team folder beside the checkout, which a clone does not have"
offence tests/e2e/run.sh "cat $machine/x" \
	"a machine's absolute path" \
	"names an absolute path of a developer machine"
offence tests/e2e/run.sh 'd=$(dirname "$0")/../../../elsewhere' \
	"a script climbing past the top from its folder" \
	"climbs out of the repository from its own folder"
offence tests/e2e/run.sh 'ls "$TOP/../vectors"' \
	"a path above \$TOP" \
	"climbs out of the repository from its top"
offence examples/a.yaml 'state_dir: ../../state' \
	"an experiment file's value above the top" \
	"a value climbs out of the repository"
expect_exit 0 "with the offences gone the tree passes again" \
	sh tree/scripts/check-paths.sh
done_testing
