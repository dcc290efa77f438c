#!/bin/sh
# make check-style, second part: a clone of the project works with nothing
# beside it, so no tracked source, script, Makefile or experiment file reads
# a path outside the repository:
#   - no name of the team's reference folder beside the checkout (the
#     folder "shared" one level up) and no absolute path of a developer's
#     machine (under /work, /farm, /root, or the shell tool's job folders
#     in /tmp);
#   - a path climbing with "../" from an anchor stays inside the tree: from
#     $(dirname "$0") a script may climb as deep as its own folder; from
#     $TOP or $(CURDIR) (the top) it may not climb at all; in an experiment
#     file (.yaml) a value climbs from the file's own folder.
# Markdown (provenance notes may name where a file was copied from), test
# data (tests/vectors, tests/fixtures, tests/fuzz/corpus), this script and
# its test (t0006), which name what they look for, are not read.
# Prints each offence as FILE:LINE: what, and exits 1 when there is one.
set -u
cd "$(dirname "$0")/.." || exit 2
files=$(git ls-files | grep -vE '\.md$|^tests/(vectors|fixtures|fuzz/corpus)/|(^|/)node_modules/|^scripts/check-paths\.sh$|^tests/e2e/t0006-check-paths\.sh$|\.(jpg|png|ppm|db|json)$') ||
	exit 2
[ -n "$files" ] || { echo "check-paths: no files from git" >&2; exit 2; }
bad=0
for f in $files; do
	[ -f "$f" ] || continue
	depth=$(dirname "$f" | awk -F/ '$0 == "." { print 0; next } { print NF }')
	yaml=0
	case $f in *.yaml | *.yml) yaml=1 ;; esac
	out=$(awk -v f="$f" -v depth="$depth" -v yaml="$yaml" '
		function climbs(s,   n) {
			n = 0
			while (substr(s, 1, 3) == "../") { n++; s = substr(s, 4) }
			return n
		}
		{
			line = $0
			if (line ~ /\.\.\/shared([\/"'"'"' ]|$)/)
				print f ":" NR ": reads the team folder beside the checkout, which a clone does not have"
			if (line ~ /(^|[^A-Za-z0-9_.])\/(work|farm|root)\// ||
			    line ~ /\/tmp\/bash_jobs/)
				print f ":" NR ": names an absolute path of a developer machine"
			rest = line
			while (match(rest, /\$\(dirname "?\$0"?\)\/(\.\.\/)*\.\./)) {
				seg = substr(rest, RSTART, RLENGTH)
				sub(/^\$\(dirname "?\$0"?\)\//, "", seg)
				if (climbs(seg "/") > depth)
					print f ":" NR ": climbs out of the repository from its own folder"
				rest = substr(rest, RSTART + RLENGTH)
			}
			if (line ~ /(\$TOP|\$\{TOP\}|\$\(TOP\)|\$\(CURDIR\))\/\.\./)
				print f ":" NR ": climbs out of the repository from its top"
			if (yaml && match(line, /:[ \t]*"?(\.\.\/)+/)) {
				seg = substr(line, RSTART, RLENGTH)
				sub(/^:[ \t]*"?/, "", seg)
				if (climbs(seg) > depth)
					print f ":" NR ": a value climbs out of the repository"
			}
		}' "$f")
	[ -n "$out" ] || continue
	printf '%s\n' "$out"
	bad=1
done
[ $bad -eq 0 ] && echo "check-paths: $(echo "$files" | wc -l) files stay inside the repository"
exit $bad
