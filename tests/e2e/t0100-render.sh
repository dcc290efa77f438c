# intofocus render: formats by extension, redaction, EXIF orientation,
# metadata never written, exit codes 0/1/2, and no partial output ever.
. "$TOP/tests/e2e/lib.sh"

FIX="$TOP/tests/fixtures/images"
PHOTO="$FIX/s05_voc_family_group.jpg" # 500x375

# pixel FILE.ppm X Y: "R G B" of a binary PPM written by us (a header of
# three lines without comments, e.g. "P6\n500 375\n255\n").
pixel() {
	hdr=$(head -c 32 "$1" | head -n 3 | wc -c)
	w=$(head -n 2 "$1" | tail -n 1 | cut -d' ' -f1)
	od -An -tu1 -j $((hdr + ($3 * w + $2) * 3)) -N3 "$1" | tr -s ' ' | sed 's/^ //'
}

# nothing_but FILE...: the scratch directory holds exactly these files.
nothing_but() {
	want=$(for f in "$@"; do echo "$f"; done | sort | tr '\n' ' ')
	got=$(ls -A "$SCRATCH" | grep -v '^\.std\|^\.out' | sort | tr '\n' ' ')
	[ "$want" = "$got" ] || { echo "have: $got"; echo "want: $want"; return 1; }
}

expect_exit 0 "--help exits 0" "$INTOFOCUS" render --help
expect_stdout "--help shows the usage" "render IMAGE -w WINDOW"
expect_stdout "--help names the formats" ".ppm"

# Formats follow the output's extension, whatever the input's format.
expect_exit 0 "JPEG to PNG" "$INTOFOCUS" render "$PHOTO" -w 3 -o s.png
check "the .png is a PNG" sh -c 'head -c 8 s.png | od -An -c | grep -q "P   N   G"'
expect_exit 0 "JPEG to JPEG (.jpg)" "$INTOFOCUS" render "$PHOTO" -w 3 -o s.jpg
check "the .jpg is a JPEG" sh -c '[ "$(head -c 3 s.jpg | od -An -tx1 | tr -d " ")" = ffd8ff ]'
expect_exit 0 "JPEG to JPEG (.JPEG, any case)" "$INTOFOCUS" render "$PHOTO" -w 3 -q 50 -o s.JPEG
check "quality 50 is smaller than the default 90" \
	sh -c '[ $(wc -c <s.JPEG) -lt $(wc -c <s.jpg) ]'
expect_exit 0 "JPEG to PPM" "$INTOFOCUS" render "$PHOTO" -w 1 -o orig.ppm
check "the .ppm is a 500x375 binary PPM" \
	sh -c '[ "$(head -n 3 orig.ppm | tr "\n" " ")" = "P6 500 375 255 " ]'
# pixel_sha256 of s05 in the team's images manifest (manifest.yaml): the SHA-256 of the
# RGB bytes Pillow decodes.  Ours are the same bytes.
check "the JPEG decodes to exactly Pillow's pixels" \
	test "$(tail -c +16 orig.ppm | sha256sum | cut -d' ' -f1)" = \
	b16b1ba918182a864e9b9dbd408b748570a5c73097aec7e7c8ebb443c9c53316
expect_exit 0 "PNG to PPM" "$INTOFOCUS" render s.png -w 1 -o s.ppm
check "nothing but the outputs was written" \
	nothing_but s.png s.jpg s.JPEG orig.ppm s.ppm
rm -f s.png s.jpg s.JPEG s.ppm

# The thread count changes nothing but the speed.
expect_exit 0 "one thread" "$INTOFOCUS" render "$PHOTO" -w 13 --threads 1 -o t1.ppm
expect_exit 0 "three threads" "$INTOFOCUS" render "$PHOTO" -w 13 -t 3 -o t3.ppm
check "the same pixels either way" cmp t1.ppm t3.ppm
expect_exit 2 "a negative thread count" "$INTOFOCUS" render "$PHOTO" -w 13 -t -1 -o t.ppm
rm -f t1.ppm t3.ppm

# Redaction: fill paints exactly the box, clipped to the image.
expect_exit 0 "fill with a colour" "$INTOFOCUS" render "$PHOTO" -w 1 \
	--box 194,90,37,37 --box 480,360,100,100 --color '#ff8000' -o fill.ppm
