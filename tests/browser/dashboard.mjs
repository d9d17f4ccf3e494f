// tests/browser/dashboard.mjs - the live page (GET /) in a real browser.
//
// Starts the userd just built on 127.0.0.1 --port 0, parks 2,000 requests
// on it (each ?delay=60000: they wait for the whole test) and keeps 100
// more connections in a closed loop of GET /user/<i> with the model's
// delays (each asks again as soon as it is answered), so between 2,000 and
// 2,100 requests wait at any moment and the charts have traffic to show.
// It opens the page in Debian's
// headless chromium, driven by playwright-core (never a downloaded
// browser).  Checks: the page polls /live at least twice a second; its
// `waiting` agrees with /metrics within 5 %; the other numbers and the
// charts are there; the gather demo draws its five bars and its
// concurrent total is below its sequential one; the layout fits 360 px;
// no console error, page error or failed request.  Screenshots of the page
// under load go to tests/browser/artifacts/.
//
//   node tests/browser/dashboard.mjs        (USERD_BIN, CHROMIUM to override)
//
// The last line is "N passed, N failed"; the exit status is 0 only when
// nothing failed.  Everything it starts is stopped on the way out, also on
// failure, and the whole run is bounded by a watchdog.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const USERD = process.env.USERD_BIN || resolve(here, '../../src/userd');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = join(here, 'artifacts');
const PARKED = 2000;        // requests waiting through the whole test
const LOOPING = 100;        // connections asking again and again
const MEAN_DELAY_S = 1.25;  // of the default model, uniform:500:2000
const WATCHDOG_MS = 240000; // the whole run

let passed = 0;
let failed = 0;
function check(ok, what, detail = '') {
	if (ok) passed++;
	else failed++;
	console.log(`${ok ? 'ok' : 'FAILED'}: ${what}${detail ? ` (${detail})` : ''}`);
	return ok;
}

// ---- userd -----------------------------------------------------------------

function startUserd() {
	return new Promise((resolveStart, reject) => {
		// A scheduled rule for an id nobody asks for: its window (all the
		// run) is shaded on the timeline, and no request changes.
		const proc = spawn(USERD, ['--bind', '127.0.0.1', '--port', '0', '--access-log', 'off',
			'--rule', 'ids=999999999 at=0-3600 scale=1'],
			{ stdio: ['ignore', 'ignore', 'pipe'] });
		let log = '';
		const timer = setTimeout(() => reject(new Error(`userd did not listen in 10 s: ${log}`)), 10000);
		proc.on('error', reject);
		proc.on('exit', (code) => reject(new Error(`userd exited (${code}): ${log}`)));
		proc.stderr.on('data', (chunk) => {
			log += chunk;
			const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
			if (m) {
				clearTimeout(timer);
				resolveStart({ proc, port: Number(m[1]) });
			}
		});
	});
}

// GET path on a fresh connection; resolves {status, headers, body}.
function get(port, path) {
	return new Promise((res, rej) => {
		const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (r) => {
			let body = '';
			r.setEncoding('utf8');
			r.on('data', (c) => { body += c; });
			r.on('end', () => res({ status: r.statusCode, headers: r.headers, body }));
		});
		req.setTimeout(10000, () => req.destroy(new Error(`GET ${path} timed out`)));
		req.on('error', rej);
	});
}

async function metric(port, name) {
	const r = await get(port, '/metrics');
	const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(r.body);
	if (!m) throw new Error(`no ${name} in /metrics`);
	return Number(m[1]);
}

// ---- the load ------------------------------------------------------------------

// `parked` requests that wait 60 s, and `looping` connections that each ask
// again as soon as they are answered.
function startLoad(port, parked, looping) {
	const agent = new http.Agent({ keepAlive: true, maxSockets: parked + looping });
	const load = { agent, stopped: false, answered: 0, errors: 0, lastError: '' };
	const ask = (path, again) => {
		if (load.stopped) return;
		const req = http.get({ host: '127.0.0.1', port, path, agent }, (r) => {
			r.resume();
			r.on('end', () => {
				if (r.statusCode === 200) load.answered++;
				else { load.errors++; load.lastError = `status ${r.statusCode}`; }
				if (again) ask(path, again);
			});
		});
		req.on('error', (e) => {
			if (load.stopped) return;
			load.errors++;
			load.lastError = e.message;
		});
	};
	for (let i = 0; i < parked; i++) ask(`/user/${i + 1}?delay=60000`, false);
	for (let i = 0; i < looping; i++) ask(`/user/${parked + i + 1}`, true);
	load.stop = () => { load.stopped = true; agent.destroy(); };
	return load;
}

