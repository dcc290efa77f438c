# make check-style (scripts/check-style.sh) finds what it says it checks,
# in a scratch git tree beside a copy of the script: a missing header
# comment, trailing white space, indentation by spaces, a line over 80
# columns with tabs counted as 8, and a file on the list of wider files
# that now fits.  The tree itself is checked by `make check-style` (CI).
. "$TOP/tests/e2e/lib.sh"

mkdir -p tree/scripts tree/src
cp "$TOP/scripts/check-style.sh" tree/scripts/
printf '# wider files\nsrc/wide.c\n' >tree/scripts/check-style.wide
good() {
	printf '/*\n * %s - a file that follows the rules.\n */\nint\nf(void)\n{\n\treturn 0;\n}\n' "$1" >"tree/$1"
}
good src/a.c
good src/b.h
# Six tabs (48 columns) and 37 characters: 85 columns in 43 bytes.
{ good_text='/*\n * src/wide.c - still wider.\n */\n'; printf "$good_text"; printf '\t\t\t\t\t\tint wide_enough_to_pass_80_columns_x;\n'; } >tree/src/wide.c
(cd tree && git init -q . && git add -A) || exit 1
expect_exit 0 "a tree that follows the rules passes" sh tree/scripts/check-style.sh
expect_stdout "... and says how many files" "check-style: 3 files ok"

printf '\t\t\t\t\t\tint wide_enough_to_pass_80_columns_x;\n' >>tree/src/a.c
expect_exit 1 "a line over 80 columns (tabs as 8) fails" sh tree/scripts/check-style.sh
expect_stdout "... naming the file, the line and the width" "src/a.c:9: 85 columns"
good src/a.c

printf 'int x; \n' >>tree/src/b.h
expect_exit 1 "trailing white space fails" sh tree/scripts/check-style.sh
expect_stdout "... naming the line" "src/b.h:9: trailing white space"
good src/b.h

printf '        int y;\n' >>tree/src/b.h
expect_exit 1 "indentation by spaces fails" sh tree/scripts/check-style.sh
expect_stdout "... naming the line" "src/b.h:9: indented by spaces"
good src/b.h

printf 'int z;\n' >tree/src/c.c
(cd tree && git add src/c.c)
expect_exit 1 "a file without its header comment fails" sh tree/scripts/check-style.sh
expect_stdout "... naming it" "src/c.c:1: no header comment"
rm tree/src/c.c
(cd tree && git rm -q --cached src/c.c)

good src/wide.c
expect_exit 1 "a listed file that now fits fails" sh tree/scripts/check-style.sh
expect_stdout "... saying to take it off the list" \
	"src/wide.c: within 80 columns now: take it off scripts/check-style.wide"
printf '# wider files\n' >tree/scripts/check-style.wide
expect_exit 0 "off the list, the tree passes again" sh tree/scripts/check-style.sh
done_testing
