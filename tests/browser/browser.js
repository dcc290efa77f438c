// Browser tests of the worker task page (mturk/task_page.c, served by the
// simulator's lab mode) and of the results site (intofocus report), in
// Debian's chromium driven by playwright-core.  Run by
// tests/e2e/t0710-browser.sh, which starts the simulator and the daemon
// and passes, in the environment:
//   LAB_URL     the simulator's lab index (http://127.0.0.1:PORT/)
//   INTOFOCUS   the binary; EXP, STATE_DIR, OUT_DIR  the daemon's run
//   IMAGE_ID, IMAGE_W  the experiment's one image and its natural width
//   SITE_DIR    where to write the report; SHOT_DIR  screenshots
//   CMP_EXP, CMP_STATE_DIR  a second, finished experiment; CMP_DIR where
//               to write the comparison of the two
//   S0_EXP, S0_STATE_DIR  a finished experiment with stage 0 (the
//               detector's and the image's own starting boxes) on IMAGE_ID;
//               S0_DIR where to write its report
// Every page is also checked by axe-core (npm) for serious or critical
// accessibility violations.
// Prints "ok - what" / "not ok - what" lines for the wrapper's TAP.
// Nothing sleeps and then asserts: every wait is for a condition.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { chromium } = require('playwright-core');

const env = process.env;
const WAIT = 30000;
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
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

// axe-core on the page as it is now: no serious or critical violation.
async function axeCheck(page, what) {
	if (!await page.evaluate(() => typeof axe !== 'undefined'))
		await page.addScriptTag({ content: AXE });
	const r = await page.evaluate(() => axe.run(document,
		{ resultTypes: ['violations'] }));
	const bad = r.violations.filter(v => v.impact === 'serious' ||
		v.impact === 'critical');
	check('axe-core: no serious or critical violation on ' + what,
		bad.length === 0, bad.map(v => v.id + ' ' + v.impact + ' ' +
			v.nodes.map(n => n.target.join(' ')).join(', ')));
}