check "inside the box is the colour" test "$(pixel fill.ppm 194 90)" = "255 128 0"
check "the box's last pixel too" test "$(pixel fill.ppm 230 126)" = "255 128 0"
check "a clipped box reaches the corner" test "$(pixel fill.ppm 499 374)" = "255 128 0"
check "just outside is untouched" \
	test "$(pixel fill.ppm 231 126)" = "$(pixel orig.ppm 231 126)"
check "above is untouched" \
	test "$(pixel fill.ppm 194 89)" = "$(pixel orig.ppm 194 89)"
expect_exit 0 "the default colour is black" "$INTOFOCUS" render "$PHOTO" -w 1 \
	-b 10,10,5,5 -o black.ppm
check "black by default" test "$(pixel black.ppm 12 12)" = "0 0 0"
expect_exit 0 "median style" "$INTOFOCUS" render "$PHOTO" -w 1 \
	--box 194,90,37,37 --style median --heavy-window 5 -o median.ppm
expect_exit 0 "the heavy image itself" "$INTOFOCUS" render "$PHOTO" -w 5 -o heavy.ppm
check "median style copies the --heavy-window image" \
	test "$(pixel median.ppm 210 100)" = "$(pixel heavy.ppm 210 100)"
check "median style leaves the rest" \
	test "$(pixel median.ppm 100 300)" = "$(pixel orig.ppm 100 300)"
expect_exit 0 "median style, default heavy window" "$INTOFOCUS" render \
	"$FIX/orient_le_1.jpg" -w 1 --box 0,0,48,32 --style median -o m41.ppm
expect_exit 0 "the window-41 image" "$INTOFOCUS" render "$FIX/orient_le_1.jpg" \
	-w 41 -o w41.ppm
check "the default heavy window is 41" cmp m41.ppm w41.ppm
expect_exit 0 "pixelate style" "$INTOFOCUS" render "$PHOTO" -w 1 \
	--box 192,80,48,48 --style pixelate -o pix.ppm
check "a 16-px block is one colour" \
	test "$(pixel pix.ppm 208 96)" = "$(pixel pix.ppm 223 111)"
check "the block is its mean, not the original pixels" \
	test "$(pixel pix.ppm 208 96) $(pixel pix.ppm 209 96)" != "$(pixel orig.ppm 208 96) $(pixel orig.ppm 209 96)"

# The EXIF orientation is applied, and metadata never reaches the output.
expect_exit 0 "EXIF orientation 6" "$INTOFOCUS" render "$FIX/orient_le_6.jpg" -w 1 -o o6.ppm
check "orientation 6 turns 48x32 into 32x48" \
	sh -c '[ "$(head -n 2 o6.ppm | tail -n 1)" = "32 48" ]'
expect_exit 0 "a JPEG full of metadata" "$INTOFOCUS" render "$FIX/meta.jpg" -w 3 -o meta.jpg
expect_exit 0 "a PNG full of metadata" "$INTOFOCUS" render "$FIX/meta.png" -w 3 -o meta.png
check "no EXIF, XMP, ICC or comment in the JPEG" \
	sh -c '! grep -a -q -e Exif -e ns.adobe.com -e ICC_PROFILE -e secret meta.jpg'
check "no text, EXIF or ICC chunk in the PNG" \
	sh -c '! grep -a -q -e tEXt -e zTXt -e iTXt -e eXIf -e iCCP -e someone meta.png'

