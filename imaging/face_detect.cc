/*
 * imaging/face_detect.cc - faces found before any worker looks (issue 17),
 * by OpenCV's cascade classifiers from Debian (libopencv-objdetect and the
 * cascades of opencv-data), behind the C interface of imaging.h.
 *
 * This is the one C++ file of the project: every OpenCV call and every
 * exception stays inside it; what leaves is a status code, an errbuf
 * message and malloc()ed boxes.
 */
extern "C" {
#include "imaging/imaging.h"
}

#include <opencv2/core.hpp>
#include <opencv2/core/ocl.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

/* The cascades' own window is 24 px (frontal) or 20 px (profile). */
static const int search_window = 24;

struct face_detector {
	std::vector<cv::CascadeClassifier> cascades;
	std::vector<bool> mirrored; /* also run on the mirrored image */
	std::vector<std::string> paths;
};

static std::string
cascade_path(const char *name)
{
	if (std::strchr(name, '/') != nullptr)
		return name;
	return std::string(FACE_CASCADE_DIR) + "/haarcascade_" + name +
	       ".xml";
}

extern "C" void
face_cascade_path(const char *name, char *out, size_t len)
{
	std::snprintf(out, len, "%s", cascade_path(name).c_str());
}

static bool
ends_with(const std::string &s, const char *tail)
{
	size_t n = std::strlen(tail);

	return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

/* Loads one cascade; false with eb set when it cannot be. */
static bool
load_cascade(const std::string &path, cv::CascadeClassifier &c,
	     struct errbuf *eb)
{
	/* Looked at first: OpenCV would log its own error to stderr. */
	FILE *fp = std::fopen(path.c_str(), "r");

	if (fp == nullptr) {
		err_set(eb, IF_EINPUT,
			"face detector: %s: %s (install opencv-data, or "
			"give a path)",
			path.c_str(), std::strerror(errno));
		return false;
	}
	std::fclose(fp);
	try {
		if (c.load(path))
			return true;
	} catch (const cv::Exception &e) {
		err_set(eb, IF_EINPUT, "face detector: %s: not a cascade: %s",
			path.c_str(), e.err.c_str());
		return false;
	}
	err_set(eb, IF_EINPUT, "face detector: %s: not a cascade",
		path.c_str());
	return false;
}

extern "C" int
face_detector_new(const char *const *cascades, size_t n,
		  struct face_detector **out, struct errbuf *eb)
{
	*out = nullptr;
	if (n == 0 || n > FACE_CASCADES_MAX)
		return err_set(eb, IF_EINPUT,
			       "face detector: 1 to %d cascades, not %zu",
			       FACE_CASCADES_MAX, n);
	try {
		face_detector *d = new face_detector;

		for (size_t i = 0; i < n; i++) {
			std::string path = cascade_path(cascades[i]);
			std::string stem = path;
			cv::CascadeClassifier c;

			if (ends_with(stem, ".xml"))
				stem.resize(stem.size() - 4);
			if (!load_cascade(path, c, eb)) {
				delete d;
				return eb != nullptr ? eb->code : IF_EINPUT;
			}
			d->cascades.push_back(c);
			d->mirrored.push_back(ends_with(stem, "profileface"));
			d->paths.push_back(path);
		}
		*out = d;
		return IF_OK;
	} catch (const std::bad_alloc &) {
		return err_set(eb, IF_ERUNTIME, "face detector: out of memory");
	}
}

extern "C" void
face_detector_free(struct face_detector *d)
{
	delete d;
}

static double
overlap(const cv::Rect &a, const cv::Rect &b)
{
	double inter = (a & b).area();
	double uni = a.area() + b.area() - inter;

	return uni > 0 ? inter / uni : 0.0;
}

/*
 * One box per face: a box that overlaps a kept one by more than a third
 * (intersection over union) widens it instead of standing on its own.
 */
static std::vector<cv::Rect>
merge(const std::vector<cv::Rect> &found)
{
	std::vector<cv::Rect> kept;

	for (const cv::Rect &r : found) {
		bool merged = false;

		for (cv::Rect &k : kept)
			if (overlap(k, r) > 1.0 / 3.0) {
				k |= r;
				merged = true;
				break;
			}
		if (!merged)
			kept.push_back(r);
	}
	return kept;
}

static void
search(cv::CascadeClassifier &c, const cv::Mat &grey, bool mirror,
       int min_side, double scale, std::vector<cv::Rect> &found)
{
	std::vector<cv::Rect> hits;
	cv::Mat flipped;
	const cv::Mat *in = &grey;

	if (mirror) {
		cv::flip(grey, flipped, 1);
		in = &flipped;
	}
	/* 1.1 and 3 neighbours: OpenCV's documented defaults. */
	c.detectMultiScale(*in, hits, 1.1, 3, 0, cv::Size(min_side, min_side));
	for (cv::Rect r : hits) {
		if (mirror)
			r.x = in->cols - r.x - r.width;
		found.emplace_back(
			(int)(r.x / scale + 0.5), (int)(r.y / scale + 0.5),
			(int)(r.width / scale + 0.5),
			(int)(r.height / scale + 0.5));
	}
}

static int
detect(face_detector *d, const struct img *im,
       const struct face_detect_opts *o, struct box **out, size_t *nout)
{
	/* The pixels stay ours: the Mat only looks at them. */
	cv::Mat rgb(im->h, im->w, CV_8UC3, im->px, im->stride);
	cv::Mat grey, small;
	std::vector<cv::Rect> found;
	double scale = 1.0;
	int min_side = o->min_face;

	cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
	if (!o->no_downscale && o->min_face > search_window) {
		scale = (double)search_window / o->min_face;
		cv::resize(grey, small, cv::Size(), scale, scale,
			   cv::INTER_AREA);
		grey = small;
		min_side = search_window;
	}
	cv::equalizeHist(grey, grey);
	for (size_t i = 0; i < d->cascades.size(); i++) {
		search(d->cascades[i], grey, false, min_side, scale, found);
		if (d->mirrored[i])
			search(d->cascades[i], grey, true, min_side, scale,
			       found);
	}
	std::vector<cv::Rect> faces = merge(merge(found));
	std::sort(faces.begin(), faces.end(),
		  [](const cv::Rect &a, const cv::Rect &b) {
			  return a.y != b.y ? a.y < b.y : a.x < b.x;
		  });
	*out = nullptr;
	*nout = 0;
	if (faces.empty())
		return IF_OK;
	*out = (struct box *)std::calloc(faces.size(), sizeof(**out));
	if (*out == nullptr)
		return IF_ERUNTIME;
	for (const cv::Rect &r : faces) {
		/* 64-bit: a margin of 100% on a huge box must not overflow. */
		long long mx = (long long)r.width * o->margin_bp / 10000;
		long long my = (long long)r.height * o->margin_bp / 10000;
		long long x0 = std::max(0LL, r.x - mx);
		long long y0 = std::max(0LL, r.y - my);
		long long x1 = std::min((long long)im->w, r.x + r.width + mx);
		long long y1 = std::min((long long)im->h, r.y + r.height + my);

		if (x1 <= x0 || y1 <= y0)
			continue;
		(*out)[(*nout)++] = {(int)x0, (int)y0, (int)(x1 - x0),
				     (int)(y1 - y0)};
	}
	return IF_OK;
}

extern "C" int
face_detect(struct face_detector *d, const struct img *im,
	    const struct face_detect_opts *opts, struct box **out,
	    size_t *nout, struct errbuf *eb)
{
	*out = nullptr;
	*nout = 0;
	/*
	 * The search runs on the CPU: without this, OpenCV's first search
	 * in a thread looks for a GPU runtime and dlopen()s whatever OpenCL
	 * driver is installed into the daemon (which also trips
	 * LeakSanitizer's thread-local storage scan in make asan).  The
	 * setting is the calling thread's.
	 */
	cv::ocl::setUseOpenCL(false);
	if (opts->min_face < 1 || opts->margin_bp < 0 ||
	    opts->margin_bp > 10000)
		return err_set(eb, IF_EINPUT,
			       "face detector: smallest face %d px, margin "
			       "%d.%02d%%: out of range",
			       opts->min_face, opts->margin_bp / 100,
			       opts->margin_bp % 100);
	try {
		if (detect(d, im, opts, out, nout) != IF_OK)
			return err_set(eb, IF_ERUNTIME,
				       "face detector: out of memory");
		return IF_OK;
	} catch (const cv::Exception &e) {
		std::free(*out);
		*out = nullptr;
		*nout = 0;
		return err_set(eb, IF_ERUNTIME, "face detector: %s", e.what());
	} catch (const std::bad_alloc &) {
		std::free(*out);
		*out = nullptr;
		*nout = 0;
		return err_set(eb, IF_ERUNTIME, "face detector: out of memory");
	}
}
