// A Prolific participant's whole visit to "intofocus serve" in Debian's
// chromium (playwright-core), as Prolific sends them: the study URL with
// PROLIFIC_PID, STUDY_ID and SESSION_ID; their share of tasks over two
// visits (leaving between tasks, and mid-task); Prolific's completion
// page with the study's code; and later visits, which land in the same
// session.  Run by tests/e2e/t0725-browser-prolific.sh, which starts the
// server and the daemon and passes, in the environment:
//   BASE          the task server (http://127.0.0.1:PORT)
//   STUDY         the study id the server was given
//   CODE          its completion code
//   SHARE         tasks per participant (the server's --share)
//   PID_A, SESSION_A, PID_B, SESSION_B, PID_C, SESSION_C
//                 three participants' ids
//   CERT, KEY     a self-signed certificate for app.prolific.com
//   COMPLETED     a file: each completion page reached, one line
//                 "PROLIFIC_PID cc" (the PID from the participant's
//                 session, as Prolific knows it)
//   FAKE_PROLIFIC the fake Prolific API's base URL, and FAKE_TOKEN its
//                 token: reaching the completion page with the study's
//                 code moves the participant's submission to AWAITING
//                 REVIEW there, as Prolific does (the stand-in knows the
//                 submission of each PID_x from SESSION_x)
// Prolific's app is a stand-in on loopback: chromium resolves
// app.prolific.com to it (--host-resolver-rules) and it answers https
// with the certificate above, so the participant really lands on
// https://app.prolific.com/submissions/complete?cc=... and nothing leaves
// the machine.
// Prints "ok - what" / "not ok - what" lines for the wrapper's TAP.
'use strict';
const fs = require('fs');
const https = require('https');
const http = require('http');
const { WAIT, check, waitFor, axeCheck, doTask, runMain } =
	require('./lib.js');

const env = process.env;
const COMPLETE = 'https://app.prolific.com/submissions/complete?cc=';

function entry(pid, study, session) {
	return env.BASE + '/enter?PROLIFIC_PID=' + pid + '&STUDY_ID=' + study +
		'&SESSION_ID=' + session;
}

// Prolific's study page sends the participant here; the participant is
// identified by the session Prolific keeps, which the stand-in is told
// through the 'as' cookie the test sets on app.prolific.com.
let reached = [];
function standIn() {
	return https.createServer({
		key: fs.readFileSync(env.KEY),
		cert: fs.readFileSync(env.CERT),
	}, (rq, rs) => {
		const u = new URL(rq.url, 'https://app.prolific.com');
		const who = ((rq.headers.cookie || '').match(/as=([\w-]+)/) ||
			[])[1] || '';
		const page = () => {
			rs.writeHead(200, { 'Content-Type': 'text/html' });
			rs.end('<!doctype html><html lang="en">' +
				'<title>Prolific</title>' +
				'<h1>Prolific stand-in</h1></html>');
		};
		if (u.pathname !== '/submissions/complete') {
			page();
			return;
		}
		const cc = u.searchParams.get('cc') || '';
		reached.push({ who, cc });
		fs.appendFileSync(env.COMPLETED, who + ' ' + cc + '\n');
		// The page is answered once Prolific's records say so.
		const session = sessionOf[who];
		if (!env.FAKE_PROLIFIC || cc !== env.CODE || !session) {
			page();
			return;
		}
		// Only a submission still active moves (a participant back
		// after approval stays approved).
		fakeState().then(state => {
			const sub = state.submissions.find(x => x.id === session);
			if (!sub || sub.status !== 'ACTIVE')
				return 200;
			return fakePost('/_fake/status?id=' + session +
				'&status=AWAITING%20REVIEW');
		}).then(st => {
			if (st !== 200)
				marked.push('status ' + st + ' for ' + who);
			page();
		}, e => {
			marked.push(String(e));
			page();
		});
	});
}
const sessionOf = {};
const marked = []; // failures to mark a submission awaiting review

// The fake Prolific API, if any: the submission is awaiting review once
// its participant reached the completion page with the code.
function fakePost(path) {
	return new Promise((resolve, reject) => {
		const u = new URL(env.FAKE_PROLIFIC + path);
		const rq = http.request(u, { method: 'POST', headers: {
			Authorization: 'Token ' + env.FAKE_TOKEN } }, rs => {
			rs.resume();
			rs.on('end', () => resolve(rs.statusCode));
		});
		rq.on('error', reject);
		rq.end();
	});
}

