#!/bin/sh
# The interim demo (until `intofocus run` drives the simulator end to end):
# renders the five stage images and the final image of one public-domain
# photo with `intofocus render`, as the daemon will (spec sections 1, 4).
#
# No crowd is involved.  The boxes redacted are the photo's ground-truth
# faces (tests/fixtures/images/README.md; ../shared/images/manifest.yaml),
# and a face counts as "found" at the first stage whose median window is no
# wider than the face - the rule of thumb of the seed study, where a face
# narrower than the window was missed.  From the next stage on it is
# redacted, cumulatively, as the union of workers' boxes would be.
#
#   BUILD=build scripts/demo.sh [OUTDIR]      (make demo runs it)
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
INTOFOCUS="$BUILD/intofocus"
PHOTO="$TOP/tests/fixtures/images/s05_voc_family_group.jpg"
OUT=${1:-demo-out}/family
WINDOWS="41 27 21 17 13"
STYLE=${STYLE:-fill}

# Ground truth of s05 (500x375): x y w h, one face a line.
FACES="194 90 37 37
158 114 37 37
381 89 45 44
94 198 37 37
178 214 37 37
294 86 37 37
309 233 45 44"

[ -x "$INTOFOCUS" ] || { echo "demo: $INTOFOCUS is not built; run make" >&2; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT"/stage*.jpg "$OUT"/final.jpg "$OUT"/original.jpg

echo "IntoFocus demo (interim: 'intofocus render' only, no crowd, no MTurk)"
echo "photo: tests/fixtures/images/s05_voc_family_group.jpg (public domain), 7 faces"
echo "boxes: the ground-truth faces, standing in for workers' answers; a face"
echo "       is taken as found at the first stage whose window is <= its width"
echo

found="" # --box arguments of the faces found so far
stage=0
for win in $WINDOWS; do
	stage=$((stage + 1))
	file="$OUT/stage${stage}_w${win}.jpg"
	# shellcheck disable=SC2086  # $found is a list of arguments
	"$INTOFOCUS" render "$PHOTO" -w "$win" $found --style "$STYLE" -o "$file"
	nred=$(printf '%s' "$found" | grep -o -- '--box' | wc -l | tr -d ' ')
	new=0
	while read -r x y w h; do
		case " $found " in *" --box $x,$y,$w,$h "*) continue ;; esac
		if [ "$w" -ge "$win" ]; then
			found="$found --box $x,$y,$w,$h"
			new=$((new + 1))
		fi
	done <<EOF
$FACES
EOF
	printf 'stage %d  window %2d  %d face(s) redacted  -> %s  (workers would find %d more)\n' \
		"$stage" "$win" "$nred" "$file" "$new"
done
# shellcheck disable=SC2086
"$INTOFOCUS" render "$PHOTO" -w 1 $found --style "$STYLE" -o "$OUT/final.jpg"
nred=$(printf '%s' "$found" | grep -o -- '--box' | wc -l | tr -d ' ')
"$INTOFOCUS" render "$PHOTO" -w 1 -o "$OUT/original.jpg"
printf 'final             %d face(s) redacted  -> %s\n' "$nred" "$OUT/final.jpg"
printf 'original (EXIF and all metadata stripped)  -> %s\n' "$OUT/original.jpg"
echo
echo "Open $OUT/ to compare: each stage shows less blur and hides what was found before."
