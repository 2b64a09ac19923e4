// SPDX-License-Identifier: Apache-2.0
'use strict';
/* One sandboxed run inside a worker thread (see sandbox.js for the model). */
const { parentPort, workerData } = require('node:worker_threads');
const { newAsyncRuntime, shouldInterruptAfterDeadline } = require('quickjs-emscripten');

const { code, entry, argsJson, o } = workerData;
const pending = new Map();
let nextId = 1;
parentPort.on('message', (m) => {
  const p = pending.get(m.id);
  if (p) { pending.delete(m.id); p(m); }
});
const askHost = (name) => new Promise((resolve) => {
  const id = nextId++;
  pending.set(id, resolve);
  parentPort.postMessage({ t: 'get', id, name });
});

function classify(msg, deadline) {
  if (/out of memory/i.test(msg)) return ['memory', `memory limit of ${o.memoryLimit} bytes exceeded`];
  if (/interrupted/i.test(msg) || Date.now() >= deadline) return ['timeout', `time limit of ${o.timeLimitMs} ms exceeded`];
  if (/stack/i.test(msg)) return ['memory', `stack limit exceeded (${msg})`];
  return ['error', msg];
}

(async () => {
  const rt = await newAsyncRuntime();
  rt.setMemoryLimit(o.memoryLimit);
  rt.setMaxStackSize(o.stackLimit);
  const vm = rt.newContext();
  const secrets = vm.newObject();
  const get = vm.newAsyncifiedFunction('get', async (nameH) => {
    if (vm.typeof(nameH) !== 'string') return { error: vm.newError('secrets.get needs a name') };
    const name = vm.getString(nameH);
    const r = await askHost(name);
    // The function learns that a read was refused and why; never a key or token.
    if (r.error !== undefined) return { error: vm.newError(`secrets.get(${JSON.stringify(name)}): ${r.error}`) };
    return vm.newString(r.value);
  });
  vm.setProp(secrets, 'get', get);
  vm.setProp(vm.global, 'secrets', secrets);
  get.dispose();
  secrets.dispose();
  const script = `${code}\n;JSON.stringify(${entry}(...JSON.parse(${JSON.stringify(argsJson)})));`;
  const deadline = Date.now() + o.timeLimitMs;
  // QuickJS's malloc limit does not see every allocation in this build (an
  // ArrayBuffer loop grew to 2 GiB under an 8 MiB limit): the interrupt
  // handler also caps the WebAssembly memory itself, which never shrinks.
  const heap = () => rt.module.HEAPU8.buffer.byteLength;
  const heapCap = heap() + o.memoryLimit;
  const pastDeadline = shouldInterruptAfterDeadline(deadline);
  let overMemory = false;
  rt.setInterruptHandler((r) => {
    if (heap() > heapCap) { overMemory = true; return true; }
    return pastDeadline(r);
  });
  parentPort.postMessage({ t: 'ready' });
  const res = await vm.evalCodeAsync(script, 'function.js');
  if (res.error) {
    const e = vm.dump(res.error);
    const msg = e && e.message ? `${e.name || 'Error'}: ${e.message}` : String(e);
    const [kind, message] = overMemory ? ['memory', `memory limit of ${o.memoryLimit} bytes exceeded`] : classify(msg, deadline);
    parentPort.postMessage({ t: 'error', kind, message });
  } else {
    const out = vm.dump(res.value);
    parentPort.postMessage({ t: 'result', json: typeof out === 'string' ? out : undefined });
  }
  // No dispose: the thread is terminated by the host, which drops the whole
  // WebAssembly instance (a VM stopped mid-call may hold handles).
})().catch((e) => {
  const m = String(e && e.message || e);
  parentPort.postMessage({ t: 'error', kind: /out of bounds|memory/i.test(m) ? 'memory' : 'error', message: m });
});