function fakeState() {
	return new Promise((resolve, reject) => {
		const u = new URL(env.FAKE_PROLIFIC + '/_fake/state');
		http.get(u, { headers: { Authorization: 'Token ' +
			env.FAKE_TOKEN } }, rs => {
			let body = '';
			rs.on('data', d => { body += d; });
			rs.on('end', () => {
				try {
					resolve(JSON.parse(body));
				} catch (e) {
					reject(e);
				}
			});
		}).on('error', reject);
	});
}

async function participant(browser, pid) {
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
	await ctx.addCookies([{ name: 'as', value: pid,
		domain: 'app.prolific.com', path: '/', secure: true,
		sameSite: 'None' }]);
	return ctx;
}

// Opens the study URL; waits to leave the welcome page.
async function enter(ctx, url) {
	const page = await ctx.newPage();
	await page.goto(url);
	await page.waitForURL(u => new URL(u).pathname !== '/enter',
		{ timeout: WAIT });
	await page.waitForLoadState();
	return page;
}

function onTask(page) {
	return new URL(page.url()).pathname.startsWith('/task/');
}

function onComplete(page) {
	return page.url().startsWith(COMPLETE);
}

async function homeText(page) {
	return waitFor('the home page', async () => {
		if (new URL(page.url()).origin !== env.BASE)
			return null;
		const h = await page.locator('h1').count() > 0 ?
			await page.textContent('h1') : '';
		return h === 'Your tasks' ? await page.textContent('body') :
			null;
	});
}

async function start(page) {
	await page.click('button:has-text("Start the next task")');
	await page.waitForURL(u => new URL(u).pathname.startsWith('/task/'),
		{ timeout: WAIT });
}

