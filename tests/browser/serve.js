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
const { WAIT, check, waitFor, axeCheck, doTask, runMain } =
	require('./lib.js');

const env = process.env;

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

runMain(main);
