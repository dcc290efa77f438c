/*
 * daemon/detect_opts.h - the detector's options as `intofocus detect` and
 * `render --detect` take them (--cascade, --min-face, --margin), parsed in
 * one place, cmd_detect.c, with the detection they drive.  Private to
 * those two commands.
 */
#ifndef INTOFOCUS_DETECT_OPTS_H
#define INTOFOCUS_DETECT_OPTS_H

#include "daemon/daemon.h"
#include "config/config.h"
#include "imaging/imaging.h"

struct detect_opts {
	const char *cascades[FACE_CASCADES_MAX]; /* none: the two defaults */
	size_t ncascades;
	struct exp_length min_face;
	int margin_bp;
	bool no_downscale;
};

/* The defaults: frontalface_alt2 and profileface, 20 px, grown by 10%. */
void detect_opts_init(struct detect_opts *d);

/*
 * One more --cascade, --min-face or --margin: IF_EINPUT naming the option
 * and its value when it is not one.
 */
int detect_opt_cascade(struct detect_opts *d, const char *arg,
		       struct errbuf *eb);
int detect_opt_min_face(struct detect_opts *d, const char *arg,
			struct errbuf *eb);
int detect_opt_margin(struct detect_opts *d, const char *arg,
		      struct errbuf *eb);

/*
 * The faces of im found as d says (boxes grown by the margin, inside the
 * image); *min_px (may be NULL) gets the smallest face's size in pixels.
 * *out is freed with free().
 */
int detect_faces_in(const struct img *im, const struct detect_opts *d,
		    struct box **out, size_t *nout, int *min_px,
		    struct errbuf *eb);

#endif /* INTOFOCUS_DETECT_OPTS_H */
