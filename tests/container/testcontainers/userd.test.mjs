// userd.test.mjs - userd started from a test suite with Testcontainers, the
// way suites start WireMock: the image `make image` builds, the user port
// and the control API published, a rule installed through the control API
// to make one user slow and another fail, and a client's timeout and
// retries asserted against it; then the container is stopped the way a
// suite ends, with requests still waiting: it drains and exits 0.
//
//   npm ci && node --test        (tests/container/check-image runs it)
//
// Environment: USERD_IMAGE (default localhost/userd:0.1.0), DOCKER_HOST
// (podman's Docker-compatible socket here), TESTCONTAINERS_RYUK_DISABLED.
// The README's "From your test suite" shows the same in short.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GenericContainer, Wait, getContainerRuntimeClient } from "testcontainers";

const IMAGE = process.env.USERD_IMAGE ?? "localhost/userd:0.1.0";
const TOKEN = "testcontainers-token";

let container;
let base;  // http://HOST:PORT of the user port
let admin; // http://HOST:PORT of the control API
let secrets;

before(async () => {
	// The token file, mounted read-only: the root file system stays
	// untouched, and the token never shows in `ps` or the image.
	secrets = mkdtempSync(join(tmpdir(), "userd-tc-"));
	chmodSync(secrets, 0o755);
	writeFileSync(join(secrets, "admin.token"), TOKEN + "\n", { mode: 0o644 });

	container = await new GenericContainer(IMAGE)
		.withExposedPorts(8000, 9901)
		.withCommand(["--delay", "fixed:0",
			"--admin", "0.0.0.0:9901", "--admin-insecure",
			"--admin-token-file", "/run/secrets/userd/admin.token"])
		.withBindMounts([{ source: secrets, target: "/run/secrets/userd", mode: "ro" }])
		.withDroppedCapabilities("ALL")
		.withWaitStrategy(Wait.forHttp("/readyz", 8000).forStatusCode(200))
		.withStartupTimeout(60_000)
		.start();
	base = `http://${container.getHost()}:${container.getMappedPort(8000)}`;
	admin = `http://${container.getHost()}:${container.getMappedPort(9901)}`;
});

after(async () => {
	// Normally stop() ends it; this is for a test that failed before.
	if (container) await container.stop({ timeout: 0 }).catch(() => {});
	if (secrets) rmSync(secrets, { recursive: true, force: true });
});

// The control API, with the token.
async function control(method, path, body) {
	const res = await fetch(admin + path, {
		method,
		headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	assert.equal(res.status, 200, `${method} ${path}: ${res.status} ${text}`);
	return JSON.parse(text);
}

// The client under test, as an application would write it: a time limit
// per attempt, and retries of 503s after the Retry-After the server asks
// for.  Resolves to { user, attempts }, rejects with the last error.
async function getUser(id, { timeoutMs = 1000, retries = 2, onRetry = async () => {} } = {}) {
	for (let attempt = 1; ; attempt++) {
		const res = await fetch(`${base}/user/${id}`, { signal: AbortSignal.timeout(timeoutMs) });
		if (res.status === 200) return { user: await res.json(), attempts: attempt };
		const err = new Error(`GET /user/${id}: ${res.status}`);
		err.status = res.status;
		err.retryAfter = res.headers.get("retry-after");
		await res.arrayBuffer();
		if (res.status !== 503 || attempt > retries) throw err;
		await onRetry(attempt, err);
		await new Promise((r) => setTimeout(r, 1000 * Number(err.retryAfter ?? 1)));
	}
}

test("the control API refuses a request without the token", async () => {
	const res = await fetch(admin + "/rules");
	assert.equal(res.status, 401);
	await res.arrayBuffer();
});

test("a slow user: the client gives up after its timeout, others are fast", async () => {
	await control("PUT", "/rules", [{ match: { ids: "13" }, delay: "fixed:5000" }]);
	const t0 = performance.now();
	await assert.rejects(getUser(13, { timeoutMs: 1000 }), { name: "TimeoutError" });
	const took = performance.now() - t0;
	assert.ok(took >= 900 && took < 4000, `gave up after ${took.toFixed(0)} ms`);
	const { user } = await getUser(14, { timeoutMs: 3000 });
	assert.deepEqual(Object.keys(user), ["user_id", "name", "age"]);
	assert.equal(user.user_id, 14);
	assert.equal(user.name, "User14");
});

test("a failing user: the client retries 503s after Retry-After", async () => {
	await control("PUT", "/rules", [{ match: { ids: "21" }, fault: "status:503" }]);
	// Still failing: 1 + 2 retries, then the 503 is the client's error.
	await assert.rejects(getUser(21, { retries: 2 }), { status: 503, retryAfter: "1" });
	// Recovers while the client waits to retry: the retry succeeds.
	const seen = [];
	const { user, attempts } = await getUser(21, {
		retries: 2,
		onRetry: async (attempt, err) => {
			seen.push(err.status);
			await control("PUT", "/rules", []);
		},
	});
	assert.equal(user.user_id, 21);
	assert.equal(attempts, 2);
	assert.deepEqual(seen, [503]);
	// userd counted every 503 it sent: three, then one.
	const stats = await control("GET", "/stats");
	assert.equal(stats.faults.status, 4, JSON.stringify(stats));
});

test("stop drains: waiting requests are answered, userd exits 0", async () => {
	await control("POST", "/config/reset");
	// Five requests that wait 2 s; stop once all five wait.
	const pending = [1, 2, 3, 4, 5].map((id) =>
		fetch(`${base}/user/${id}?delay=2000`, { signal: AbortSignal.timeout(30_000) }));
	for (let i = 0; ; i++) {
		const m = await (await fetch(`${base}/metrics`)).text();
		if (/^userd_requests_waiting 5$/m.test(m)) break;
		assert.ok(i < 100, "five requests never waited at once");
		await new Promise((r) => setTimeout(r, 100));
	}
	const id = container.getId();
	// Testcontainers' default stop timeout is 0 (SIGKILL at once): give
	// the drain its time, and keep the container to read its exit code.
	const stopped = container.stop({ timeout: 30_000, remove: false });
	const answers = await Promise.all(pending);
	assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200]);
	await stopped;
	container = undefined;
	const client = await getContainerRuntimeClient();
	const c = client.container.getById(id);
	const info = await client.container.inspect(c);
	assert.equal(info.State.Running, false);
	assert.equal(info.State.ExitCode, 0);
	await client.container.remove(c, { removeVolumes: true });
});