// The form's fields as Submit fills them, without leaving the page: a
// listener added after the page's own cancels the navigation.
async function submitFields(page) {
	await page.evaluate(() => {
		const f = document.getElementById('mturk_form');
		window.__held = null;
		f.addEventListener('submit', e => {
			window.__held = {
				boxes: document.getElementById('boxes').value,
				confidence: (document.getElementById('confidence') ||
					{}).value };
			e.preventDefault();
		}, { once: true });
	});
	await page.click('#submitButton');
	return page.evaluate(() => window.__held);
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
	await axeCheck(page, 'the task page in preview');

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
	check('the face question is the experiment file\'s',
		(await page.textContent('legend')) ===
		'Did you find a face? (yes or no)');
	check('the default instructions say to box a region when unsure',
		/unsure whether a region shows a face, box it/.test(
			await page.textContent('.inst')));
	await page.click('#remove');
	await axeCheck(page, 'the task page');

	// Keyboard only: Add box, Shift+Tab to the box, arrows, Delete.
	await page.focus('#add');
	await page.keyboard.press('Enter');
	await page.keyboard.press('Shift+Tab');
	const focused = await page.evaluate(() => {
		const a = document.activeElement;
		const st = getComputedStyle(a);
		return { box: a.classList.contains('box'), role:
			a.getAttribute('role'), label: a.getAttribute('aria-label'),
			outline: st.outlineStyle, width: parseFloat(st.outlineWidth) };
	});
	check('Shift+Tab from Add box focuses the new box (a button with a ' +
		'name)', focused.box && focused.role === 'button' &&
		/^Box 1:/.test(focused.label || ''), focused);
	check('the focused box has a visible outline',
		focused.outline !== 'none' && focused.width >= 2, focused);
	await page.check('input[name=face_found][value=no]');
	const k0 = JSON.parse((await submitFields(page)).boxes)[0];
	await page.focus('#wrap .box');
	const step = await page.evaluate(() => {
		const i = document.getElementById('img');
		return Math.max(1, Math.round(4 / (i.clientWidth /
			i.naturalWidth)));
	});
	for (let i = 0; i < 3; i++)
		await page.keyboard.press('ArrowRight');
	await page.keyboard.press('ArrowDown');
	await page.keyboard.press('Shift+ArrowRight');
	await page.keyboard.press('Shift+ArrowDown');
	await page.keyboard.press('Shift+ArrowDown');
	const k1 = JSON.parse((await submitFields(page)).boxes)[0];
	check('arrow keys move the box and Shift+arrows resize it',
		k1[0] === k0[0] + 3 * step && k1[1] === k0[1] + step &&
		k1[2] === k0[2] + step && k1[3] === k0[3] + 2 * step,
		{ k0, k1, step });
	const hb = await page.locator('#wrap .box.sel .h').boundingBox();
	check('the resize handle is at least 44 px square (a finger)',
		hb && hb.width >= 44 && hb.height >= 44, hb);
	await page.focus('#wrap .box');
	await page.keyboard.press('Delete');
	check('Delete removes the focused box and focus goes to Add box',
		(await page.textContent('#count')) === '0' &&
		await page.evaluate(() => document.activeElement.id === 'add'));

	// The confidence slider: for the selected box, sent in its own field.
	await page.click('#add');
	await page.click('#add');
	check('the slider is enabled for the selected box',
		!(await page.isDisabled('#conf')));
	await page.focus('#conf');
	await page.keyboard.press('End');
	for (let i = 0; i < 4; i++)
		await page.keyboard.press('ArrowLeft');
	const held = await submitFields(page);
	check('the confidence field holds one value per box: null where ' +
		'the slider was left alone, 80 where it was set',
		held.confidence === '[null,80]', held);
	check('the box shows its confidence',
		(await page.textContent('#wrap .box[data-i="1"] .c')) === '80%');
	await axeCheck(page, 'the task page with boxes and the slider');
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
	// Box A, selected by a click, is given 80% on the slider.  (Remove
	// box may have scrolled the page: where the image is now.)
	const r2 = await apage.locator('#wrap').boundingBox();
	await apage.mouse.click(r2.x + 50, r2.y + 60);
	check('a click on a box selects it for the slider',
		!(await apage.isDisabled('#conf')));
	await apage.focus('#conf');
	await apage.keyboard.press('End');
	for (let i = 0; i < 4; i++)
		await apage.keyboard.press('ArrowLeft');
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
		got.length === 1 && got[0].slice(0, 4).every((v, i) =>
			Math.abs(v - want[i]) <= 2), { got, want });
	check('... and its confidence, 80, recorded with it',
		got.length === 1 && got[0].length === 5 && got[0][4] === 80, got);
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
	check('the site opens on the overview',
		await page.isVisible('#overview') &&
		!(await page.isVisible('#hits')));
	check('... with the final image as a thumbnail',
		await page.locator('#overview .thumb img[src*="final"]')
			.count() === 1);
	check('... the headline figures',
		/faces found/.test(await page.textContent('#overview dl')));
	const plotKinds = await page.evaluate(() => Array.from(
		document.querySelectorAll('#overview svg.plot'))
		.map(s => s.getAttribute('class').replace('plot ', '')));
	check('... and four inline SVG plots', JSON.stringify(plotKinds) ===
		'["found-by-stage","face-sizes","working-time","cost-per-stage"]',
		plotKinds);
	const nfaces = rec.stages.length ? 3 : 0;
	check('the face-size plot has a dot per face and the 0.16% line',
		await page.locator('svg.face-sizes circle').count() === nfaces &&
		await page.locator('svg.face-sizes line.study').count() === 1);
	check('the faces-found plot has a point per stage',
		await page.locator('svg.found-by-stage circle').count() ===
		rec.stages.length);
	await axeCheck(page, 'the results site (overview)');
	await page.click('#tab-hits');
	check('the HITs tab shows the HIT',
		await page.isVisible('#hits') &&
		(await page.textContent('#hits')).includes(
			rec.stages[0].hits[0].hit_id));
	check('... and the worker\'s confidence',
		/80%/.test(await page.textContent('#hits table.assignments')));
	await axeCheck(page, 'the results site (HITs)');
	await page.click('#tab-boxes');
	check('the Boxes tab shows the raw box',
		await page.isVisible('#boxes') && !(await page.isVisible('#hits'))
		&& (await page.textContent('#boxes')).includes(
			JSON.stringify(box)));
	await axeCheck(page, 'the results site (Boxes)');
	await page.click('#tab-truth');
	check('the Ground truth tab shows the metrics table',
		await page.isVisible('#truth table.metrics'));
	await axeCheck(page, 'the results site (Ground truth)');
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
	check('... labelled with its confidence',
		await ov.getAttribute('data-confidence') === '80');
	await axeCheck(page, 'the results site (Images)');
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
	await editorTests(page);
	check('no script error and no request off file://', errors.length === 0,
		errors);
	await ctx.close();
}

