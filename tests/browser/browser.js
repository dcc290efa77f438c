// Browser tests of the worker task page (mturk/task_page.c, served by the
// simulator's lab mode) and of the results site (intofocus report), in
// Debian's chromium driven by playwright-core.  Run by
// tests/e2e/t0710-browser.sh, which starts the simulator and the daemon
// and passes, in the environment:
//   LAB_URL     the simulator's lab index (http://127.0.0.1:PORT/)
//   INTOFOCUS   the binary; EXP, STATE_DIR, OUT_DIR  the daemon's run
//   IMAGE_ID, IMAGE_W  the experiment's one image and its natural width
//   SITE_DIR    where to write the report; SHOT_DIR  screenshots
// Prints "ok - what" / "not ok - what" lines for the wrapper's TAP.
// Nothing sleeps and then asserts: every wait is for a condition.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { chromium } = require('playwright-core');

const env = process.env;
const WAIT = 30000;
let failures = 0;

function check(what, cond, detail) {
	if (cond) {
		console.log('ok - ' + what);
	} else {
		failures++;
		console.log('not ok - ' + what);
		if (detail !== undefined)
			console.log('# ' + JSON.stringify(detail));
	}
}

async function waitFor(what, fn, timeout) {
	const end = Date.now() + (timeout || WAIT);
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error('timed out waiting for ' + what);
		await new Promise(r => setTimeout(r, 100));
	}
}

// Drags with the mouse from (x0, y0) to (x1, y1), page coordinates.
async function drag(page, x0, y0, x1, y1) {
	await page.mouse.move(x0, y0);
	await page.mouse.down();
	await page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, { steps: 3 });
	await page.mouse.move(x1, y1, { steps: 3 });
	await page.mouse.up();
}

// The HIT's task-page URL from the lab index, once the daemon posted it.
async function hitLinks(page) {
	return waitFor('the HIT on the lab index', async () => {
		await page.goto(env.LAB_URL);
		const accept = await page.locator('a', { hasText: 'Accept' })
			.first().getAttribute('href').catch(() => null);
		if (!accept)
			return null;
		const preview = await page.locator('a', { hasText: 'Preview' })
			.first().getAttribute('href');
		return { accept: new URL(accept, page.url()).href,
			preview: new URL(preview, page.url()).href };
	});
}

