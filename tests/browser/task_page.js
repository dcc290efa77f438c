// Behaviour of the worker task page (mturk/task_page.c) in jsdom: drawing
// by dragging with full-image coordinates at half display scale, moving,
// Add box / Remove box, the face question gating Submit, preview mode, and
// the externalSubmit target; with a second page made with the confidence
// slider, the keyboard (arrows move, Shift+arrows resize, Delete removes)
// and the confidence field.  Usage: node task_page.js PAGE.html
// [CONFIDENCE_PAGE.html] (NODE_PATH must reach Debian's node-jsdom,
// /usr/share/nodejs).
'use strict';
const fs = require('fs');
const { JSDOM } = require('jsdom');

let html = fs.readFileSync(process.argv[2], 'utf8');
let failures = 0;
function check(what, cond, detail) {
	if (!cond) {
		failures++;
		console.log('# not ok - ' + what + (detail !== undefined ?
			' (' + JSON.stringify(detail) + ')' : ''));
	} else {
		console.log('# ok - ' + what);
	}
}

function load(query) {
	return new JSDOM(html, {
		url: 'http://127.0.0.1:8/lab/task/H?' + query,
		runScripts: 'dangerously',
		beforeParse(window) {
			// jsdom has no layout: show the 640x480 image at 320x240.
			Object.defineProperty(window.HTMLImageElement.prototype,
				'clientWidth', { get() { return 320; } });
		},
	}).window;
}

function ev(window, target, type, x, y) {
	target.dispatchEvent(new window.MouseEvent(type, {
		bubbles: true, cancelable: true, clientX: x, clientY: y }));
}

function submit(window) {
	const f = window.document.getElementById('mturk_form');
	return f.dispatchEvent(new window.Event('submit',
		{ bubbles: true, cancelable: true }));
}

let w = load('assignmentId=3ASG&hitId=3HIT&turkSubmitTo=' +
	encodeURIComponent('http://127.0.0.1:9') + '&workerId=AW1');
let d = w.document;
const wrap = d.getElementById('wrap');
check('form posts to turkSubmitTo + /mturk/externalSubmit',
	d.getElementById('mturk_form').action ===
	'http://127.0.0.1:9/mturk/externalSubmit',
	d.getElementById('mturk_form').action);
check('assignmentId copied from the URL',
	d.getElementById('assignmentId').value === '3ASG');
check('submit enabled after accept', !d.getElementById('submitButton').disabled);

ev(w, wrap, 'pointerdown', 50, 40);
ev(w, wrap, 'pointermove', 100, 90);
ev(w, wrap, 'pointermove', 150, 140);
ev(w, wrap, 'pointerup', 150, 140);
check('a drag draws one box', d.querySelectorAll('.box').length === 1);
check('the count shows it', d.getElementById('count').textContent === '1');

ev(w, wrap, 'pointerdown', 10, 10);
ev(w, wrap, 'pointerup', 11, 11);
check('a click without a drag adds no box',
	d.querySelectorAll('.box').length === 1);

check('Submit is refused before the face question is answered',
	submit(w) === false);
check('... with a message',
	/did you find a face/i.test(d.getElementById('msg').textContent));

d.querySelector('input[name=face_found][value=yes]').checked = true;
check('Submit goes once it is answered', submit(w) === true);
check('boxes are in full-image pixels (display scale 1/2)',
	d.getElementById('boxes').value === '[[100,80,200,200]]',
	d.getElementById('boxes').value);

// Select the box and move it by (10, 5) display pixels = (20, 10) image.
let box = d.querySelector('.box');
ev(w, box, 'pointerdown', 60, 50);
ev(w, wrap, 'pointermove', 70, 55);
ev(w, wrap, 'pointerup', 70, 55);
submit(w);
check('dragging a box moves it', d.getElementById('boxes').value ===
	'[[120,90,200,200]]', d.getElementById('boxes').value);

// Resize with the handle of the selected box.
const handle = d.querySelector('.box.sel .h');
ev(w, handle, 'pointerdown', 160, 145);
ev(w, wrap, 'pointermove', 170, 150);
ev(w, wrap, 'pointerup', 170, 150);
submit(w);
check('dragging the handle resizes', d.getElementById('boxes').value ===
	'[[120,90,220,210]]', d.getElementById('boxes').value);