async function waitFor(what, fn, ms) {
	const end = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

// ---- the test ----------------------------------------------------------------

const num = (text) => Number(String(text).replace(/[^0-9.]/g, ''));

async function main() {
	let userd = null;
	let load = null;
	let context = null;
	const profile = mkdtempSync(join(tmpdir(), 'userd-chromium-'));
	const watchdog = setTimeout(() => {
		console.log(`FAILED: the run took over ${WATCHDOG_MS / 1000} s`);
		failed++;
		cleanup().finally(() => { console.log(`${passed} passed, ${failed} failed`); process.exit(1); });
	}, WATCHDOG_MS);
	async function cleanup() {
		if (context) await context.close().catch(() => {});
		context = null;
		if (load) load.stop();
		if (userd) {
			userd.proc.removeAllListeners('exit');
			userd.proc.kill('SIGKILL');
		}
		rmSync(profile, { recursive: true, force: true });
	}

	try {
		mkdirSync(ARTIFACTS, { recursive: true });
		userd = await startUserd();
		const { port } = userd;
		const base = `http://127.0.0.1:${port}`;
		console.log(`userd on ${base}: ${PARKED} requests parked, ${LOOPING} in a closed loop`);
		load = startLoad(port, PARKED, LOOPING);
		const ramp = await waitFor(`${PARKED} waiting`, async () => {
			const w = await metric(port, 'userd_requests_waiting');
			return w >= PARKED ? w : 0;
		}, 30000);
		check(ramp >= PARKED, `${PARKED} requests waiting`, `/metrics says ${ramp}`);

		context = await chromium.launchPersistentContext(profile, {
			executablePath: CHROMIUM,
			headless: true,
			args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync'],
			viewport: { width: 1280, height: 900 },
		});
		const page = context.pages()[0] || await context.newPage();
		const problems = [];
		page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
		page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
		page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
		const polls = [];
		page.on('request', (r) => { if (new URL(r.url()).pathname === '/live') polls.push(Date.now()); });

		const resp = await page.goto(`${base}/`);
		await page.evaluate(() => performance.setResourceTimingBufferSize(10000));
		check(resp.status() === 200, 'GET / answers the page', `status ${resp.status()}`);
		const csp = resp.headers()['content-security-policy'] || '';
		check(/default-src 'self'/.test(csp) && /script-src 'sha256-/.test(csp) && !/unsafe/.test(csp),
			'the page has a strict Content-Security-Policy', csp);
		await page.waitForFunction(() => /\d/.test(document.getElementById('waiting').textContent),
			null, { timeout: 10000 });

		// At least twice a second, timed by the page's own clock (resource
		// timing), not by when this busy process hears of the requests.
		await page.waitForTimeout(4000);
		const rate = await page.evaluate(() => {
			const t = performance.getEntriesByType('resource')
				.filter((e) => new URL(e.name).pathname === '/live')
				.map((e) => e.startTime).filter((s) => s > performance.now() - 4000);
			return t.length > 1 ? (t.length - 1) * 1000 / (t[t.length - 1] - t[0]) : 0;
		});
		check(rate >= 2 && polls.length > 0, 'the page polls /live at least twice a second',
			`${rate.toFixed(2)} per second`);

		// The page's `waiting` against /metrics: read right after a fresh
		// snapshot was drawn, with /metrics read on either side.
		await page.waitForResponse((r) => new URL(r.url()).pathname === '/live');
		await page.waitForTimeout(50);
		const m1 = await metric(port, 'userd_requests_waiting');
		const shown = await page.textContent('#waiting');
		const m2 = await metric(port, 'userd_requests_waiting');
		const mean = (m1 + m2) / 2;
		const w = num(shown);
		check(Math.abs(w - mean) <= 0.05 * mean,
			"the page's waiting agrees with /metrics within 5 %",
			`page ${shown}, /metrics ${m1} and ${m2}`);

		const numbers = {};
		for (const id of ['in-flight', 'connections', 'rps']) numbers[id] = num(await page.textContent(`#${id}`));
		check(numbers['in-flight'] >= PARKED && numbers.connections >= PARKED,
			'in flight and connections are shown', JSON.stringify(numbers));
		// Little's law: the closed loop over the model's mean delay.
		const little = LOOPING / MEAN_DELAY_S;
		check(numbers.rps > 0.5 * little && numbers.rps < 1.5 * little,
			'requests per second as Little\'s law predicts', `${numbers.rps} vs ${little.toFixed(0)}`);

		const charts = await page.evaluate(() => ({
			strip: document.querySelectorAll('#strip polyline').length,
			stripPoints: document.querySelector('#strip polyline.s-waiting')?.getAttribute('points').split(' ').length || 0,
			delayBars: document.querySelectorAll('#delays rect').length,
			model: document.querySelectorAll('#delays polyline.model').length,
			lateBars: document.querySelectorAll('#lateness rect').length,
			timeline: document.querySelectorAll('#timeline rect.bar').length,
			phases: document.querySelectorAll('#timeline rect.phase').length,
			caption: document.getElementById('timeline-caption').textContent,
		}));
		check(charts.strip === 4 && charts.stripPoints >= 5, 'the strip chart draws four series',
			`${charts.strip} lines, ${charts.stripPoints} points`);
		check(charts.delayBars === 40 && charts.model === 1, 'the delay histogram and the model curve',
			`${charts.delayBars} bars`);
		check(charts.lateBars > 10, 'the lateness histogram', `${charts.lateBars} bars`);
		check(charts.timeline >= 100, 'the timeline of recent requests', `${charts.timeline} bars; ${charts.caption}`);
		check(charts.phases === 1 && /Shaded: a scheduled rule/.test(charts.caption),
			'the timeline shades a scheduled rule\'s window', `${charts.phases} spans; ${charts.caption}`);

		// The gather demo, under the same load.
		await page.click('#gather');
		await page.waitForFunction(() =>
			document.getElementById('gather-concurrent-total').hasAttribute('data-ms') &&
			document.getElementById('gather-sequential-total').hasAttribute('data-ms'),
		null, { timeout: 30000 });
		const g = await page.evaluate(() => ({
			conc: Number(document.getElementById('gather-concurrent-total').getAttribute('data-ms')),
			seq: Number(document.getElementById('gather-sequential-total').getAttribute('data-ms')),
			concBars: document.querySelectorAll('#gather-concurrent rect.gather-bar').length,
			seqBars: document.querySelectorAll('#gather-sequential rect.gather-bar').length,
			state: document.getElementById('gather-state').textContent,
		}));
		check(g.concBars === 5 && g.seqBars === 5, "the gather demo's five bars appear",
			`${g.concBars} concurrent, ${g.seqBars} sequential`);
		check(g.conc > 0 && g.conc < g.seq, 'concurrent total below sequential total',
			`${g.conc.toFixed(0)} ms vs ${g.seq.toFixed(0)} ms`);
		// Each delay is at least 500 ms: five in a row take at least 2.5 s,
		// five at once at most the longest, 2 s, plus the timer's slack.
		check(g.seq >= 2500 && g.conc < 2500, 'about the longest vs about the sum', g.state);
		await page.waitForTimeout(600); // one more poll: the gather's requests on the timeline
		await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

		// A phone: 360 px wide, nothing wider than the screen.
		await page.setViewportSize({ width: 360, height: 800 });
		await page.waitForTimeout(1200);
		const narrow = await page.evaluate(() => ({
			scroll: document.documentElement.scrollWidth,
			widest: Math.max(...[...document.querySelectorAll('main *')].map((e) => e.getBoundingClientRect().right)),
			waiting: document.getElementById('waiting').getBoundingClientRect().width,
		}));
		check(narrow.scroll <= 360 && narrow.widest <= 360.5 && narrow.waiting > 0,
			'the layout fits 360 px', JSON.stringify(narrow));
		await page.screenshot({ path: join(ARTIFACTS, 'dashboard-360.png'), fullPage: true });

		check(problems.length === 0, 'no console errors, page errors or failed requests',
			problems.slice(0, 5).join('; '));
		check(load.errors === 0, 'the load saw no errors', `${load.answered} answered, ${load.errors} errors ${load.lastError}`);
	} catch (e) {
		check(false, 'the run', e.stack || String(e));
	} finally {
		clearTimeout(watchdog);
		await cleanup();
	}
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed === 0 ? 0 : 1);
}

main();