async function labTests(browser) {
	const ctx = await browser.newContext({ viewport: { width: 240,
		height: 800 } });
	const page = await ctx.newPage();
	const links = await hitLinks(page);
	check('the lab index lists the daemon\'s HIT', !!links.accept);

	// (2) Preview mode: the image shows, Submit cannot be used.
	await page.goto(links.preview);
	await page.waitForSelector('#img');
	await waitFor('the preview image', () => page.evaluate(() =>
		document.getElementById('img').naturalWidth > 0));
	const btn = page.locator('#submitButton');
	check('preview: Submit is disabled', await btn.isDisabled());
	check('preview: the button says "Accept the HIT to start"',
		(await btn.inputValue()) === 'Accept the HIT to start');
	await page.evaluate(() => document.getElementById('mturk_form')
		.dispatchEvent(new Event('submit', { cancelable: true })));
	check('preview: a forced submit is refused with the message',
		/Accept the HIT to start/.test(await page.textContent('#msg')));

	// (4) and (3) on the task page of a made-up assignment, never
	// submitted: the face question gates Submit, and touch draws.
	const u = new URL(links.accept.replace('/lab/accept/',
		'/lab/task/'));
	const hit = u.pathname.split('/').pop();
	const fake = new URL('/lab/task/' + hit, env.LAB_URL);
	fake.searchParams.set('assignmentId', 'NOTSUBMITTED0');
	fake.searchParams.set('hitId', hit);
	fake.searchParams.set('turkSubmitTo', new URL(env.LAB_URL).origin);
	await page.goto(fake.href);
	await waitFor('the task image', () => page.evaluate(() =>
		document.getElementById('img').naturalWidth > 0));
	await page.click('#add');
	const before = page.url();
	await page.click('#submitButton');
	await page.waitForFunction(() =>
		/did you find a face/i.test(document.getElementById('msg')
			.textContent), null, { timeout: WAIT });
	check('submit without the face question is refused with a message',
		page.url() === before);
	await ctx.close();

	const tctx = await browser.newContext({ viewport: { width: 240,
		height: 800 }, hasTouch: true, isMobile: true });
	const tpage = await tctx.newPage();
	await tpage.goto(fake.href);
	await waitFor('the task image (touch)', () => tpage.evaluate(() =>
		document.getElementById('img').naturalWidth > 0));
	const tr = await tpage.locator('#wrap').boundingBox();
	const cdp = await tctx.newCDPSession(tpage);
	const pt = (x, y) => [{ x: tr.x + x, y: tr.y + y, id: 1 }];
	await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart',
		touchPoints: pt(20, 20) });
	await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove',
		touchPoints: pt(50, 40) });
	await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove',
		touchPoints: pt(90, 70) });
	await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd',
		touchPoints: [] });
	await tpage.waitForFunction(() =>
		document.getElementById('count').textContent === '1', null,
	{ timeout: WAIT }).catch(() => {});
	const tb = await tpage.locator('#wrap .box').first().boundingBox()
		.catch(() => null);
	check('a touch drag draws one box over the dragged rectangle',
		tb && Math.abs(tb.x - (tr.x + 20)) <= 3 &&
		Math.abs(tb.width - 70) <= 4 && Math.abs(tb.height - 50) <= 4,
		tb);
	await tctx.close();

	// (1) The real assignment: two boxes, remove one, answer, submit.
	const actx = await browser.newContext({ viewport: { width: 240,
		height: 800 } });
	const apage = await actx.newPage();
	await apage.goto(links.accept);
	await waitFor('the task image', () => apage.evaluate(() =>
		document.getElementById('img').naturalWidth > 0));
	const dims = await apage.evaluate(() => {
		const i = document.getElementById('img');
		return { cw: i.clientWidth, nw: i.naturalWidth };
	});
	const scale = dims.cw / dims.nw;
	check('the task image is scaled down in a small window', scale < 0.9,
		dims);
	const r = await apage.locator('#wrap').boundingBox();
	// Box A (to keep) and box B (to remove), in display pixels.
	const A = [30, 40, 110, 100], B = [130, 20, 170, 60];
	await drag(apage, r.x + A[0], r.y + A[1], r.x + A[2], r.y + A[3]);
	await drag(apage, r.x + B[0], r.y + B[1], r.x + B[2], r.y + B[3]);
	check('two dragged boxes are drawn',
		(await apage.textContent('#count')) === '2');
	// Select box B by clicking inside it, then Remove box.
	await apage.mouse.click(r.x + 140, r.y + 40);
	await apage.click('#remove');
	check('one box is left after Remove box',
		(await apage.textContent('#count')) === '1');
	await apage.check('input[name=face_found][value=yes]');
	await apage.fill('#feedback', 'browser test');
	await Promise.all([
		apage.waitForNavigation({ timeout: WAIT }),
		apage.click('#submitButton'),
	]);
	check('the answer is submitted to the simulator',
		/externalSubmit/.test(apage.url()), apage.url());
	await actx.close();

	const want = [A[0] / scale, A[1] / scale, (A[2] - A[0]) / scale,
		(A[3] - A[1]) / scale];
	const out = path.join(env.OUT_DIR, env.IMAGE_ID + '.json');
	const rec = await waitFor('the daemon\'s output ' + out, () => {
		try {
			return JSON.parse(fs.readFileSync(out, 'utf8'));
		} catch (e) {
			return null;
		}
	}, 60000);
	const a = rec.stages[0].assignments;
	check('the daemon recorded one assignment', a.length === 1, a);
	const got = a.length === 1 ? a[0].boxes : [];
	check('... with exactly the remaining box, in full-image pixels (+-2)',
		got.length === 1 && got[0].every((v, i) =>
			Math.abs(v - want[i]) <= 2), { got, want });
	check('... the face answer and the feedback',
		a.length === 1 && a[0].face_found === 'yes' &&
		a[0].feedback === 'browser test', a);
	return rec;
}

