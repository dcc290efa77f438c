#!/bin/sh
# make check-style: what the C code base follows (the style guide, section 12:
# KNF), checked on every .c and .h file git knows:
#   - the file opens with its header comment ("/*", then " * " and text);
#   - no trailing white space, no carriage return;
#   - indentation by tabs: no line starts with eight spaces;
#   - lines within 80 columns, tabs counted as 8, except the files listed in
#     scripts/check-style.wide (still wider); a listed file that now fits
#     fails too, so that the list only shrinks.
# Prints each offence as FILE:LINE: what, and exits 1 when there is one.
set -u
cd "$(dirname "$0")/.." || exit 2
wide=scripts/check-style.wide
files=$(git ls-files '*.c' '*.cc' '*.h') || exit 2
[ -n "$files" ] || { echo "check-style: no C files from git" >&2; exit 2; }
bad=0
for f in $files; do
	listed=0
	grep -qx "$f" "$wide" && listed=1
	out=$(expand -t 8 "$f" | awk -v f="$f" -v listed="$listed" '
		NR == 1 && $0 != "/*" { print f ":1: no header comment (\"/*\")" }
		NR == 2 && $0 !~ /^ \* [^ ]/ {
			print f ":2: the header comment says nothing" }
		/\r/ { print f ":" NR ": carriage return" }
		/[ \t]$/ { print f ":" NR ": trailing white space" }
		length($0) > 80 { wide++
			if (!listed)
				print f ":" NR ": " length($0) " columns" }
		END { if (listed && wide == 0)
			print f ": within 80 columns now: take it off " \
			    "scripts/check-style.wide" }')
	# Tabs were expanded above: look for leading spaces in the file itself.
	sp=$(grep -n '^        ' "$f" | sed "s|^\([0-9]*\):.*|$f:\1: indented by spaces|")
	for msg in "$out" "$sp"; do
		[ -n "$msg" ] || continue
		printf '%s\n' "$msg"
		bad=1
	done
done
while read -r f; do
	case $f in '#'* | '') continue ;; esac
	[ -f "$f" ] || { echo "$wide: $f: no such file"; bad=1; }
done <"$wide"
[ $bad -eq 0 ] && echo "check-style: $(echo "$files" | wc -l) files ok"
exit $bad