// The ground-truth editor: draw a face, export YAML, and the YAML is a
// valid images[] entry with that ground truth.
async function editorTests(page) {
	await page.click('#tab-editor');
	await page.selectOption('#ed-image', env.IMAGE_ID);
	await waitFor('the editor image', () => page.evaluate(() =>
		document.querySelector('#ed-frame img').naturalWidth > 0));
	const r = await page.locator('#ed-frame').boundingBox();
	const s = await page.evaluate(() => {
		const i = document.querySelector('#ed-frame img');
		return i.clientWidth / i.naturalWidth;
	});
	await drag(page, r.x + 40 * s, r.y + 50 * s, r.x + 88 * s,
		r.y + 110 * s);
	const yaml = await page.inputValue('#ed-yaml');
	const m = /ground_truth: \[\[(\d+), (\d+), (\d+), (\d+)\]\]/
		.exec(yaml);
	const got = m ? m.slice(1).map(Number) : null;
	check('a box drawn in the editor is exported in image pixels (+-2)',
		got && [40, 50, 48, 60].every((v, i) => Math.abs(v - got[i]) <= 2),
		yaml);
	await axeCheck(page, 'the results site (ground-truth editor)');
	// Pasted into the experiment file, it checks.
	const exp = fs.readFileSync(env.EXP, 'utf8').replace(/\nimages:\n[^]*$/,
		'\nimages:\n' + yaml.replace(/^/gm, '  ').replace(/ +$/, ''));
	const file = path.join(path.dirname(env.EXP), 'edited.yaml');
	fs.writeFileSync(file, exp);
	let ok = true, out = '';
	try {
		out = execFileSync(env.INTOFOCUS, ['check', file],
			{ encoding: 'utf8' });
	} catch (e) {
		ok = false;
		out = String(e.stdout) + String(e.stderr);
	}
	check('the exported YAML pasted under images: passes intofocus check',
		ok, out);
}

