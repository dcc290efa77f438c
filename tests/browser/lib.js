// What the task server's browser scripts (serve.js, prolific.js) share:
// TAP-like checks, waiting for a condition, axe-core, chromium's launch
// and a participant's answer on a task page.
// Nothing sleeps and then asserts: every wait is for a condition.
'use strict';
const fs = require('fs');
const { chromium } = require('playwright-core');

const WAIT = 60000;
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
let failures = 0;

// Prints "ok - what" or "not ok - what" (and the detail) for the wrapper.
function check(what, cond, detail) {
	if (cond) {
		console.log('ok - ' + what);
	} else {
		failures++;
		console.log('not ok - ' + what);
		if (detail !== undefined)
			console.log('# ' + JSON.stringify(detail));
	}
	return !!cond;
}

async function waitFor(what, fn, timeout) {
	const end = Date.now() + (timeout || WAIT);
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error('timed out waiting for ' + what);
		await new Promise(r => setTimeout(r, 200));
	}
}

// axe-core injected as an inline script: the page's own policy forbids
// that, so the page must come from a context with bypassCSP.
async function axeCheck(page, what) {
	await page.addScriptTag({ content: AXE });
	const r = await page.evaluate(() => axe.run(document,
		{ resultTypes: ['violations'] }));
	const bad = r.violations.filter(v => v.impact === 'serious' ||
		v.impact === 'critical');
	check('axe-core: no serious or critical violation on ' + what,
		bad.length === 0, bad.map(v => v.id));
}

// Draws a box, answers, submits; then waits for done() to hold.
async function doTask(page, done) {
	await waitFor('the task image', () => page.evaluate(() =>
		document.getElementById('img').naturalWidth > 0));
	await page.click('#add');
	await page.check('input[name=face_found][value=yes]');
	await page.fill('#feedback', 'a face at the top left');
	await page.click('#submitButton', { noWaitAfter: true });
	await waitFor('the page after submit', done);
}

// Debian's chromium, headless, with no network of its own; extra
// arguments (e.g. --host-resolver-rules) are appended.
function launch(extra) {
	return chromium.launch({
		executablePath: '/usr/bin/chromium',
		headless: true,
		timeout: 60000,
		args: ['--no-sandbox', '--disable-gpu',
			'--disable-dev-shm-usage',
			'--disable-background-networking',
			'--disable-component-update', '--disable-sync',
			'--no-first-run'].concat(extra || []),
	});
}

// Runs main(browser) and exits 1 when any check failed or it threw.
function runMain(main, extraArgs) {
	(async () => {
		const browser = await launch(extraArgs);
		check('chromium starts', !!browser);
		try {
			await main(browser);
		} catch (e) {
			check('the participant flow ran to the end', false,
				String(e.stack));
		}
		await browser.close();
		process.exit(failures ? 1 : 0);
	})().catch(e => {
		console.log('not ok - browser tests crashed');
		console.log('# ' + String(e && e.stack));
		process.exit(1);
	});
}

module.exports = { WAIT, check, waitFor, axeCheck, doTask, launch, runMain };