async function main(browser) {
	const share = Number(env.SHARE);
	for (const x of ['A', 'B', 'C'])
		sessionOf[env['PID_' + x]] = env['SESSION_' + x];
	const urlA = entry(env.PID_A, env.STUDY, env.SESSION_A);

	// The home page, looked at by axe-core, as a participant who then
	// leaves without a task (the policy bypassed for axe's script).
	let ctx = await browser.newContext({ bypassCSP: true });
	let page = await enter(ctx, entry(env.PID_C, env.STUDY,
		env.SESSION_C));
	await homeText(page);
	await axeCheck(page, 'the home page of a Prolific participant');
	await ctx.close();

	// First visit: the welcome page, the home page, one task, gone.
	ctx = await participant(browser, env.PID_A);
	page = await enter(ctx, urlA);
	let body = await homeText(page);
	check('a Prolific participant\'s first visit: none of ' + share +
		' tasks done', body.includes('You have done 0 of your ' + share +
		' tasks'), body);
	const cookies = await ctx.cookies(env.BASE);
	check('the session cookie is HttpOnly and SameSite=Strict',
		cookies.length === 1 && cookies[0].httpOnly &&
		cookies[0].sameSite === 'Strict', cookies);
	await start(page);
	const html = await page.content();
	check('the task page names neither the study, the experiment nor ' +
		'the image', !html.includes(env.STUDY) &&
		!/bprolific|alpha|beta|RequesterAnnotation/.test(html));
	await doTask(page, async () =>
		new URL(page.url()).pathname === '/' &&
		await page.locator('h1').count() > 0);
	body = await homeText(page);
	check('after the first task: 1 of ' + share + ' done, not yet sent ' +
		'to Prolific', body.includes('You have done 1 of your ' + share +
		' tasks') && reached.length === 0, body);
	await ctx.close();

	// Later, in another browser (no cookie), through the same study URL:
	// the same session.  The participant takes a task and leaves it.
	ctx = await participant(browser, env.PID_A);
	page = await enter(ctx, urlA);
	body = await homeText(page);
	check('returning later through the study URL: the same session ' +
		'(1 of ' + share + ' done)', body.includes('You have done 1 of ' +
		'your ' + share + ' tasks'), body);
	await start(page);
	const held = new URL(page.url()).pathname;
	await ctx.close();

	// Another participant finds no task open (A did one and holds the
	// other, which may still come back to the pool if A gives it up): a
	// page that waits and looks again by itself, not the completion page,
	// which would end their submission with nothing in it (between two
	// stages, the next stage's tasks would come to this page).  The
	// policy is bypassed for axe's script, as for the home page above.
	ctx = await browser.newContext({ bypassCSP: true });
	page = await enter(ctx, entry(env.PID_B, env.STUDY, env.SESSION_B));
	body = await waitFor('the wait page', async () => {
		if (new URL(page.url()).origin !== env.BASE ||
		    await page.locator('h1').count() === 0)
			return null;
		const h = await page.textContent('h1');
		return h === 'Please wait for the next task' ?
			await page.textContent('body') : null;
	});
	check('a participant who finds no task open waits on the task ' +
		'server, not sent to Prolific', body.includes('0 of your ' +
		share + ' tasks') && reached.length === 0, [body, reached]);
	check('... on a page that looks again by itself, with no finish ' +
		'link before a task is done', await page.locator(
		'meta[http-equiv="refresh"]').count() === 1 &&
		await page.locator('a[href^="https://app.prolific.com"]')
			.count() === 0 && body.includes('return the study') &&
		body.includes('You will wait at most'), body);
	check('... whose first link turns the refresh off', (await page
		.locator('a').first().getAttribute('href')) === '/?wait=manual',
		body);
	// axe-core's meta-refresh rule flags any refresh under 20 hours;
	// WCAG 2.2.1 accepts one the user can turn off, as that first link
	// does: axe looks at the page as it is with the refresh off.
	await page.goto(env.BASE + '/?wait=manual');
	check('with the refresh off: the same page, no refresh, a link to ' +
		'look again', await page.locator('meta[http-equiv="refresh"]')
		.count() === 0 && await page.locator('a[href="/?wait=manual"]')
		.count() === 1 && (await page.textContent('h1')) ===
		'Please wait for the next task');
	await axeCheck(page, 'the wait page of a Prolific participant ' +
		'(refresh off)');
	await ctx.close();

	// Again, in yet another browser: straight back to the task held.
	ctx = await participant(browser, env.PID_A);
	page = await enter(ctx, urlA);
	await waitFor('the task page', () => onTask(page));
	check('returning mid-task: the same task', new URL(page.url())
		.pathname === held, [held, page.url()]);
	await doTask(page, () => onComplete(page));
	check('done (share ' + share + '): on Prolific\'s completion page ' +
		'with the study\'s code', page.url() === COMPLETE + env.CODE,
		page.url());
	check('... which Prolific\'s side saw once, for this participant',
		reached.length === 1 && reached[0].who === env.PID_A &&
		reached[0].cc === env.CODE, reached);
	await ctx.close();

	// Coming back once done: sent to the completion page again.
	ctx = await participant(browser, env.PID_A);
	page = await enter(ctx, urlA);
	await waitFor('the completion page', () => onComplete(page));
	check('a participant who is done and returns is sent to the ' +
		'completion page again', page.url() === COMPLETE + env.CODE &&
		reached.length === 2, page.url());
	await ctx.close();

	// The study over (A did both tasks, nothing else can come): B, with
	// none done, is told so and to return the study, not sent to
	// Prolific with nothing in their submission.
	ctx = await browser.newContext({ bypassCSP: true });
	page = await enter(ctx, entry(env.PID_B, env.STUDY, env.SESSION_B));
	body = await waitFor('the page for no task left', async () => {
		if (new URL(page.url()).origin !== env.BASE ||
		    await page.locator('h1').count() === 0)
			return null;
		const h = await page.textContent('h1');
		return h === 'No task is left for you' ?
			await page.textContent('body') : null;
	});
	check('the study over, a participant with no task done is told to ' +
		'return it, not sent to Prolific', body.includes('return the ' +
		'study on Prolific') && reached.length === 2 && await page
		.locator('meta[http-equiv="refresh"]').count() === 0,
		[body, reached]);
	await axeCheck(page, 'the page of a Prolific participant with no ' +
		'task left');
	await ctx.close();

	// Another study's URL is refused, without opening a session.
	ctx = await participant(browser, env.PID_B);
	page = await ctx.newPage();
	const r = await page.goto(entry(env.PID_B, '60ffffffffffffffffffffff',
		env.SESSION_B));
	check('another study\'s id is refused (403), no session opened',
		r.status() === 403 && (await ctx.cookies(env.BASE)).length === 0,
		r.status());
	await ctx.close();
	if (env.FAKE_PROLIFIC)
		check('each completion moved its submission to awaiting ' +
			'review on the fake Prolific', marked.length === 0,
			marked);
}

const server = standIn();
server.listen(0, '127.0.0.1', () => {
	runMain(main, ['--host-resolver-rules=MAP app.prolific.com 127.0.0.1:' +
		server.address().port]);
});