d.getElementById('add').click();
check('Add box adds a box', d.querySelectorAll('.box').length === 2);
submit(w);
check('... in the middle of the image', JSON.parse(
	d.getElementById('boxes').value)[1].join(',') === '272,192,96,96',
	d.getElementById('boxes').value);
d.getElementById('remove').click();
check('Remove box removes the selected box',
	d.querySelectorAll('.box').length === 1);
submit(w);
check('... and the other stays', d.getElementById('boxes').value ===
	'[[120,90,220,210]]');

// A box dragged past the image edge is clipped to it.
ev(w, wrap, 'pointerdown', 300, 200);
ev(w, wrap, 'pointermove', 400, 300);
ev(w, wrap, 'pointerup', 400, 300);
submit(w);
check('boxes are clipped to the image', JSON.parse(
	d.getElementById('boxes').value)[1].join(',') === '600,400,40,80',
	d.getElementById('boxes').value);

w = load('assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=3HIT');
d = w.document;
check('preview disables Submit', d.getElementById('submitButton').disabled);
check('... saying "Accept the HIT to start"',
	d.getElementById('submitButton').value === 'Accept the HIT to start');
d.querySelector('input[name=face_found][value=no]').checked = true;
check('... and refuses a submit', submit(w) === false);

w = load('assignmentId=3ASG&turkSubmitTo=javascript%3Aalert(1)');
check('a turkSubmitTo that is not http(s) falls back to MTurk',
	w.document.getElementById('mturk_form').action ===
	'https://www.mturk.com/mturk/externalSubmit',
	w.document.getElementById('mturk_form').action);

function key(window, target, k, shift) {
	target.dispatchEvent(new window.KeyboardEvent('keydown', {
		key: k, shiftKey: !!shift, bubbles: true, cancelable: true }));
}

if (process.argv[3]) {
	html = fs.readFileSync(process.argv[3], 'utf8');
	w = load('assignmentId=3ASG&turkSubmitTo=' +
		encodeURIComponent('http://127.0.0.1:9'));
	d = w.document;
	d.getElementById('add').click();
	let b = d.querySelector('#wrap .box');
	check('a box is a focusable button with a name', b.tabIndex === 0 &&
		b.getAttribute('role') === 'button' &&
		/^Box 1: 96 by 96 pixels/.test(b.getAttribute('aria-label')),
		b.getAttribute('aria-label'));
	b.focus();
	// Display scale 1/2: a key step is 4 display pixels, 8 image pixels.
	key(w, d.activeElement, 'ArrowLeft');
	key(w, d.activeElement, 'ArrowUp');
	key(w, d.activeElement, 'ArrowUp');
	key(w, d.activeElement, 'ArrowRight', true);
	key(w, d.activeElement, 'ArrowDown', true);
	check('focus stays on the box as it is redrawn',
		d.activeElement.classList.contains('box'));
	d.querySelector('input[name=face_found][value=yes]').checked = true;
	submit(w);
	check('arrows move the box, Shift+arrows resize it',
		d.getElementById('boxes').value === '[[264,176,104,104]]',
		d.getElementById('boxes').value);
	check('... and with the slider untouched its confidence is null',
		d.getElementById('confidence').value === '[null]',
		d.getElementById('confidence').value);
	const conf = d.getElementById('conf');
	conf.value = '70';
	conf.dispatchEvent(new w.Event('input', { bubbles: true }));
	d.getElementById('add').click();
	submit(w);
	check('the slider sets the selected box\'s confidence',
		d.getElementById('confidence').value === '[70,null]',
		d.getElementById('confidence').value);
	d.querySelector('#wrap .box[data-i="1"]').focus();
	key(w, d.activeElement, 'Delete');
	check('Delete removes the focused box',
		d.querySelectorAll('#wrap .box').length === 1);
	check('... and focus goes to the next box',
		d.activeElement.getAttribute('data-i') === '0');
	submit(w);
	check('... its confidence going with it',
		d.getElementById('confidence').value === '[70]');
}

process.exit(failures === 0 ? 0 : 1);