// Stage 0 on the site: the overview's faces found stage by stage with the
// detector's apart, and the image's starting boxes with their origins.
async function stage0Tests(browser) {
	execFileSync(env.INTOFOCUS, ['report', env.S0_EXP, '--state-dir',
		env.S0_STATE_DIR, '-o', env.S0_DIR], { stdio: 'inherit' });
	const M = JSON.parse(fs.readFileSync(path.join(env.S0_DIR,
		'metrics.json'), 'utf8'));
	const ctx = await browser.newContext({ viewport: { width: 1000,
		height: 800 } });
	const page = await ctx.newPage();
	const errors = [];
	page.on('pageerror', e => errors.push(String(e)));
	page.on('request', q => {
		if (!q.url().startsWith('file://'))
			errors.push('request to ' + q.url());
	});
	await page.goto('file://' + path.resolve(env.S0_DIR, 'index.html'));
	const rows = await page.evaluate(() => Array.from(
		document.querySelectorAll('#overview table.found-by-source tr'))
		.slice(1).map(r => Array.from(r.cells).map(c => c.textContent)));
	const s0 = M.total.stage0;
	check('stage 0: the overview splits the faces found, stage by stage',
		rows.length === 1 + M.windows.length && rows[0][0] === '0' &&
		rows[0][2] === String(s0.found_by_detector) &&
		rows[0][3] === String(s0.found_by_start) &&
		rows[rows.length - 1][5] === String(M.total.found), { rows, M });
	check('... and its figures say who found them', /found by the detector/
		.test(await page.textContent('#overview dl')));
	await axeCheck(page, 'the results site with stage 0 (overview)');
	await page.click('#tab-images');
	const sel = '#image-' + env.IMAGE_ID;
	const rec = JSON.parse(fs.readFileSync(path.join(path.dirname(
		env.S0_EXP), 'out-s0', env.IMAGE_ID + '.json'), 'utf8'));
	const origins = await page.evaluate(s => Array.from(
		document.querySelectorAll(s + ' table.stage0-boxes tr')).slice(1)
		.map(r => r.cells[1].textContent), sel);
	check('stage 0: the image lists its starting boxes with their origins',
		JSON.stringify(origins) === JSON.stringify(rec.stage0.origins),
		{ origins, want: rec.stage0.origins });
	await page.locator(sel + ' input.stage0').check();
	check('... and its toggle draws each of them',
		await page.locator(sel + ' .ov.start').count() ===
		rec.stage0.boxes.length);
	check('... its own view, stage 0',
		await page.locator(sel + ' .views button', {
			hasText: 'Stage 0' }).count() === 1);
	await axeCheck(page, 'the results site with stage 0 (Images)');
	await page.click('#tab-truth');
	check('stage 0: the faces table says who found each face',
		/detector/.test(await page.textContent('#truth table.faces')));
	check('no script error and no request off file:// (stage 0)',
		errors.length === 0, errors);
	await ctx.close();
}

// The comparison of two experiments: both overlaid, a table, links.
async function compareTests(browser) {
	execFileSync(env.INTOFOCUS, ['report', env.EXP, env.CMP_EXP,
		'--state-dir', env.STATE_DIR, '--state-dir', env.CMP_STATE_DIR,
		'-o', env.CMP_DIR], { stdio: 'inherit' });
	const ctx = await browser.newContext({ viewport: { width: 1100,
		height: 900 } });
	const page = await ctx.newPage();
	const errors = [];
	page.on('pageerror', e => errors.push(String(e)));
	page.on('request', q => {
		if (!q.url().startsWith('file://'))
			errors.push('request to ' + q.url());
	});
	await page.goto('file://' + path.resolve(env.CMP_DIR, 'index.html'));
	const series = await page.evaluate(() => Array.from(new Set(Array.from(
		document.querySelectorAll('svg.found-by-stage circle'))
		.map(c => c.getAttribute('data-series')))));
	check('the comparison overlays both experiments\' faces found',
		JSON.stringify(series) === '["lab","cmp"]', series);
	check('... cmp with a point for each of its three stages',
		await page.locator('svg.found-by-stage circle[data-series="cmp"]')
			.count() === 3);
	const heads = await page.evaluate(() => Array.from(
		document.querySelectorAll('table.compare th a'))
		.map(a => a.getAttribute('href')));
	check('the table has a column per experiment, linked to its report',
		JSON.stringify(heads) ===
		'["lab/index.html","cmp/index.html"]' && heads.every(h =>
			fs.existsSync(path.join(env.CMP_DIR, h))), heads);
	check('... with the aggregates side by side', /union\s*first/.test(
		await page.textContent('table.compare')));
	await axeCheck(page, 'the comparison page');
	fs.mkdirSync(env.SHOT_DIR, { recursive: true });
	await page.screenshot({ path: path.join(env.SHOT_DIR, 'compare.png'),
		fullPage: true });
	check('no script error and no request off file:// (comparison)',
		errors.length === 0, errors);
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
		await compareTests(browser);
		await stage0Tests(browser);
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
