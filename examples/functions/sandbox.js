// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * The sandbox: untrusted function code runs in QuickJS compiled to
 * WebAssembly (quickjs-emscripten, asyncify build), one fresh VM in a fresh
 * worker thread per invocation:
 *   - memory: QuickJS's allocator refuses beyond `memoryLimit` ("out of
 *     memory"), the stack beyond `stackLimit`; the interrupt handler stops
 *     the VM once its WebAssembly memory has grown `memoryLimit` past its
 *     start; the host terminates the worker if the process's RSS grows
 *     more than memoryLimit + 64 MiB during the run (a single builtin call
 *     that allocates without returning to the interpreter); the worker's own
 *     V8 heap is capped too (resourceLimits). The RSS watch is process-wide:
 *     one run at a time per process, as runtime.js does;
 *   - time: QuickJS's interrupt handler stops the interpreter at the
 *     deadline, and the host terminates the worker thread if the run is
 *     still going (a builtin that never returns to the interpreter, or GC
 *     thrash near the memory limit, cannot outlast the deadline);
 *   - capabilities: exactly `secrets.get(name)` -> string. No require,
 *     process, fs, fetch, timers or module loader exist in the VM (QuickJS's
 *     std/os modules are not in this build and nothing else is injected).
 * The function's code never sees the session token or key: secrets.get is a
 * message to this (host) thread, which holds the session.
 */
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const DEFAULTS = { memoryLimit: 32 * 1024 * 1024, stackLimit: 512 * 1024, timeLimitMs: 2000, maxSecretsPerRun: 64 };

class SandboxError extends Error {
  constructor(kind, message) { super(message); this.kind = kind; }
}

/**
 * Run `code` (a script defining `entry`), then `entry(...args)`; resolves to
 * its JSON-serialisable result. getSecret(name) -> Promise<string|Buffer>.
 * Rejects with SandboxError, kind "timeout" | "memory" | "error".
 */
function run(code, entry, args, getSecret, opts = {}) {
  const o = { ...DEFAULTS, ...opts };
  if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(entry)) return Promise.reject(new SandboxError('error', `bad entry point name ${JSON.stringify(entry)}`));
  return new Promise((resolve, reject) => {
    const w = new Worker(path.join(__dirname, 'sandbox_worker.js'), {
      workerData: { code, entry, argsJson: JSON.stringify(args || []), o },
      resourceLimits: { maxOldGenerationSizeMb: 64 + Math.ceil(o.memoryLimit / (1 << 20)), maxYoungGenerationSizeMb: 16 },
      stdout: true, stderr: true, // the VM has no console; nothing it could print reaches ours
    });
    let done = false, gets = 0;
    const finish = (err, val) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(watch);
      w.terminate();
      err ? reject(err) : resolve(val);
    };
    // Module compilation is not the function's time: the clock starts when the VM is ready.
    let timer = setTimeout(() => finish(new SandboxError('timeout', 'the sandbox did not start')), 30000);
    let rssBase = null;
    const watch = setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (rssBase !== null && rss - rssBase > o.memoryLimit + 64 * 1024 * 1024) {
        finish(new SandboxError('memory', `memory limit of ${o.memoryLimit} bytes exceeded (process grew ${Math.round((rss - rssBase) / 1048576)} MiB)`));
      }
    }, 20);
    w.on('message', async (m) => {
      if (m.t === 'ready') {
        rssBase = process.memoryUsage.rss();
        clearTimeout(timer);
        timer = setTimeout(() => finish(new SandboxError('timeout', `time limit of ${o.timeLimitMs} ms exceeded`)), o.timeLimitMs);
      } else if (m.t === 'get') {
        let reply;
        if (++gets > o.maxSecretsPerRun) reply = { id: m.id, error: 'too many secrets.get calls' };
        else {
          try {
            const v = await getSecret(String(m.name));
            reply = { id: m.id, value: Buffer.isBuffer(v) ? v.toString('utf8') : String(v) };
          } catch (e) { reply = { id: m.id, error: e.message }; }
        }
        if (!done) w.postMessage(reply);
      } else if (m.t === 'result') {
        finish(null, m.json === undefined ? undefined : JSON.parse(m.json));
      } else if (m.t === 'error') {
        finish(new SandboxError(m.kind, m.message));
      }
    });
    w.on('error', (e) => finish(new SandboxError(/memory/i.test(e.message) || e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'error', e.message)));
    w.on('exit', () => finish(new SandboxError('error', 'the sandbox exited without a result')));
  });
}

module.exports = { run, SandboxError, DEFAULTS };