# Usage errors: exit 2, the argument named, no output.
rm -f ./*.ppm ./*.jpg ./*.png
expect_exit 2 "an unknown output extension" "$INTOFOCUS" render "$PHOTO" -w 3 -o out.gif
expect_stderr "the output is named" "out.gif"
expect_exit 2 "no extension at all" "$INTOFOCUS" render "$PHOTO" -w 3 -o out
expect_exit 2 "-w is required" "$INTOFOCUS" render "$PHOTO" -o out.png
expect_stderr "-w is named" "-w"
expect_exit 2 "an even window" "$INTOFOCUS" render "$PHOTO" -w 4 -o out.png
expect_stderr "the window is named" "4"
expect_exit 2 "a window that is not a number" "$INTOFOCUS" render "$PHOTO" -w 3x -o out.png
expect_exit 2 "-o is required" "$INTOFOCUS" render "$PHOTO" -w 3
expect_exit 2 "a box with three numbers" "$INTOFOCUS" render "$PHOTO" -w 3 --box 1,2,3 -o out.png
expect_stderr "the box is named" "--box"
expect_exit 2 "a box with a negative size" "$INTOFOCUS" render "$PHOTO" -w 3 --box 1,2,-3,4 -o out.png
expect_exit 2 "an unknown style" "$INTOFOCUS" render "$PHOTO" -w 3 --style blur -o out.png
expect_stderr "the style is named" "blur"
expect_exit 2 "a colour that is not #rrggbb" "$INTOFOCUS" render "$PHOTO" -w 3 --color red -o out.png
expect_stderr "the colour is named" "red"
expect_exit 2 "quality 0" "$INTOFOCUS" render "$PHOTO" -w 3 -q 0 -o out.jpg
expect_exit 2 "quality 101" "$INTOFOCUS" render "$PHOTO" -w 3 -q 101 -o out.jpg
expect_exit 2 "an unknown option" "$INTOFOCUS" render "$PHOTO" -w 3 --frobnicate -o out.png
expect_stderr "the option is named" "frobnicate"
expect_exit 2 "no IMAGE" "$INTOFOCUS" render -w 3 -o out.png
expect_exit 2 "two IMAGEs" "$INTOFOCUS" render "$PHOTO" "$PHOTO" -w 3 -o out.png
check "no usage error wrote anything" nothing_but

# Unreadable images: exit 2 naming the file and the problem.
printf 'not an image\n' >notes.jpg
: >empty.png
head -c 40000 "$PHOTO" >half.jpg
printf 'P6\n20000 20000\n255\n' >huge.ppm
expect_exit 2 "a missing file" "$INTOFOCUS" render nope.jpg -w 3 -o out.png
expect_stderr "the missing file is named" "nope.jpg"
expect_exit 2 "a text file" "$INTOFOCUS" render notes.jpg -w 3 -o out.png
expect_stderr "the text file is named" "notes.jpg: not a JPEG, PNG or PPM"
expect_exit 2 "an empty file" "$INTOFOCUS" render empty.png -w 3 -o out.png
expect_stderr "the empty file is named" "empty.png"
expect_exit 2 "a truncated JPEG" "$INTOFOCUS" render half.jpg -w 3 -o out.png
expect_stderr "truncation is named" "half.jpg: corrupt or truncated JPEG"
expect_exit 2 "a 400-megapixel header" "$INTOFOCUS" render huge.ppm -w 3 -o out.png
expect_stderr "the limit is named" "limit of 100.0 megapixels"
{ printf 'P6\n1200 1000\n255\n'; head -c 3600000 /dev/zero; } >big.ppm
expect_exit 2 "--max-megapixels lowers the limit" "$INTOFOCUS" render big.ppm \
	-w 1 --max-megapixels 1 -o out.png
expect_stderr "the lower limit is named" "limit of 1.0 megapixels"
check "no failed render wrote anything" nothing_but notes.jpg empty.png half.jpg huge.ppm big.ppm
rm -f big.ppm

# A failure never touches an existing output, and leaves no temporary.
printf 'previous\n' >keep.png
expect_exit 2 "a failed render over an existing file" "$INTOFOCUS" render half.jpg -w 3 -o keep.png
check "the existing file is untouched" sh -c '[ "$(cat keep.png)" = previous ]'
expect_exit 1 "an output directory that does not exist" "$INTOFOCUS" render "$PHOTO" \
	-w 3 -o missing/out.png
check "still nothing new" nothing_but notes.jpg empty.png half.jpg huge.ppm keep.png
expect_exit 0 "a good render replaces the file" "$INTOFOCUS" render "$PHOTO" -w 3 -o keep.png
check "the replacement is a whole PNG" \
	sh -c 'head -c 8 keep.png | od -An -c | grep -q "P   N   G"'
check "and no temporary is left" nothing_but notes.jpg empty.png half.jpg huge.ppm keep.png

done_testing