// (5) The results site from file://.
async function siteTests(browser, rec) {
	execFileSync(env.INTOFOCUS, ['report', env.EXP, '--state-dir',
		env.STATE_DIR, '-o', env.SITE_DIR], { stdio: 'inherit' });
	const box = rec.stages[0].assignments[0].boxes[0];
	const worker = rec.stages[0].assignments[0].worker_id;
	const ctx = await browser.newContext({ viewport: { width: 1000,
		height: 800 } });
	const page = await ctx.newPage();
	const errors = [];
	page.on('pageerror', e => errors.push(String(e)));
	page.on('request', q => {
		if (!q.url().startsWith('file://'))
			errors.push('request to ' + q.url());
	});
	await page.goto('file://' + path.resolve(env.SITE_DIR,
		'index.html'));
	check('the site opens on the HITs tab with the HIT',
		await page.isVisible('#hits') &&
		(await page.textContent('#hits')).includes(
			rec.stages[0].hits[0].hit_id));
	await page.click('#tab-boxes');
	check('the Boxes tab shows the raw box',
		await page.isVisible('#boxes') && !(await page.isVisible('#hits'))
		&& (await page.textContent('#boxes')).includes(
			JSON.stringify(box)));
	await page.click('#tab-truth');
	check('the Ground truth tab shows the metrics table',
		await page.isVisible('#truth table.metrics'));
	await page.click('#tab-images');
	const sel = '#image-' + env.IMAGE_ID;
	await waitFor('the site image', () => page.evaluate(s =>
		document.querySelector(s + ' .frame img').complete &&
		document.querySelector(s + ' .frame img').naturalWidth > 0, sel));
	const toggle = page.locator(sel + ' input.worker[data-worker="' +
		worker + '"]');
	await toggle.check();
	const ov = page.locator(sel + ' .ov.worker[data-worker="' + worker +
		'"]');
	check('toggling the worker shows one overlay', await ov.count() === 1);
	async function placed(label) {
		const g = await page.evaluate(s => {
			const img = document.querySelector(s + ' .frame img');
			const o = document.querySelector(s + ' .ov.worker');
			const a = img.getBoundingClientRect();
			const b = o.getBoundingClientRect();
			return { s: a.width / img.naturalWidth, x: b.left - a.left,
				y: b.top - a.top, w: b.width, h: b.height };
		}, sel);
		const w = box.map(v => v * g.s);
		check('overlay on the stored box at ' + label + ' (scale ' +
			g.s.toFixed(3) + ')',
			Math.abs(g.x - w[0]) <= 1.5 && Math.abs(g.y - w[1]) <= 1.5 &&
			Math.abs(g.w - w[2]) <= 1.5 && Math.abs(g.h - w[3]) <= 1.5,
			{ g, w });
		return g.s;
	}
	const s1 = await placed('1000 px wide');
	await page.setViewportSize({ width: 200, height: 600 });
	await page.waitForFunction(s => document.querySelector(s +
		' .frame img').getBoundingClientRect().width < 190, sel,
	{ timeout: WAIT });
	const s2 = await placed('200 px wide');
	check('the two window sizes show the image at different scales',
		Math.abs(s1 - s2) > 0.1, { s1, s2 });
	await toggle.uncheck();
	check('unchecking the worker hides the overlay',
		await ov.count() === 0);
	await page.setViewportSize({ width: 1000, height: 800 });
	await toggle.check();
	fs.mkdirSync(env.SHOT_DIR, { recursive: true });
	const shot = path.join(env.SHOT_DIR, 'site-images.png');
	await page.screenshot({ path: shot, fullPage: true });
	check('a screenshot of the Images tab', fs.statSync(shot).size > 1000);
	check('no script error and no request off file://', errors.length === 0,
		errors);
	await ctx.close();
}

(async () => {
	// playwright-core gives every launch a fresh, empty temporary
	// --user-data-dir of its own (and refuses one in args); TMPDIR
	// points it into the suite's scratch directory.
	const browser = await chromium.launch({
		executablePath: '/usr/bin/chromium',
		headless: true,
		timeout: 60000,
		args: ['--no-sandbox', '--disable-gpu',
			'--disable-dev-shm-usage',
			'--disable-background-networking',
			'--disable-component-update', '--disable-sync',
			'--no-first-run'],
	});
	check('chromium starts', !!browser);
	try {
		const rec = await labTests(browser);
		await siteTests(browser, rec);
	} catch (e) {
		check('the browser tests ran to the end', false, String(e.stack));
	}
	await browser.close();
	process.exit(failures ? 1 : 0);
})().catch(e => {
	console.log('not ok - browser tests crashed');
	console.log('# ' + String(e && e.stack));
	process.exit(1);
});
