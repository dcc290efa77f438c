// The operator's own pool between two stages on "intofocus serve" in
// Debian's chromium (playwright-core): X, through an operator's link,
// does stage 1's task and waits on a page that looks again by itself (the
// stage needs another answer before the next one is posted); Y, through
// the pool's participant parameter, gives that answer; X, on the same
// page, goes on to stage 2's task, and is then told they are done (no
// task can come for them: the last stage's HIT is theirs already), while
// Y still has it to do.  axe-core looks at the wait page and the done
// page.  Run by tests/e2e/t0726-browser-pool-wait.sh, which starts the
// server (knowing the experiment) and the daemon and passes, in the
// environment:
//   BASE    the task server (http://127.0.0.1:PORT)
//   LINK_X  an operator's entry link for X
//   ID_Y    Y's id in the pool (/enter?participant=ID_Y)
// Prints "ok - what" / "not ok - what" lines for the wrapper's TAP.
// Nothing sleeps and then asserts: every wait is for a condition.
'use strict';
const { check, waitFor, axeCheck, doTask, runMain } = require('./lib.js');

const env = process.env;

async function h1(page) {
	if (new URL(page.url()).origin !== env.BASE ||
	    await page.locator('h1').count() === 0)
		return '';
	return page.textContent('h1');
}

// The home page until it offers a task, then the task page.
async function startTask(page) {
	await waitFor('a task', async () => {
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

async function enter(ctx, url) {
	const page = await ctx.newPage();
	await page.goto(url);
	await page.waitForURL(u => new URL(u).pathname !== '/enter');
	await page.waitForLoadState();
	return page;
}

async function main(browser) {
	// X does stage 1's task; the stage waits for a second answer.
	const cx = await browser.newContext({ bypassCSP: true });
	const px = await enter(cx, env.LINK_X);
	await startTask(px);
	await doTask(px, async () => new URL(px.url()).pathname === '/' &&
		await h1(px) !== '');
	let body = await px.textContent('body');
	check('after stage 1, the own pool\'s participant waits for the ' +
		'next stage', await h1(px) === 'Please wait for the next task' &&
		body.includes('You have done 1 tasks') &&
		body.includes('through your link') && !body.includes('Prolific'),
		body);
	check('... on a page that looks again by itself, whose first link ' +
		'turns that off', await px.locator('meta[http-equiv="refresh"]')
		.count() === 1 && (await px.locator('a').first()
		.getAttribute('href')) === '/?wait=manual', body);
	await px.goto(env.BASE + '/?wait=manual');
	check('with the refresh off: the same page, a link to look again',
		await px.locator('meta[http-equiv="refresh"]').count() === 0 &&
		await h1(px) === 'Please wait for the next task' &&
		await px.locator('a[href="/?wait=manual"]').count() === 1);
	await axeCheck(px, 'the own pool\'s wait page (refresh off)');

	// Y, from the pool's own ids, gives stage 1's second answer.
	const cy = await browser.newContext();
	const py = await enter(cy, env.BASE + '/enter?participant=' + env.ID_Y);
	await startTask(py);
	await doTask(py, async () => new URL(py.url()).pathname === '/' &&
		await h1(py) !== '');

	// X, looking again from the same page, goes on to stage 2's task.
	await waitFor('stage 2 on the wait page', async () => {
		if (await h1(px) === 'Your tasks')
			return true;
		await px.click('a[href="/?wait=manual"]');
		await px.waitForLoadState();
		return await h1(px) === 'Your tasks';
	});
	body = await px.textContent('body');
	check('once stage 2 is posted, the wait page gives X the next task',
		body.includes('You have done 1 tasks') &&
		await px.locator('button', { hasText: 'Start the next task' })
			.count() === 1, body);
	await startTask(px);
	await doTask(px, async () => new URL(px.url()).pathname === '/' &&
		await h1(px) !== '');
	body = await px.textContent('body');
	check('after the last stage\'s task, X is done (nothing can come ' +
		'for them), though Y has it still to do',
		await h1(px) === 'You are done' &&
		await px.locator('meta[http-equiv="refresh"]').count() === 0,
		body);
	await axeCheck(px, 'the own pool\'s done page');

	// Y does stage 2 too: the experiment is over.
	await py.goto(env.BASE + '/');
	await startTask(py);
	await doTask(py, async () => new URL(py.url()).pathname === '/' &&
		await h1(py) !== '');
	check('Y, after the last stage, is done too',
		await h1(py) === 'You are done', await py.textContent('body'));
	await cx.close();
	await cy.close();
}

runMain(main);
