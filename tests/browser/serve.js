// The participant's flow through "intofocus serve" (sim/sim_people.c) in
// Debian's chromium driven by playwright-core: arrive through an entry
// link, do a task, be told when done (Prolific's completion redirect with
// the study's code, or the done page), and come back later to the same
// session.  Run by tests/e2e/t0720-browser-serve.sh, which starts the
// server and the daemon and passes, in the environment:
//   BASE        the server (http://127.0.0.1:PORT)
//   LINK        an operator's entry link for one participant
//   PROLIFIC    Prolific's entry for another (/enter?PROLIFIC_PID=...)
//   CODE        the study's completion code
// Prolific itself is never reached: the browser's request for its
// completion URL is what is checked.
// Prints "ok - what" / "not ok - what" lines for the wrapper's TAP.
// Nothing sleeps and then asserts: every wait is for a condition.
'use strict';
const fs = require('fs');
const { chromium } = require('playwright-core');

const env = process.env;
const WAIT = 60000;
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
		await new Promise(r => setTimeout(r, 200));
	}
}

async function axeCheck(page, what) {
	await page.addScriptTag({ content: AXE });
	const r = await page.evaluate(() => axe.run(document,
		{ resultTypes: ['violations'] }));
	const bad = r.violations.filter(v => v.impact === 'serious' ||
		v.impact === 'critical');
	check('axe-core: no serious or critical violation on ' + what,
		bad.length === 0, bad.map(v => v.id));
}

// From the entry link to the task page, once the daemon posted a HIT.
async function arrive(page, entry) {
	await page.goto(entry);
	// The welcome page moves on by itself, same-site, to the home page.
	await page.waitForURL(u => new URL(u).pathname !== '/enter',
		{ timeout: WAIT });
	return waitFor('a task for ' + entry, async () => {
		if (new URL(page.url()).pathname.startsWith('/task/'))
			return true;
		const start = page.locator('button', { hasText: 'Start' });
		if (await start.count() > 0) {
			await start.first().click();
			await page.waitForLoadState();
			return new URL(page.url()).pathname.startsWith('/task/');
		}
		await page.goto(env.BASE + '/');
		return false;
	});
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

async function main(browser) {
	// A participant from Prolific, answered by a stand-in for Prolific.
	// Redirects are not routed, and there is no network: the request
	// for Prolific's page is what the browser was sent to.
	const ctx = await browser.newContext();
	let completed = null;
	ctx.on('request', r => {
		if (r.url().startsWith('https://app.prolific.com/'))
			completed = r.url();
	});
	const page = await ctx.newPage();
	await arrive(page, env.BASE + env.PROLIFIC);
	const taskUrl = page.url();
	check('a Prolific participant reaches a task page',
		/\/task\/[A-Z0-9]+\?assignmentId=/.test(taskUrl), taskUrl);
	const html = await page.content();
	const img = await page.getAttribute('#img', 'src');
	check('the image is served by assignment, not by its key',
		/^\/img\/[A-Z0-9]+$/.test(img), img);
	check('the page names neither the experiment nor the image',
		!/bserve|group|RequesterAnnotation/.test(html));
	const cookies = await ctx.cookies();
	check('the session cookie is HttpOnly and SameSite=Strict',
		cookies.length === 1 && cookies[0].httpOnly &&
		cookies[0].sameSite === 'Strict', cookies);
	await axeCheck(page, 'the task page served to a participant');
	await doTask(page, () => completed !== null);
	check('done (share 1): sent to Prolific\'s completion URL with the code',
		completed === 'https://app.prolific.com/submissions/complete?cc=' +
		env.CODE, completed);
	// Coming back later, in the same browser: the same session, still
	// done, sent to Prolific again.
	completed = null;
	const later = await ctx.newPage();
	await later.goto(env.BASE + '/').catch(() => null);
	await waitFor('the completion redirect again', () => completed !== null);
	check('a returning Prolific participant is still done, same session',
		completed !== null && (await ctx.cookies()).length === 1);
	await ctx.close();

	// An operator's link: the participant leaves mid-task and returns.
	const c2 = await browser.newContext();
	const p2 = await c2.newPage();
	await arrive(p2, env.LINK);
	const first = new URL(p2.url()).pathname;
	await p2.close();
	const c3 = await browser.newContext(); // later, another browser
	const p3 = await c3.newPage();
	await p3.goto(env.LINK);
	await p3.waitForURL(u => new URL(u).pathname.startsWith('/task/'),
		{ timeout: WAIT });
	check('returning through the same link lands on the same task',
		new URL(p3.url()).pathname === first,
		[first, p3.url()]);
	await doTask(p3, async () => new URL(p3.url()).pathname === '/' &&
		await p3.locator('h1').count() > 0);
	check('then the participant is told they are done',
		(await p3.textContent('h1')) === 'You are done',
		await p3.textContent('body'));
	// axe-core is injected as an inline script, which the page's own
	// policy rightly forbids: a second look with the policy bypassed.
	const c4 = await browser.newContext({ bypassCSP: true });
	await c4.addCookies(await c3.cookies());
	const p4 = await c4.newPage();
	await p4.goto(env.BASE + '/');
	check('the same session, from its cookie, is still done',
		(await p4.textContent('h1')) === 'You are done');
	await axeCheck(p4, 'the done page');
	await c2.close();
	await c3.close();
	await c4.close();
}

(async () => {
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
